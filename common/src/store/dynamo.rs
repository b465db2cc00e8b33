//! [`OtpStore`] on one DynamoDB table (`pk` string hash key, TTL on `ttl`).
//!
//! Item kinds, by key prefix:
//! - `otp#<id>`: the record; its unused code is the attribute `live_<hmac>`;
//! - `rate#dest#<hmac>`: last send time to a destination (cooldown);
//! - `rate#dest#<hmac>#h<hour>` / `rate#ip#<hmac>#h<hour>` / `rate#tenant#<id>#h<hour>`: hourly
//!   send counters (the destination and IP hashes are keyed by tenant, see [`crate::crypto`]);
//! - `idem#<hmac>`: an idempotency key's first answer;
//! - `live#<tenant>#<channel>#<hmac>`: which OTP holds a destination's one live code
//!   ([`crate::lifecycle::live`]).

use super::{
    Claim, CreateError, DeliveryResult, IdempotencyRecord, LeaseHolder, LimitScope, OtpStore,
    RateLimited, ResendError, SendGuards,
};
use crate::domain::{Channel, OtpId};
use crate::error::BackendError;
use crate::job::DeliveryJob;
use crate::lifecycle::{
    CancelOutcome, GuessBudget, LivePointer, VerifyOutcome, cancel_outcome, claim_refusal,
    delivery_state, guess_hour, guesses_refusal, guesses_spent, sends_exhausted, verify_outcome,
    visible_to,
};
use crate::record::{DeliveryState, OtpRecord};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure as OnFail, TransactWriteItem, Update,
};
use backon::{ExponentialBuilder, Retryable};
use std::collections::HashMap;
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

/// How long a record outlives its expiry before TTL may delete it: status keeps answering
/// `expired` (not `not_found`) for a day, and TTL itself lags up to 48 h anyway.
const RECORD_RETENTION: i64 = 86_400;

