//! `DeliveryJob::parse`, the worker's reading of a queue message: whatever a buggy or hostile
//! producer puts on the queue, it answers `Ok` or `Err`, never panics; what it accepts is a
//! job the worker can act on, and what the API writes it reads back unchanged.

use super::{fuzz, matching};
use common::domain::{Channel, OtpId};
use common::job::{DeliveryJob, JOB_VERSION};
use proptest::prelude::*;
use serde_json::{Value, json};

fn channel() -> impl Strategy<Value = Channel> {
    prop_oneof![Just(Channel::Email), Just(Channel::Sms)]
}

/// Any job the API could enqueue (and some it never would: any text, any time).
fn valid_job() -> impl Strategy<Value = DeliveryJob> {
    (
        any::<u128>(),
        1..=u32::MAX,
        channel(),
        any::<String>(),
        any::<String>(),
        any::<i64>(),
        any::<i64>(),
    )
        .prop_map(
            |(id, send, channel, slot, to, expires_at, enqueued_at)| DeliveryJob {
                v: JOB_VERSION,
                otp_id: OtpId::parse(&uuid::Uuid::from_u128(id).to_string())
                    .expect("a UUID parses"),
                send,
                channel,
                slot: format!("live_{slot}"),
                to,
                expires_at,
                enqueued_at,
            },
        )
}

/// A JSON value of any shape, small.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::from),
        Just(json!("live_x")),
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(-1)),
        Just(json!(256)),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map(matching("[a-z_]{1,10}"), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: [&str; 8] = [
    "v",
    "otp_id",
    "send",
    "channel",
    "slot",
    "to",
    "expires_at",
    "enqueued_at",
];

#[derive(Debug, Clone)]
enum Edit {
    Remove(usize),
    Replace(usize, Value),
    Add(String, Value),
    /// The field written twice (as text: a JSON map cannot hold it).
    Duplicate(usize, Value),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..FIELDS.len()).prop_map(Edit::Remove),
        (0..FIELDS.len(), any_json()).prop_map(|(i, v)| Edit::Replace(i, v)),
        (matching("[a-z_]{1,12}"), any_json()).prop_map(|(k, v)| Edit::Add(k, v)),
        (0..FIELDS.len(), any_json()).prop_map(|(i, v)| Edit::Duplicate(i, v)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

/// A job the API would write, then a few edits: the bodies a parser most likely gets wrong.
fn near_valid_body() -> impl Strategy<Value = String> {
    (valid_job(), prop::collection::vec(edit(), 1..4)).prop_map(|(job, edits)| {
        let mut object = serde_json::to_value(&job).expect("a job serialises");
        let mut suffix = String::new();
        let mut truncate = None;
        for edit in edits {
            let map = object.as_object_mut().expect("a job is an object");
            match edit {
                Edit::Remove(i) => {
                    map.remove(FIELDS[i]);
                }
                Edit::Replace(i, value) => {
                    map.insert(FIELDS[i].to_owned(), value);
                }
                Edit::Add(key, value) => {
                    map.insert(key, value);
                }
                Edit::Duplicate(i, value) => {
                    suffix.push_str(&format!(",{}:{value}", json!(FIELDS[i])));
                }
                Edit::Truncate(at) => truncate = Some(at),
            }
        }
        let mut text = object.to_string();
        if !suffix.is_empty() && text.len() > 2 {
            text.insert_str(text.len() - 1, &suffix);
        }
        if let Some(at) = truncate {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.truncate(at);
        }
        text
    })
}

/// An accepted body is a job the worker can act on, and reads back the same once re-written.
fn accepted_is_usable(body: &str) -> Result<(), TestCaseError> {
    if let Ok(job) = DeliveryJob::parse(body) {
        prop_assert_eq!(job.v, JOB_VERSION);
        prop_assert!(job.send >= 1);
        prop_assert!(job.slot.starts_with("live_"));
        prop_assert_eq!(DeliveryJob::parse(&job.to_body()), Ok(job));
    }
    Ok(())
}

#[test]
fn arbitrary_text_is_parsed_or_refused_never_a_panic() {
    fuzz(file!(), any::<String>(), |body| accepted_is_usable(&body));
}

#[test]
fn arbitrary_bytes_as_sqs_would_hand_them_over_are_parsed_or_refused() {
    // SQS bodies are Unicode text; bytes that are not arrive replaced, as the SDK decodes them.
    let bytes = prop::collection::vec(any::<u8>(), 0..512);
    fuzz(file!(), bytes, |bytes| {
        accepted_is_usable(&String::from_utf8_lossy(&bytes))
    });
}

#[test]
fn near_valid_job_bodies_are_parsed_or_refused_never_a_panic() {
    fuzz(file!(), near_valid_body(), |body| accepted_is_usable(&body));
}

#[test]
fn every_job_the_api_can_write_parses_back_unchanged() {
    fuzz(file!(), valid_job(), |job| {
        prop_assert_eq!(DeliveryJob::parse(&job.to_body()), Ok(job));
        Ok(())
    });
}
