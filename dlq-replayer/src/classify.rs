//! What a DLQ message is, and whether putting it back could still get a usable code to
//! someone. The rule is the worker's own ([`common::lifecycle::delivery`]): a job the worker
//! would only skip or drop is not worth a replay.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use common::domain::Channel;
use common::job::{DeliveryJob, JobError};
pub use common::lifecycle::SkipReason;
use serde::Serialize;

/// Why a body is not a job the worker can deliver. Deliberately coarse: the parser's own
/// message can quote the body, and a body that is not a job may hold anything (even a code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Malformed {
    NotJson,
    /// JSON, but not the delivery job schema.
    NotAJob,
    /// A job schema this version does not know (a newer producer?).
    UnsupportedVersion(u8),
    /// The job's slot or send number is out of range.
    OutOfRange,
}

impl Malformed {
    pub fn describe(self) -> String {
        match self {
            Malformed::NotJson => "not JSON".to_owned(),
            Malformed::NotAJob => "JSON, but not a delivery job".to_owned(),
            Malformed::UnsupportedVersion(v) => format!("job schema version {v} is not known"),
            Malformed::OutOfRange => "slot or send number out of range".to_owned(),
        }
    }
}

/// The job in a body, parsed by the worker's own parser.
pub fn parse(body: &str) -> Result<DeliveryJob, Malformed> {
    DeliveryJob::parse(body).map_err(|err| match err {
        JobError::UnsupportedVersion(v) => Malformed::UnsupportedVersion(v),
        JobError::Malformed(_) => {
            if serde_json::from_str::<DeliveryJob>(body).is_ok() {
                Malformed::OutOfRange
            } else if serde_json::from_str::<serde_json::Value>(body).is_ok() {
                Malformed::NotAJob
            } else {
                Malformed::NotJson
            }
        }
    })
}

/// Which jobs a command works on: `--channel`, `--older-than`, `--newer-than`. A job's age is
/// the time since the API enqueued it (`enqueued_at`), which a replay does not reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::Args)]
pub struct Selection {
    /// Only jobs of this channel.
    #[arg(long, value_parser = PossibleValuesParser::new(["email", "sms"])
        .map(|c| if c == "sms" { Channel::Sms } else { Channel::Email }))]
    pub channel: Option<Channel>,

    /// Only jobs requested at least this long ago (90s, 30m, 2h, 1d, 1h30m).
    #[arg(long, value_name = "DURATION", value_parser = crate::span::parse)]
    pub older_than: Option<i64>,

    /// Only jobs requested less than this long ago.
    #[arg(long, value_name = "DURATION", value_parser = crate::span::parse)]
    pub newer_than: Option<i64>,
}

impl Selection {
    pub fn matches(&self, job: &DeliveryJob, now: i64) -> bool {
        let age = now - job.enqueued_at;
        self.channel.is_none_or(|c| c == job.channel)
            && self.older_than.is_none_or(|min| age >= min)
            && self.newer_than.is_none_or(|max| age < max)
    }