const CHECK_FAILED: &str = "ConditionalCheckFailed";
const CONFLICT: &str = "TransactionConflict";

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Runs a transaction; DynamoDB's own transaction conflicts (two requests touching the same
    /// counter at once) are retried a few times here because the SDK does not retry them.
    ///
    /// `token` is the transaction's `ClientRequestToken` (at most 36 characters): DynamoDB then
    /// treats the SDK's retry of an attempt that did apply (its answer lost) as the same
    /// transaction, not a second one.
    async fn transact(&self, items: Vec<TransactWriteItem>, token: &str) -> Result<(), Cancelled> {
        let attempt = || async {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(token)
                .send()
                .await;
            let Err(err) = result else { return Ok(()) };
            if let Some(TransactWriteItemsError::TransactionCanceledException(e)) =
                err.as_service_error()
            {
                return Err(Cancelled::Reasons(e.cancellation_reasons().to_vec()));
            }
            Err(Cancelled::Backend(BackendError::sdk(
                "dynamodb",
                "TransactWriteItems",
                err,
            )))
        };
        attempt
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(10))
                    .with_max_delay(Duration::from_millis(100))
                    .with_max_times(3)
                    .with_jitter(),
            )
            .when(|e| matches!(e, Cancelled::Reasons(r) if r.iter().any(|r| r.code() == Some(CONFLICT))))
            .await
    }

    /// A conditional UpdateItem that hands back the old item when the condition fails.
    async fn conditional_update(
        &self,
        update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
        operation: &'static str,
    ) -> Result<Result<Option<Item>, Option<Item>>, BackendError> {
        match update
            .return_values_on_condition_check_failure(OnFail::AllOld)
            .send()
            .await
        {
            Ok(out) => Ok(Ok(out.attributes)),
            Err(err) => {
                if let Some(UpdateItemError::ConditionalCheckFailedException(e)) =
                    err.as_service_error()
                {
                    return Ok(Err(e.item.clone()));
                }
                Err(BackendError::sdk("dynamodb", operation, err))
            }
        }
    }

    /// The rate-limit counters of one send (`delta` 1) or of its refund (-1). On a send, their
    /// conditions are [`SendGuards::violations`] expressed for DynamoDB; [`Self::limits_hit`]
    /// maps the failed ones back to the same [`RateLimited`]s.
    ///
    /// A send also records `otp` in the destination's hourly item (`codes`, a string set), and is
    /// refused there once a wrong guess spent the destination's guess budget (`blocked`): see
    /// `lifecycle::guesses` and [`Self::count_wrong_guess`].
    fn limit_items(
        &self,
        guards: &SendGuards,
        delta: i64,
        otp: OtpId,
    ) -> Result<Vec<TransactWriteItem>, BackendError> {
        let mut items = Vec::with_capacity(4);
        let bucket = guards.hour_bucket();
        let cooldown_key = key(format!("rate#dest#{}", guards.destination_key));
        items.push(if delta > 0 {
            update(&self.table, cooldown_key)
                .update_expression("SET #last = :now, #ttl = :ttl")
                .condition_expression("attribute_not_exists(#last) OR #last <= :cutoff")
                .expression_attribute_names("#last", "last_send")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", n(guards.now))
                .expression_attribute_values(":ttl", n(guards.cooldown_ttl()))
                .expression_attribute_values(":cutoff", n(guards.cooldown_cutoff()))
                .return_values_on_condition_check_failure(OnFail::AllOld)
        } else {
            update(&self.table, cooldown_key)
                .update_expression("REMOVE #last")
                .expression_attribute_names("#last", "last_send")
        });
        let mut counter = |pk: String, max: u32| {
            let builder = update(&self.table, key(pk))
                .update_expression("ADD #n :delta SET #ttl = :ttl")
                .expression_attribute_names("#n", "count")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":delta", n(delta))
                .expression_attribute_values(":ttl", n(guards.counters_ttl()));
            items.push(if delta > 0 {
                builder
                    .condition_expression("attribute_not_exists(#n) OR #n < :max")
                    .expression_attribute_values(":max", n(max))
            } else {
                builder
            });
        };
        counter(
            format!("rate#dest#{}#h{bucket}", guards.destination_key),
            guards.max_per_destination_hour,
        );
        if let Some(ip) = &guards.ip_key {
            counter(format!("rate#ip#{ip}#h{bucket}"), guards.max_per_ip_hour);
        }
        if let Some(budget) = &guards.tenant {
            counter(
                format!("rate#tenant#{}#h{bucket}", budget.tenant),
                budget.max_per_hour,
            );
        }
        if delta > 0 {
            // `lifecycle::guesses_refusal`: a destination whose guess budget is spent.
            let destination_hour = items.remove(1);
            items.insert(
                1,
                destination_hour
                    .update_expression("ADD #n :delta, #codes :otp SET #ttl = :ttl")
                    .condition_expression(
                        "(attribute_not_exists(#n) OR #n < :max) AND attribute_not_exists(#blocked)",
                    )
                    .expression_attribute_names("#codes", "codes")
                    .expression_attribute_names("#blocked", "blocked")
                    .expression_attribute_values(":otp", AttributeValue::Ss(vec![otp.to_string()]))
                    .return_values_on_condition_check_failure(OnFail::AllOld),
            );
        }
        items
            .into_iter()
            .map(|b| {
                b.build()
                    .map(|u| TransactWriteItem::builder().update(u).build())
                    .map_err(build_error)
            })
            .collect()
    }

    /// One guess, as [`OtpStore::verify_for`] answers it, with the record (if visible) as it
    /// was just before.
    async fn guess(
        &self,
        tenant: Option<&str>,
        id: OtpId,
        guess_slot: &str,
        token: &str,
        now: i64,
    ) -> Result<(VerifyOutcome, Option<OtpRecord>), BackendError> {
        // The condition is `lifecycle::guess_is_counted`; the outcome, `lifecycle::verify_outcome`.
        // Count the guess and consume the code in one step: the guess is evaluated only if it
        // was counted, and only one request can remove the slot. The first request to guess a
        // slot leaves its token under it, so a retry of the winning request can recognise itself.
        // Another tenant's record fails the condition (`lifecycle::visible_to`): not counted.
        let condition = if tenant.is_some() {
            "attribute_exists(pk) AND attempts < max_attempts AND expires_at > :now AND attribute_not_exists(canceled_at) AND tenant = :tenant"
        } else {
            "attribute_exists(pk) AND attempts < max_attempts AND expires_at > :now AND attribute_not_exists(canceled_at)"
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("otp#{id}"))))
            .update_expression(
                "ADD attempts :one REMOVE #guess SET first_guess.#guess = if_not_exists(first_guess.#guess, :token)",
            )
            .condition_expression(condition)
            .expression_attribute_names("#guess", guess_slot)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            // Who guessed the slot first, and when: for the winning slot, the verify's time.
            .expression_attribute_values(
                ":token",
                AttributeValue::M(HashMap::from([
                    ("by".to_owned(), s(token)),
                    ("at".to_owned(), n(now)),
                ])),
            )
            .return_values(ReturnValue::AllOld);
        if let Some(tenant) = tenant {
            request = request.expression_attribute_values(":tenant", s(tenant));
        }
        let (before, counted) = match self.conditional_update(request, "UpdateItem").await? {
            Ok(old) => (old, true),
            Err(old) => (old, false),
        };
        let before = before
            .as_ref()
            .map(parse_record)
            .transpose()?
            .filter(|r| visible_to(r, tenant));
        let outcome = verify_outcome(before.as_ref(), guess_slot, token, counted, now);
        Ok((outcome, before))
    }

    /// `lifecycle::guesses`: counts a wrong guess on the destination's hourly item and, if that
    /// spends the budget, marks the item `blocked` (sends refuse it) and locks every code sent to
    /// the destination in this hour or the last (their ids are the items' `codes` sets). Returns
    /// whether the budget is spent. The locks cost one `UpdateItem` per live code, once per
    /// destination and hour.
    async fn count_wrong_guess(
        &self,
        destination_key: &str,
        now: i64,
        budget: GuessBudget,
    ) -> Result<bool, BackendError> {
        let hour = guess_hour(now);
        let item_of = |hour: i64| key(format!("rate#dest#{destination_key}#h{hour}"));
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_of(hour)))
            .update_expression("ADD #wrong :one SET #ttl = if_not_exists(#ttl, :ttl)")
            .expression_attribute_names("#wrong", "wrong")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n((hour + 2) * 3600))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| BackendError::sdk("dynamodb", "UpdateItem", e))?;
        let wrong = out
            .attributes
            .as_ref()
            .and_then(|item| num(item, "wrong"))
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(u32::MAX);
        if !guesses_spent(wrong, budget) {
            return Ok(false);
        }
        let block = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_of(hour)))
            .update_expression("SET #blocked = :yes")
            .expression_attribute_names("#blocked", "blocked")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| BackendError::sdk("dynamodb", "UpdateItem", e))?;
        let previous = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_of(hour - 1)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| BackendError::sdk("dynamodb", "GetItem", e))?;
        let codes = |item: Option<&Item>| -> Vec<String> {
            item.and_then(|item| item.get("codes"))
                .and_then(|v| v.as_ss().ok())
                .cloned()
                .unwrap_or_default()
        };
        let mut ids = codes(block.attributes.as_ref());
        ids.extend(codes(previous.item.as_ref()));
        for id in ids {
            let lock = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(format!("otp#{id}"))))
                .update_expression("SET attempts = max_attempts")
                .condition_expression("attribute_exists(pk)");
            // A code that is gone (cancelled, or deleted by TTL) needs no lock.
            let _locked_or_gone = self.conditional_update(lock, "UpdateItem").await?;
        }
        Ok(true)
    }

    /// Takes the destination's live-code pointer for `record`: the condition is
    /// `lifecycle::pointer_free`.
    fn take_pointer(
        &self,
        record: &OtpRecord,
        now: i64,
        replacing: Option<OtpId>,
    ) -> Result<TransactWriteItem, BackendError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(pointer_item(record)))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(OnFail::AllOld);
        put = match replacing {
            None => put.condition_expression("attribute_not_exists(pk) OR expires_at <= :now"),
            Some(old) => put
                .condition_expression(
                    "attribute_not_exists(pk) OR expires_at <= :now OR otp_id = :replacing",
                )
                .expression_attribute_values(":replacing", s(old.to_string())),
        };
        let put = put.build().map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The idempotency item of a send: put if absent or expired.
    fn put_idempotency(
        &self,
        idem: &IdempotencyRecord,
        now: i64,
    ) -> Result<TransactWriteItem, BackendError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(idempotency_item(idem)))
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(OnFail::AllOld)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Which limits refused a transaction whose items after `first` are [`Self::limit_items`].
    fn limits_hit(
        guards: &SendGuards,
        reasons: &[CancellationReason],
        first: usize,
    ) -> Vec<RateLimited> {
        let failed = |i: usize| reasons.get(i).and_then(|r| r.code()) == Some(CHECK_FAILED);
        let mut hit = Vec::new();
        if failed(first) {
            let last = reasons[first]
                .item()
                .and_then(|item| num(item, "last_send"))
                .unwrap_or(guards.now);
            hit.push(RateLimited {
                scope: LimitScope::DestinationCooldown,
                retry_after: Some(guards.cooldown_left(last)),
            });
        }
        if failed(first + 1) {
            let blocked = reasons[first + 1]
                .item()
                .is_some_and(|item| item.contains_key("blocked"));
            hit.push(if blocked {
                guesses_refusal(guards)
            } else {
                guards.hourly(LimitScope::DestinationHourly)
            });
        }
        let mut next = first + 2;
        if guards.ip_key.is_some() {
            if failed(next) {
                hit.push(guards.hourly(LimitScope::IpHourly));
            }
            next += 1;
        }
        if guards.tenant.is_some() && failed(next) {
            hit.push(guards.hourly(LimitScope::TenantHourly));
        }
        hit
    }
}

