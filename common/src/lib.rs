//! Shared core of otp-relay: the domain types, configuration, secrets, the job schema, and the
//! storage / queue / sender seams with their AWS adapters and in-memory fakes.
//!
//! The API and the worker are thin layers over this crate so that the rules that matter for
//! security (what is stored, how a guess is counted, when a job may be delivered) live in one place.

pub mod aws;
pub mod aws_clients;
pub mod aws_errors;
pub mod bounds;
pub mod cli_output;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod entropy;
pub mod error;
pub mod job;
pub mod lifecycle;
pub mod pacer;
pub mod payload;
pub mod queue;
pub mod record;
pub mod secret;
pub mod sender;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tenant;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
