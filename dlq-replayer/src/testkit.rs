//! Unit-test fixtures: a fake DLQ and job queue, an in-memory record store, and jobs in the
//! states a DLQ holds after an outage.

use crate::context::Context;
use crate::fake::{FakeQueues, queue_ref};
use crate::queue_url::{QueueRef, Role};
use common::clock::{Clock, ShiftedClock};
use common::domain::{Channel, OtpId};
use common::job::DeliveryJob;
use common::record::{Issue, OtpRecord};
use common::store::{MemoryStore, OtpStore, SendGuards};
use std::sync::Arc;

#[derive(Debug)]
pub struct Fixture {
    pub queues: Arc<FakeQueues>,
    pub store: Arc<MemoryStore>,
    pub clock: Arc<ShiftedClock>,
    pub ctx: Context,
    pub dlq: QueueRef,
    pub job_queue: QueueRef,
}

impl Fixture {
    pub fn new() -> Self {
        let queues = Arc::new(FakeQueues::default());
        let store = Arc::new(MemoryStore::default());
        let clock = Arc::new(ShiftedClock::default());
        let ctx = crate::context::tests::context(queues.clone(), store.clone(), clock.clone());
        Self {
            queues,
            store,
            clock,
            ctx,
            dlq: queue_ref(Role::Dlq, "jobs-dlq"),
            job_queue: queue_ref(Role::JobQueue, "jobs"),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A pending OTP whose first job is in the DLQ; returns the job's body.
    pub async fn live(&self, channel: Channel) -> String {
        let (job, _) = self.stored(channel, self.now() - 120, 600).await;
        self.put(&job)
    }

    /// An OTP requested `age` seconds ago.
    pub async fn live_aged(&self, channel: Channel, age: i64) -> String {
        let (job, _) = self.stored(channel, self.now() - age, age + 300).await;
        self.put(&job)
    }

    pub async fn expired(&self) -> String {
        let (job, _) = self.stored(Channel::Email, self.now() - 900, 600).await;
        self.put(&job)
    }

    pub async fn verified(&self) -> String {
        let (job, record) = self.stored(Channel::Sms, self.now() - 60, 600).await;
        let slot = record.code_slot.clone().unwrap_or_default();
        self.store
            .verify(record.id, &slot, "token", self.now())
            .await
            .unwrap();
        self.put(&job)
    }

    pub fn malformed(&self, body: &str) -> String {
        self.queues.put(&self.dlq, body);
        body.to_owned()
    }

    /// A job whose record was never stored (or expired a day ago and was removed by TTL).
    pub fn gone(&self) -> String {
        let now = self.now();
        self.put(&job(
            OtpId::new_random(),
            Channel::Email,
            now - 60,
            now + 540,
        ))
    }

    fn put(&self, job: &DeliveryJob) -> String {
        let body = job.to_body();
        self.queues.put(&self.dlq, &body);
        body
    }

    async fn stored(&self, channel: Channel, created: i64, ttl: i64) -> (DeliveryJob, OtpRecord) {
        let id = OtpId::new_random();
        let job = job(id, channel, created, created + ttl);
        let record = OtpRecord::issued(Issue {
            id,
            channel,
            masked_destination: job.to.clone(),
            destination_key: id.compact(),
            locale: "en".into(),
            code_slot: job.slot.clone(),
            sealed: "sealed".into(),
            created_at: created,
            expires_at: created + ttl,
            max_attempts: 5,
        });
        let guards = SendGuards {
            destination_key: id.compact(),
            ip_key: None,
            now: created,
            cooldown_seconds: 0,
            max_per_destination_hour: 1_000,
            max_per_ip_hour: 1_000,
            tenant: None,
        };
        self.store.create(&record, &guards, None).await.unwrap();
        (job, record)
    }
}

pub fn job(id: OtpId, channel: Channel, created: i64, expires: i64) -> DeliveryJob {
    DeliveryJob {
        v: 1,
        otp_id: id,
        send: 1,
        channel,
        slot: format!("live_{}", id.compact()),
        to: match channel {
            Channel::Email => "j***@example.com".into(),
            Channel::Sms => "+4477******21".into(),
        },
        expires_at: expires,
        enqueued_at: created,
    }
}
