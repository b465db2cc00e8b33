//! `make bench`: cold start and memory of the Lambda bootstraps (see `tests::coldstart`). Needs
//! moto at `OTP_TEST_AWS_ENDPOINT`, which `make bench` starts.

#![allow(clippy::expect_used)] // a benchmark without its emulator has nothing to measure

use std::path::PathBuf;

use tests::knob;

#[tokio::main]
#[allow(clippy::print_stdout)] // the report is the program's output
async fn main() {
    let endpoint = std::env::var("OTP_TEST_AWS_ENDPOINT")
        .expect("OTP_TEST_AWS_ENDPOINT is not set: run `make bench`, which starts moto");
    let plan = tests::coldstart::Plan {
        bin_dir: PathBuf::from(knob::or("BENCH_BIN_DIR", "target/perf".to_owned())),
        log_dir: PathBuf::from(knob::or("BENCH_LOG_DIR", ".dev".to_owned())),
        runs: knob::or("BENCH_COLD_RUNS", 20),
        warm_invocations: knob::or("BENCH_WARM_INVOCATIONS", 100),
    };
    let report = tests::coldstart::run(&endpoint, &plan).await;
    println!("{}", report.markdown());
}
