//! `make bench`: handler throughput (see `tests::throughput`): sends/s and verifies/s of the
//! API router with in-memory backends, over loopback HTTP, driven by `wrk`.

#![allow(clippy::expect_used)] // a benchmark that cannot set up has nothing to measure

use std::path::PathBuf;
use tests::throughput::{Load, Run, seed, serve_in_memory, wrk};

fn env(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn row(name: &str, run: &Run) -> String {
    format!(
        "| {name} | {} | {:.0} | {:.3} | {:.3} | {} | {} | {:.1} |",
        run.requests,
        run.per_second,
        run.p50.as_secs_f64() * 1e3,
        run.p99.as_secs_f64() * 1e3,
        run.non_2xx,
        run.socket_errors,
        run.cpu_per_request.as_secs_f64() * 1e6,
    )
}

#[allow(clippy::print_stdout)] // the report is the program's output
fn main() {
    let server_threads = env("BENCH_SERVER_THREADS", 2) as usize;
    let load = Load {
        seconds: env("BENCH_SECONDS", 10),
        threads: env("BENCH_WRK_THREADS", 1),
        connections: env("BENCH_CONNECTIONS", 32),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(server_threads)
        .enable_all()
        .build()
        .expect("runtime");
    let (address, service) = runtime.block_on(serve_in_memory());
    let ids = runtime.block_on(seed(&service, 10_000));
    let ids_file = std::env::temp_dir().join(format!("otp-bench-ids-{}.txt", std::process::id()));
    std::fs::write(&ids_file, ids.join("\n")).expect("write the ids file");
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench");
    let ids_arg = ids_file.to_string_lossy().into_owned();

    println!("server: {server_threads} runtime threads; wrk: {load:?}");
    // A short warm-up, then the measured runs.
    let warm = Load { seconds: 2, ..load };
    let _ = wrk(address, &scripts.join("send.lua"), &[], warm);
    let sends = wrk(address, &scripts.join("send.lua"), &[], load);
    let verifies = wrk(address, &scripts.join("verify.lua"), &[&ids_arg], load);
    let _ = std::fs::remove_file(&ids_file);

    println!(
        "| operation | requests | per second | p50 ms | p99 ms | non-2xx | socket errors | server CPU µs/request |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!("{}", row("send (202)", &sends));
    println!("{}", row("verify, wrong code (422)", &verifies));
    println!("\n(a wrong-code verify answers 422 by design: its non-2xx count is every request)");
}