enum Cancelled {
    Reasons(Vec<CancellationReason>),
    Backend(BackendError),
}

impl Cancelled {
    /// A cancellation that no condition explains (e.g. conflicts that outlasted the retries).
    fn unexplained(reasons: &[CancellationReason], operation: &'static str) -> BackendError {
        let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("?")).collect();
        BackendError::new(
            "dynamodb",
            operation,
            format!("transaction cancelled: {codes:?}"),
        )
    }
}

#[async_trait::async_trait]
impl OtpStore for DynamoStore {
    async fn create_live(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        idempotency: Option<&IdempotencyRecord>,
        replacing: Option<OtpId>,
    ) -> Result<(), CreateError> {
        let put_record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record_item(record)))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(OnFail::AllOld)
            .build()
            .map_err(build_error)?;
        let mut items = vec![TransactWriteItem::builder().put(put_record).build()];
        items.extend(self.limit_items(guards, 1, record.id)?);
        let idem_index = items.len();
        if let Some(idem) = idempotency {
            items.push(self.put_idempotency(idem, guards.now)?);
        }
        let live_index = items.len();
        items.push(self.take_pointer(record, guards.now, replacing)?);
        // A replacing attempt writes other items than the first: it needs its own token.
        let token = match replacing {
            None => format!("c{}", record.id.compact()),
            Some(old) => format!("r{}{}", &old.compact()[..8], &record.id.compact()[..27]),
        };
        match self.transact(items, &token).await {
            Ok(()) => Ok(()),
            Err(Cancelled::Backend(e)) => Err(e.into()),
            Err(Cancelled::Reasons(reasons)) => {
                // A record with this fresh random id and this code already stored can only be
                // our own: an earlier attempt of this call applied and its answer was lost (the
                // token covers that on DynamoDB; this covers stores that ignore tokens).
                let ours = reasons
                    .first()
                    .and_then(|r| r.item())
                    .and_then(|item| parse_record(item).ok())
                    .is_some_and(|existing| existing.code_slot == record.code_slot);
                if ours {
                    return Ok(());
                }
                if idempotency.is_some()
                    && let Some(reason) = reasons.get(idem_index)
                    && reason.code() == Some(CHECK_FAILED)
                    && let Some(existing) = reason.item().and_then(parse_idempotency)
                {
                    return Err(CreateError::Replay(existing));
                }
                if let Some(reason) = reasons.get(live_index)
                    && reason.code() == Some(CHECK_FAILED)
                    && let Some(held) = reason.item().and_then(parse_pointer)
                {
                    return Err(CreateError::LiveCode(held));
                }
                match SendGuards::worst(Self::limits_hit(guards, &reasons, 1)) {
                    Some(limit) => Err(CreateError::RateLimited(limit)),
                    None => Err(Cancelled::unexplained(&reasons, "TransactWriteItems").into()),
                }
            }
        }
    }

    async fn cancel_create(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), BackendError> {
        let delete = |pk: String| {
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(pk)))
                .build()
                .map(|d| TransactWriteItem::builder().delete(d).build())
                .map_err(build_error)
        };
        // The pointer is this record's: no other OTP can take it while this one is pending.
        let mut items = vec![
            delete(format!("otp#{}", record.id))?,
            delete(format!("live#{}", record.live_key()))?,
        ];
        if let Some(idem) = idempotency {
            items.push(delete(format!("idem#{}", idem.key_hash))?);
        }
        items.extend(self.limit_items(guards, -1, record.id)?);
        self.transact(items, &format!("u{}", record.id.compact()))
            .await
            .map_err(|e| match e {
                Cancelled::Backend(e) => e,
                Cancelled::Reasons(r) => Cancelled::unexplained(&r, "TransactWriteItems"),
            })
    }

    async fn get(&self, id: OtpId) -> Result<Option<OtpRecord>, BackendError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("otp#{id}"))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| BackendError::sdk("dynamodb", "GetItem", e))?;
        out.item.as_ref().map(parse_record).transpose()
    }

    async fn live_pointer(&self, key: &str) -> Result<Option<LivePointer>, BackendError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self::key(format!("live#{key}"))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| BackendError::sdk("dynamodb", "GetItem", e))?;
        Ok(out.item.as_ref().and_then(parse_pointer))
    }

    async fn cancel(
        &self,
        tenant: &str,
        id: OtpId,
        now: i64,
    ) -> Result<CancelOutcome, BackendError> {
        // `lifecycle::cancel`: stamp any record of the caller's tenant (the first stamp stays);
        // the record as left says whether the code was used before.
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("otp#{id}"))))
            .update_expression("SET canceled_at = if_not_exists(canceled_at, :now)")
            .condition_expression("attribute_exists(pk) AND tenant = :tenant")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":tenant", s(tenant))
            .return_values(ReturnValue::AllNew);
        let after = match self.conditional_update(request, "UpdateItem").await? {
            Ok(after) => after.as_ref().map(parse_record).transpose()?,
            Err(_) => None,
        };
        Ok(cancel_outcome(after.as_ref()))
    }

    async fn verify_for(
        &self,
        tenant: Option<&str>,
        id: OtpId,
        guess_slot: &str,
        token: &str,
        now: i64,
    ) -> Result<VerifyOutcome, BackendError> {
        self.guess(tenant, id, guess_slot, token, now)
            .await
            .map(|(outcome, _)| outcome)
    }

    async fn verify_budgeted(
        &self,
        tenant: Option<&str>,
        id: OtpId,
        guess_slot: &str,
        token: &str,
        now: i64,
        budget: GuessBudget,
    ) -> Result<VerifyOutcome, BackendError> {
        let (outcome, before) = self.guess(tenant, id, guess_slot, token, now).await?;
        match (outcome, before) {
            (VerifyOutcome::Wrong { .. }, Some(before)) => {
                let spent = self
                    .count_wrong_guess(&before.destination_key, now, budget)
                    .await?;
                Ok(if spent {
                    VerifyOutcome::Wrong {
                        attempts_remaining: 0,
                    }
                } else {
                    outcome
                })
            }
            (outcome, _) => Ok(outcome),
        }
    }

    async fn add_send_keyed(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        max_sends: u32,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<u32, ResendError> {
        // `lifecycle::resend_refusal`: the cap first, on the record as read (no write needed);
        // then the condition below (unchanged and pending), then the counters' conditions.
        if let Some(cap) = sends_exhausted(record, max_sends) {
            return Err(ResendError::RateLimited(cap));
        }
        let slot = record.code_slot.as_deref().ok_or(ResendError::Changed)?;
        let bump = update(&self.table, key(format!("otp#{}", record.id)))
            .update_expression("SET sends = :next, delivery = :queued")
            .condition_expression(
                "attribute_exists(#slot) AND attempts < max_attempts AND expires_at > :now AND sends = :seen AND attribute_not_exists(canceled_at)",
            )
            .expression_attribute_names("#slot", slot)
            .expression_attribute_values(":next", n(record.sends + 1))
            .expression_attribute_values(":seen", n(record.sends))
            .expression_attribute_values(":now", n(guards.now))
            .expression_attribute_values(":queued", s(DeliveryState::Queued.as_str()))
            .build()
            .map_err(build_error)?;
        let mut items = vec![TransactWriteItem::builder().update(bump).build()];
        items.extend(self.limit_items(guards, 1, record.id)?);
        let idem_index = items.len();
        if let Some(idem) = idempotency {
            items.push(self.put_idempotency(idem, guards.now)?);
        }
        // A keyed resend writes other items than a plain one of the same number.
        let prefix = if idempotency.is_some() { "k" } else { "s" };
        match self
            .transact(
                items,
                &format!("{prefix}{}{}", record.sends + 1, record.id.compact()),
            )
            .await
        {
            Ok(()) => Ok(record.sends + 1),
            Err(Cancelled::Backend(e)) => Err(e.into()),
            Err(Cancelled::Reasons(reasons)) => {
                if idempotency.is_some()
                    && let Some(reason) = reasons.get(idem_index)
                    && reason.code() == Some(CHECK_FAILED)
                    && let Some(existing) = reason.item().and_then(parse_idempotency)
                {
                    return Err(ResendError::Replay(existing));
                }
                if reasons.first().and_then(|r| r.code()) == Some(CHECK_FAILED) {
                    return Err(ResendError::Changed);
                }
                match SendGuards::worst(Self::limits_hit(guards, &reasons, 1)) {
                    Some(limit) => Err(ResendError::RateLimited(limit)),
                    None => Err(Cancelled::unexplained(&reasons, "TransactWriteItems").into()),
                }
            }
        }
    }

    async fn cancel_send_keyed(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), BackendError> {
        let restore = update(&self.table, key(format!("otp#{}", record.id)))
            .update_expression("SET sends = :sends, delivery = :delivery")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":sends", n(record.sends))
            .expression_attribute_values(":delivery", s(record.delivery.as_str()))
            .build()
            .map_err(build_error)?;
        let mut items = vec![TransactWriteItem::builder().update(restore).build()];
        items.extend(self.limit_items(guards, -1, record.id)?);
        if let Some(idem) = idempotency {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(format!("idem#{}", idem.key_hash))))
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        self.transact(
            items,
            &format!("x{}{}", record.sends + 1, record.id.compact()),
        )
        .await
        .map_err(|e| match e {
            Cancelled::Backend(e) => e,
            Cancelled::Reasons(r) => Cancelled::unexplained(&r, "TransactWriteItems"),
        })
    }

    async fn claim_delivery(
        &self,
        job: &DeliveryJob,
        holder: &LeaseHolder,
        now: i64,
        lease_seconds: i64,
    ) -> Result<Claim, BackendError> {
        // The condition is `lifecycle::claim_allowed`: slot present, not locked, this send not
        // finished, not expired (`lifecycle::skip_reason`), and the lease free or kept by this
        // message's previous receive. A refusal is explained by `lifecycle::claim_refusal`.
        // No predecessor: a value no holder id can equal (they all contain '#').
        let predecessor = holder.predecessor().unwrap_or_else(|| "none".to_owned());
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("otp#{}", job.otp_id))))
            .update_expression(
                "SET delivery = :sending, lease_until = :lease, lease_holder = :holder",
            )
            .condition_expression(
                "attribute_exists(#slot) AND attempts < max_attempts AND expires_at > :now \
                 AND attribute_not_exists(canceled_at) AND delivered_send < :send \
                 AND (attribute_not_exists(lease_until) OR lease_until < :now \
                      OR lease_holder = :predecessor)",
            )
            .expression_attribute_values(":holder", s(holder.id()))
            .expression_attribute_values(":predecessor", s(predecessor))
            .expression_attribute_names("#slot", &job.slot)
            .expression_attribute_values(":sending", s(DeliveryState::Sending.as_str()))
            .expression_attribute_values(":lease", n(now + lease_seconds))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":send", n(job.send))
            .return_values(ReturnValue::AllNew);
        match self.conditional_update(request, "UpdateItem").await? {
            Ok(Some(item)) => Ok(Claim::Granted(Box::new(parse_record(&item)?))),
            Ok(None) => Err(BackendError::new(
                "dynamodb",
                "UpdateItem",
                "claim returned no item",
            )),
            Err(before) => {
                let before = before.as_ref().map(parse_record).transpose()?;
                Ok(claim_refusal(before.as_ref(), job, now))
            }
        }
    }

    async fn finish_delivery(
        &self,
        id: OtpId,
        send: u32,
        result: &DeliveryResult,
    ) -> Result<(), BackendError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("otp#{id}"))))
            .expression_attribute_values(":state", s(delivery_state(result).as_str()));
        request = match result {
            DeliveryResult::Sent => request
                .update_expression(
                    "SET delivery = :state, delivered_send = :send REMOVE lease_until, lease_holder",
                )
                // A later send delivered first already carries the same code: keep its number.
                .condition_expression("attribute_exists(pk) AND delivered_send < :send")
                .expression_attribute_values(":send", n(send)),
            DeliveryResult::Failed { reason } => request
                .update_expression(
                    "SET delivery = :state, failure_reason = :reason, delivered_send = :send REMOVE lease_until, lease_holder",
                )
                .condition_expression("attribute_exists(pk) AND delivered_send < :send")
                .expression_attribute_values(":reason", s(reason))
                .expression_attribute_values(":send", n(send)),
            DeliveryResult::Dropped | DeliveryResult::Released => request
                .update_expression("SET delivery = :state REMOVE lease_until, lease_holder")
                .condition_expression("attribute_exists(pk)"),
        };
        // A failed condition means the record is gone or already further along: nothing to do.
        self.conditional_update(request, "UpdateItem")
            .await
            .map(|_| ())
    }
}

