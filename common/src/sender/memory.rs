use super::{OutgoingMessage, SendError, Sender};
use crate::domain::Destination;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub to: Destination,
    pub message: OutgoingMessage,
}

/// Records what would have been sent; can be told to fail the next sends.
#[derive(Debug, Default)]
pub struct MemorySender {
    sent: Mutex<Vec<SentMessage>>,
    failures: Mutex<Vec<SendError>>,
}

impl MemorySender {
    /// The next `send` calls fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = SendError>) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(errors);
    }

    pub fn sent(&self) -> Vec<SentMessage> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait::async_trait]
impl Sender for MemorySender {
    async fn send(&self, to: &Destination, message: &OutgoingMessage) -> Result<(), SendError> {
        {
            let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
            if !failures.is_empty() {
                return Err(failures.remove(0));
            }
        }
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(SentMessage {
                to: to.clone(),
                message: message.clone(),
            });
        Ok(())
    }
}
