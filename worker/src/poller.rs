//! The long-polling worker for local use and containers: receive up to 10 jobs, deliver them
//! concurrently (paced), then settle the batch: delete the finished, delay the rest.

use crate::deliver::{Deliverer, Outcome};
use crate::metrics::{Counts, Metric};
use crate::settle::{Settled, apply, plan};
use backon::{BackoffBuilder, ExponentialBuilder};
use common::config::DeliveryRules;
use common::error::BackendError;
use common::queue::{AwsSqs, Receive, Sqs};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct Poller {
    pub client: Arc<dyn Sqs>,
    pub queue_url: String,
    pub deliverer: Deliverer,
    pub rules: DeliveryRules,
    /// Long-poll wait; 20 s (the maximum) keeps an idle worker to three requests a minute.
    pub wait_seconds: i32,
    /// Receive loops, each with one batch in flight (`OTP_BATCHES_IN_FLIGHT`).
    pub batches_in_flight: usize,
}

/// How long a stop waits for a receive under way before abandoning it.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// How often the running totals are logged.
const REPORT_EVERY: Duration = Duration::from_secs(60);

impl Poller {
    /// The SQS seam with timeouts that outlast a long poll of `wait_seconds`.
    pub fn sqs_client(sdk: &aws_config::SdkConfig, wait_seconds: i32) -> Arc<dyn Sqs> {
        Arc::new(AwsSqs::long_polling(sdk, wait_seconds))
    }

    /// Polls until `stop` is cancelled. On stop, sends already under way finish and are
    /// settled; jobs that had not reached the provider are made visible again at once; a
    /// receive in progress gets 2 s to return (its messages are released at once), then is
    /// abandoned (what it took reappears after the visibility timeout). Nothing is lost.
    ///
    /// After a systemic failure the poller pauses (doubling from the retry base to the cap) and
    /// then probes with one message at a time until a send works, so an account that cannot
    /// send does not burn the receive counts of the whole queue.
    ///
    /// [`Self::batches_in_flight`] loops do this side by side, sharing the pacer.
    pub async fn run(&self, stop: CancellationToken) -> Counts {
        let loops = (0..self.batches_in_flight.max(1)).map(|_| self.receive_loop(&stop));
        let mut totals = Counts::new();
        for counts in futures::future::join_all(loops).await {
            totals += &counts;
        }
        tracing::info!(?totals, "worker stopped");
        totals
    }

    /// One receive loop of [`Self::run`]; its counts.
    async fn receive_loop(&self, stop: &CancellationToken) -> Counts {
        let mut totals = Counts::new();
        let mut pause = self.rules.retry_base_seconds;
        let mut batch_size = 10;
        let mut errors = error_backoff();
        let mut reported = Instant::now();
        while !stop.is_cancelled() {
            match self.poll_once(batch_size, stop, pause).await {
                Ok(counts) if counts.any(Metric::Systemic) => {
                    totals += &counts;
                    tracing::error!(
                        metric = "systemic",
                        pause_seconds = pause,
                        "provider cannot send: pausing, then probing with one job"
                    );
                    sleep_unless_stopped(seconds(pause), stop).await;
                    pause = (pause * 2).min(self.rules.retry_cap_seconds);
                    batch_size = 1;
                }
                Ok(counts) => {
                    if counts.any(Metric::Sent) || counts.any(Metric::Failed) {
                        pause = self.rules.retry_base_seconds;
                        batch_size = 10;
                    }
                    totals += &counts;
                    errors = error_backoff();
                }
                Err(err) => {
                    let wait = errors.next().unwrap_or(Duration::from_secs(30));
                    tracing::error!(error = %err, pause_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "receiving jobs failed");
                    sleep_unless_stopped(wait, stop).await;
                }
            }
            if reported.elapsed() >= REPORT_EVERY {
                tracing::info!(?totals, "worker counters");
                reported = Instant::now();
            }
        }
        totals
    }

    /// One receive of up to `max` messages, their deliveries, and their settlement.
    /// `systemic_pause`: how long to hold back the batch if a systemic failure shows up in it.
    pub async fn poll_once(
        &self,
        max: i32,
        stop: &CancellationToken,
        systemic_pause: i64,
    ) -> Result<Counts, BackendError> {
        let ask = Receive {
            max: usize::try_from(max).unwrap_or(1),
            wait_seconds: self.wait_seconds,
            hold_seconds: None,
        };
        let receive = self.client.receive(&self.queue_url, ask);
        tokio::pin!(receive);
        let messages = tokio::select! {
            received = &mut receive => received,
            // A receive abandoned now could leave what it took invisible for the whole
            // visibility timeout: give it a moment to return, and release what it brings.
            () = stop.cancelled() => match tokio::time::timeout(STOP_GRACE, &mut receive).await {
                Ok(received) => received,
                Err(_) => return Ok(Counts::new()),
            },
        }?;
        if messages.is_empty() {
            return Ok(Counts::new());
        }
        // Stop interrupts only jobs still waiting to send; those under way finish.
        let halt = stop.child_token();
        let outcomes: Vec<Outcome> = futures::future::join_all(messages.iter().map(|m| {
            self.deliverer
                .deliver(&m.id, m.receive_count, &m.body, &halt)
        }))
        .await;
        let counts: Counts = outcomes.iter().collect();
        let systemic = counts.any(Metric::Systemic);
        let settled = messages
            .iter()
            .zip(&outcomes)
            .map(|(message, outcome)| Settled {
                receipt_handle: &message.receipt_handle,
                receives: message.receive_count,
                outcome,
            });
        let todo = plan(
            settled,
            &self.rules,
            self.deliverer.clock.now(),
            systemic.then_some(systemic_pause),
        );
        apply(self.client.as_ref(), &self.queue_url, &todo).await?;
        tracing::debug!(?counts, "batch done");
        Ok(counts)
    }
}

fn error_backoff() -> backon::ExponentialBackoff {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(30))
        .without_max_times()
        .with_jitter()
        .build()
}

/// A span of whole seconds from the settings (never negative: they are range-checked).
fn seconds(n: i64) -> Duration {
    Duration::from_secs(u64::try_from(n).unwrap_or(0))
}

async fn sleep_unless_stopped(duration: Duration, stop: &CancellationToken) {
    tokio::select! {
        () = stop.cancelled() => {}
        () = tokio::time::sleep(duration) => {}
    }
}
