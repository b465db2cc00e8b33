//! The shared SQS seam ([`common::queue::Sqs`]) as the commands use it: each call names the
//! queue it is about, so a failure can name the flag that chose it.

use crate::error::Error;
use crate::queue_url::QueueRef;
pub use common::queue::{
    AttributeValue, BATCH, EntryResult, Outgoing, QueueStats, Received as Message, send_chunks,
};
use common::queue::{Receive, Sqs};
use std::sync::Arc;

/// Per entry of a batch call, whether SQS did it.
type Entries = Result<Vec<EntryResult>, Error>;

#[derive(Debug, Clone)]
pub struct Queues(pub Arc<dyn Sqs>);

impl Queues {
    pub async fn stats(&self, q: &QueueRef) -> Result<QueueStats, Error> {
        self.0.stats(q.url.as_str()).await.map_err(q.failed())
    }

    /// Up to `ask.max` messages, hidden from everyone else for `ask.hold_seconds`; waits up to
    /// `ask.wait_seconds` for one to arrive. Empty: nothing visible is left.
    pub async fn receive(&self, q: &QueueRef, ask: Receive) -> Result<Vec<Message>, Error> {
        self.0
            .receive(q.url.as_str(), ask)
            .await
            .map_err(q.failed())
    }

    pub async fn send(&self, q: &QueueRef, all: &[Outgoing]) -> Entries {
        self.0.send(q.url.as_str(), all).await.map_err(q.failed())
    }

    pub async fn delete(&self, q: &QueueRef, handles: &[String]) -> Entries {
        self.0
            .delete(q.url.as_str(), handles)
            .await
            .map_err(q.failed())
    }

    /// Makes received messages visible again at once.
    pub async fn show(&self, q: &QueueRef, handles: &[String]) -> Entries {
        let entries: Vec<(String, i32)> = handles.iter().map(|h| (h.clone(), 0)).collect();
        let shown = self.0.set_visibility(q.url.as_str(), &entries).await;
        shown.map_err(q.failed())
    }
}
