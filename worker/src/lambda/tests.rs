//! Unit tests of the SQS batch handler: which records come back as failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::deliver::Outcome;
use aws_lambda_events::event::sqs::SqsMessage;
use common::clock::Clock;
use common::domain::{Destination, OtpId};
use common::record::DeliveryState;
use common::sender::{OutgoingMessage, SendError, Sender};
use std::sync::Mutex;

const GOOD: &str = "good@example.com";
const THROTTLED: &str = "throttled@example.com";

/// Delivers to every address but [`THROTTLED`], which always fails transiently: which record
/// fails then does not depend on the order the batch is worked in.
#[derive(Debug, Default)]
struct PickySender {
    sent: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Sender for PickySender {
    async fn send(&self, to: &Destination, _message: &OutgoingMessage) -> Result<(), SendError> {
        if to.as_str() == THROTTLED {
            return Err(SendError::Transient("Throttling".into()));
        }
        self.sent.lock().unwrap().push(to.as_str().to_owned());
        Ok(())
    }
}

type Fixture = crate::test_support::Fixture<PickySender>;

fn fixture() -> Fixture {
    crate::test_support::fixture()
}

impl Fixture {
    /// Stores a pending OTP for `address` as the API would, and returns its first job's body.
    async fn issue(&self, address: &str) -> (OtpId, String) {
        let (job, _) =
            crate::test_support::issue(&self.store, &self.keys, self.clock.now(), address, 600)
                .await;
        (job.otp_id, job.to_body())
    }
}

fn message(id: Option<&str>, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = id.map(str::to_owned);
    m.body = Some(body.to_owned());
    m
}

fn event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = records;
    e
}

fn failed_ids(response: &SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn only_the_poison_and_transient_records_are_reported_as_failures() {
    let f = fixture();
    let (good_id, good) = f.issue(GOOD).await;
    let (throttled_id, throttled) = f.issue(THROTTLED).await;
    // Sanity: each on its own ends as this test needs.
    assert!(matches!(
        f.deliverer
            .deliver(
                "probe",
                1,
                &throttled,
                &tokio_util::sync::CancellationToken::new()
            )
            .await,
        Outcome::Retry { .. }
    ));

    let response = handle_batch(
        &f.deliverer,
        event(vec![
            message(Some("m-good"), &good),
            message(Some("m-poison"), "not json"),
            message(Some("m-transient"), &throttled),
        ]),
    )
    .await
    .unwrap();

    assert_eq!(failed_ids(&response), ["m-poison", "m-transient"]);
    assert!(
        response
            .batch_item_failures
            .iter()
            .all(|f| !f.item_identifier.is_empty())
    );
    assert_eq!(*f.sender.sent.lock().unwrap(), [GOOD]);
    assert_eq!(
        f.store.record(good_id).unwrap().delivery,
        DeliveryState::Sent
    );
    // The throttled job's claim is kept for its next receive.
    assert_eq!(
        f.store.record(throttled_id).unwrap().delivery,
        DeliveryState::Sending
    );
}

#[tokio::test]
async fn the_next_receive_of_a_throttled_record_takes_over_its_claim() {
    let f = fixture();
    let (id, throttled) = f.issue(THROTTLED).await;
    let received = |count: &str| {
        let mut m = message(Some("m-transient"), &throttled);
        m.attributes
            .insert("ApproximateReceiveCount".into(), count.into());
        event(vec![m])
    };

    let first = handle_batch(&f.deliverer, received("1")).await.unwrap();
    assert_eq!(failed_ids(&first), ["m-transient"]);
    let holder = || f.store.record(id).unwrap().lease_holder;
    assert_eq!(holder().as_deref(), Some("m-transient#1"));

    // Within the lease: the second receive holds the claim (it was not told "busy").
    let second = handle_batch(&f.deliverer, received("2")).await.unwrap();
    assert_eq!(failed_ids(&second), ["m-transient"]);
    assert_eq!(holder().as_deref(), Some("m-transient#2"));
}

#[tokio::test]
async fn a_batch_that_is_all_done_reports_no_failures() {
    let f = fixture();
    let (_, first) = f.issue(GOOD).await;
    let (_, second) = f.issue("other@example.com").await;

    let response = handle_batch(
        &f.deliverer,
        event(vec![
            message(Some("m-1"), &first),
            message(Some("m-2"), &second),
        ]),
    )
    .await
    .unwrap();

    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        failed_ids(&response)
    );
    assert_eq!(f.sender.sent.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_empty_batch_reports_no_failures() {
    let f = fixture();
    let response = handle_batch(&f.deliverer, SqsEvent::default())
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
}

#[tokio::test]
async fn a_record_without_a_body_is_reported_as_a_failure() {
    let f = fixture();
    let mut bodiless = SqsMessage::default();
    bodiless.message_id = Some("m-empty".to_owned());

    let response = handle_batch(&f.deliverer, event(vec![bodiless]))
        .await
        .unwrap();

    assert_eq!(failed_ids(&response), ["m-empty"]);
}

#[tokio::test]
async fn a_failing_record_without_a_message_id_fails_the_whole_batch() {
    let f = fixture();
    let (_, good) = f.issue(GOOD).await;
    let (_, throttled) = f.issue(THROTTLED).await;

    let poison = handle_batch(
        &f.deliverer,
        event(vec![
            message(Some("m-good"), &good),
            message(None, "not json"),
        ]),
    )
    .await;
    assert!(poison.is_err(), "{poison:?}");

    let transient = handle_batch(&f.deliverer, event(vec![message(None, &throttled)])).await;
    assert!(transient.is_err(), "{transient:?}");
}

#[tokio::test]
async fn a_record_without_a_message_id_or_body_is_not_delivered_but_kept() {
    let f = fixture();
    let (id, good) = f.issue(GOOD).await;

    // Without an id the claim has no holder: not delivered, and the batch fails so it comes back.
    let response = handle_batch(&f.deliverer, event(vec![message(None, &good)])).await;
    assert!(
        matches!(response, Err(BatchError::Unreportable)),
        "{response:?}"
    );
    assert!(f.sender.sent.lock().unwrap().is_empty());
    assert_eq!(f.store.record(id).unwrap().delivery, DeliveryState::Queued);

    // Without a body it is reported as failed (kept for the DLQ), and said so.
    let mut bodiless = message(Some("m-empty"), "");
    bodiless.body = None;
    let batch = event(vec![bodiless]);
    let outcomes = deliver_all(&f.deliverer, &batch).await;
    assert!(
        matches!(&outcomes[..], [Outcome::Poison { reason }] if reason.contains("no body")),
        "{outcomes:?}"
    );
    assert_eq!(
        failed_ids(&respond(&batch, &outcomes).unwrap()),
        ["m-empty"]
    );
}

#[test]
fn a_systemic_failure_fails_the_whole_invocation_so_the_event_source_backs_off() {
    let batch = event(vec![message(Some("m-1"), "{}"), message(Some("m-2"), "{}")]);
    let outcomes = [
        Outcome::Sent,
        Outcome::Systemic {
            reason: "AccountSuspendedException".into(),
        },
    ];
    match respond(&batch, &outcomes) {
        Err(BatchError::Systemic(reason)) => assert!(reason.contains("AccountSuspended")),
        other => panic!("expected the batch to fail, got {other:?}"),
    }
    // Without a systemic failure, only the unfinished record is listed.
    let outcomes = [Outcome::Sent, Outcome::Interrupted];
    let response = respond(&batch, &outcomes).unwrap();
    let ids: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(ids, ["m-2"]);
}
