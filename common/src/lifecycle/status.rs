//! A record's status, and what one verify guess does to it.

use crate::record::OtpRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpStatus {
    Pending,
    Verified,
    Expired,
    Locked,
    /// A server key canceled it ([`super::cancel`]): no guess is evaluated, no job delivered.
    Canceled,
}

impl OtpStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OtpStatus::Pending => "pending",
            OtpStatus::Verified => "verified",
            OtpStatus::Expired => "expired",
            OtpStatus::Locked => "locked",
            OtpStatus::Canceled => "canceled",
        }
    }
}

impl OtpRecord {
    /// Verified wins over everything (it happened), then canceled (the relying app said so),
    /// then locked, then expired.
    pub fn status(&self, now: i64) -> OtpStatus {
        if self.code_slot.is_none() {
            OtpStatus::Verified
        } else if self.canceled_at.is_some() {
            OtpStatus::Canceled
        } else if self.attempts >= self.max_attempts {
            OtpStatus::Locked
        } else if now >= self.expires_at {
            OtpStatus::Expired
        } else {
            OtpStatus::Pending
        }
    }

    pub fn attempts_remaining(&self) -> u32 {
        if self.code_slot.is_none() || self.canceled_at.is_some() {
            return 0;
        }
        self.max_attempts.saturating_sub(self.attempts)
    }
}

/// The answer to one verify call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyOutcome {
    Verified,
    AlreadyVerified,
    Expired,
    Locked,
    NotFound,
    Wrong {
        attempts_remaining: u32,
    },
    /// Canceled before this guess: not counted, not evaluated.
    Canceled,
}

/// The verify rule, given the record as it was just before the atomic update.
///
/// `counted` says whether the update's condition held (`attempts < max_attempts AND expires_at >
/// now`): only then was the guess counted and evaluated, and only then can it be right.
///
/// `token` identifies the request across the SDK's retries: if an earlier attempt of this very
/// request consumed the code (and its answer was lost), the retry still answers `Verified`.
pub fn verify_outcome(
    before: Option<&OtpRecord>,
    guess_slot: &str,
    token: &str,
    counted: bool,
    now: i64,
) -> VerifyOutcome {
    let Some(before) = before else {
        return VerifyOutcome::NotFound;
    };
    let won_earlier = before.code_slot.is_none() && before.verified_by.as_deref() == Some(token);
    if won_earlier {
        return VerifyOutcome::Verified;
    }
    if counted {
        return match before.code_slot.as_deref() {
            Some(slot) if slot == guess_slot => VerifyOutcome::Verified,
            None => VerifyOutcome::AlreadyVerified,
            Some(_) => VerifyOutcome::Wrong {
                attempts_remaining: before.max_attempts.saturating_sub(before.attempts + 1),
            },
        };
    }
    match before.status(now) {
        OtpStatus::Verified => VerifyOutcome::AlreadyVerified,
        OtpStatus::Expired => VerifyOutcome::Expired,
        OtpStatus::Canceled => VerifyOutcome::Canceled,
        // Pending cannot fail the condition; if it does (clock skew between check and read),
        // refusing is the safe side.
        OtpStatus::Locked | OtpStatus::Pending => VerifyOutcome::Locked,
    }
}

/// Whether a caller acting for `tenant` may see `record` (`None`: the caller is not a tenant,
/// e.g. the worker). Another tenant's OTP is answered exactly like one that does not exist, and
/// a guess at it is never counted.
pub fn visible_to(record: &OtpRecord, tenant: Option<&str>) -> bool {
    tenant.is_none_or(|t| record.tenant.as_deref() == Some(t))
}

