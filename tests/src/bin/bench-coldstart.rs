//! `make bench`: cold start and memory of the Lambda bootstraps (see `tests::coldstart`). Needs
//! moto at `OTP_TEST_AWS_ENDPOINT`, which `make bench` starts.

#![allow(clippy::expect_used)] // a benchmark without its emulator has nothing to measure

use std::path::PathBuf;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
#[allow(clippy::print_stdout)] // the report is the program's output
async fn main() {
    let endpoint = std::env::var("OTP_TEST_AWS_ENDPOINT")
        .expect("OTP_TEST_AWS_ENDPOINT is not set: run `make bench`, which starts moto");
    let plan = tests::coldstart::Plan {
        bin_dir: PathBuf::from(env("BENCH_BIN_DIR", "target/perf".to_owned())),
        log_dir: PathBuf::from(env("BENCH_LOG_DIR", ".dev".to_owned())),
        runs: env("BENCH_COLD_RUNS", 20),
        warm_invocations: env("BENCH_WARM_INVOCATIONS", 100),
    };
    let report = tests::coldstart::run(&endpoint, &plan).await;
    println!("{}", report.markdown());
}
