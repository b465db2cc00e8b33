//! The OTP store seam. Its operations are coarse on purpose: each is one atomic DynamoDB call
//! (a transaction or a conditional update), so the fake and the real adapter enforce the same
//! invariants the same way: all-or-nothing, decided by conditions, never read-then-write.

mod dynamo;
mod memory;

pub use dynamo::DynamoStore;
pub use memory::MemoryStore;
// The store's vocabulary; the rules behind these types are in the lifecycle core.
pub use crate::lifecycle::{
    Claim, DeliveryResult, GuessBudget, LeaseHolder, LimitScope, RateLimited, SendGuards,
    SkipReason, TenantBudget,
};

use crate::domain::{Channel, OtpId};
use crate::error::BackendError;
use crate::job::DeliveryJob;
use crate::lifecycle::{CancelOutcome, LivePointer, VerifyOutcome};
use crate::record::OtpRecord;

/// What an `Idempotency-Key` remembers: enough to answer a repeat exactly as the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Keyed hash of the client's key (the key itself is never stored).
    pub key_hash: String,
    /// Keyed hash of the request body that first used the key.
    pub fingerprint: String,
    pub otp_id: OtpId,
    pub channel: Channel,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The key was used before (and has not expired): here is what it was used for.
    #[error("idempotency key already used")]
    Replay(IdempotencyRecord),
    #[error("rate limited")]
    RateLimited(RateLimited),
    /// The destination's live code is held by this OTP, and its lifetime is not over
    /// ([`crate::lifecycle::live`]): read it, then resend it or replace it.
    #[error("the destination has a live code")]
    LiveCode(LivePointer),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    #[error("rate limited")]
    RateLimited(RateLimited),
    /// The record changed since it was read (verified, locked, or another resend won).
    #[error("record changed concurrently")]
    Changed,
    /// The send's `Idempotency-Key` was used before: here is what for.
    #[error("idempotency key already used")]
    Replay(IdempotencyRecord),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

#[async_trait::async_trait]
pub trait OtpStore: Send + Sync + std::fmt::Debug {
    /// Stores a new OTP together with its rate-limit counters and optional idempotency record,
    /// all or nothing.
    async fn create(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), CreateError> {
        self.create_live(record, guards, idempotency, None).await
    }

    /// [`OtpStore::create`], taking the destination's live-code pointer in the same write
    /// ([`crate::lifecycle::pointer_free`]); `replacing`: the OTP the caller found holding it
    /// and no longer pending.
    async fn create_live(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        idempotency: Option<&IdempotencyRecord>,
        replacing: Option<OtpId>,
    ) -> Result<(), CreateError>;

    /// Which OTP holds the live code of the destination `key` ([`crate::lifecycle::live_key`]).
    async fn live_pointer(&self, key: &str) -> Result<Option<LivePointer>, BackendError>;

    /// Stamps `id` canceled if `tenant` owns it, in one conditional write
    /// ([`crate::lifecycle::cancel`]).
    async fn cancel(
        &self,
        tenant: &str,
        id: OtpId,
        now: i64,
    ) -> Result<CancelOutcome, BackendError>;

    /// Undoes [`OtpStore::create`] after the job could not be enqueued: no code that can never
    /// arrive is left verifiable, and the failed attempt does not count against the limits.
    async fn cancel_create(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), BackendError>;

    async fn get(&self, id: OtpId) -> Result<Option<OtpRecord>, BackendError>;

    /// Counts one guess and, in the same atomic step, consumes the code if `guess_slot` is its
    /// slot. See [`crate::lifecycle::verify_outcome`].
    async fn verify(
        &self,
        id: OtpId,
        guess_slot: &str,
        token: &str,
        now: i64,
    ) -> Result<VerifyOutcome, BackendError> {
        self.verify_for(None, id, guess_slot, token, now).await
    }

    /// [`OtpStore::verify`] for a caller acting for `tenant`: a record of another tenant is
    /// [`VerifyOutcome::NotFound`] and the guess is not counted (a condition of the same
    /// write, see [`crate::lifecycle::visible_to`]).
    async fn verify_for(
        &self,
        tenant: Option<&str>,
        id: OtpId,
        guess_slot: &str,
        token: &str,
        now: i64,
    ) -> Result<VerifyOutcome, BackendError>;

    /// [`OtpStore::verify_for`] within the destination's guess budget (see
    /// [`crate::lifecycle::guesses`]): a wrong guess is also counted against its destination's
    /// hour, and the one that spends the budget locks the destination's live codes and refuses
    /// its sends for the rest of the hour; that guess answers `Wrong` with no attempts left.
    async fn verify_budgeted(
        &self,
        tenant: Option<&str>,
        id: OtpId,
        guess_slot: &str,
        token: &str,
        now: i64,
        budget: GuessBudget,
    ) -> Result<VerifyOutcome, BackendError>;

    /// Registers one more send of `record` (as read at `record.sends`), returning its number.
    async fn add_send(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        max_sends: u32,
    ) -> Result<u32, ResendError> {
        self.add_send_keyed(record, guards, max_sends, None).await
    }

    /// [`OtpStore::add_send`] for a send that found the destination's code live: its
    /// `Idempotency-Key` (if any) is stored in the same write, naming this OTP.
    async fn add_send_keyed(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        max_sends: u32,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<u32, ResendError>;

    /// Undoes [`OtpStore::add_send`] after the job could not be enqueued: puts back the
    /// `sends` and `delivery` that `record` was read with, and refunds the counters.
    async fn cancel_send(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
    ) -> Result<(), BackendError> {
        self.cancel_send_keyed(record, guards, None).await
    }

    /// Undoes [`OtpStore::add_send_keyed`], its idempotency item included.
    async fn cancel_send_keyed(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), BackendError>;

    /// Takes a short exclusive claim on the record for delivering `job`, or takes over the one
    /// `holder`'s predecessor kept (see [`LeaseHolder`]).
    async fn claim_delivery(
        &self,
        job: &DeliveryJob,
        holder: &LeaseHolder,
        now: i64,
        lease_seconds: i64,
    ) -> Result<Claim, BackendError>;

    async fn finish_delivery(
        &self,
        id: OtpId,
        send: u32,
        result: &DeliveryResult,
    ) -> Result<(), BackendError>;
}