/// Whether a verify guess would be counted now. The DynamoDB adapter's `verify` expresses it as
/// its condition (`attempts < max_attempts AND expires_at > :now AND
/// attribute_not_exists(canceled_at)`).
pub fn guess_is_counted(record: &OtpRecord, now: i64) -> bool {
    record.attempts < record.max_attempts && record.expires_at > now && record.canceled_at.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Channel;

    fn record(now: i64) -> OtpRecord {
        let mut job = crate::test_support::job(Channel::Email, now, now + 600);
        job.slot = "live_right".into();
        crate::test_support::record(&job, "sealed")
    }

    #[test]
    fn a_tenant_sees_only_its_own_records() {
        let mine = record(0).for_tenant("acme");
        assert!(visible_to(&mine, Some("acme")));
        assert!(!visible_to(&mine, Some("other")));
        assert!(visible_to(&mine, None));
        assert!(!visible_to(&record(0), Some("acme")));
    }

    #[test]
    fn status_precedence_is_verified_then_locked_then_expired() {
        let now = 1_000;
        let mut r = record(now);
        assert_eq!(r.status(now), OtpStatus::Pending);
        assert_eq!(r.status(now + 600), OtpStatus::Expired);
        r.attempts = 5;
        assert_eq!(r.status(now + 600), OtpStatus::Locked);
        r.code_slot = None;
        assert_eq!(r.status(now + 600), OtpStatus::Verified);
    }

    #[test]
    fn a_counted_guess_is_right_only_if_it_matches_the_live_slot() {
        let now = 1_000;
        let r = record(now);
        assert_eq!(
            verify_outcome(Some(&r), "live_right", "t1", true, now),
            VerifyOutcome::Verified
        );
        assert_eq!(
            verify_outcome(Some(&r), "live_wrong", "t1", true, now),
            VerifyOutcome::Wrong {
                attempts_remaining: 4
            }
        );
        let mut used = r.clone();
        used.code_slot = None;
        assert_eq!(
            verify_outcome(Some(&used), "live_right", "t1", true, now),
            VerifyOutcome::AlreadyVerified
        );
        assert_eq!(
            verify_outcome(None, "live_right", "t1", false, now),
            VerifyOutcome::NotFound
        );
    }

    #[test]
    fn a_retried_request_that_already_won_is_told_so() {
        let now = 1_000;
        let mut r = record(now);
        r.code_slot = None;
        r.verified_by = Some("t1".into());
        // Counted again (attempts left) or not (attempts spent): the winner hears 200 either way.
        assert_eq!(
            verify_outcome(Some(&r), "live_right", "t1", true, now),
            VerifyOutcome::Verified
        );
        r.attempts = 5;
        assert_eq!(
            verify_outcome(Some(&r), "live_right", "t1", false, now),
            VerifyOutcome::Verified
        );
        assert_eq!(
            verify_outcome(Some(&r), "live_right", "t2", false, now),
            VerifyOutcome::AlreadyVerified
        );
    }

    #[test]
    fn a_canceled_code_counts_and_evaluates_no_guess_and_verified_still_wins() {
        let now = 1_000;
        let mut r = record(now);
        r.canceled_at = Some(now);
        assert_eq!(r.status(now), OtpStatus::Canceled);
        assert_eq!(r.attempts_remaining(), 0);
        assert!(!guess_is_counted(&r, now));
        // Even the right code is refused, and the answer says why.
        assert_eq!(
            verify_outcome(Some(&r), "live_right", "t1", false, now),
            VerifyOutcome::Canceled
        );
        // Canceled wins over locked and expired: it is what the app asked for.
        r.attempts = 5;
        assert_eq!(r.status(now + 600), OtpStatus::Canceled);
        r.code_slot = None;
        assert_eq!(r.status(now), OtpStatus::Verified);
    }

    #[test]
    fn an_uncounted_guess_is_never_evaluated() {
        let now = 1_000;
        let mut r = record(now);
        r.attempts = 5;
        // Even the right code is refused once the attempts are spent.
        assert_eq!(
            verify_outcome(Some(&r), "live_right", "t1", false, now),
            VerifyOutcome::Locked
        );
        let r = record(now);
        assert_eq!(
            verify_outcome(Some(&r), "live_right", "t1", false, now + 600),
            VerifyOutcome::Expired
        );
        assert!(!guess_is_counted(&r, now + 600));
        assert!(guess_is_counted(&r, now + 599));
    }
}
