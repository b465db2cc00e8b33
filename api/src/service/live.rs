//! One live code per destination, as the API applies it ([`common::lifecycle::live`]): a send
//! that finds the destination's code held reads the OTP holding it and resends that OTP's code
//! (still pending) or replaces it (verified, locked, canceled, expired, gone); and verify by
//! destination finds the OTP to count the guess against.

use super::{Issued, OtpService};
use crate::error::ApiError;
use common::config::Rules;
use common::domain::{Destination, OtpId};
use common::lifecycle::{Held, LivePointer, held_by, live_key};
use common::store::{IdempotencyRecord, SendGuards};
use common::tenant::Caller;

/// Creates a send tries at most: the first, one after a dead holder was found (replace), and
/// one after a holder changed under a resend. More means sends to one destination keep
/// racing; the loser is told to wait out the cooldown, as a resend that lost a race is.
const LIVE_ROUNDS: usize = 3;

/// What a send does next after it found the destination's code held.
pub(super) enum Step {
    /// The held code was sent again: this is the answer.
    Answered(Issued),
    /// Try the create again, replacing this OTP (`None`: the holder changed; read it again).
    Replace(Option<OtpId>),
}

impl OtpService {
    /// A send found `held` holding the destination's code (in its `round`-th create).
    pub(super) async fn live_code(
        &self,
        rules: &Rules,
        held: LivePointer,
        guards: &SendGuards,
        idempotency: Option<&IdempotencyRecord>,
        round: usize,
        now: i64,
    ) -> Result<Step, ApiError> {
        if round + 1 >= LIVE_ROUNDS {
            return Err(Self::changed(rules));
        }
        let current = self.store.get(held.otp_id).await?;
        let record = match held_by(&held, current.as_ref(), now) {
            Held::Replace(old) => return Ok(Step::Replace(Some(old))),
            Held::Resend(record) => record,
        };
        // The key's first answer is this OTP: a retry of this send replays it.
        let idempotency = idempotency.map(|first| IdempotencyRecord {
            otp_id: record.id,
            channel: record.channel,
            created_at: now,
            expires_at: record.expires_at,
            ..first.clone()
        });
        let resent = self
            .resend_record(rules, &record, guards, idempotency.as_ref(), now)
            .await?;
        if resent.is_some() {
            tracing::info!(otp_id = %record.id, "send to a destination with a live code: resent it");
        }
        Ok(resent.map_or(Step::Replace(None), Step::Answered))
    }

    /// The OTP holding the caller's live code for `destination` (verify by destination); one
    /// strongly consistent read of the pointer. None live: not found.
    pub async fn live_otp(
        &self,
        caller: &Caller,
        destination: &Destination,
    ) -> Result<OtpId, ApiError> {
        let tenant = caller.tenant.id.as_str();
        let key = live_key(
            Some(tenant),
            destination.channel(),
            &self.keys.destination_key(tenant, destination),
        );
        self.store
            .live_pointer(&key)
            .await?
            .map(|pointer| pointer.otp_id)
            .ok_or(ApiError::NotFound)
    }
}
