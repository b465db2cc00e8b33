//! Unit tests of the delivery rules, on the in-memory store and sender.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use common::domain::{Destination, OtpCode, OtpId};
use common::lifecycle::VerifyOutcome;
use common::record::{DeliveryState, OtpRecord};
use common::secret::ServiceSecret;
use common::sender::{MemorySender, OutgoingMessage};
use common::store::SendGuards;
use std::sync::atomic::{AtomicUsize, Ordering};

const JANE: &str = "jane.doe@example.com";
const TTL: i64 = 600;

/// A [`MemorySender`] that also counts calls, failed ones included.
#[derive(Debug, Default)]
struct CountingSender {
    inner: MemorySender,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl Sender for CountingSender {
    async fn send(&self, to: &Destination, message: &OutgoingMessage) -> Result<(), SendError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.send(to, message).await
    }
}

type Fixture = crate::test_support::Fixture<CountingSender>;

fn fixture() -> Fixture {
    crate::test_support::fixture()
}

/// The runs of ASCII digits in `text`, in order.
fn digit_runs(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| !run.is_empty())
        .collect()
}

impl Fixture {
    /// Stores a pending OTP for `JANE` as the API would, and returns its first job and its code.
    async fn issue(&self) -> (DeliveryJob, OtpCode) {
        crate::test_support::issue(&self.store, &self.keys, self.clock.now(), JANE, TTL).await
    }

    /// The next receive of message "message-1", carrying `job`.
    async fn deliver(&self, job: &DeliveryJob) -> Outcome {
        let receives = self.receives.fetch_add(1, Ordering::SeqCst) + 1;
        self.deliver_as("message-1", receives, job).await
    }

    async fn deliver_as(&self, message_id: &str, receives: u32, job: &DeliveryJob) -> Outcome {
        self.deliverer
            .deliver(
                message_id,
                receives,
                &job.to_body(),
                &tokio_util::sync::CancellationToken::new(),
            )
            .await
    }

    fn record(&self, id: OtpId) -> OtpRecord {
        self.store.record(id).expect("no record for this id")
    }

