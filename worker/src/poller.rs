//! The long-polling worker for local use and containers: receive up to 10 jobs, deliver them
//! concurrently, delete the finished ones in one batch call, repeat until told to stop.

use crate::deliver::{Deliverer, Outcome};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use backon::{BackoffBuilder, ExponentialBuilder};
use common::error::BackendError;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Poller {
    pub client: Client,
    pub queue_url: String,
    pub deliverer: Deliverer,
    /// Long-poll wait; 20 s (the maximum) keeps an idle worker to three requests a minute.
    pub wait_seconds: i32,
}

/// Outcome counts, by [`Outcome::label`].
pub type Counts = BTreeMap<&'static str, u64>;

impl Poller {
    /// An SQS client whose timeouts outlast a long poll of `wait_seconds` (the shared SDK
    /// config's timeouts are sized for the API's short calls).
    pub fn sqs_client(sdk: &aws_config::SdkConfig, wait_seconds: i32) -> Client {
        let wait = Duration::from_secs(wait_seconds.max(0) as u64);
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(2))
            .operation_attempt_timeout(wait + Duration::from_secs(5))
            .operation_timeout(wait + Duration::from_secs(15))
            .build();
        Client::from_conf(
            aws_sdk_sqs::config::Builder::from(sdk)
                .timeout_config(timeouts)
                .build(),
        )
    }

    /// Polls until `shutdown` resolves. A batch in progress is finished (sent and deleted)
    /// before returning; a receive in progress is abandoned, and whatever it would have returned
    /// becomes visible again after the visibility timeout. Nothing is lost either way.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Counts {
        let mut totals = Counts::new();
        let mut errors = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(500))
            .with_max_delay(Duration::from_secs(30))
            .without_max_times()
            .with_jitter()
            .build();
        tokio::pin!(shutdown);
        loop {
            let batch = tokio::select! {
                biased;
                () = &mut shutdown => break,
                batch = self.poll_once() => batch,
            };
            match batch {
                Ok(counts) => {
                    for (label, n) in counts {
                        *totals.entry(label).or_default() += n;
                    }
                    errors = ExponentialBuilder::default()
                        .with_min_delay(Duration::from_millis(500))
                        .with_max_delay(Duration::from_secs(30))
                        .without_max_times()
                        .with_jitter()
                        .build();
                }
                Err(err) => {
                    let pause = errors.next().unwrap_or(Duration::from_secs(30));
                    tracing::error!(error = %err, pause_ms = pause.as_millis() as u64, "receiving jobs failed");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
        tracing::info!(?totals, "worker stopped");
        totals
    }

    /// One receive, the deliveries, and one delete for the finished messages.
    pub async fn poll_once(&self) -> Result<Counts, BackendError> {
        let received = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(self.wait_seconds)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
            )
            .send()
            .await
            .map_err(|e| BackendError::sdk("sqs", "ReceiveMessage", &e))?;
        let messages = received.messages.unwrap_or_default();
        let mut counts = Counts::new();
        if messages.is_empty() {
            return Ok(counts);
        }
        // Delivery runs to completion even if shutdown arrives meanwhile: the caller only
        // checks for shutdown between batches.
        let outcomes: Vec<Outcome> = futures::future::join_all(messages.iter().map(|m| {
            self.deliverer.deliver(
                m.message_id().unwrap_or_default(),
                m.body().unwrap_or_default(),
            )
        }))
        .await;
        let mut finished = Vec::new();
        for (index, (message, outcome)) in messages.iter().zip(&outcomes).enumerate() {
            *counts.entry(outcome.label()).or_default() += 1;
            if outcome.is_final()
                && let Some(handle) = message.receipt_handle()
            {
                finished.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(handle)
                        .build()
                        .map_err(|e| {
                            BackendError::new("sqs", "DeleteMessageBatch", e.to_string())
                        })?,
                );
            }
        }
        if !finished.is_empty() {
            let deleted = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(finished))
                .send()
                .await
                .map_err(|e| BackendError::sdk("sqs", "DeleteMessageBatch", &e))?;
            for failed in deleted.failed() {
                // The job comes back after its visibility timeout; the record's claim and
                // delivered-send number keep it from being sent twice.
                tracing::warn!(
                    entry = failed.id(),
                    code = failed.code(),
                    "could not delete a finished job"
                );
            }
        }
        tracing::debug!(?counts, "batch done");
        Ok(counts)
    }
}
