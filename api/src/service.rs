//! The send / resend / verify / status rules, over the store and queue seams. Handlers only
//! translate HTTP to these calls; unit tests drive this directly on in-memory fakes.

use crate::error::ApiError;
use common::clock::{Clock, rfc3339};
use common::config::Rules;
use common::crypto::Keys;
use common::domain::{Channel, Destination, IdempotencyKey, Locale, OtpCode, OtpId};
use common::job::{DeliveryJob, JOB_VERSION};
use common::lifecycle::{GuessBudget, OtpStatus, VerifyOutcome, sms_refusal, visible_to};
use common::queue::JobQueue;
use common::record::{Issue, OtpRecord};
use common::store::{
    CreateError, IdempotencyRecord, LimitScope, OtpStore, RateLimited, ResendError, SendGuards,
    TenantBudget,
};
use common::tenant::{Caller, KeyResolver};
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct OtpService {
    /// The deployment's rules; each tenant's are these with its own limits in place.
    pub rules: Rules,
    /// Who a presented key acts for (see [`crate::auth`]).
    pub resolver: Arc<KeyResolver>,
    pub store: Arc<dyn OtpStore>,
    pub queue: Arc<dyn JobQueue>,
    pub keys: Arc<Keys>,
    pub clock: Arc<dyn Clock>,
}

#[derive(Debug)]
pub struct SendCommand {
    pub destination: Destination,
    pub locale: Locale,
    /// The end user's address, for the per-IP limit (see [`crate::extract::EndUserIp`]).
    pub client_ip: Option<IpAddr>,
    pub idempotency_key: Option<IdempotencyKey>,
}

/// The 202 answer to a send or resend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issued {
    pub otp_id: OtpId,
    pub channel: Channel,
    pub expires_at: String,
    pub expires_in: i64,
    pub resend_after: i64,
}

/// What `GET /v1/otp/{id}` shows: never the code, the destination only masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusView {
    pub otp_id: OtpId,
    pub channel: Channel,
    pub destination: String,
    pub status: &'static str,
    pub delivery: &'static str,
    pub attempts_remaining: u32,
    pub sends: u32,
    pub expires_at: String,
    /// When the code was verified (RFC 3339); `null` until then.
    pub verified_at: Option<String>,
}

impl OtpService {
    /// The limits of one send by `caller`: the tenant's rules, its budget, and counters keyed
    /// within the tenant.
    fn guards(
        &self,
        caller: &Caller,
        rules: &Rules,
        destination_key: &str,
        ip: Option<IpAddr>,
        now: i64,
    ) -> SendGuards {
        let tenant = caller.tenant.id.as_str();
        SendGuards {
            destination_key: destination_key.to_owned(),
            ip_key: ip.map(|ip| self.keys.ip_key(tenant, ip)),
            now,
            cooldown_seconds: rules.resend_cooldown_seconds,
            max_per_destination_hour: rules.max_sends_per_hour,
            max_per_ip_hour: rules.max_sends_per_ip_per_hour,
            tenant: Some(TenantBudget {
                tenant: tenant.to_owned(),
                max_per_hour: u32::try_from(caller.tenant.limits.tenant_sends_per_hour())
                    .unwrap_or(u32::MAX),
            }),
        }
    }

    /// The caller's rules: the deployment's with its tenant's limits in place.
    pub fn rules_for(&self, caller: &Caller) -> Rules {
        caller.tenant.rules(&self.rules)
    }

    fn issued(
        rules: &Rules,
        id: OtpId,
        channel: Channel,
        last_send: i64,
        expires_at: i64,
        now: i64,
    ) -> Issued {
        Issued {
            otp_id: id,
            channel,
            expires_at: rfc3339(expires_at),
            expires_in: (expires_at - now).max(0),
            resend_after: (last_send + rules.resend_cooldown_seconds - now).max(0),
        }
    }