fn key(pk: String) -> Item {
    HashMap::from([("pk".to_owned(), AttributeValue::S(pk))])
}

fn update(table: &str, key: Item) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    Update::builder().table_name(table).set_key(Some(key))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn build_error(err: aws_sdk_dynamodb::error::BuildError) -> BackendError {
    BackendError::new("dynamodb", "build", err.to_string())
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn num(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn record_item(r: &OtpRecord) -> Item {
    let mut item = key(format!("otp#{}", r.id));
    item.insert("kind".into(), s("otp"));
    if let Some(tenant) = &r.tenant {
        item.insert("tenant".into(), s(tenant));
    }
    item.insert("channel".into(), s(r.channel.as_str()));
    item.insert("masked_destination".into(), s(&r.masked_destination));
    item.insert("destination_key".into(), s(&r.destination_key));
    item.insert("locale".into(), s(&r.locale));
    item.insert("sealed".into(), s(&r.sealed));
    item.insert("created_at".into(), n(r.created_at));
    item.insert("expires_at".into(), n(r.expires_at));
    item.insert("ttl".into(), n(r.expires_at + RECORD_RETENTION));
    item.insert("attempts".into(), n(r.attempts));
    item.insert("max_attempts".into(), n(r.max_attempts));
    item.insert("sends".into(), n(r.sends));
    item.insert("delivery".into(), s(r.delivery.as_str()));
    item.insert("delivered_send".into(), n(r.delivered_send));
    if let Some(slot) = &r.code_slot {
        item.insert(slot.clone(), AttributeValue::Bool(true));
        item.insert("slot".into(), s(slot));
    }
    item.insert("first_guess".into(), AttributeValue::M(HashMap::new()));
    item
}

fn parse_record(item: &Item) -> Result<OtpRecord, BackendError> {
    let bad = |field: &str| {
        BackendError::new(
            "dynamodb",
            "decode",
            format!("record field {field} missing or invalid"),
        )
    };
    let id = text(item, "pk")
        .and_then(|pk| pk.strip_prefix("otp#"))
        .and_then(|id| OtpId::parse(id).ok())
        .ok_or_else(|| bad("pk"))?;
    // The slot's name stays after the slot itself is removed by the verifying guess.
    let slot = text(item, "slot");
    let count = |name: &str| {
        num(item, name)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| bad(name))
    };
    Ok(OtpRecord {
        id,
        tenant: text(item, "tenant").map(str::to_owned),
        channel: text(item, "channel")
            .and_then(Channel::parse)
            .ok_or_else(|| bad("channel"))?,
        masked_destination: text(item, "masked_destination")
            .unwrap_or_default()
            .to_owned(),
        destination_key: text(item, "destination_key")
            .ok_or_else(|| bad("destination_key"))?
            .to_owned(),
        locale: text(item, "locale").unwrap_or("en").to_owned(),
        code_slot: slot
            .filter(|slot| item.contains_key(*slot))
            .map(str::to_owned),
        verified_by: first_guess(item, slot).and_then(|guess| match guess {
            // Before guess times were kept, the entry was the token alone.
            AttributeValue::S(token) => Some(token.clone()),
            AttributeValue::M(entry) => entry.get("by")?.as_s().ok().cloned(),
            _ => None,
        }),
        verified_at: first_guess(item, slot)
            .filter(|_| slot.is_some_and(|slot| !item.contains_key(slot)))
            .and_then(|guess| guess.as_m().ok()?.get("at")?.as_n().ok()?.parse().ok()),
        canceled_at: num(item, "canceled_at"),
        sealed: text(item, "sealed")
            .ok_or_else(|| bad("sealed"))?
            .to_owned(),
        created_at: num(item, "created_at").ok_or_else(|| bad("created_at"))?,
        expires_at: num(item, "expires_at").ok_or_else(|| bad("expires_at"))?,
        attempts: count("attempts")?,
        max_attempts: count("max_attempts")?,
        sends: count("sends")?,
        delivery: text(item, "delivery")
            .and_then(DeliveryState::parse)
            .ok_or_else(|| bad("delivery"))?,
        delivered_send: count("delivered_send")?,
        lease_until: num(item, "lease_until"),
        lease_holder: text(item, "lease_holder").map(str::to_owned),
        failure_reason: text(item, "failure_reason").map(str::to_owned),
    })
}

/// The `first_guess` entry of `slot`: who guessed it first (and, since cancel, when).
fn first_guess<'a>(item: &'a Item, slot: Option<&str>) -> Option<&'a AttributeValue> {
    item.get("first_guess")?.as_m().ok()?.get(slot?)
}

