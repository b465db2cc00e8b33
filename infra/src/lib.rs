//! otp-relay's deployment: `template.yaml` (AWS SAM) and the code that reads it.
//!
//! The same definitions drive the local stack: [`local::provision`] creates the template's
//! table, queues, secret, alarm topic and queue alarms in the AWS the standard environment
//! points at (moto, for `make dev` and the tests), resolving parameters and intrinsic functions
//! the way CloudFormation does, so the local and the deployed stack cannot drift apart.

pub mod error;
pub mod local;
pub mod resolve;
pub mod template;

pub use error::InfraError;
pub use local::{LocalStack, provision};
pub use resolve::{Physical, Pseudo, Scope};
pub use template::Template;
