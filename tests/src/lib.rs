//! Test support shared by the integration tests in `tests/api/` and the benchmarks: the local
//! stack in moto and the fault-injecting proxy in front of it.

// Support code for tests and benchmarks: a failed setup step should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fault_proxy;
pub mod request_path;
pub mod runtime_api;
pub mod stack;