    fn calls(&self) -> usize {
        self.sender.calls.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_pending_job_is_sent_once_with_the_code_as_one_run_of_digits() {
    let f = fixture();
    let (job, code) = f.issue().await;

    assert_eq!(f.deliver(&job).await, Outcome::Sent);

    let sent = f.sender.inner.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(f.calls(), 1);
    assert_eq!(sent[0].to.as_str(), JANE);
    let text = &sent[0].message.text;
    assert!(
        digit_runs(text).contains(&code.expose()),
        "the code is not one run of digits in the text"
    );
    assert!(
        text.starts_with(code.expose()),
        "the code must lead for SMS previews"
    );
    assert!(text.contains("Acme") && text.contains("10 minutes"));
    assert!(!sent[0].message.subject.contains(code.expose()));
    let record = f.record(job.otp_id);
    assert_eq!(record.delivery, DeliveryState::Sent);
    assert_eq!(record.delivered_send, 1);
    assert_eq!(
        record.lease_until, None,
        "the claim must be given up once done"
    );
    assert!(Outcome::Sent.is_final());
}

#[tokio::test]
async fn a_duplicate_job_after_it_was_sent_is_skipped_and_nothing_more_is_sent() {
    let f = fixture();
    let (job, _) = f.issue().await;
    assert_eq!(f.deliver(&job).await, Outcome::Sent);

    let again = f.deliver(&job).await;

    assert_eq!(again, Outcome::Skipped(SkipReason::Delivered));
    assert!(again.is_final());
    assert_eq!(f.calls(), 1);
    assert_eq!(f.record(job.otp_id).delivery, DeliveryState::Sent);
}

#[tokio::test]
async fn a_resend_job_is_delivered_with_the_same_code_and_a_stale_one_after_it_is_skipped() {
    let f = fixture();
    let (first, code) = f.issue().await;
    assert_eq!(f.deliver(&first).await, Outcome::Sent);
    // What `add_send` does for a resend: the record counts a second send, the job carries it.
    let record = f.record(first.otp_id);
    let guards = SendGuards {
        destination_key: record.destination_key.clone(),
        ip_key: None,
        now: f.clock.now(),
        cooldown_seconds: 0,
        max_per_destination_hour: 1_000,
        max_per_ip_hour: 1_000,
        tenant: None,
    };
    assert_eq!(f.store.add_send(&record, &guards, 5).await.unwrap(), 2);
    let second = DeliveryJob {
        send: 2,
        ..first.clone()
    };

    assert_eq!(f.deliver(&second).await, Outcome::Sent);
    assert_eq!(
        f.deliver(&first).await,
        Outcome::Skipped(SkipReason::Delivered)
    );

    let sent = f.sender.inner.sent();
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter()
            .all(|m| digit_runs(&m.message.text).contains(&code.expose()))
    );
    assert_eq!(f.record(first.otp_id).delivered_send, 2);
}

#[tokio::test]
async fn a_job_for_a_verified_otp_is_skipped() {
    let f = fixture();
    let (job, _) = f.issue().await;
    let outcome = f
        .store
        .verify(job.otp_id, &job.slot, "test-token", f.clock.now())
        .await
        .unwrap();
    assert_eq!(outcome, VerifyOutcome::Verified);

    let result = f.deliver(&job).await;

    assert_eq!(result, Outcome::Skipped(SkipReason::Verified));
    assert_eq!(f.calls(), 0);
}

#[tokio::test]
async fn a_job_for_a_locked_otp_is_skipped() {
    let f = fixture();
    let (job, _) = f.issue().await;
    for _ in 0..5 {
        f.store
            .verify(job.otp_id, "live_wrong", "test-token", f.clock.now())
            .await
            .unwrap();
    }

    assert_eq!(f.deliver(&job).await, Outcome::Skipped(SkipReason::Locked));
    assert_eq!(f.calls(), 0);
}

#[tokio::test]
async fn a_job_for_an_unknown_otp_is_skipped() {
    let f = fixture();
    let (job, _) = f.issue().await;
    let stray = DeliveryJob {
        otp_id: OtpId::new_random(),
        ..job
    };

    assert_eq!(f.deliver(&stray).await, Outcome::Skipped(SkipReason::Gone));
    assert_eq!(f.calls(), 0);
}

#[tokio::test]
async fn an_expired_job_is_dropped_and_nothing_is_sent() {
    let f = fixture();
    let (job, _) = f.issue().await;
    f.clock.advance(TTL);

    let outcome = f.deliver(&job).await;

    assert_eq!(outcome, Outcome::Dropped);
    assert!(outcome.is_final());
    assert_eq!(f.calls(), 0);
    assert_eq!(f.record(job.otp_id).delivery, DeliveryState::Dropped);
}

#[tokio::test]
async fn a_duplicate_of_a_sent_job_arriving_after_expiry_leaves_the_delivery_sent() {
    let f = fixture();
    let (job, _) = f.issue().await;
    assert_eq!(f.deliver(&job).await, Outcome::Sent);
    f.clock.advance(TTL);

    let again = f.deliver(&job).await;

    assert_eq!(f.calls(), 1);
    assert_eq!(
        f.record(job.otp_id).delivery,
        DeliveryState::Sent,
        "the code was delivered"
    );
    assert!(matches!(again, Outcome::Skipped(_)), "{again:?}");
}

#[tokio::test]
async fn a_permanent_send_error_fails_the_delivery_with_its_reason() {
    let f = fixture();
    let (job, _) = f.issue().await;
    f.sender.inner.fail_next([SendError::Permanent {
        reason: "MessageRejected".into(),
        detail: "address is on the suppression list".into(),
    }]);

    let outcome = f.deliver(&job).await;

    assert_eq!(
        outcome,
        Outcome::Failed {
            reason: "MessageRejected".into()
        }
    );
    assert!(
        outcome.is_final(),
        "a permanent failure must not be retried"
    );
    assert_eq!(f.calls(), 1);
    assert!(f.sender.inner.sent().is_empty());
    let record = f.record(job.otp_id);
    assert_eq!(record.delivery, DeliveryState::Failed);
    assert_eq!(record.failure_reason.as_deref(), Some("MessageRejected"));
    assert_eq!(record.lease_until, None);
    assert_eq!(record.delivered_send, job.send);

    // SQS may hand the same job out again: the provider is not asked a second time.
    assert_eq!(
        f.deliver(&job).await,
        Outcome::Skipped(SkipReason::Rejected)
    );
    assert_eq!(f.calls(), 1);
}

#[tokio::test]
async fn a_transient_send_error_is_retried_and_the_next_receive_takes_over_the_claim() {
    let f = fixture();
    let (job, _) = f.issue().await;
    f.sender
        .inner
        .fail_next([SendError::Transient("Throttling".into())]);

    let outcome = f.deliver(&job).await;

    assert_eq!(
        outcome,
        Outcome::Retry {
            reason: "Throttling".into(),
            expires_at: Some(job.expires_at),
        }
    );
    assert!(!outcome.is_final());
    let record = f.record(job.otp_id);
    assert_eq!(record.lease_holder.as_deref(), Some("message-1#1"));
    assert_eq!(record.delivery, DeliveryState::Sending);
    // No release write, and no waiting for the claim to lapse: the message's next receive
    // takes it over at once.
    assert_eq!(f.deliver(&job).await, Outcome::Sent);
    assert_eq!(f.calls(), 2);
    assert_eq!(f.sender.inner.sent().len(), 1);
    assert_eq!(f.record(job.otp_id).lease_holder, None);
}

#[tokio::test]
async fn a_kept_claim_is_not_taken_by_another_message_or_a_concurrent_copy() {
    let f = fixture();
    let (job, _) = f.issue().await;
    f.sender
        .inner
        .fail_next([SendError::Transient("Throttling".into())]);
    assert!(matches!(
        f.deliver_as("message-1", 3, &job).await,
        Outcome::Retry { .. }
    ));

    // A resend's job, a copy of the same receive, an older receive: none is this message's
    // next receive, so each waits for the lease.
    for (message_id, receives) in [("message-2", 4), ("message-1", 3), ("message-1", 2)] {
        let outcome = f.deliver_as(message_id, receives, &job).await;
        assert!(
            matches!(&outcome, Outcome::Retry { reason, .. } if reason.contains("another worker")),
            "{message_id}#{receives} gave {outcome:?}"
        );
    }
    assert_eq!(f.calls(), 1);

    f.clock.advance(f.deliverer.claim_seconds + 1);
    assert_eq!(f.deliver_as("message-2", 1, &job).await, Outcome::Sent);
}

#[tokio::test]
async fn a_systemic_send_error_is_systemic_and_gives_the_claim_back() {
    let f = fixture();
    let (job, _) = f.issue().await;
    f.sender
        .inner
        .fail_next([SendError::Systemic("AccountSendingPaused".into())]);

    let outcome = f.deliver(&job).await;

    assert_eq!(
        outcome,
        Outcome::Systemic {
            reason: "AccountSendingPaused".into()
        }
    );
    assert!(!outcome.is_final());
    assert_eq!(f.record(job.otp_id).lease_until, None);
    assert_eq!(f.deliver(&job).await, Outcome::Sent);
}

#[tokio::test]
async fn a_job_claimed_by_another_worker_is_retried_until_the_claim_lapses() {
    let f = fixture();
    let (job, _) = f.issue().await;
    let now = f.clock.now();
    let claim = f
        .store
        .claim_delivery(
            &job,
            &LeaseHolder::new("other-message", 1),
            now,
            f.deliverer.claim_seconds,
        )
        .await
        .unwrap();
    assert!(matches!(claim, Claim::Granted(_)));

    let outcome = f.deliver(&job).await;
    assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
    assert_eq!(f.calls(), 0);

    f.clock.advance(f.deliverer.claim_seconds + 1);
    assert_eq!(f.deliver(&job).await, Outcome::Sent);
}

#[tokio::test]
async fn a_store_outage_is_retried_and_nothing_is_sent() {
    let f = fixture();
    let (job, _) = f.issue().await;
    f.store.set_unavailable(true);

    let outcome = f.deliver(&job).await;

    assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
    assert_eq!(f.calls(), 0);
    f.store.set_unavailable(false);
    assert_eq!(f.deliver(&job).await, Outcome::Sent);
}

#[tokio::test]
async fn a_body_that_is_not_a_job_is_poison() {
    let f = fixture();
    let (job, _) = f.issue().await;
    let future_version = job.to_body().replacen("\"v\":1", "\"v\":2", 1);
    assert_ne!(future_version, job.to_body());

    for body in ["not json", "", "{}", future_version.as_str()] {
        let outcome = f
            .deliverer
            .deliver(
                "message-1",
                1,
                body,
                &tokio_util::sync::CancellationToken::new(),
            )
            .await;
        assert!(
            matches!(outcome, Outcome::Poison { .. }),
            "{body:?} gave {outcome:?}"
        );
        assert!(
            !outcome.is_final(),
            "poison must be left for the DLQ, not deleted"
        );
    }
    assert_eq!(f.calls(), 0);
    assert_eq!(f.record(job.otp_id).delivery, DeliveryState::Queued);
}

#[tokio::test]
async fn keys_from_another_secret_are_systemic_and_nothing_is_sent() {
    let f = fixture();
    let (job, code) = f.issue().await;
    let misconfigured = Deliverer {
        keys: Arc::new(Keys::derive(&ServiceSecret::generate())),
        ..f.deliverer.clone()
    };

    let outcome = misconfigured
        .deliver(
            "message-1",
            1,
            &job.to_body(),
            &tokio_util::sync::CancellationToken::new(),
        )
        .await;

    match &outcome {
        Outcome::Systemic { reason } => {
            assert!(reason.contains("OTP_SECRET"), "{reason}");
            assert!(!reason.contains(code.expose()));
        }
        other => panic!("expected Systemic, got {other:?}"),
    }
    assert_eq!(f.calls(), 0);
    assert_eq!(
        f.record(job.otp_id).lease_until,
        None,
        "the claim must be released"
    );
    // A correctly configured worker can still deliver it.
    assert_eq!(f.deliver(&job).await, Outcome::Sent);
}

#[test]
fn only_done_outcomes_are_final() {
    let reason = || "r".to_owned();
    for done in [
        Outcome::Sent,
        Outcome::Skipped(SkipReason::Verified),
        Outcome::Dropped,
        Outcome::Failed { reason: reason() },
    ] {
        assert!(done.is_final(), "{done:?}");
    }
    for again in [
        Outcome::Retry {
            reason: reason(),
            expires_at: None,
        },
        Outcome::Systemic { reason: reason() },
        Outcome::Poison { reason: reason() },
        Outcome::Interrupted,
    ] {
        assert!(!again.is_final(), "{again:?}");
    }
}
