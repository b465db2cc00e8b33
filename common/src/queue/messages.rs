//! What goes in and out of [`super::Sqs`], in SDK-free types.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most entries one batch call takes.
pub const BATCH: usize = 10;

/// The most bytes one `SendMessageBatch` takes (the smallest limit SQS has had).
pub const BATCH_BYTES: usize = 256 * 1024;

/// The outcome of one entry of a batch call (`Code: message` when SQS refused it).
pub type EntryResult = Result<(), String>;

/// A message's `ApproximateReceiveCount`: 1 on the first receive. SQS always sends it when
/// asked; a missing or unreadable count reads as 1, the first receive, so a retry backs off
/// the least and a claim is never taken over on a guess.
pub fn receive_count(raw: Option<&str>) -> u32 {
    raw.and_then(|n| n.trim().parse().ok()).unwrap_or(1)
}

/// How to receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receive {
    /// 1 to [`BATCH`].
    pub max: usize,
    /// The long poll: how long to wait for a first message.
    pub wait_seconds: i32,
    /// How long the messages stay hidden; `None`: the queue's visibility timeout.
    pub hold_seconds: Option<i32>,
}

/// One received message. Serialized, it is a line of the replayer's export file: what SQS
/// keeps of a message (the receipt handle is this receive's alone, the count in `attributes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    #[serde(rename = "message_id")]
    pub id: String,
    #[serde(skip)]
    pub receipt_handle: String,
    pub body: String,
    /// See [`receive_count`]; a peek counts too.
    #[serde(skip)]
    pub receive_count: u32,
    /// System attributes as SQS returned them (`ApproximateReceiveCount`, `SentTimestamp`, ...).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub message_attributes: BTreeMap<String, AttributeValue>,
}

impl Received {
    /// What may go back on a queue: the body byte for byte, and the message attributes.
    pub fn outgoing(&self) -> Outgoing {
        Outgoing {
            body: self.body.clone(),
            message_attributes: self.message_attributes.clone(),
        }
    }
}

/// A message attribute; a binary value is kept as base64 text (as an export file holds it).
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

/// Splits messages into `SendMessageBatch` calls: at most `most` (1 to 10) and 256 KiB each (a
/// message bigger than that goes alone; SQS then judges it against the single-message limit).
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
    fn the_receive_count_defaults_to_the_first_receive() {
        assert_eq!(receive_count(Some("3")), 3);
        assert_eq!(receive_count(None), 1);
        assert_eq!(receive_count(Some("")), 1);
        assert_eq!(receive_count(Some("-2")), 1);
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
