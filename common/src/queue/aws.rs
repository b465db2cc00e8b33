//! The SQS adapters: [`SqsQueue`] (the API's enqueue) and [`AwsSqs`] (the consumers' seam).
//! The only place the SQS SDK is called.

use super::messages::{
    AttributeValue, EntryResult, Outgoing, QueueStats, Receive, Received, Redrive,
};
use super::{JobQueue, Sqs};
use crate::error::BackendError;
use crate::job::DeliveryJob;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry,
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::HashMap;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
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

/// [`Sqs`] over the SDK.
#[derive(Debug, Clone)]
pub struct AwsSqs {
    client: Client,
}

impl AwsSqs {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(sdk),
        }
    }

    /// A client whose timeouts outlast a long poll of `wait_seconds` (the shared SDK config's
    /// timeouts are sized for short calls).
    pub fn long_polling(sdk: &aws_config::SdkConfig, wait_seconds: i32) -> Self {
        let wait = Duration::from_secs(u64::try_from(wait_seconds).unwrap_or(0));
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(2))
            .operation_attempt_timeout(wait + Duration::from_secs(5))
            .operation_timeout(wait + Duration::from_secs(15))
            .build();
        let config = aws_sdk_sqs::config::Builder::from(sdk)
            .timeout_config(timeouts)
            .build();
        Self {
            client: Client::from_conf(config),
        }
    }
}

fn invalid(operation: &'static str, err: impl std::fmt::Display) -> BackendError {
    BackendError::new("sqs", operation, format!("InvalidRequest: {err}"))
}

/// One result per entry: `Ok` unless the entry's id (its index) is among the failed ones.
fn entry_results(count: usize, failed: &[BatchResultErrorEntry]) -> Vec<EntryResult> {
    let mut results: Vec<EntryResult> = vec![Ok(()); count];
    for f in failed {
        if let Some(slot) = f
            .id()
            .parse::<usize>()
            .ok()
            .and_then(|i| results.get_mut(i))
        {
            *slot = Err(format!(
                "{}: {}",
                f.code(),
                f.message().unwrap_or("no message")
            ));
        }
    }
    results
}

fn to_sdk_attribute(
    name: &str,
    value: &AttributeValue,
) -> Result<MessageAttributeValue, BackendError> {
    let mut builder = MessageAttributeValue::builder()
        .data_type(&value.data_type)
        .set_string_value(value.string_value.clone());
    if let Some(binary) = &value.binary_value {
        let bytes = BASE64.decode(binary).map_err(|e| {
            invalid(
                "SendMessageBatch",
                format!("message attribute {name}: binary value is not base64: {e}"),
            )
        })?;
        builder = builder.binary_value(Blob::new(bytes));
    }
    builder.build().map_err(|e| invalid("SendMessageBatch", e))
}

/// A received message, or why it cannot be handled (see [`Sqs::receive`]).
fn received(m: Message) -> Result<Received, &'static str> {
    let attributes: std::collections::BTreeMap<String, String> = m
        .attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_owned(), v))
        .collect();
    Ok(Received {
        id: m.message_id.ok_or("no message id")?,
        receipt_handle: m.receipt_handle.ok_or("no receipt handle")?,
        body: m.body.ok_or("no body")?,
        receive_count: super::receive_count(
            attributes
                .get("ApproximateReceiveCount")
                .map(String::as_str),
        ),
        attributes,
        message_attributes: m
            .message_attributes
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| {
                let value = AttributeValue {
                    data_type: v.data_type().to_owned(),
                    string_value: v.string_value().map(str::to_owned),
                    binary_value: v.binary_value().map(|b| BASE64.encode(b.as_ref())),
                };
                (k.clone(), value)
            })
            .collect(),
    })
}

#[async_trait::async_trait]
impl Sqs for AwsSqs {
    async fn receive(&self, queue_url: &str, ask: Receive) -> Result<Vec<Received>, BackendError> {
        let out = self
            .client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(i32::try_from(ask.max.clamp(1, super::BATCH)).unwrap_or(1))
            .set_visibility_timeout(ask.hold_seconds)
            .wait_time_seconds(ask.wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| BackendError::sdk("sqs", "ReceiveMessage", e))?;
        let mut messages = Vec::new();
        for message in out.messages.unwrap_or_default() {
            match received(message) {
                Ok(message) => messages.push(message),
                Err(problem) => tracing::error!(
                    problem,
                    "SQS handed out a message that cannot be handled: left to the redrive policy"
                ),
            }
        }
        Ok(messages)
    }

