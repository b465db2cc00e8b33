//! The SQS seam: the handful of queue operations the commands need, in SDK-free types, so the
//! commands can be tested against an in-memory fake and run against SQS unchanged.

use crate::error::Error;
use crate::queue_url::{QueueArn, QueueRef, QueueUrl};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    pub receipt_handle: String,
    pub body: String,
    /// System attributes as SQS returned them (`ApproximateReceiveCount`, `SentTimestamp`, ...).
    pub attributes: BTreeMap<String, String>,
    pub message_attributes: BTreeMap<String, AttributeValue>,
}

impl Message {
    /// How often SQS handed the message out, on the job queue and in the DLQ (a peek counts).
    pub fn receive_count(&self) -> u32 {
        self.attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// What may go back on a queue: the body byte for byte, and the message attributes.
    pub fn outgoing(&self) -> Outgoing {
        Outgoing {
            body: self.body.clone(),
            message_attributes: self.message_attributes.clone(),
        }
    }
}

/// A message attribute; a binary value is kept as base64 text, as the export file holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeValue {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<String>,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub body: String,
    pub message_attributes: BTreeMap<String, AttributeValue>,
}

impl Outgoing {
    /// What SQS counts against its batch size limit: the body and every attribute's parts.
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .message_attributes
                .iter()
                .map(|(name, v)| {
                    name.len()
                        + v.data_type.len()
                        + v.string_value.as_ref().map_or(0, String::len)
                        + v.binary_value.as_ref().map_or(0, |b| b.len() * 3 / 4)
                })
                .sum::<usize>()
    }
}

/// The outcome of one entry of a batch call: SQS answers each entry separately.
pub type EntryResult = Result<(), String>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub arn: Option<String>,
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
    pub redrive: Option<Redrive>,
}

/// A queue's `RedrivePolicy`: where its failures go, and after how many receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    pub target_arn: String,
    pub max_receive_count: Option<u32>,
}

impl Redrive {
    /// `{"deadLetterTargetArn": "...", "maxReceiveCount": 5}`; the count may be a string.
    pub fn parse(policy: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(policy).ok()?;
        let target_arn = value.get("deadLetterTargetArn")?.as_str()?.to_owned();
        let max_receive_count = value.get("maxReceiveCount").and_then(|n| match n {
            serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        });
        Some(Self {
            target_arn,
            max_receive_count,
        })
    }
}

/// The most entries one batch call takes.
pub const BATCH: usize = 10;

/// The most bytes one `SendMessageBatch` takes (the smallest limit SQS has had).
pub const BATCH_BYTES: usize = 256 * 1024;

#[async_trait::async_trait]
pub trait Queues: Send + Sync + std::fmt::Debug {
    /// `GetQueueAttributes`: depth, in flight, delayed, ARN and redrive policy.
    async fn stats(&self, queue: &QueueRef) -> Result<QueueStats, Error>;

    /// `GetQueueUrl` for a queue named by an ARN. `role` is the part the queue will play.
    async fn url_of(&self, arn: &QueueArn, asked_by: &QueueRef) -> Result<QueueUrl, Error>;

    /// Up to `max` (at most 10) messages, hidden from everyone else for `hold_seconds`;
    /// waits up to `wait_seconds` for one to arrive. Empty: nothing visible is left.
    async fn receive(
        &self,
        queue: &QueueRef,
        max: usize,
        hold_seconds: i32,
        wait_seconds: i32,
    ) -> Result<Vec<Message>, Error>;

    /// Sends up to 10 messages (see [`send_chunks`]); one result per message, in order.
    async fn send(
        &self,
        queue: &QueueRef,
        messages: &[Outgoing],
    ) -> Result<Vec<EntryResult>, Error>;

    /// Deletes up to 10 received messages; one result per handle, in order.
    async fn delete(&self, queue: &QueueRef, handles: &[String])
    -> Result<Vec<EntryResult>, Error>;

    /// Sets the visibility timeout of up to 10 received messages; 0 shows them again at once.
    async fn set_visibility(
        &self,
        queue: &QueueRef,
        handles: &[String],
        seconds: i32,
    ) -> Result<Vec<EntryResult>, Error>;
}

/// Splits messages into `SendMessageBatch` calls: at most 10 and 256 KiB each (a message
/// bigger than that goes alone; SQS then judges it against the single-message limit).
pub fn send_chunks(messages: &[Outgoing], most: usize) -> Vec<std::ops::Range<usize>> {
    let most = most.clamp(1, BATCH);
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, message) in messages.iter().enumerate() {
        let size = message.size();
        if i > start && (i - start == most || bytes + size > BATCH_BYTES) {
            chunks.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < messages.len() {
        chunks.push(start..messages.len());
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(bytes: usize) -> Outgoing {
        Outgoing {
            body: "x".repeat(bytes),
            message_attributes: BTreeMap::new(),
        }
    }

    #[test]
    fn batches_hold_at_most_ten_messages_and_256_kib() {
        let small: Vec<Outgoing> = (0..23).map(|_| message(100)).collect();
        assert_eq!(send_chunks(&small, 10), [0..10, 10..20, 20..23]);
        assert_eq!(send_chunks(&small[..4], 3), [0..3, 3..4]);
        let big: Vec<Outgoing> = (0..5).map(|_| message(100 * 1024)).collect();
        assert_eq!(send_chunks(&big, 10), [0..2, 2..4, 4..5]);
        let huge = vec![message(300 * 1024), message(10)];
        assert_eq!(send_chunks(&huge, 10), [0..1, 1..2]);
        assert!(send_chunks(&[], 10).is_empty());
    }

    #[test]
    fn reads_redrive_policies_with_either_count_type() {
        let r = Redrive::parse(
            r#"{"deadLetterTargetArn":"arn:aws:sqs:r:1:q-dlq","maxReceiveCount":"5"}"#,
        )
        .unwrap();
        assert_eq!(r.target_arn, "arn:aws:sqs:r:1:q-dlq");
        assert_eq!(r.max_receive_count, Some(5));
        let r = Redrive::parse(r#"{"deadLetterTargetArn":"a","maxReceiveCount":3}"#).unwrap();
        assert_eq!(r.max_receive_count, Some(3));
        assert!(Redrive::parse("{}").is_none());
        assert!(Redrive::parse("nonsense").is_none());
    }
}
