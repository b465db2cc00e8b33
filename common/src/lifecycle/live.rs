//! One live code per destination: per tenant, channel and normalised destination, at most one
//! pending OTP. A send while one is pending delivers that OTP's code again (a resend) instead
//! of making a second code: five sends leave one code with five guesses, not five with 25.
//!
//! A pointer per destination ([`LivePointer`]) names the OTP holding it. A send takes the
//! pointer in the same write that stores its record, on the condition [`pointer_free`]: no
//! pointer, its OTP's lifetime over (`expires_at` is copied onto the pointer so the condition
//! needs no second item), or it names the very OTP the sender just found no longer pending
//! (`replacing`). Verify, lock and cancel leave the pointer alone, so verify stays one write; a
//! sender that meets a held pointer reads the OTP it names and asks [`held_by`] what to do.

use crate::domain::{Channel, OtpId};
use crate::record::OtpRecord;

use super::status::OtpStatus;

/// The pointer of one destination: which OTP holds its live code, and until when at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LivePointer {
    pub otp_id: OtpId,
    pub expires_at: i64,
}

/// The pointer's key: tenant, channel and the destination's keyed hash (the hash is already
/// per tenant and channel; both are spelled out so an operator can read the key).
pub fn live_key(tenant: Option<&str>, channel: Channel, destination_key: &str) -> String {
    format!(
        "{}#{}#{destination_key}",
        tenant.unwrap_or("-"),
        channel.as_str()
    )
}

impl OtpRecord {
    /// The key of the destination pointer this record takes when it is stored.
    pub fn live_key(&self) -> String {
        live_key(self.tenant.as_deref(), self.channel, &self.destination_key)
    }

    /// The pointer this record leaves behind.
    pub fn live_pointer(&self) -> LivePointer {
        LivePointer {
            otp_id: self.id,
            expires_at: self.expires_at,
        }
    }
}

/// Whether a new OTP may take the destination's pointer `current` now. The DynamoDB adapter's
/// `create` expresses it as the pointer's condition: `attribute_not_exists(pk) OR expires_at
/// <= :now [OR otp_id = :replacing]`.
pub fn pointer_free(current: Option<&LivePointer>, replacing: Option<OtpId>, now: i64) -> bool {
    current.is_none_or(|p| p.expires_at <= now || Some(p.otp_id) == replacing)
}

/// What a send does about a held pointer, given the OTP it names as read now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// Still pending: deliver its code again (a resend, with the resend's limits).
    Resend(Box<OtpRecord>),
    /// Verified, locked, canceled, expired or gone: take the pointer from it
    /// ([`pointer_free`] with `replacing` = its id).
    Replace(OtpId),
}

pub fn held_by(pointer: &LivePointer, record: Option<&OtpRecord>, now: i64) -> Held {
    match record {
        Some(record) if record.status(now) == OtpStatus::Pending => {
            Held::Resend(Box::new(record.clone()))
        }
        _ => Held::Replace(pointer.otp_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 10_000;

    fn record() -> OtpRecord {
        let job = crate::test_support::job(Channel::Sms, NOW - 10, NOW + 600);
        crate::test_support::record(&job, "sealed").for_tenant("acme")
    }

    #[test]
    fn the_pointer_is_free_when_absent_expired_or_named_for_replacement_only() {
        let r = record();
        let held = r.live_pointer();
        assert!(pointer_free(None, None, NOW));
        assert!(!pointer_free(Some(&held), None, NOW));
        assert!(!pointer_free(Some(&held), Some(OtpId::new_random()), NOW));
        assert!(pointer_free(Some(&held), Some(r.id), NOW));
        assert!(!pointer_free(Some(&held), None, NOW + 599));
        assert!(pointer_free(Some(&held), None, NOW + 600));
    }

    #[test]
    fn a_pending_holder_is_resent_anything_else_is_replaced() {
        let r = record();
        let p = r.live_pointer();
        assert_eq!(
            held_by(&p, Some(&r), NOW),
            Held::Resend(Box::new(r.clone()))
        );
        assert_eq!(held_by(&p, None, NOW), Held::Replace(r.id));
        let mut verified = r.clone();
        verified.code_slot = None;
        assert_eq!(held_by(&p, Some(&verified), NOW), Held::Replace(r.id));
        let mut locked = r.clone();
        locked.attempts = locked.max_attempts;
        assert_eq!(held_by(&p, Some(&locked), NOW), Held::Replace(r.id));
        let mut canceled = r.clone();
        canceled.canceled_at = Some(NOW);
        assert_eq!(held_by(&p, Some(&canceled), NOW), Held::Replace(r.id));
    }

    #[test]
    fn the_key_is_per_tenant_and_channel() {
        let r = record();
        assert_eq!(r.live_key(), format!("acme#sms#{}", r.destination_key));
        assert_ne!(
            live_key(Some("acme"), Channel::Sms, "d"),
            live_key(Some("other"), Channel::Sms, "d")
        );
        assert_ne!(
            live_key(Some("acme"), Channel::Sms, "d"),
            live_key(Some("acme"), Channel::Email, "d")
        );
    }
}
