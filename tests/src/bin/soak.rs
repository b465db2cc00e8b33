//! `make soak`: the real binaries under a steady load with provider failures and a worker
//! restart (see `tests::soak`). Needs moto at `OTP_TEST_AWS_ENDPOINT`; `make soak` starts it.

#![allow(clippy::expect_used)] // a soak without its emulator has nothing to measure

use std::path::PathBuf;
use std::time::Duration;

use tests::knob;

#[tokio::main]
#[allow(clippy::print_stdout)] // the report is the program's output
async fn main() {
    let endpoint = std::env::var("OTP_TEST_AWS_ENDPOINT")
        .expect("OTP_TEST_AWS_ENDPOINT is not set: run `make soak`, which starts moto");
    let plan = tests::soak::Plan {
        duration: Duration::from_secs(knob::or("SOAK_SECONDS", 600)),
        sends_per_second: knob::or("SOAK_SENDS_PER_SECOND", 10.0),
        provider_failure_rate: knob::or("SOAK_FAILURE_RATE", 0.2),
        bin_dir: PathBuf::from(knob::or("SOAK_BIN_DIR", "target/perf".to_owned())),
        log_dir: PathBuf::from(knob::or("SOAK_LOG_DIR", ".dev".to_owned())),
    };
    println!("soak: {plan:?}");
    let report = tests::soak::run(&endpoint, &plan).await;
    println!("{}", report.markdown());
    if report.server_errors() > 0 || report.lost() > 0 || !report.memory_flat() {
        println!(
            "FAILED: 5xx answers, lost jobs or growing memory (see above and the logs in {})",
            plan.log_dir.display()
        );
        std::process::exit(1);
    }
}
