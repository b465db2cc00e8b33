//! The shared SQS seam ([`common::queue::Sqs`]) as the commands use it: each call names the
//! queue it is about, so a failure can name the flag that chose it.

use crate::error::Error;
use crate::queue_url::{QueueArn, QueueRef, QueueUrl};
use common::cli_output::AwsFailure;
pub use common::queue::{
    AttributeValue, BATCH, EntryResult, Outgoing, QueueStats, Received as Message, send_chunks,
};
use common::queue::{Receive, Sqs};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Queues(pub Arc<dyn Sqs>);

impl Queues {
    pub async fn stats(&self, queue: &QueueRef) -> Result<QueueStats, Error> {
        let stats = self.0.stats(queue.url.as_str()).await;
        stats.map_err(|e| Error::from_queue(queue, &e))
    }

    /// The URL of the queue a redrive policy names, asked for by `asked_by`'s policy.
    pub async fn url_of(&self, arn: &QueueArn, asked_by: &QueueRef) -> Result<QueueUrl, Error> {
        let url = self.0.url_of(&arn.name, &arn.account).await.map_err(|e| {
            match Error::from_queue(asked_by, &e) {
                // The DLQ the redrive policy names is gone: say so, not that the job queue is.
                Error::Aws(AwsFailure::NotFound { kind, .. }) => AwsFailure::NotFound {
                    kind,
                    what: format!(
                        "the DLQ {} named by the redrive policy of {asked_by}",
                        arn.name
                    ),
                    fix: crate::queue_url::Role::Dlq.flag(),
                }
                .into(),
                other => other,
            }
        })?;
        url.parse().map_err(|detail: String| {
            let (service, action) = ("sqs", "sqs:GetQueueUrl".to_owned());
            let resource = arn.name.clone();
            Error::Aws(AwsFailure::Other {
                service,
                action,
                resource,
                detail,
            })
        })
    }

    /// Up to `max` messages, hidden from everyone else for `hold` seconds; waits up to `wait`
    /// for one to arrive. Empty: nothing visible is left.
    pub async fn receive(
        &self,
        queue: &QueueRef,
        max: usize,
        hold: i32,
        wait: i32,
    ) -> Result<Vec<Message>, Error> {
        let (max, wait_seconds, hold_seconds) = (max.clamp(1, BATCH), wait, Some(hold));
        let ask = Receive {
            max,
            wait_seconds,
            hold_seconds,
        };
        let received = self.0.receive(queue.url.as_str(), ask).await;
        received.map_err(|e| Error::from_queue(queue, &e))
    }

    pub async fn send(
        &self,
        queue: &QueueRef,
        all: &[Outgoing],
    ) -> Result<Vec<EntryResult>, Error> {
        let sent = self.0.send(queue.url.as_str(), all).await;
        sent.map_err(|e| Error::from_queue(queue, &e))
    }

    pub async fn delete(
        &self,
        queue: &QueueRef,
        handles: &[String],
    ) -> Result<Vec<EntryResult>, Error> {
        let deleted = self.0.delete(queue.url.as_str(), handles).await;
        deleted.map_err(|e| Error::from_queue(queue, &e))
    }

    /// Makes received messages visible again at once.
    pub async fn show(
        &self,
        queue: &QueueRef,
        handles: &[String],
    ) -> Result<Vec<EntryResult>, Error> {
        let entries: Vec<(String, i32)> = handles.iter().map(|h| (h.clone(), 0)).collect();
        let shown = self.0.set_visibility(queue.url.as_str(), &entries).await;
        shown.map_err(|e| Error::from_queue(queue, &e))
    }
}
