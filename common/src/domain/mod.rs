//! Parse-don't-validate newtypes: once a value of one of these types exists, it is valid.

mod channel;
mod destination;
mod email;
mod idempotency_key;
mod locale;
mod otp_code;
mod otp_id;
mod phone;

pub use channel::Channel;
pub use destination::Destination;
pub use email::EmailAddress;
pub use idempotency_key::IdempotencyKey;
pub use locale::Locale;
pub use otp_code::{OtpCode, OtpCodeLength};
pub use otp_id::OtpId;
pub use phone::{PhoneKind, PhoneNumber};

/// Why a value was rejected; the text is written for the API client, so it never echoes the
/// rejected value back (it may be a code or a full destination).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub(crate) String);

impl ParseError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
