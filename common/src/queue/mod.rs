//! The queue seams. [`JobQueue`] is the API's view: put one job on the queue. [`Sqs`] is the
//! consumers' view, shared by the worker and the operators' CLI: receive, change visibility,
//! delete and send in batches, read a queue's attributes. [`AwsSqs`] is the only place the SQS
//! SDK appears; [`FakeSqs`] (tests, feature `test-support`) keeps SQS's visibility rules in memory.

mod aws;
#[cfg(any(test, feature = "test-support"))]
mod fake;
mod memory;
mod messages;

pub use aws::{AwsSqs, SqsQueue};
#[cfg(any(test, feature = "test-support"))]
pub use fake::FakeSqs;
pub use memory::MemoryQueue;
pub use messages::{
    AttributeValue, BATCH, BATCH_BYTES, EntryResult, Outgoing, QueueStats, Receive, Received,
    Redrive, receive_count, send_chunks,
};

use crate::error::BackendError;
use crate::job::DeliveryJob;

#[async_trait::async_trait]
pub trait JobQueue: Send + Sync + std::fmt::Debug {
    async fn enqueue(&self, job: &DeliveryJob) -> Result<(), BackendError>;
}

/// SQS as its consumers use it. Batch calls take at most [`BATCH`] entries and answer each
/// entry separately, in order; the call itself fails only when SQS answered nothing usable.
#[async_trait::async_trait]
pub trait Sqs: Send + Sync + std::fmt::Debug {
    /// `ReceiveMessage`, with every system and message attribute. A message without an id, a
    /// receipt handle or a body is not handed out: it is logged as an error and left to SQS,
    /// which shows it again after its visibility timeout and, after `maxReceiveCount` receives,
    /// moves it to the DLQ. Empty: nothing arrived within `wait_seconds`.
    async fn receive(&self, queue_url: &str, ask: Receive) -> Result<Vec<Received>, BackendError>;

    /// `SendMessageBatch` (see [`send_chunks`]).
    async fn send(
        &self,
        queue_url: &str,
        messages: &[Outgoing],
    ) -> Result<Vec<EntryResult>, BackendError>;

    /// `DeleteMessageBatch` by receipt handle.
    async fn delete(
        &self,
        queue_url: &str,
        handles: &[String],
    ) -> Result<Vec<EntryResult>, BackendError>;

    /// `ChangeMessageVisibilityBatch`: each receipt handle with its seconds until visible again.
    async fn set_visibility(
        &self,
        queue_url: &str,
        entries: &[(String, i32)],
    ) -> Result<Vec<EntryResult>, BackendError>;

    /// `GetQueueAttributes`: depth, in flight, delayed, ARN and redrive policy.
    async fn stats(&self, queue_url: &str) -> Result<QueueStats, BackendError>;

    /// `GetQueueUrl` of the queue `name` owned by `account`.
    async fn url_of(&self, name: &str, account: &str) -> Result<String, BackendError>;
}
