//! otp-relay's deployment: `template.yaml` (AWS SAM) and the code that reads it.
//!
//! [`local::provision`] creates the template's table, queues, secret, alarm topic and queue
//! alarms in the AWS the standard environment points at (moto, for `make dev` and the tests),
//! with the template's values; a drift test (infra/tests/drift.rs) keeps what it mirrors equal
//! to the template, so the local and the deployed stack cannot drift apart.

pub mod error;
pub mod local;
pub mod template;

pub use error::InfraError;
pub use local::{LocalStack, Physical, provision};
pub use template::Template;
