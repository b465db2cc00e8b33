//! The job queue seam, as the API sees it: put one job on the queue. (Consuming is the worker's
//! business and SQS-specific: visibility, batches, redrive.)

mod memory;
mod sqs;

pub use memory::MemoryQueue;
pub use sqs::SqsQueue;

use crate::error::BackendError;
use crate::job::DeliveryJob;

#[async_trait::async_trait]
pub trait JobQueue: Send + Sync + std::fmt::Debug {
    async fn enqueue(&self, job: &DeliveryJob) -> Result<(), BackendError>;
}
