//! An in-memory [`OtpStore`] with DynamoDB's semantics: every operation checks all of its
//! conditions first and then applies all of its writes under one lock, like a transaction.

use super::{
    Claim, CreateError, DeliveryResult, GuessBudget, IdempotencyRecord, LeaseHolder, LimitScope,
    OtpStore, RateLimited, ResendError, SendGuards,
};
use crate::domain::OtpId;
use crate::error::BackendError;
use crate::job::DeliveryJob;
use crate::lifecycle::{
    CancelOutcome, LivePointer, ResendRefusal, SeenCounts, VerifyOutcome, cancel_outcome,
    cancel_stamp, claim_allowed, claim_refusal, delivery_state, guess_hour, guess_is_counted,
    guesses_refusal, guesses_spent, pointer_free, resend_refusal, verify_outcome, visible_to,
};
use crate::record::{DeliveryState, OtpRecord};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[derive(Debug, Default)]
struct Tables {
    records: HashMap<OtpId, OtpRecord>,
    cooldowns: HashMap<String, i64>,
    destination_hours: HashMap<(String, i64), u32>,
    ip_hours: HashMap<(String, i64), u32>,
    tenant_hours: HashMap<(String, i64), u32>,
    idempotency: HashMap<String, IdempotencyRecord>,
    /// One live code per destination ([`crate::lifecycle::live`]), by its key.
    live: HashMap<String, LivePointer>,
    /// By destination and hour: the codes sent, the wrong guesses, and whether they spent the
    /// guess budget (`lifecycle::guesses`; the `codes`, `wrong` and `blocked` attributes of
    /// DynamoDB's hourly destination item).
    guess_hours: HashMap<(String, i64), GuessHour>,
}

#[derive(Debug, Default)]
struct GuessHour {
    codes: Vec<OtpId>,
    wrong: u32,
    blocked: bool,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    unavailable: AtomicBool,
    calls: AtomicUsize,
}

impl MemoryStore {
    /// Room for `records` OTPs (and their limit counters) up front. For benchmarks: growing a
    /// large map rehashes all of it under the store's one lock, a stall DynamoDB never has,
    /// which would show up as the service's tail latency.
    pub fn with_capacity(records: usize) -> Self {
        let tables = Tables {
            records: HashMap::with_capacity(records),
            cooldowns: HashMap::with_capacity(records),
            destination_hours: HashMap::with_capacity(records),
            ip_hours: HashMap::new(),
            tenant_hours: HashMap::new(),
            idempotency: HashMap::new(),
            guess_hours: HashMap::with_capacity(records),
            live: HashMap::with_capacity(records),
        };
        Self {
            tables: Mutex::new(tables),
            ..Self::default()
        }
    }

    /// Makes every following call fail as if DynamoDB were unreachable.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// How many store calls were made: each stands for one DynamoDB request.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn record(&self, id: OtpId) -> Option<OtpRecord> {
        self.lock().records.get(&id).cloned()
    }

    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enter(
        &self,
        operation: &'static str,
    ) -> Result<std::sync::MutexGuard<'_, Tables>, BackendError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(BackendError::new(
                "memory",
                operation,
                "store unavailable (injected)",
            ));
        }
        Ok(self.lock())
    }
}

impl Tables {
    /// The first answer of `idempotency`'s key, while it is remembered.
    fn replay(
        &self,
        idempotency: Option<&IdempotencyRecord>,
        now: i64,
    ) -> Option<IdempotencyRecord> {
        let idem = idempotency?;
        self.idempotency
            .get(&idem.key_hash)
            .filter(|existing| existing.expires_at > now)
            .cloned()
    }

    /// The limits `guards` would exceed now (the rule: [`SendGuards::violations`]).
    fn limit_violations(&self, guards: &SendGuards) -> Vec<RateLimited> {
        let bucket = guards.hour_bucket();
        let count = |table: &HashMap<(String, i64), u32>, key: &str| {
            table.get(&(key.to_owned(), bucket)).copied().unwrap_or(0)
        };
        let blocked = self
            .guess_hours
            .get(&(guards.destination_key.clone(), bucket))
            .is_some_and(|hour| hour.blocked);
        let mut hit = guards.violations(SeenCounts {
            last_send: self.cooldowns.get(&guards.destination_key).copied(),
            destination_hour: count(&self.destination_hours, &guards.destination_key),
            ip_hour: guards
                .ip_key
                .as_deref()
                .map_or(0, |ip| count(&self.ip_hours, ip)),
            tenant_hour: guards
                .tenant
                .as_ref()
                .map_or(0, |b| count(&self.tenant_hours, &b.tenant)),
        });
        if blocked {
            // DynamoDB's hourly destination item refuses the send (one condition): a spent
            // guess budget is reported instead of the hourly count it shares the item with.
            hit.retain(|l| l.scope != LimitScope::DestinationHourly);
            hit.push(guesses_refusal(guards));
        }
        hit
    }

