//! [`Queues`] over the AWS SDK. Every failure becomes an [`Error`] that names the IAM action
//! the call needs and the queue it was about.

use crate::error::{Error, Target};
use crate::queue_url::{QueueArn, QueueRef, QueueUrl, Role};
use crate::queues::{AttributeValue, EntryResult, Message, Outgoing, QueueStats, Queues, Redrive};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry,
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
pub struct SqsQueues {
    client: Client,
}

impl SqsQueues {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn build_error(action: &'static str, queue: &QueueRef, err: impl std::fmt::Display) -> Error {
    Error::Aws {
        service: "sqs",
        action,
        resource: queue.to_string(),
        detail: err.to_string(),
    }
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
    queue: &QueueRef,
) -> Result<MessageAttributeValue, Error> {
    let mut builder = MessageAttributeValue::builder()
        .data_type(&value.data_type)
        .set_string_value(value.string_value.clone());
    if let Some(binary) = &value.binary_value {
        let bytes = BASE64.decode(binary).map_err(|e| {
            build_error(
                "sqs:SendMessage",
                queue,
                format!("message attribute {name}: binary value is not base64: {e}"),
            )
        })?;
        builder = builder.binary_value(Blob::new(bytes));
    }
    builder
        .build()
        .map_err(|e| build_error("sqs:SendMessage", queue, e))
}

fn from_sdk_attribute(value: &MessageAttributeValue) -> AttributeValue {
    AttributeValue {
        data_type: value.data_type().to_owned(),
        string_value: value.string_value().map(str::to_owned),
        binary_value: value.binary_value().map(|b| BASE64.encode(b.as_ref())),
    }
}

#[async_trait::async_trait]
impl Queues for SqsQueues {
    async fn stats(&self, queue: &QueueRef) -> Result<QueueStats, Error> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(queue.url.as_str())
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .map_err(|e| {
                Error::from_sdk("sqs", "sqs:GetQueueAttributes", Target::Queue(queue), &e)
            })?;
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

    async fn url_of(&self, arn: &QueueArn, asked_by: &QueueRef) -> Result<QueueUrl, Error> {
        let out = self
            .client
            .get_queue_url()
            .queue_name(&arn.name)
            .queue_owner_aws_account_id(&arn.account)
            .send()
            .await
            .map_err(|e| {
                match Error::from_sdk("sqs", "sqs:GetQueueUrl", Target::Queue(asked_by), &e) {
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
        let url = out.queue_url.unwrap_or_default();
        url.parse().map_err(|problem: String| Error::Aws {
            service: "sqs",
            action: "sqs:GetQueueUrl",
            resource: arn.name.clone(),
            detail: problem,
        })
    }

    async fn receive(
        &self,
        queue: &QueueRef,
        max: usize,
        hold_seconds: i32,
        wait_seconds: i32,
    ) -> Result<Vec<Message>, Error> {
        let out = self
            .client
            .receive_message()
            .queue_url(queue.url.as_str())
            .max_number_of_messages(max.clamp(1, crate::queues::BATCH) as i32)
            .visibility_timeout(hold_seconds)
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| Error::from_sdk("sqs", "sqs:ReceiveMessage", Target::Queue(queue), &e))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                Some(Message {
                    id: m.message_id?,
                    receipt_handle: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                    attributes: m
                        .attributes
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v))
                        .collect(),
                    message_attributes: m
                        .message_attributes
                        .unwrap_or_default()
                        .iter()
                        .map(|(k, v)| (k.clone(), from_sdk_attribute(v)))
                        .collect::<BTreeMap<_, _>>(),
                })
            })
            .collect())
    }

    async fn send(
        &self,
        queue: &QueueRef,
        messages: &[Outgoing],
    ) -> Result<Vec<EntryResult>, Error> {
        let mut entries = Vec::with_capacity(messages.len());
        for (i, message) in messages.iter().enumerate() {
            let attributes = message
                .message_attributes
                .iter()
                .map(|(name, value)| Ok((name.clone(), to_sdk_attribute(name, value, queue)?)))
                .collect::<Result<HashMap<_, _>, Error>>()?;
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&message.body)
                    .set_message_attributes((!attributes.is_empty()).then_some(attributes))
                    .build()
                    .map_err(|e| build_error("sqs:SendMessage", queue, e))?,
            );
        }
        let out = self
            .client
            .send_message_batch()
            .queue_url(queue.url.as_str())
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| Error::from_sdk("sqs", "sqs:SendMessage", Target::Queue(queue), &e))?;
        Ok(entry_results(messages.len(), out.failed()))
    }

    async fn delete(
        &self,
        queue: &QueueRef,
        handles: &[String],
    ) -> Result<Vec<EntryResult>, Error> {
        let entries = handles
            .iter()
            .enumerate()
            .map(|(i, handle)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()
                    .map_err(|e| build_error("sqs:DeleteMessage", queue, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .delete_message_batch()
            .queue_url(queue.url.as_str())
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| Error::from_sdk("sqs", "sqs:DeleteMessage", Target::Queue(queue), &e))?;
        Ok(entry_results(handles.len(), out.failed()))
    }

    async fn set_visibility(
        &self,
        queue: &QueueRef,
        handles: &[String],
        seconds: i32,
    ) -> Result<Vec<EntryResult>, Error> {
        let entries = handles
            .iter()
            .enumerate()
            .map(|(i, handle)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .visibility_timeout(seconds)
                    .build()
                    .map_err(|e| build_error("sqs:ChangeMessageVisibility", queue, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .change_message_visibility_batch()
            .queue_url(queue.url.as_str())
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                Error::from_sdk(
                    "sqs",
                    "sqs:ChangeMessageVisibility",
                    Target::Queue(queue),
                    &e,
                )
            })?;
        Ok(entry_results(handles.len(), out.failed()))
    }
}
