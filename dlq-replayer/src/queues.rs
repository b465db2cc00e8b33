//! The shared SQS seam ([`common::queue::Sqs`]) as the commands use it: each call names the
//! queue it is about, and a failure becomes an [`Error`] naming the IAM action it needs.

use crate::error::{Error, Target};
use crate::queue_url::{QueueArn, QueueRef, QueueUrl, Role};
use common::error::BackendError;
pub use common::queue::{
    AttributeValue, BATCH, EntryResult, Outgoing, QueueStats, Received as Message, send_chunks,
};
use common::queue::{Receive, Sqs};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Queues(pub Arc<dyn Sqs>);

fn failed<'a>(action: &'static str, queue: &'a QueueRef) -> impl Fn(BackendError) -> Error + 'a {
    move |e| Error::from_backend(action, Target::Queue(queue), &e)
}

impl Queues {
    pub async fn stats(&self, queue: &QueueRef) -> Result<QueueStats, Error> {
        let stats = self.0.stats(queue.url.as_str()).await;
        stats.map_err(failed("sqs:GetQueueAttributes", queue))
    }

    /// The URL of the queue a redrive policy names, asked for by `asked_by`'s policy.
    pub async fn url_of(&self, arn: &QueueArn, asked_by: &QueueRef) -> Result<QueueUrl, Error> {
        let url = self.0.url_of(&arn.name, &arn.account).await.map_err(|e| {
            match failed("sqs:GetQueueUrl", asked_by)(e) {
                // The DLQ the redrive policy names is gone: say so, not that the job queue is.
                Error::QueueNotFound { .. } => Error::QueueNotFound {
                    queue: format!(
                        "the DLQ {} named by the redrive policy of {asked_by}",
                        arn.name
                    ),
                    flag: Role::Dlq.flag(),
                },
                other => other,
            }
        })?;
        url.parse().map_err(|problem: String| Error::Aws {
            service: "sqs",
            action: "sqs:GetQueueUrl",
            resource: arn.name.clone(),
            detail: problem,
        })
    }

    /// Up to `max` messages, hidden from everyone else for `hold`; waits up to `wait` for one
    /// to arrive. Empty: nothing visible is left.
    pub async fn receive(
        &self,
        queue: &QueueRef,
        max: usize,
        hold: i32,
        wait: i32,
    ) -> Result<Vec<Message>, Error> {
        let ask = Receive {
            max: max.clamp(1, BATCH),
            wait_seconds: wait,
            hold_seconds: Some(hold),
        };
        let received = self.0.receive(queue.url.as_str(), ask).await;
        received.map_err(failed("sqs:ReceiveMessage", queue))
    }

    pub async fn send(
        &self,
        queue: &QueueRef,
        all: &[Outgoing],
    ) -> Result<Vec<EntryResult>, Error> {
        let sent = self.0.send(queue.url.as_str(), all).await;
        sent.map_err(failed("sqs:SendMessage", queue))
    }

    pub async fn delete(
        &self,
        queue: &QueueRef,
        handles: &[String],
    ) -> Result<Vec<EntryResult>, Error> {
        let deleted = self.0.delete(queue.url.as_str(), handles).await;
        deleted.map_err(failed("sqs:DeleteMessage", queue))
    }

    /// Makes received messages visible again at once.
    pub async fn show(
        &self,
        queue: &QueueRef,
        handles: &[String],
    ) -> Result<Vec<EntryResult>, Error> {
        let entries: Vec<(String, i32)> = handles.iter().map(|h| (h.clone(), 0)).collect();
        let shown = self.0.set_visibility(queue.url.as_str(), &entries).await;
        shown.map_err(failed("sqs:ChangeMessageVisibility", queue))
    }
}