    /// Remembers that `id` was sent to its destination in this hour.
    fn note_sent(&mut self, guards: &SendGuards, id: OtpId) {
        let hour = self
            .guess_hours
            .entry((guards.destination_key.clone(), guards.hour_bucket()))
            .or_default();
        if !hour.codes.contains(&id) {
            hour.codes.push(id);
        }
    }

    fn count_send(&mut self, guards: &SendGuards, delta: i64) {
        let bucket = guards.hour_bucket();
        let bump =
            |n: &mut u32| *n = u32::try_from((i64::from(*n) + delta).max(0)).unwrap_or(u32::MAX);
        bump(
            self.destination_hours
                .entry((guards.destination_key.clone(), bucket))
                .or_default(),
        );
        if let Some(ip) = &guards.ip_key {
            bump(self.ip_hours.entry((ip.clone(), bucket)).or_default());
        }
        if let Some(budget) = &guards.tenant {
            bump(
                self.tenant_hours
                    .entry((budget.tenant.clone(), bucket))
                    .or_default(),
            );
        }
        if delta > 0 {
            self.cooldowns
                .insert(guards.destination_key.clone(), guards.now);
        } else {
            self.cooldowns.remove(&guards.destination_key);
        }
    }
}

#[async_trait::async_trait]
impl OtpStore for MemoryStore {
    async fn create_live(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        idempotency: Option<&IdempotencyRecord>,
        replacing: Option<OtpId>,
    ) -> Result<(), CreateError> {
        let mut t = self.enter("create")?;
        if let Some(existing) = t.replay(idempotency, guards.now) {
            return Err(CreateError::Replay(existing));
        }
        let live_key = record.live_key();
        if let Some(held) = t.live.get(&live_key)
            && !pointer_free(Some(held), replacing, guards.now)
        {
            return Err(CreateError::LiveCode(*held));
        }
        if let Some(limit) = SendGuards::worst(t.limit_violations(guards)) {
            return Err(CreateError::RateLimited(limit));
        }
        if t.records.contains_key(&record.id) {
            return Err(BackendError::new("memory", "create", "duplicate id").into());
        }
        t.count_send(guards, 1);
        t.note_sent(guards, record.id);
        t.records.insert(record.id, record.clone());
        t.live.insert(live_key, record.live_pointer());
        if let Some(idem) = idempotency {
            t.idempotency.insert(idem.key_hash.clone(), idem.clone());
        }
        Ok(())
    }

    async fn live_pointer(&self, key: &str) -> Result<Option<LivePointer>, BackendError> {
        Ok(self.enter("live_pointer")?.live.get(key).copied())
    }

    async fn cancel(
        &self,
        tenant: &str,
        id: OtpId,
        now: i64,
    ) -> Result<CancelOutcome, BackendError> {
        let mut t = self.enter("cancel")?;
        let record = t
            .records
            .get_mut(&id)
            .filter(|r| visible_to(r, Some(tenant)));
        Ok(cancel_outcome(record.map(|r| {
            cancel_stamp(r, now);
            &*r
        })))
    }

    async fn cancel_create(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), BackendError> {
        let mut t = self.enter("cancel_create")?;
        t.records.remove(&record.id);
        t.live.remove(&record.live_key());
        if let Some(idem) = idempotency {
            t.idempotency.remove(&idem.key_hash);
        }
        t.count_send(guards, -1);
        Ok(())
    }

    async fn get(&self, id: OtpId) -> Result<Option<OtpRecord>, BackendError> {
        Ok(self.enter("get")?.records.get(&id).cloned())
    }

