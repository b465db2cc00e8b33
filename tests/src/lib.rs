//! Test support shared by the integration tests in `tests/api/` and the benchmarks: the local
//! stack in moto, the fault-injecting proxy in front of it, and the OpenAPI checker.

// Support code for tests and benchmarks: a failed setup step should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod child;
pub mod coldstart;
pub mod drain;
pub mod fault_proxy;
pub mod in_memory;
pub mod knob;
pub mod openapi;
pub mod request_path;
pub mod runtime_api;
pub mod soak;
pub mod stack;
pub mod tenants;
pub mod throughput;
