//! One handler per endpoint; each parses its input into domain types and calls the service.

mod health;
mod openapi;
mod otp;

pub use health::health;
pub use openapi::{OPENAPI_JSON, openapi};
pub use otp::{cancel, resend, send, status, verify};
