//! The OTP store seam. Its operations are coarse on purpose: each is one atomic DynamoDB call
//! (a transaction or a conditional update), so the fake and the real adapter enforce the same
//! invariants the same way: all-or-nothing, decided by conditions, never read-then-write.

mod dynamo;
mod limits;
mod memory;

pub use dynamo::DynamoStore;
pub use limits::{LimitScope, RateLimited, SendGuards};
pub use memory::MemoryStore;

use crate::domain::{Channel, OtpId};
use crate::error::BackendError;
use crate::job::DeliveryJob;
use crate::record::{DeliveryState, OtpRecord, OtpStatus, VerifyOutcome};

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
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Why a job is not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    NotFound,
    Verified,
    Locked,
    Expired,
    /// This send (or a later one, which carries the same code) was delivered already, or was
    /// refused by the provider for good.
    AlreadyDelivered,
}

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

#[async_trait::async_trait]
pub trait OtpStore: Send + Sync + std::fmt::Debug {
    /// Stores a new OTP together with its rate-limit counters and optional idempotency record,
    /// all or nothing.
    async fn create(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), CreateError>;

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
    /// slot. See [`crate::record::verify_outcome`].
    async fn verify(
        &self,
        id: OtpId,
        guess_slot: &str,
        token: &str,
        now: i64,
    ) -> Result<VerifyOutcome, BackendError>;

    /// Registers one more send of `record` (as read at `record.sends`), returning its number.
    async fn add_send(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        max_sends: u32,
    ) -> Result<u32, ResendError>;

    /// Undoes [`OtpStore::add_send`] after the job could not be enqueued: puts back the
    /// `sends` and `delivery` that `record` was read with, and refunds the counters.
    async fn cancel_send(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
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

/// The claim rule, given the record as it was when the claim's condition failed.
pub fn claim_refusal(before: Option<&OtpRecord>, job: &DeliveryJob, now: i64) -> Claim {
    let Some(record) = before else {
        return Claim::Skip(SkipReason::NotFound);
    };
    // A duplicate of a finished job is just that, whatever happened to the OTP since.
    if record.delivered_send >= job.send {
        return Claim::Skip(SkipReason::AlreadyDelivered);
    }
    if record.code_slot.as_deref() != Some(job.slot.as_str()) {
        return Claim::Skip(SkipReason::Verified);
    }
    match record.status(now) {
        OtpStatus::Verified => Claim::Skip(SkipReason::Verified),
        OtpStatus::Locked => Claim::Skip(SkipReason::Locked),
        OtpStatus::Expired => Claim::Skip(SkipReason::Expired),
        OtpStatus::Pending => Claim::Busy {
            until: record.lease_until.unwrap_or(now),
        },
    }
}

/// Whether a claim for `job` would be granted on `record` now: the condition both adapters
/// enforce atomically.
pub fn claim_allowed(
    record: &OtpRecord,
    job: &DeliveryJob,
    holder: &LeaseHolder,
    now: i64,
) -> bool {
    let free = record.lease_until.is_none_or(|until| until < now)
        || (record.lease_holder.is_some() && record.lease_holder == holder.predecessor());
    record.code_slot.as_deref() == Some(job.slot.as_str())
        && record.status(now) == OtpStatus::Pending
        && record.delivered_send < job.send
        && free
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