fn pointer_item(record: &OtpRecord) -> Item {
    let mut item = key(format!("live#{}", record.live_key()));
    item.insert("kind".into(), s("live"));
    item.insert("otp_id".into(), s(record.id.to_string()));
    item.insert("expires_at".into(), n(record.expires_at));
    item.insert("ttl".into(), n(record.expires_at + RECORD_RETENTION));
    item
}

fn parse_pointer(item: &Item) -> Option<LivePointer> {
    Some(LivePointer {
        otp_id: OtpId::parse(text(item, "otp_id")?).ok()?,
        expires_at: num(item, "expires_at")?,
    })
}

fn idempotency_item(r: &IdempotencyRecord) -> Item {
    let mut item = key(format!("idem#{}", r.key_hash));
    item.insert("kind".into(), s("idempotency"));
    item.insert("fingerprint".into(), s(&r.fingerprint));
    item.insert("otp_id".into(), s(r.otp_id.to_string()));
    item.insert("channel".into(), s(r.channel.as_str()));
    item.insert("created_at".into(), n(r.created_at));
    item.insert("expires_at".into(), n(r.expires_at));
    item.insert("ttl".into(), n(r.expires_at + RECORD_RETENTION));
    item
}

fn parse_idempotency(item: &Item) -> Option<IdempotencyRecord> {
    Some(IdempotencyRecord {
        key_hash: text(item, "pk")?.strip_prefix("idem#")?.to_owned(),
        fingerprint: text(item, "fingerprint")?.to_owned(),
        otp_id: OtpId::parse(text(item, "otp_id")?).ok()?,
        channel: Channel::parse(text(item, "channel")?)?,
        created_at: num(item, "created_at")?,
        expires_at: num(item, "expires_at")?,
    })
}
