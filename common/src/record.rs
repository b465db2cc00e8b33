//! One OTP as stored. The rules that read it (status, verify, claim) are in
//! [`crate::lifecycle`].

use crate::domain::{Channel, OtpId};

/// What happened to the latest delivery job of an OTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Queued,
    /// A worker holds a claim and is talking to the provider; shown to clients as `queued`.
    Sending,
    Sent,
    Failed,
    Dropped,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Dropped => "dropped",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "queued" => DeliveryState::Queued,
            "sending" => DeliveryState::Sending,
            "sent" => DeliveryState::Sent,
            "failed" => DeliveryState::Failed,
            "dropped" => DeliveryState::Dropped,
            _ => return None,
        })
    }

    /// The client-facing name: a claim in progress is still "queued" from the outside.
    pub fn public_name(self) -> &'static str {
        match self {
            DeliveryState::Sending => "queued",
            other => other.as_str(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpRecord {
    pub id: OtpId,
    /// The tenant whose key sent it; only that tenant's keys see it. `None` only for records
    /// made outside the API (worker and replayer tests).
    pub tenant: Option<String>,
    pub channel: Channel,
    pub masked_destination: String,
    pub destination_key: String,
    pub locale: String,
    /// `live_<hmac>` while the code is unused; gone once it verified.
    pub code_slot: Option<String>,
    /// The token of the verify request that consumed the code: lets that request, retried by
    /// the SDK after a lost response, still learn that it won.
    pub verified_by: Option<String>,
    /// The code and destination, sealed with the service key (see [`crate::crypto::Keys::seal`]).
    pub sealed: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Guesses evaluated so far (wrong ones, plus the one that verified).
    pub attempts: u32,
    pub max_attempts: u32,
    pub sends: u32,
    pub delivery: DeliveryState,
    /// The highest send number a worker has finished (delivered, or refused for good by the
    /// provider): duplicates of it, and of older sends, are skipped.
    pub delivered_send: u32,
    pub lease_until: Option<i64>,
    /// [`crate::lifecycle::LeaseHolder::id`] of the receive holding the claim.
    pub lease_holder: Option<String>,
    pub failure_reason: Option<String>,
    /// When the code was verified (the winning guess's time); `None` until then, and for
    /// records verified before this was kept.
    pub verified_at: Option<i64>,
    /// When a server key canceled the OTP ([`crate::lifecycle::cancel`]); `None` while live.
    pub canceled_at: Option<i64>,
}

/// What a record holds the moment its code is issued; everything else starts blank.
#[derive(Debug, Clone)]
pub struct Issue {
    pub id: OtpId,
    pub channel: Channel,
    pub masked_destination: String,
    pub destination_key: String,
    pub locale: String,
    pub code_slot: String,
    pub sealed: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub max_attempts: u32,
}

impl OtpRecord {
    /// A new OTP: unguessed, sent once, its first delivery queued.
    pub fn issued(issue: Issue) -> Self {
        Self {
            id: issue.id,
            tenant: None,
            channel: issue.channel,
            masked_destination: issue.masked_destination,
            destination_key: issue.destination_key,
            locale: issue.locale,
            code_slot: Some(issue.code_slot),
            verified_by: None,
            sealed: issue.sealed,
            created_at: issue.created_at,
            expires_at: issue.expires_at,
            attempts: 0,
            max_attempts: issue.max_attempts,
            sends: 1,
            delivery: DeliveryState::Queued,
            delivered_send: 0,
            lease_until: None,
            lease_holder: None,
            failure_reason: None,
            verified_at: None,
            canceled_at: None,
        }
    }

    /// The same record, owned by `tenant`.
    pub fn for_tenant(self, tenant: &str) -> Self {
        Self {
            tenant: Some(tenant.to_owned()),
            ..self
        }
    }
}
