//! Whether a delivery job may still be claimed, delivered or replayed, and why not.
//!
//! One rule, [`skip_reason`], serves the worker (its claim) and the replayer (its verdict on a
//! DLQ message). It checks, in this order:
//!
//! 1. **gone**: no record (deleted by TTL a day after expiry, or never stored);
//! 2. **verified**: the job's code slot is used, whatever else happened since;
//! 3. **canceled**: a server key canceled the OTP (it was asked for, so it beats what follows);
//! 4. **locked**: wrong guesses spent the attempts;
//! 5. **delivered** / **rejected**: this send, or a later one carrying the same code, was
//!    finished (reached the provider, or was refused by it for good);
//! 6. **expired**: the code's lifetime is over.
//!
//! Why this order: verified and locked are facts about the code that make any delivery useless,
//! so they win. Delivered comes before expired because the worker *drops* an expired job, which
//! writes `dropped` into the record: a late duplicate of a delivered job must be skipped, not
//! overwrite the `sent` a client sees. Expired comes last because it is the only reason the
//! replayer's `--include-expired` waives, which is then simply "ignore the last check".

use crate::job::DeliveryJob;
use crate::record::{DeliveryState, OtpRecord};
use serde::Serialize;

/// Why a job is not delivered (worker) or not worth replaying (replayer). The declaration order
/// is the replayer's display order, not the order of the checks (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The code's lifetime is over: the worker only marks it dropped.
    Expired,
    /// The code was used: the user got in.
    Verified,
    /// Wrong guesses used up the attempts: the code can never verify.
    Locked,
    /// No record: deleted by TTL a day after expiry, or never stored.
    Gone,
    /// This send, or a later one carrying the same code, reached the provider.
    Delivered,
    /// The provider refused the destination for good (`failure_reason` on the record).
    Rejected,
    /// A server key canceled the OTP: nothing of it is delivered any more.
    Canceled,
}

impl SkipReason {
    pub const ALL: [SkipReason; 7] = [
        SkipReason::Expired,
        SkipReason::Verified,
        SkipReason::Locked,
        SkipReason::Gone,
        SkipReason::Delivered,
        SkipReason::Rejected,
        SkipReason::Canceled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SkipReason::Expired => "expired",
            SkipReason::Verified => "verified",
            SkipReason::Locked => "locked",
            SkipReason::Gone => "gone",
            SkipReason::Delivered => "delivered",
            SkipReason::Rejected => "rejected",
            SkipReason::Canceled => "canceled",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::Expired => "the code expired",
            SkipReason::Verified => "the code was already used",
            SkipReason::Locked => "too many wrong guesses locked the code",
            SkipReason::Gone => "no OTP record (removed by TTL, or never stored)",
            SkipReason::Delivered => "delivered since, by this job or a resend",
            SkipReason::Rejected => "the provider refused the destination for good",
            SkipReason::Canceled => "the OTP was canceled",
        }
    }
}

/// Why `job` should not be delivered given its record as read at `now`; `None`: it should.
/// The checks run in the order the module doc gives, and why.
pub fn skip_reason(job: &DeliveryJob, record: Option<&OtpRecord>, now: i64) -> Option<SkipReason> {
    let Some(record) = record else {
        return Some(SkipReason::Gone);
    };
    // The job's slot gone means its code was used (a slot is only ever removed by the guess
    // that verified it).
    if record.code_slot.as_deref() != Some(job.slot.as_str()) {
        return Some(SkipReason::Verified);
    }
    if record.canceled_at.is_some() {
        return Some(SkipReason::Canceled);
    }
    if record.attempts >= record.max_attempts {
        return Some(SkipReason::Locked);
    }
    if record.delivered_send >= job.send {
        return Some(if record.delivery == DeliveryState::Failed {
            SkipReason::Rejected
        } else {
            SkipReason::Delivered
        });
    }
    (now >= record.expires_at).then_some(SkipReason::Expired)
}

/// The replayer's verdict that needs no record: an expired job is not worth a table read (after
/// a long outage most of the DLQ is expired). `None`: read the record and ask [`replay_skip`].
pub fn replay_precheck(job: &DeliveryJob, now: i64, include_expired: bool) -> Option<SkipReason> {
    (now >= job.expires_at && !include_expired).then_some(SkipReason::Expired)
}

/// Why a DLQ job is not worth replaying: a job the worker would only skip or drop. With
/// `include_expired`, expiry alone does not stop it (the last check of [`skip_reason`]).
pub fn replay_skip(
    job: &DeliveryJob,
    record: Option<&OtpRecord>,
    now: i64,
    include_expired: bool,
) -> Option<SkipReason> {
    replay_precheck(job, now, include_expired).or_else(|| {
        skip_reason(job, record, now)
            .filter(|reason| !(include_expired && *reason == SkipReason::Expired))
    })
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The job may be delivered; the record is as the claim left it.
    Granted(Box<OtpRecord>),
    Skip(SkipReason),
    /// Another worker holds a live claim on this OTP until the given time.
    Busy {
        until: i64,
    },
}

