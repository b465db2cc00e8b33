//! Jobs and records as the API makes them, for the tests of every crate (here, the worker and
//! the operators' CLI; feature `test-support`).

use crate::domain::{Channel, OtpId};
use crate::job::{DeliveryJob, JOB_VERSION};
use crate::record::{Issue, OtpRecord};
use crate::store::{OtpStore, SendGuards};

/// The first delivery job of a new OTP, enqueued at `created` and expiring at `expires`.
pub fn job(channel: Channel, created: i64, expires: i64) -> DeliveryJob {
    let id = OtpId::new_random();
    DeliveryJob {
        v: JOB_VERSION,
        otp_id: id,
        send: 1,
        channel,
        slot: format!("live_{}", id.compact()),
        to: match channel {
            Channel::Email => "j***@example.com".into(),
            Channel::Sms => "+4474******56".into(),
        },
        expires_at: expires,
        enqueued_at: created,
    }
}

/// The pending record `job` belongs to, as the API stores it; `sealed` stands for the sealed
/// code and destination.
pub fn record(job: &DeliveryJob, sealed: &str) -> OtpRecord {
    OtpRecord::issued(Issue {
        id: job.otp_id,
        channel: job.channel,
        masked_destination: job.to.clone(),
        destination_key: format!("dest-{}", job.otp_id.compact()),
        locale: "en".into(),
        code_slot: job.slot.clone(),
        sealed: sealed.into(),
        created_at: job.enqueued_at,
        expires_at: job.expires_at,
        max_attempts: 5,
    })
}

/// Stores `record` as the API would, with send guards that never refuse.
pub async fn store(store: &dyn OtpStore, record: &OtpRecord) {
    let guards = SendGuards {
        destination_key: record.destination_key.clone(),
        ip_key: None,
        now: record.created_at,
        cooldown_seconds: 0,
        max_per_destination_hour: 1_000,
        max_per_ip_hour: 1_000,
        tenant: None,
    };
    if let Err(e) = store.create(record, &guards, None).await {
        panic!("storing a fixture record: {e:?}");
    }
}
