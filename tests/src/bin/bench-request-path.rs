//! `make bench`: request-path isolation (see `tests::request_path`). Needs moto at
//! `OTP_TEST_AWS_ENDPOINT`, which `make bench` starts.

#![allow(clippy::expect_used)] // a benchmark without its emulator has nothing to measure

use tests::knob;

#[tokio::main]
#[allow(clippy::print_stdout)] // the report is the program's output
async fn main() {
    let endpoint = std::env::var("OTP_TEST_AWS_ENDPOINT")
        .expect("OTP_TEST_AWS_ENDPOINT is not set: run `make bench`, which starts moto");
    let rounds = knob::or("BENCH_ROUNDS", 4);
    let per_block = knob::or("BENCH_SENDS", 75);
    // The worker's settings, from the same variables as the service (defaults if unset).
    let delivery = common::config::DeliveryRules {
        max_send_rate: knob::or("OTP_MAX_SEND_RATE", 10.0),
        retry_base_seconds: knob::or("OTP_RETRY_BASE_SECONDS", 5),
        retry_cap_seconds: knob::or("OTP_RETRY_CAP_SECONDS", 120),
        ..common::config::DeliveryRules::default()
    };
    println!("worker: {delivery:?}");
    let samples = tests::request_path::run(&endpoint, rounds, per_block, delivery).await;
    println!("{}", tests::request_path::report(&samples));
}
