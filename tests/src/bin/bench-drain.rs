//! `make bench`: worker drain (see `tests::drain`). Needs moto at `OTP_TEST_AWS_ENDPOINT`, and SES
//! on its own moto at `OTP_TEST_SES_ENDPOINT` if set; `make bench` starts both.

#![allow(clippy::expect_used)] // a benchmark without its emulator has nothing to measure

use tests::knob;

#[tokio::main]
#[allow(clippy::print_stdout)] // the report is the program's output
async fn main() {
    let endpoint = std::env::var("OTP_TEST_AWS_ENDPOINT")
        .expect("OTP_TEST_AWS_ENDPOINT is not set: run `make bench`, which starts moto");
    let jobs = knob::or("BENCH_DRAIN_JOBS", 5_000);
    let raw_calls = knob::or("BENCH_RAW_CALLS", 1_000);
    let ses_endpoint = std::env::var("OTP_TEST_SES_ENDPOINT").ok();
    let batches_in_flight = knob::or("BENCH_BATCHES_IN_FLIGHT", 1);
    let report = tests::drain::run(
        &endpoint,
        ses_endpoint.as_deref(),
        jobs,
        raw_calls,
        batches_in_flight,
    )
    .await;
    println!("{}", report.markdown());
}
