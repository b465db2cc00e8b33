//! Fixtures shared by the worker's unit tests.

use crate::deliver::Deliverer;
use crate::pacer::Pacer;
use common::clock::ShiftedClock;
use common::crypto::Keys;
use common::domain::{Channel, Destination, OtpCode, OtpCodeLength, OtpId};
use common::job::{DeliveryJob, JOB_VERSION};
use common::record::{Issue, OtpRecord};
use common::secret::ServiceSecret;
use common::sender::Sender;
use common::store::{MemoryStore, OtpStore, SendGuards};
use std::sync::Arc;

/// A deliverer over in-memory fakes, with handles on each fake; `S` is the test's sender.
pub(crate) struct Fixture<S> {
    pub(crate) deliverer: Deliverer,
    pub(crate) store: Arc<MemoryStore>,
    pub(crate) sender: Arc<S>,
    pub(crate) keys: Arc<Keys>,
    pub(crate) clock: Arc<ShiftedClock>,
    /// Receives of the test's one message so far: each delivery is its next receive.
    pub(crate) receives: std::sync::atomic::AtomicU32,
}

/// The deliverer is paced fast enough never to wait in a test.
pub(crate) fn fixture<S: Sender + Default + 'static>() -> Fixture<S> {
    let store = Arc::new(MemoryStore::default());
    let sender = Arc::new(S::default());
    let keys = Arc::new(Keys::derive(&ServiceSecret::generate()));
    let clock = Arc::new(ShiftedClock::default());
    let deliverer = Deliverer {
        store: store.clone(),
        sender: sender.clone(),
        keys: keys.clone(),
        clock: clock.clone(),
        brand: "Acme".to_owned(),
        pacer: Arc::new(Pacer::new(1_000.0)),
        claim_seconds: 45,
    };
    Fixture {
        deliverer,
        store,
        sender,
        keys,
        clock,
        receives: Default::default(),
    }
}

/// Stores a pending e-mail OTP for `address` as the API would, living `ttl` seconds from
/// `now`; returns its first delivery job and its code.
pub(crate) async fn issue(
    store: &MemoryStore,
    keys: &Keys,
    now: i64,
    address: &str,
    ttl: i64,
) -> (DeliveryJob, OtpCode) {
    let id = OtpId::new_random();
    let code = OtpCode::generate(OtpCodeLength::default());
    let to = Destination::parse(Channel::Email, address).unwrap();
    let record = OtpRecord::issued(Issue {
        id,
        channel: Channel::Email,
        masked_destination: to.masked(),
        destination_key: format!("dest-{id}"),
        locale: "en".to_owned(),
        code_slot: keys.code_slot(id, &code),
        sealed: common::payload::seal(keys, id, &code, &to),
        created_at: now,
        expires_at: now + ttl,
        max_attempts: 5,
    });
    let guards = SendGuards {
        destination_key: record.destination_key.clone(),
        ip_key: None,
        now,
        cooldown_seconds: 0,
        max_per_destination_hour: 1_000,
        max_per_ip_hour: 1_000,
        tenant: None,
    };
    store.create(&record, &guards, None).await.unwrap();
    let job = DeliveryJob {
        v: JOB_VERSION,
        otp_id: id,
        send: 1,
        channel: Channel::Email,
        slot: record.code_slot.clone().unwrap(),
        to: record.masked_destination.clone(),
        expires_at: record.expires_at,
        enqueued_at: now,
    };
    (job, code)
}
