//! `make bench`: handler throughput (see `tests::throughput`): sends/s and verifies/s of the
//! API router with in-memory backends, over loopback HTTP, driven by `wrk`.

#![allow(clippy::expect_used)] // a benchmark that cannot set up has nothing to measure

use std::path::PathBuf;
use tests::throughput::{Load, Run, seed, serve_floor, serve_in_memory, wrk};

use tests::knob;

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

fn median(runs: &[Run]) -> &Run {
    let mut sorted: Vec<&Run> = runs.iter().collect();
    sorted.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
    sorted[sorted.len() / 2]
}

#[allow(clippy::print_stdout)] // the report is the program's output
fn main() {
    let server_threads: usize = knob::or("BENCH_SERVER_THREADS", 2);
    let load = Load {
        seconds: knob::or("BENCH_SECONDS", 10),
        threads: knob::or("BENCH_WRK_THREADS", 1),
        connections: knob::or("BENCH_CONNECTIONS", 32),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(server_threads)
        .enable_all()
        .build()
        .expect("runtime");
    let (address, service, caller, key) = runtime.block_on(serve_in_memory());
    let floor = runtime.block_on(serve_floor());
    let ids = runtime.block_on(seed(&service, &caller, 10_000));
    let ids_file = std::env::temp_dir().join(format!("otp-bench-ids-{}.txt", std::process::id()));
    std::fs::write(&ids_file, ids.join("\n")).expect("write the ids file");
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench");
    let ids_arg = ids_file.to_string_lossy().into_owned();

    let rounds = knob::or("BENCH_ROUNDS", 3).max(1);
    println!("server: {server_threads} runtime threads; wrk: {load:?}; rounds: {rounds}");
    // A short warm-up, then rounds of one run per operation: a machine's noise falls on both,
    // and the median round is the figure.
    let warm = Load { seconds: 2, ..load };
    let _ = wrk(address, &scripts.join("send.lua"), &[], &key, warm);
    let _ = wrk(floor, &scripts.join("send.lua"), &[], &key, warm);
    let mut sends = Vec::new();
    let mut verifies = Vec::new();
    let mut floor_sends = Vec::new();
    let mut floor_verifies = Vec::new();
    for _ in 0..rounds {
        // The same scripts, key header included, against the bare router: the floor.
        floor_sends.push(wrk(floor, &scripts.join("send.lua"), &[], &key, load));
        floor_verifies.push(wrk(
            floor,
            &scripts.join("verify.lua"),
            &[&ids_arg],
            &key,
            load,
        ));
        sends.push(wrk(address, &scripts.join("send.lua"), &[], &key, load));
        verifies.push(wrk(
            address,
            &scripts.join("verify.lua"),
            &[&ids_arg],
            &key,
            load,
        ));
    }
    let _ = std::fs::remove_file(&ids_file);

    println!(
        "| operation | requests | per second | p50 ms | p99 ms | non-2xx | socket errors | server CPU µs/request |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, runs) in [
        ("send (202)", &sends),
        ("verify, wrong code (422)", &verifies),
        ("floor: bare axum, send's answer (202)", &floor_sends),
        ("floor: bare axum, verify's answer (422)", &floor_verifies),
    ] {
        for (i, run) in runs.iter().enumerate() {
            println!("{}", row(&format!("{name}, round {}", i + 1), run));
        }
    }
    println!();
    println!("median round (by requests per second):");
    println!("{}", row("send (202)", median(&sends)));
    println!("{}", row("verify, wrong code (422)", median(&verifies)));
    println!(
        "{}",
        row(
            "floor: bare axum, send's answer (202)",
            median(&floor_sends)
        )
    );
    println!(
        "{}",
        row(
            "floor: bare axum, verify's answer (422)",
            median(&floor_verifies)
        )
    );
    println!(
        "\nagainst the floor (median rounds): send {:.2}, verify {:.2}",
        median(&sends).per_second / median(&floor_sends).per_second,
        median(&verifies).per_second / median(&floor_verifies).per_second,
    );
    println!("\n(a wrong-code verify answers 422 by design: its non-2xx count is every request)");
}