    /// One transaction (record + limits + idempotency) then one `SendMessage`; if the enqueue
    /// fails the transaction is undone, so no code is left that nobody will ever receive.
    pub async fn send(&self, caller: &Caller, command: SendCommand) -> Result<Issued, ApiError> {
        let now = self.clock.now();
        let id = OtpId::new_random();
        let destination = &command.destination;
        let channel = destination.channel();
        if !caller.tenant.channels.allows(channel) {
            return Err(ApiError::ChannelNotAllowed);
        }
        // Before anything is counted or stored: a refusal costs the caller nothing to learn.
        if let Destination::Sms(phone) = destination
            && let Some(reason) = sms_refusal(phone, &caller.tenant.sms_countries)
        {
            tracing::info!(
                reason = reason.as_str(),
                country = phone.country().unwrap_or("none"),
                kind = phone.kind().as_str(),
                "send refused: destination not allowed"
            );
            return Err(ApiError::DestinationNotAllowed(reason));
        }
        let tenant = caller.tenant.id.as_str();
        let rules = self.rules_for(caller);
        let record = {
            let code = OtpCode::generate(rules.code_length);
            OtpRecord::issued(Issue {
                id,
                channel,
                masked_destination: destination.masked(),
                destination_key: self.keys.destination_key(tenant, destination),
                locale: command.locale.as_str().to_owned(),
                code_slot: self.keys.code_slot(id, &code),
                sealed: common::payload::seal(&self.keys, id, &code, destination),
                created_at: now,
                expires_at: now + rules.ttl_seconds,
                max_attempts: rules.max_attempts,
            })
            .for_tenant(tenant)
        };
        let guards = self.guards(
            caller,
            &rules,
            &record.destination_key,
            command.client_ip,
            now,
        );
        let idempotency = command
            .idempotency_key
            .as_ref()
            .map(|key| IdempotencyRecord {
                key_hash: self.keys.idempotency_key(tenant, key),
                fingerprint: self.keys.request_fingerprint(
                    tenant,
                    destination,
                    command.locale.as_str(),
                ),
                otp_id: id,
                channel,
                created_at: now,
                expires_at: record.expires_at,
            });
        // The destination's live code may be held: resend it, or replace a dead holder and try
        // again (`live::LIVE_ROUNDS` rounds at most, see `service/live.rs`).
        let mut replacing = None;
        for round in 0.. {
            match self
                .store
                .create_live(&record, &guards, idempotency.as_ref(), replacing)
                .await
            {
                Ok(()) => break,
                Err(CreateError::Replay(first)) => {
                    return Self::replayed(&rules, idempotency.as_ref(), &first, now);
                }
                Err(CreateError::RateLimited(limit)) => {
                    tracing::info!(limit = ?limit.scope, %channel, "send refused by a rate limit");
                    return Err(ApiError::RateLimited(limit));
                }
                Err(CreateError::LiveCode(held)) => {
                    let step = self
                        .live_code(&rules, held, &guards, idempotency.as_ref(), round, now)
                        .await?;
                    match step {
                        live::Step::Answered(issued) => return Ok(issued),
                        live::Step::Replace(old) => replacing = old,
                    }
                }
                Err(CreateError::Backend(err)) => return Err(err.into()),
            }
        }
        let job = Self::job(&record, 1, now)?;
        if let Err(err) = self.queue.enqueue(&job).await {
            if let Err(undo) = self
                .store
                .cancel_create(&record, &guards, idempotency.as_ref())
                .await
            {
                tracing::error!(otp_id = %id, error = %undo, "could not undo a send whose job was not enqueued; nothing was delivered for it");
            }
            return Err(err.into());
        }
        tracing::info!(otp_id = %id, %channel, to = %record.masked_destination, "otp issued");
        Ok(Self::issued(
            &rules,
            id,
            channel,
            now,
            record.expires_at,
            now,
        ))
    }

    /// Delivers the same code again: a late first message still works.
    pub async fn resend(
        &self,
        caller: &Caller,
        id: OtpId,
        client_ip: Option<IpAddr>,
    ) -> Result<Issued, ApiError> {
        let now = self.clock.now();
        let record = self.own_record(caller, id).await?;
        Self::ensure_pending(&record, now)?;
        let rules = self.rules_for(caller);
        let guards = self.guards(caller, &rules, &record.destination_key, client_ip, now);
        match self
            .resend_record(&rules, &record, &guards, None, now)
            .await?
        {
            Some(issued) => Ok(issued),
            None => {
                // Verified, locked or expired meanwhile, or another resend won the race.
                let current = self.own_record(caller, id).await?;
                Self::ensure_pending(&current, now)?;
                Err(Self::changed(&rules))
            }
        }
    }

    /// The answer to a resend that lost a race with another: wait out the cooldown.
    fn changed(rules: &Rules) -> ApiError {
        ApiError::RateLimited(RateLimited {
            scope: LimitScope::DestinationCooldown,
            retry_after: Some(rules.resend_cooldown_seconds.max(1)),
        })
    }

    /// One more send of `record`'s code: one transaction, one `SendMessage`, the transaction
    /// undone if the enqueue fails. `None`: the record changed since it was read.
    async fn resend_record(
        &self,
        rules: &Rules,
        record: &OtpRecord,
        guards: &SendGuards,
        idempotency: Option<&IdempotencyRecord>,
        now: i64,
    ) -> Result<Option<Issued>, ApiError> {
        let id = record.id;
        let send = match self
            .store
            .add_send_keyed(record, guards, self.rules.max_sends_per_otp, idempotency)
            .await
        {
            Ok(send) => send,
            Err(ResendError::RateLimited(limit)) => return Err(ApiError::RateLimited(limit)),
            Err(ResendError::Backend(err)) => return Err(err.into()),
            Err(ResendError::Replay(first)) => {
                return Self::replayed(rules, idempotency, &first, now).map(Some);
            }
            Err(ResendError::Changed) => return Ok(None),
        };
        let job = Self::job(record, send, now)?;
        if let Err(err) = self.queue.enqueue(&job).await {
            if let Err(undo) = self
                .store
                .cancel_send_keyed(record, guards, idempotency)
                .await
            {
                tracing::error!(otp_id = %id, error = %undo, "could not undo a resend whose job was not enqueued");
            }
            return Err(err.into());
        }
        tracing::info!(otp_id = %id, send, "otp resend queued");
        Ok(Some(Self::issued(
            rules,
            id,
            record.channel,
            now,
            record.expires_at,
            now,
        )))
    }

