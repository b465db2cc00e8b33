use super::ParseError;
use serde::{Deserialize, Serialize};

/// The public handle of one OTP: a random UUID, so ids cannot be enumerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OtpId(uuid::Uuid);

impl OtpId {
    pub fn new_random() -> Self {
        Self(crate::entropy::uuid_v4())
    }

    /// The 32 hex digits without hyphens, for places with tight length limits.
    pub fn compact(&self) -> String {
        self.0.simple().to_string()
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        uuid::Uuid::try_parse(raw)
            .map(Self)
            .map_err(|_| ParseError::new("otp_id must be a UUID"))
    }
}

impl std::fmt::Display for OtpId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}