    async fn verify_for(
        &self,
        tenant: Option<&str>,
        id: OtpId,
        guess_slot: &str,
        token: &str,
        now: i64,
    ) -> Result<VerifyOutcome, BackendError> {
        let mut t = self.enter("verify")?;
        let Some(record) = t.records.get_mut(&id).filter(|r| visible_to(r, tenant)) else {
            return Ok(VerifyOutcome::NotFound);
        };
        let before = record.clone();
        let counted = guess_is_counted(record, now);
        if counted {
            record.attempts += 1;
            if record.code_slot.as_deref() == Some(guess_slot) {
                record.code_slot = None;
                record.verified_by = Some(token.to_owned());
                record.verified_at = Some(now);
            }
        }
        Ok(verify_outcome(
            Some(&before),
            guess_slot,
            token,
            counted,
            now,
        ))
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
        let outcome = self.verify_for(tenant, id, guess_slot, token, now).await?;
        if !matches!(outcome, VerifyOutcome::Wrong { .. }) {
            return Ok(outcome);
        }
        // A second call, as on DynamoDB: the count on the destination's hourly item.
        let mut t = self.enter("count_wrong_guess")?;
        let Some(destination) = t.records.get(&id).map(|r| r.destination_key.clone()) else {
            return Ok(outcome);
        };
        let hour = guess_hour(now);
        let entry = t
            .guess_hours
            .entry((destination.clone(), hour))
            .or_default();
        entry.wrong += 1;
        if !guesses_spent(entry.wrong, budget) {
            return Ok(outcome);
        }
        entry.blocked = true;
        let mut sent = entry.codes.clone();
        if let Some(previous) = t.guess_hours.get(&(destination, hour - 1)) {
            sent.extend(previous.codes.iter().copied());
        }
        for id in sent {
            if let Some(record) = t.records.get_mut(&id) {
                record.attempts = record.max_attempts;
            }
        }
        Ok(VerifyOutcome::Wrong {
            attempts_remaining: 0,
        })
    }

    async fn add_send_keyed(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        max_sends: u32,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<u32, ResendError> {
        let mut t = self.enter("add_send")?;
        if let Some(existing) = t.replay(idempotency, guards.now) {
            return Err(ResendError::Replay(existing));
        }
        let limits = t.limit_violations(guards);
        match resend_refusal(record, t.records.get(&record.id), max_sends, guards, limits) {
            Some(ResendRefusal::Changed) => return Err(ResendError::Changed),
            Some(ResendRefusal::Limited(limit)) => return Err(ResendError::RateLimited(limit)),
            None => {}
        }
        t.count_send(guards, 1);
        t.note_sent(guards, record.id);
        let current = t.records.get_mut(&record.id).ok_or(ResendError::Changed)?;
        current.sends += 1;
        current.delivery = DeliveryState::Queued;
        let sends = current.sends;
        if let Some(idem) = idempotency {
            t.idempotency.insert(idem.key_hash.clone(), idem.clone());
        }
        Ok(sends)
    }

    async fn cancel_send_keyed(
        &self,
        record: &OtpRecord,
        guards: &SendGuards,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), BackendError> {
        let mut t = self.enter("cancel_send")?;
        if let Some(idem) = idempotency {
            t.idempotency.remove(&idem.key_hash);
        }
        if let Some(current) = t.records.get_mut(&record.id) {
            current.sends = record.sends;
            current.delivery = record.delivery;
        }
        t.count_send(guards, -1);
        Ok(())
    }

    async fn claim_delivery(
        &self,
        job: &DeliveryJob,
        holder: &LeaseHolder,
        now: i64,
        lease_seconds: i64,
    ) -> Result<Claim, BackendError> {
        let mut t = self.enter("claim_delivery")?;
        let Some(record) = t.records.get_mut(&job.otp_id) else {
            return Ok(claim_refusal(None, job, now));
        };
        if !claim_allowed(record, job, holder, now) {
            return Ok(claim_refusal(Some(record), job, now));
        }
        record.delivery = DeliveryState::Sending;
        record.lease_until = Some(now + lease_seconds);
        record.lease_holder = Some(holder.id());
        Ok(Claim::Granted(Box::new(record.clone())))
    }

    async fn finish_delivery(
        &self,
        id: OtpId,
        send: u32,
        result: &DeliveryResult,
    ) -> Result<(), BackendError> {
        let mut t = self.enter("finish_delivery")?;
        let Some(record) = t.records.get_mut(&id) else {
            return Ok(());
        };
        let finishes = matches!(result, DeliveryResult::Sent | DeliveryResult::Failed { .. });
        if finishes && record.delivered_send >= send {
            // A later send was finished first; it carries the same code. Nothing to record.
            return Ok(());
        }
        record.delivery = delivery_state(result);
        record.lease_until = None;
        record.lease_holder = None;
        if finishes {
            record.delivered_send = send;
        }
        if let DeliveryResult::Failed { reason } = result {
            record.failure_reason = Some(reason.clone());
        }
        Ok(())
    }
}
