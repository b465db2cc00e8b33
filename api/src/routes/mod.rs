//! One handler per endpoint; each parses its input into domain types and calls the service.

mod health;
mod otp;

pub use health::health;
pub use otp::{resend, send, status, verify};
