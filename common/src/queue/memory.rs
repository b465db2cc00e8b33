use super::JobQueue;
use crate::error::BackendError;
use crate::job::DeliveryJob;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// An in-memory queue for unit tests, with a switch to make it fail like an SQS outage.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    jobs: Mutex<Vec<DeliveryJob>>,
    unavailable: AtomicBool,
    calls: AtomicUsize,
}

impl MemoryQueue {
    /// Room for `jobs` up front (see [`crate::store::MemoryStore::with_capacity`]).
    pub fn with_capacity(jobs: usize) -> Self {
        Self {
            jobs: Mutex::new(Vec::with_capacity(jobs)),
            ..Self::default()
        }
    }

    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Takes every queued job, oldest first.
    pub fn drain(&self) -> Vec<DeliveryJob> {
        std::mem::take(&mut *self.jobs.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait::async_trait]
impl JobQueue for MemoryQueue {
    async fn enqueue(&self, job: &DeliveryJob) -> Result<(), BackendError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(BackendError::new(
                "memory",
                "enqueue",
                "queue unavailable (injected)",
            ));
        }
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(job.clone());
        Ok(())
    }
}
