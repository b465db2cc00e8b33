//! Fuzzing of the parsers that take outside input: request bodies (and the path and headers
//! around them) through the real router, and delivery-job bodies as the worker reads them off
//! the queue.
//!
//! `cargo fuzz` needs a nightly toolchain, which the project's machines and CI do not have, so
//! these are `proptest` properties over arbitrary bytes and over near-valid JSON. A plain
//! `cargo test` runs a few hundred cases of each; `make fuzz` runs each for `FUZZ_SECONDS`.
//! A failure is shrunk, printed, and its seed saved under `proptest-regressions/` beside the
//! file (commit it: every later run replays it first); then it gets a named regression test.

mod job_bodies;
mod regressions;
mod request_bodies;

use proptest::strategy::Strategy;
use proptest::string::{RegexGeneratorStrategy, string_regex};
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use std::fmt::Debug;
use std::time::{Duration, Instant};

/// Cases per batch: one batch in a plain test run, batches until the deadline under `make fuzz`.
const CASES: u32 = 256;

/// Strings matching `pattern`, compiled once (a `&str` strategy recompiles it for every case,
/// which for Unicode classes costs more than the case itself).
pub fn matching(pattern: &str) -> RegexGeneratorStrategy<String> {
    string_regex(pattern).expect("a valid regex")
}

/// Runs `test` over values of `strategy`: one batch, or batches until `FUZZ_SECONDS` have
/// passed. `source_file` is the caller's `file!()`, which names its regressions file.
pub fn fuzz<S>(
    source_file: &'static str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let deadline = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(|seconds| Instant::now() + Duration::from_secs(seconds));
    let mut total = 0u64;
    loop {
        let mut runner = TestRunner::new(Config {
            cases: CASES,
            source_file: Some(source_file),
            failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
                "proptest-regressions",
            ))),
            ..Config::default()
        });
        if let Err(failure) = runner.run(&strategy, &test) {
            panic!("{source_file}: after {total} passing cases: {failure}");
        }
        total += u64::from(CASES);
        if deadline.is_none_or(|deadline| Instant::now() >= deadline) {
            break;
        }
    }
    if deadline.is_some() {
        // The test harness names each test's thread after the test.
        let thread = std::thread::current();
        let name = thread.name().unwrap_or(source_file);
        eprintln!("{name}: {total} cases passed");
    }
}