/// Who holds a delivery claim: one receive of one queue message.
///
/// A transient failure keeps the claim instead of releasing it, and the next receive of the same
/// message takes it over: SQS hands a message out again only once the previous receive's
/// visibility has ended, so that receive is done with it. This saves a DynamoDB write per
/// retried attempt. Anyone else (another job, a duplicate copy received at the same time) still
/// waits for the lease to lapse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    message_id: String,
    receives: u32,
}

impl LeaseHolder {
    /// `receives` is the message's `ApproximateReceiveCount` (1 on the first receive).
    pub fn new(message_id: &str, receives: u32) -> Self {
        Self {
            message_id: message_id.to_owned(),
            receives: receives.max(1),
        }
    }

    /// The value stored in the record while this receive holds the claim.
    pub fn id(&self) -> String {
        format!("{}#{}", self.message_id, self.receives)
    }

    /// The holder whose kept claim this receive may take over: the same message's previous
    /// receive. None without a message id, since then "the same message" cannot be told.
    pub fn predecessor(&self) -> Option<String> {
        (self.receives > 1 && !self.message_id.is_empty())
            .then(|| format!("{}#{}", self.message_id, self.receives - 1))
    }
}

/// Whether a claim for `job` would be granted on `record` now: nothing to skip it for, and the
/// lease free (or kept by `holder`'s predecessor). The DynamoDB adapter's `claim_delivery`
/// expresses it as its condition expression.
pub fn claim_allowed(
    record: &OtpRecord,
    job: &DeliveryJob,
    holder: &LeaseHolder,
    now: i64,
) -> bool {
    let free = record.lease_until.is_none_or(|until| until < now)
        || (record.lease_holder.is_some() && record.lease_holder == holder.predecessor());
    skip_reason(job, Some(record), now).is_none() && free
}

/// Why a claim was refused, given the record as it was when the claim's condition failed:
/// a reason to skip, or else another holder's live lease.
pub fn claim_refusal(before: Option<&OtpRecord>, job: &DeliveryJob, now: i64) -> Claim {
    match (skip_reason(job, before, now), before) {
        (Some(reason), _) => Claim::Skip(reason),
        (None, record) => Claim::Busy {
            until: record.and_then(|r| r.lease_until).unwrap_or(now),
        },
    }
}

/// How a delivery attempt ended, as written back to the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    Sent,
    Failed {
        reason: String,
    },
    Dropped,
    /// Not delivered this time; the job will be retried: give up the claim.
    Released,
}

