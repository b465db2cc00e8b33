//! Unit-test fixtures: a fake DLQ and job queue, an in-memory record store, and jobs in the
//! states a DLQ holds after an outage.

use crate::context::Context;
use crate::error::Error;
use crate::monitoring::{Alarm, Monitoring};
use crate::queue_url::{QueueRef, Role};
use crate::queues::Queues;
use common::clock::{Clock, ShiftedClock};
use common::domain::Channel;
use common::job::DeliveryJob;
use common::queue::FakeSqs;
use common::record::OtpRecord;
use common::store::{MemoryStore, OtpStore};
use common::test_support as fixtures;
use std::sync::Arc;

pub(crate) fn queue_ref(role: Role, name: &str) -> QueueRef {
    QueueRef {
        role,
        url: format!("http://fake/000000000000/{name}").parse().unwrap(),
    }
}

/// [`FakeSqs`], its queues named by [`QueueRef`].
#[derive(Debug, Default, Clone)]
pub(crate) struct TestQueues(pub(crate) Arc<FakeSqs>);

impl TestQueues {
    pub(crate) fn put(&self, queue: &QueueRef, body: &str) {
        self.0.put(queue.url.as_str(), body);
    }
    pub(crate) fn set_redrive(&self, from: &QueueRef, to: &QueueRef) {
        self.0.set_redrive(from.url.as_str(), to.url.as_str());
    }
    pub(crate) fn bodies(&self, queue: &QueueRef) -> Vec<String> {
        self.0.bodies(queue.url.as_str())
    }
    pub(crate) fn hidden(&self, queue: &QueueRef) -> usize {
        self.0.hidden(queue.url.as_str())
    }
    pub(crate) fn refuse_send_of(&self, body: &str) {
        self.0.refuse_send_of(body);
    }
    pub(crate) fn log(&self) -> Vec<String> {
        self.0.log()
    }
}

#[derive(Debug, Default)]
pub(crate) struct NoMonitoring;

#[async_trait::async_trait]
impl Monitoring for NoMonitoring {
    async fn alarms_on(&self, _: &[&str]) -> Result<Vec<Alarm>, Error> {
        Ok(Vec::new())
    }
    async fn oldest_age(&self, _: &str) -> Result<Option<std::time::Duration>, Error> {
        Ok(None)
    }
}

pub(crate) fn context(
    queues: &TestQueues,
    store: Arc<MemoryStore>,
    clock: Arc<ShiftedClock>,
) -> Context {
    Context {
        queues: Queues(queues.0.clone()),
        monitoring: Arc::new(NoMonitoring),
        store,
        clock,
        table: "otp-relay".into(),
        queue_url: Some(queue_ref(Role::JobQueue, "jobs").url),
        dlq_url: Some(queue_ref(Role::Dlq, "jobs-dlq").url),
        stop: tokio_util::sync::CancellationToken::new(),
    }
}

#[derive(Debug)]
pub(crate) struct Fixture {
    pub(crate) queues: TestQueues,
    pub(crate) store: Arc<MemoryStore>,
    pub(crate) clock: Arc<ShiftedClock>,
    pub(crate) ctx: Context,
    pub(crate) dlq: QueueRef,
    pub(crate) job_queue: QueueRef,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let queues = TestQueues::default();
        let store = Arc::new(MemoryStore::default());
        let clock = Arc::new(ShiftedClock::default());
        let ctx = context(&queues, store.clone(), clock.clone());
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
    pub(crate) async fn live(&self, channel: Channel) -> String {
        let (job, _) = self.stored(channel, self.now() - 120, 600).await;
        self.put(&job)
    }

    /// An OTP requested `age` seconds ago.
    pub(crate) async fn live_aged(&self, channel: Channel, age: i64) -> String {
        let (job, _) = self.stored(channel, self.now() - age, age + 300).await;
        self.put(&job)
    }

    pub(crate) async fn expired(&self) -> String {
        let (job, _) = self.stored(Channel::Email, self.now() - 900, 600).await;
        self.put(&job)
    }

    pub(crate) async fn verified(&self) -> String {
        let (job, record) = self.stored(Channel::Sms, self.now() - 60, 600).await;
        let slot = record.code_slot.clone().unwrap_or_default();
        self.store
            .verify(record.id, &slot, "token", self.now())
            .await
            .unwrap();
        self.put(&job)
    }

    pub(crate) fn malformed(&self, body: &str) -> String {
        self.queues.put(&self.dlq, body);
        body.to_owned()
    }

    /// A job whose record was never stored (or expired a day ago and was removed by TTL).
    pub(crate) fn gone(&self) -> String {
        let now = self.now();
        self.put(&fixtures::job(Channel::Email, now - 60, now + 540))
    }

    fn put(&self, job: &DeliveryJob) -> String {
        let body = job.to_body();
        self.queues.put(&self.dlq, &body);
        body
    }

    async fn stored(&self, channel: Channel, created: i64, ttl: i64) -> (DeliveryJob, OtpRecord) {
        let job = fixtures::job(channel, created, created + ttl);
        let record = fixtures::record(&job, "sealed");
        fixtures::store(self.store.as_ref(), &record).await;
        (job, record)
    }
}
