use super::JobQueue;
use crate::error::BackendError;
use crate::job::DeliveryJob;

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait::async_trait]
impl JobQueue for SqsQueue {
    async fn enqueue(&self, job: &DeliveryJob) -> Result<(), BackendError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(job.to_body())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| BackendError::sdk("sqs", "SendMessage", e))
    }
}
