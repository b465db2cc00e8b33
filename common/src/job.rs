//! The delivery job: what the API puts on the queue and the worker takes off it.
//!
//! It carries no code and no full destination (both stay sealed in the record), so a copy of
//! the queue or the DLQ is useless to an attacker, and an operator can still see what a job is.

use crate::domain::{Channel, OtpId};
use serde::{Deserialize, Serialize};

pub const JOB_VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryJob {
    /// Schema version, so a newer worker can tell old jobs apart (and an old one can refuse new).
    pub v: u8,
    pub otp_id: OtpId,
    /// 1 for the first send, n for the n-th resend: lets the worker skip stale duplicates.
    pub send: u32,
    pub channel: Channel,
    /// The record's code slot: lets the worker claim the record only while the code is unused.
    pub slot: String,
    /// The masked destination, for operators (DLQ listings), never used to deliver.
    pub to: String,
    pub expires_at: i64,
    pub enqueued_at: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JobError {
    #[error("job body is not a delivery job: {0}")]
    Malformed(String),
    #[error("job schema version {0} is not supported by this worker")]
    UnsupportedVersion(u8),
}

impl DeliveryJob {
    pub fn parse(body: &str) -> Result<Self, JobError> {
        let job: Self =
            serde_json::from_str(body).map_err(|e| JobError::Malformed(e.to_string()))?;
        if job.v != JOB_VERSION {
            return Err(JobError::UnsupportedVersion(job.v));
        }
        if !job.slot.starts_with("live_") || job.send == 0 {
            return Err(JobError::Malformed(
                "slot or send number out of range".into(),
            ));
        }
        Ok(job)
    }

    pub fn to_body(&self) -> String {
        // Never an empty body (the old `unwrap_or_default()`): serde_json fails only on I/O,
        // non-string map keys or a failing `Serialize` impl, and a job is integers, strings, a
        // unit-variant enum and a UUID (serialised as a string).
        #[allow(clippy::expect_used)]
        serde_json::to_string(self).expect("a delivery job always serialises to JSON")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> DeliveryJob {
        crate::test_support::job(Channel::Sms, 1_400, 2_000)
    }

    #[test]
    fn round_trips() {
        let job = job();
        assert_eq!(DeliveryJob::parse(&job.to_body()).unwrap(), job);
    }

    #[test]
    fn rejects_what_is_not_a_job() {
        assert!(matches!(
            DeliveryJob::parse("{}"),
            Err(JobError::Malformed(_))
        ));
        assert!(matches!(
            DeliveryJob::parse("not json"),
            Err(JobError::Malformed(_))
        ));
        let mut future = job();
        future.v = 2;
        assert_eq!(
            DeliveryJob::parse(&future.to_body()),
            Err(JobError::UnsupportedVersion(2))
        );
        let mut zero = job();
        zero.send = 0;
        assert!(DeliveryJob::parse(&zero.to_body()).is_err());
    }
}