    async fn send(
        &self,
        queue_url: &str,
        messages: &[Outgoing],
    ) -> Result<Vec<EntryResult>, BackendError> {
        let mut entries = Vec::with_capacity(messages.len());
        for (i, message) in messages.iter().enumerate() {
            let attributes = message
                .message_attributes
                .iter()
                .map(|(name, value)| Ok((name.clone(), to_sdk_attribute(name, value)?)))
                .collect::<Result<HashMap<_, _>, BackendError>>()?;
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&message.body)
                    .set_message_attributes((!attributes.is_empty()).then_some(attributes))
                    .build()
                    .map_err(|e| invalid("SendMessageBatch", e))?,
            );
        }
        let out = self
            .client
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| BackendError::sdk("sqs", "SendMessageBatch", e))?;
        Ok(entry_results(messages.len(), out.failed()))
    }

    async fn delete(
        &self,
        queue_url: &str,
        handles: &[String],
    ) -> Result<Vec<EntryResult>, BackendError> {
        let entries = handles
            .iter()
            .enumerate()
            .map(|(i, handle)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()
                    .map_err(|e| invalid("DeleteMessageBatch", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| BackendError::sdk("sqs", "DeleteMessageBatch", e))?;
        Ok(entry_results(handles.len(), out.failed()))
    }

    async fn set_visibility(
        &self,
        queue_url: &str,
        entries: &[(String, i32)],
    ) -> Result<Vec<EntryResult>, BackendError> {
        let sdk_entries = entries
            .iter()
            .enumerate()
            .map(|(i, (handle, seconds))| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .visibility_timeout(*seconds)
                    .build()
                    .map_err(|e| invalid("ChangeMessageVisibilityBatch", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .change_message_visibility_batch()
            .queue_url(queue_url)
            .set_entries(Some(sdk_entries))
            .send()
            .await
            .map_err(|e| BackendError::sdk("sqs", "ChangeMessageVisibilityBatch", e))?;
        Ok(entry_results(entries.len(), out.failed()))
    }

    async fn stats(&self, queue_url: &str) -> Result<QueueStats, BackendError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .map_err(|e| BackendError::sdk("sqs", "GetQueueAttributes", e))?;
        let attributes = out.attributes.unwrap_or_default();
        let count = |name: QueueAttributeName| {
            attributes
                .get(&name)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok(QueueStats {
            arn: attributes.get(&QueueAttributeName::QueueArn).cloned(),
            visible: count(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            delayed: count(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
            redrive: attributes
                .get(&QueueAttributeName::RedrivePolicy)
                .and_then(|policy| Redrive::parse(policy)),
        })
    }

    async fn url_of(&self, name: &str, account: &str) -> Result<String, BackendError> {
        let out = self
            .client
            .get_queue_url()
            .queue_name(name)
            .queue_owner_aws_account_id(account)
            .send()
            .await
            .map_err(|e| BackendError::sdk("sqs", "GetQueueUrl", e))?;
        out.queue_url
            .ok_or_else(|| BackendError::new("sqs", "GetQueueUrl", "InvalidResponse: no queue URL"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> aws_sdk_sqs::types::builders::MessageBuilder {
        Message::builder()
            .message_id("m1")
            .receipt_handle("h1")
            .body("{}")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "3")
    }

    #[test]
    fn a_message_missing_its_id_handle_or_body_is_refused_not_emptied() {
        let whole = received(message().build()).unwrap();
        assert_eq!((whole.id.as_str(), whole.receive_count), ("m1", 3));
        let no_body = message().set_body(None).build();
        assert_eq!(received(no_body), Err("no body"));
        let no_handle = message().set_receipt_handle(None).build();
        assert_eq!(received(no_handle), Err("no receipt handle"));
        let no_id = message().set_message_id(None).build();
        assert_eq!(received(no_id), Err("no message id"));
    }
}
