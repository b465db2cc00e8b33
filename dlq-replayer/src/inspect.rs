//! A batch of DLQ messages, parsed, with the OTP record of each job that needs one (read
//! concurrently: up to ten `GetItem`s at a time, one batch).

use crate::classify::{self, Malformed};
use crate::error::Error;
use crate::queues::Message;
use common::job::DeliveryJob;
use common::record::OtpRecord;
use common::store::OtpStore;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub job: Result<DeliveryJob, Malformed>,
    /// `None`: not read (not wanted); `Some(None)`: read, and there is no record.
    pub record: Option<Option<OtpRecord>>,
}

/// Parses every message and reads the record of each job `wanted` says needs it.
pub async fn inspect(
    store: &dyn OtpStore,
    table: &str,
    messages: &[Message],
    wanted: impl Fn(&DeliveryJob) -> bool,
) -> Result<Vec<Inspected>, Error> {
    let jobs: Vec<Result<DeliveryJob, Malformed>> =
        messages.iter().map(|m| classify::parse(&m.body)).collect();
    let reads = futures::future::join_all(jobs.iter().map(|job| async {
        match job {
            Ok(job) if wanted(job) => Some(store.get(job.otp_id).await),
            _ => None,
        }
    }))
    .await;
    jobs.into_iter()
        .zip(reads)
        .map(|(job, read)| {
            let record = read.transpose().map_err(|e| Error::from_store(table, &e))?;
            Ok(Inspected { job, record })
        })
        .collect()
}
