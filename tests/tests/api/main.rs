//! Integration tests: the real AWS SDK against moto (started by `make test`), one binary.
// One test binary: `pub` there marks what sibling modules share, and nothing is exported, so
// `unreachable_pub` has no API surface to guard.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod admin;
mod auth;
mod calls;
mod cfn;
mod delivery;
mod delivery_failures;
mod destinations;
mod failures;
mod fuzz;
mod heavy;
mod helpers;
mod idempotency;
mod lambda_runtime;
mod live_codes;
mod local_stack;
mod malformed;
mod openapi;
mod process;
mod rate_limits;
mod replayer;
mod secrecy;
mod template;
mod tenants;
mod unreachable;
mod verify;
mod worker_process;
