//! Integration tests: the real AWS SDK against moto (started by `make test`), one binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod delivery;
mod delivery_failures;
mod failures;
mod heavy;
mod helpers;
mod idempotency;
mod malformed;
mod process;
mod rate_limits;
mod replayer;
mod secrecy;
mod verify;
mod worker_process;