    /// `--older-than 2h --newer-than 1h` selects nothing: refuse it instead of doing nothing.
    pub fn check(&self) -> Result<(), String> {
        match (self.older_than, self.newer_than) {
            (Some(older), Some(newer)) if older >= newer => Err(format!(
                "--older-than {} and --newer-than {} select nothing: a job cannot be both",
                crate::span::short(older.unsigned_abs()),
                crate::span::short(newer.unsigned_abs())
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::lifecycle::{replay_precheck as precheck, replay_skip as verdict};
    use common::record::{DeliveryState, OtpRecord};

    const NOW: i64 = 10_000;

    fn job() -> DeliveryJob {
        common::test_support::job(Channel::Email, NOW - 300, NOW + 300)
    }

    fn record(job: &DeliveryJob) -> OtpRecord {
        common::test_support::record(job, "sealed")
    }

    #[test]
    fn a_pending_undelivered_job_is_replayed() {
        let job = job();
        let mut r = record(&job);
        assert_eq!(verdict(&job, Some(&r), NOW, false), None);
        // A later send is queued but not delivered: this job carries the same code, still useful.
        r.sends = 2;
        assert_eq!(verdict(&job, Some(&r), NOW, false), None);
    }

    #[test]
    fn jobs_the_worker_would_only_skip_or_drop_are_skipped_with_their_reason() {
        let job = job();
        let skip = |r: Option<&OtpRecord>, now| verdict(&job, r, now, false);
        assert_eq!(skip(None, NOW), Some(SkipReason::Gone));
        let fresh = record(&job);
        assert_eq!(skip(Some(&fresh), NOW + 300), Some(SkipReason::Expired));
        let mut verified = fresh.clone();
        verified.code_slot = None;
        assert_eq!(skip(Some(&verified), NOW), Some(SkipReason::Verified));
        let mut locked = fresh.clone();
        locked.attempts = 5;
        assert_eq!(skip(Some(&locked), NOW), Some(SkipReason::Locked));
        let mut delivered = fresh.clone();
        delivered.delivered_send = 2;
        delivered.delivery = DeliveryState::Sent;
        assert_eq!(skip(Some(&delivered), NOW), Some(SkipReason::Delivered));
        let mut rejected = fresh.clone();
        rejected.delivered_send = 1;
        rejected.delivery = DeliveryState::Failed;
        rejected.failure_reason = Some("MessageRejected".into());
        assert_eq!(skip(Some(&rejected), NOW), Some(SkipReason::Rejected));
    }

    #[test]
    fn verified_wins_over_expired_and_delivered() {
        let job = job();
        let mut r = record(&job);
        r.code_slot = None;
        r.delivered_send = 2;
        assert_eq!(
            verdict(&job, Some(&r), NOW, false),
            Some(SkipReason::Verified)
        );
        // An expired job needs no read at all.
        assert_eq!(precheck(&job, NOW + 300, false), Some(SkipReason::Expired));
        assert_eq!(precheck(&job, NOW + 299, false), None);
    }

    #[test]
    fn include_expired_replays_expired_jobs_but_nothing_used_or_gone() {
        let job = job();
        let r = record(&job);
        let later = NOW + 1_000;
        assert_eq!(precheck(&job, later, true), None);
        assert_eq!(verdict(&job, Some(&r), later, true), None);
        assert_eq!(verdict(&job, None, later, true), Some(SkipReason::Gone));
        let mut verified = r.clone();
        verified.code_slot = None;
        assert_eq!(
            verdict(&job, Some(&verified), later, true),
            Some(SkipReason::Verified)
        );
    }

    #[test]
    fn malformed_bodies_are_named_without_quoting_them() {
        assert_eq!(parse("not json 123456"), Err(Malformed::NotJson));
        assert_eq!(parse(r#"{"code":"123456"}"#), Err(Malformed::NotAJob));
        let mut future = job();
        future.v = 2;
        assert_eq!(
            parse(&future.to_body()),
            Err(Malformed::UnsupportedVersion(2))
        );
        let mut zero = job();
        zero.send = 0;
        assert_eq!(parse(&zero.to_body()), Err(Malformed::OutOfRange));
        let good = job();
        assert_eq!(parse(&good.to_body()), Ok(good));
        for m in [
            Malformed::NotJson,
            Malformed::NotAJob,
            Malformed::OutOfRange,
        ] {
            assert!(!m.describe().contains("123456"));
        }
    }

    #[test]
    fn selection_by_channel_and_age() {
        let job = job(); // e-mail, enqueued 300 s ago
        let all = Selection::default();
        assert!(all.matches(&job, NOW));
        let sms = Selection {
            channel: Some(Channel::Sms),
            ..all
        };
        assert!(!sms.matches(&job, NOW));
        let older = |s| Selection {
            older_than: Some(s),
            ..all
        };
        let newer = |s| Selection {
            newer_than: Some(s),
            ..all
        };
        assert!(older(300).matches(&job, NOW));
        assert!(!older(301).matches(&job, NOW));
        assert!(newer(301).matches(&job, NOW));
        assert!(!newer(300).matches(&job, NOW));
        let window = Selection {
            older_than: Some(60),
            newer_than: Some(600),
            ..all
        };
        assert!(window.matches(&job, NOW));
        assert!(window.check().is_ok());
        let empty = Selection {
            older_than: Some(600),
            newer_than: Some(60),
            ..all
        };
        assert!(empty.check().unwrap_err().contains("select nothing"));
    }
}