/// The delivery state a result leaves in the record.
pub fn delivery_state(result: &DeliveryResult) -> DeliveryState {
    match result {
        DeliveryResult::Sent => DeliveryState::Sent,
        DeliveryResult::Failed { .. } => DeliveryState::Failed,
        DeliveryResult::Dropped => DeliveryState::Dropped,
        DeliveryResult::Released => DeliveryState::Queued,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Channel;

    const NOW: i64 = 10_000;

    fn job() -> DeliveryJob {
        crate::test_support::job(Channel::Email, NOW - 300, NOW + 300)
    }

    fn record(job: &DeliveryJob) -> OtpRecord {
        crate::test_support::record(job, "sealed")
    }

    #[test]
    fn each_reason_alone() {
        let job = job();
        let fresh = record(&job);
        assert_eq!(skip_reason(&job, Some(&fresh), NOW), None);
        assert_eq!(skip_reason(&job, None, NOW), Some(SkipReason::Gone));
        let mut verified = fresh.clone();
        verified.code_slot = None;
        assert_eq!(
            skip_reason(&job, Some(&verified), NOW),
            Some(SkipReason::Verified)
        );
        let mut other_code = fresh.clone();
        other_code.code_slot = Some("live_other".into());
        assert_eq!(
            skip_reason(&job, Some(&other_code), NOW),
            Some(SkipReason::Verified)
        );
        let mut locked = fresh.clone();
        locked.attempts = 5;
        assert_eq!(
            skip_reason(&job, Some(&locked), NOW),
            Some(SkipReason::Locked)
        );
        let mut sent = fresh.clone();
        sent.delivered_send = 1;
        sent.delivery = DeliveryState::Sent;
        assert_eq!(
            skip_reason(&job, Some(&sent), NOW),
            Some(SkipReason::Delivered)
        );
        let mut rejected = sent.clone();
        rejected.delivery = DeliveryState::Failed;
        assert_eq!(
            skip_reason(&job, Some(&rejected), NOW),
            Some(SkipReason::Rejected)
        );
        assert_eq!(
            skip_reason(&job, Some(&fresh), NOW + 300),
            Some(SkipReason::Expired)
        );
        assert_eq!(skip_reason(&job, Some(&fresh), NOW + 299), None);
    }

    #[test]
    fn the_checks_run_gone_verified_locked_delivered_expired() {
        let job = job();
        let mut r = record(&job);
        r.delivered_send = 2;
        r.delivery = DeliveryState::Sent;
        // Delivered wins over expired: the worker would otherwise drop it and overwrite `sent`.
        assert_eq!(
            skip_reason(&job, Some(&r), NOW + 300),
            Some(SkipReason::Delivered)
        );
        r.attempts = 5;
        assert_eq!(
            skip_reason(&job, Some(&r), NOW + 300),
            Some(SkipReason::Locked)
        );
        r.code_slot = None;
        assert_eq!(
            skip_reason(&job, Some(&r), NOW + 300),
            Some(SkipReason::Verified)
        );
    }

    #[test]
    fn a_canceled_otp_is_skipped_by_claim_and_replayer_before_locked_delivered_expired() {
        let job = job();
        let mut r = record(&job);
        r.canceled_at = Some(NOW - 1);
        r.attempts = 5;
        r.delivered_send = 1;
        assert_eq!(
            skip_reason(&job, Some(&r), NOW + 300),
            Some(SkipReason::Canceled)
        );
        assert!(!claim_allowed(&r, &job, &LeaseHolder::new("m", 1), NOW));
        assert_eq!(
            claim_refusal(Some(&r), &job, NOW),
            Claim::Skip(SkipReason::Canceled)
        );
        assert_eq!(
            replay_skip(&job, Some(&r), NOW + 1_000, true),
            Some(SkipReason::Canceled),
            "--include-expired does not waive a cancel"
        );
        r.code_slot = None;
        assert_eq!(skip_reason(&job, Some(&r), NOW), Some(SkipReason::Verified));
    }

    #[test]
    fn a_delivered_job_that_expired_is_skipped_by_the_claim_not_dropped() {
        let job = job();
        let mut r = record(&job);
        r.delivered_send = 1;
        r.delivery = DeliveryState::Sent;
        let holder = LeaseHolder::new("m", 1);
        assert!(!claim_allowed(&r, &job, &holder, NOW + 600));
        assert_eq!(
            claim_refusal(Some(&r), &job, NOW + 600),
            Claim::Skip(SkipReason::Delivered)
        );
    }

    #[test]
    fn a_claim_waits_for_a_live_lease_unless_its_own_previous_receive_kept_it() {
        let job = job();
        let mut r = record(&job);
        let first = LeaseHolder::new("m", 1);
        assert!(claim_allowed(&r, &job, &first, NOW));
        r.lease_until = Some(NOW + 30);
        r.lease_holder = Some(first.id());
        let other = LeaseHolder::new("n", 1);
        assert!(!claim_allowed(&r, &job, &other, NOW));
        assert_eq!(
            claim_refusal(Some(&r), &job, NOW),
            Claim::Busy { until: NOW + 30 }
        );
        assert!(claim_allowed(&r, &job, &LeaseHolder::new("m", 2), NOW));
        assert!(
            claim_allowed(&r, &job, &other, NOW + 31),
            "a lapsed lease is free"
        );
        assert_eq!(LeaseHolder::new("", 2).predecessor(), None);
    }

    #[test]
    fn include_expired_waives_expiry_and_nothing_else() {
        let job = job();
        let r = record(&job);
        let later = NOW + 1_000;
        assert_eq!(
            replay_precheck(&job, later, false),
            Some(SkipReason::Expired)
        );
        assert_eq!(replay_precheck(&job, later, true), None);
        assert_eq!(replay_skip(&job, Some(&r), later, true), None);
        assert_eq!(replay_skip(&job, None, later, true), Some(SkipReason::Gone));
        let mut locked = r.clone();
        locked.attempts = 5;
        assert_eq!(
            replay_skip(&job, Some(&locked), later, true),
            Some(SkipReason::Locked)
        );
    }

    #[test]
    fn reason_names_are_the_replayers_output() {
        let names: Vec<&str> = SkipReason::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(
            names,
            [
                "expired",
                "verified",
                "locked",
                "gone",
                "delivered",
                "rejected",
                "canceled"
            ]
        );
        for reason in SkipReason::ALL {
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                serde_json::Value::from(reason.name())
            );
        }
    }
}