    /// The first answer of an `Idempotency-Key`, if this request is the one it was used for.
    fn replayed(
        rules: &Rules,
        idempotency: Option<&IdempotencyRecord>,
        first: &IdempotencyRecord,
        now: i64,
    ) -> Result<Issued, ApiError> {
        let same_body = idempotency.is_some_and(|i| i.fingerprint == first.fingerprint);
        if !same_body {
            return Err(ApiError::IdempotencyKeyReused);
        }
        tracing::info!(otp_id = %first.otp_id, "idempotent replay of a send");
        Ok(Self::issued(
            rules,
            first.otp_id,
            first.channel,
            first.created_at,
            first.expires_at,
            now,
        ))
    }

    /// `id`'s record if it belongs to the caller's tenant; another tenant's is not found.
    async fn own_record(&self, caller: &Caller, id: OtpId) -> Result<OtpRecord, ApiError> {
        self.store
            .get(id)
            .await?
            .filter(|r| visible_to(r, Some(caller.tenant.id.as_str())))
            .ok_or(ApiError::NotFound)
    }

    /// One conditional update: the guess is counted and, if right, the code consumed; a guess
    /// at another tenant's OTP is neither (the tenant is part of the condition).
    pub async fn verify(&self, caller: &Caller, id: OtpId, code: &OtpCode) -> Result<(), ApiError> {
        let now = self.clock.now();
        let slot = self.keys.code_slot(id, code);
        // Identifies this request across the SDK's retries (see `verify_outcome`).
        let token = common::entropy::uuid_v4().simple().to_string();
        let tenant = Some(caller.tenant.id.as_str());
        let budget = GuessBudget {
            max_wrong_per_hour: caller
                .tenant
                .limits
                .wrong_guesses_per_destination_per_hour(),
        };
        let outcome = self
            .store
            .verify_budgeted(tenant, id, &slot, &token, now, budget)
            .await?;
        tracing::info!(otp_id = %id, outcome = ?outcome, "verify");
        match outcome {
            VerifyOutcome::Verified => Ok(()),
            VerifyOutcome::AlreadyVerified => Err(ApiError::AlreadyVerified),
            VerifyOutcome::Expired => Err(ApiError::Expired),
            VerifyOutcome::Locked => Err(ApiError::TooManyAttempts),
            VerifyOutcome::NotFound => Err(ApiError::NotFound),
            VerifyOutcome::Canceled => Err(ApiError::Canceled),
            VerifyOutcome::Wrong { attempts_remaining } => {
                Err(ApiError::InvalidCode { attempts_remaining })
            }
        }
    }

    pub async fn status(&self, caller: &Caller, id: OtpId) -> Result<StatusView, ApiError> {
        let now = self.clock.now();
        let record = self.own_record(caller, id).await?;
        Ok(StatusView {
            otp_id: record.id,
            channel: record.channel,
            destination: record.masked_destination.clone(),
            status: record.status(now).as_str(),
            delivery: record.delivery.public_name(),
            attempts_remaining: record.attempts_remaining(),
            sends: record.sends,
            expires_at: rfc3339(record.expires_at),
            verified_at: record.verified_at.map(rfc3339),
        })
    }

    fn ensure_pending(record: &OtpRecord, now: i64) -> Result<(), ApiError> {
        match record.status(now) {
            OtpStatus::Pending => Ok(()),
            OtpStatus::Verified => Err(ApiError::AlreadyVerified),
            OtpStatus::Expired => Err(ApiError::Expired),
            OtpStatus::Locked => Err(ApiError::TooManyAttempts),
            OtpStatus::Canceled => Err(ApiError::Canceled),
        }
    }

    /// The job for `record`'s `send`-th send. A record without a live code slot was verified
    /// ([`OtpRecord::status`]): there is nothing to deliver, and the answer says so, instead of
    /// queueing a job with an empty slot that the worker would throw to the DLQ.
    fn job(record: &OtpRecord, send: u32, now: i64) -> Result<DeliveryJob, ApiError> {
        let slot = record.code_slot.clone().ok_or(ApiError::AlreadyVerified)?;
        Ok(DeliveryJob {
            v: JOB_VERSION,
            otp_id: record.id,
            send,
            channel: record.channel,
            slot,
            to: record.masked_destination.clone(),
            expires_at: record.expires_at,
            enqueued_at: now,
        })
    }
}

mod cancel;
mod live;

pub use cancel::Canceled;

#[cfg(test)]
mod tests;
