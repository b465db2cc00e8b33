//! Fixtures shared by the worker's unit tests.

use crate::deliver::Deliverer;
use crate::pacer::Pacer;
use common::clock::ShiftedClock;
use common::crypto::Keys;
use common::domain::{Channel, Destination, OtpCode, OtpCodeLength};
use common::job::DeliveryJob;
use common::secret::ServiceSecret;
use common::sender::Sender;
use common::store::MemoryStore;
use common::test_support as fixtures;
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
    let code = OtpCode::generate(OtpCodeLength::default());
    let to = Destination::parse(Channel::Email, address).unwrap();
    let mut job = fixtures::job(Channel::Email, now, now + ttl);
    job.slot = keys.code_slot(job.otp_id, &code);
    job.to = to.masked();
    let record = fixtures::record(&job, &common::payload::seal(keys, job.otp_id, &code, &to));
    fixtures::store(store, &record).await;
    (job, code)
}
