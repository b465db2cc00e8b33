//! The delivery seam: hand one message to a provider, and say how a failure should be treated.

mod aws;
mod memory;

pub use aws::AwsSender;
pub use memory::{MemorySender, SentMessage};

use crate::domain::Destination;

/// One rendered message. `Debug` is redacted: the text contains the code.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub subject: String,
    pub text: String,
}

impl std::fmt::Debug for OutgoingMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutgoingMessage(<redacted>)")
    }
}

/// How a provider failure should be handled. The texts are provider error codes and messages,
/// never the request, so they are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Throttling, 5xx, timeouts: try again later.
    #[error("transient: {0}")]
    Transient(String),
    /// This message can never be delivered (rejected address, opted-out number).
    #[error("permanent ({reason}): {detail}")]
    Permanent { reason: String, detail: String },
    /// The account cannot send at all right now (suspended, paused, unverified sender).
    #[error("systemic: {0}")]
    Systemic(String),
}

#[async_trait::async_trait]
pub trait Sender: Send + Sync + std::fmt::Debug {
    async fn send(&self, to: &Destination, message: &OutgoingMessage) -> Result<(), SendError>;
}
