//! Cancel: a server key makes an OTP's code unusable and stops its delivery.
//!
//! The write is one conditional update that stamps `canceled_at` (the first stamp is kept, so
//! a repeated cancel answers the same) on any record the caller's tenant owns
//! ([`super::visible_to`]). It does not need to read first: a record verified before the
//! cancel keeps answering `verified` (status ranks verified over canceled, see
//! [`OtpRecord::status`]), and the answer says so. A cancel and a verify racing on one record
//! are serialised by DynamoDB: either the verify won (the cancel answers "already verified"), or
//! the cancel did (the verify's condition `attribute_not_exists(canceled_at)` fails: 410).
//!
//! Locked and expired OTPs may be canceled too: the call is a clean-up, and it must not fail
//! because the code died on its own a moment earlier.

use crate::record::OtpRecord;

use super::status::OtpStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    Canceled,
    /// The code was used before the cancel: nothing to cancel.
    AlreadyVerified,
    /// No record, or another tenant's (written nothing).
    NotFound,
}

/// The cancel rule, given the record as the update left it (`None`: not found or not the
/// caller's, and nothing was written).
pub fn cancel_outcome(after: Option<&OtpRecord>) -> CancelOutcome {
    match after {
        None => CancelOutcome::NotFound,
        Some(record) if record.code_slot.is_none() => CancelOutcome::AlreadyVerified,
        Some(_) => CancelOutcome::Canceled,
    }
}

/// The stamp a cancel at `now` leaves: the first one stays (`if_not_exists` in DynamoDB).
pub fn cancel_stamp(record: &mut OtpRecord, now: i64) {
    record.canceled_at = Some(record.canceled_at.unwrap_or(now));
}

/// Whether `record` is canceled (and not verified, which ranks first).
pub fn is_canceled(record: &OtpRecord, now: i64) -> bool {
    record.status(now) == OtpStatus::Canceled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Channel;

    fn record() -> OtpRecord {
        let job = crate::test_support::job(Channel::Email, 0, 600);
        crate::test_support::record(&job, "sealed")
    }

    #[test]
    fn a_cancel_keeps_its_first_stamp_and_a_verified_code_stays_verified() {
        let mut r = record();
        cancel_stamp(&mut r, 10);
        cancel_stamp(&mut r, 20);
        assert_eq!(r.canceled_at, Some(10));
        assert!(is_canceled(&r, 10));
        assert_eq!(cancel_outcome(Some(&r)), CancelOutcome::Canceled);
        r.code_slot = None;
        assert!(!is_canceled(&r, 10));
        assert_eq!(cancel_outcome(Some(&r)), CancelOutcome::AlreadyVerified);
        assert_eq!(cancel_outcome(None), CancelOutcome::NotFound);
    }

    #[test]
    fn locked_and_expired_codes_can_be_canceled() {
        let mut r = record();
        r.attempts = r.max_attempts;
        cancel_stamp(&mut r, 700);
        assert_eq!(cancel_outcome(Some(&r)), CancelOutcome::Canceled);
        assert_eq!(r.status(700), OtpStatus::Canceled);
    }
}
