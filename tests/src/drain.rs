//! Worker drain benchmark: how fast one polling worker empties a queue of e-mail jobs against
//! the local stack, next to how fast the same local SES accepts `SendEmail` from a minimal
//! client (the sender adapter alone, as many calls in flight as the worker's batch). The ratio
//! says what the worker adds over the provider itself: receives, claims, results, deletes.
//!
//! SES can be given an emulator of its own (`ses_endpoint`), as it has its own capacity in AWS:
//! on one moto process every DynamoDB and SQS call the worker makes takes its turn with the
//! `SendEmail` calls, so the ratio would price the emulator's DynamoDB, not the worker.

use crate::stack::{BenchStack, EMAIL_FROM, StackNames, bench_stack, sdk_config};
use api::OtpService;
use common::clock::SystemClock;
use common::config::{DeliveryRules, Rules};
use common::domain::{Channel, Destination, Locale, OtpCode, OtpCodeLength};
use common::sender::{AwsSender, Sender};
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use worker::deliver::Deliverer;
use worker::pacer::Pacer;
use worker::poller::Poller;

/// Calls in flight at once: the worker delivers a batch of up to 10 concurrently.
const CONCURRENCY: usize = 10;

#[derive(Debug, Default)]
pub struct Report {
    pub jobs: usize,
    pub batches_in_flight: usize,
    pub worker: Duration,
    /// This process's CPU time during the drain (the worker and the depth polls) and during
    /// both raw runs.
    pub worker_cpu: Duration,
    pub raw_cpu: Duration,
    pub raw_calls: usize,
    /// The raw client's time, measured before and after the worker run.
    pub raw_before: Duration,
    pub raw_after: Duration,
    pub counts: worker::metrics::Counts,
}

impl Report {
    pub fn worker_rate(&self) -> f64 {
        self.jobs as f64 / self.worker.as_secs_f64()
    }

    pub fn raw_rate(&self) -> f64 {
        2.0 * self.raw_calls as f64 / (self.raw_before + self.raw_after).as_secs_f64()
    }

    pub fn markdown(&self) -> String {
        let rate = |calls: usize, d: Duration| calls as f64 / d.as_secs_f64();
        format!(
            "| what | count | seconds | per second |\n|---|---|---|---|\n\
             | raw `SendEmail`, before | {} | {:.1} | {:.1} |\n\
             | worker drain | {} | {:.1} | {:.1} |\n\
             | raw `SendEmail`, after | {} | {:.1} | {:.1} |\n\n\
             worker / raw: **{:.2}**; worker outcomes: {:?}; batches in flight: {}\n\
             client CPU: worker {:.0} µs per job, raw client {:.0} µs per `SendEmail`\n",
            self.raw_calls,
            self.raw_before.as_secs_f64(),
            rate(self.raw_calls, self.raw_before),
            self.jobs,
            self.worker.as_secs_f64(),
            self.worker_rate(),
            self.raw_calls,
            self.raw_after.as_secs_f64(),
            rate(self.raw_calls, self.raw_after),
            self.worker_rate() / self.raw_rate(),
            self.counts,
            self.batches_in_flight,
            self.worker_cpu.as_secs_f64() * 1e6 / self.jobs.max(1) as f64,
            self.raw_cpu.as_secs_f64() * 1e6 / (2 * self.raw_calls).max(1) as f64,
        )
    }
}

pub async fn run(
    endpoint: &str,
    ses_endpoint: Option<&str>,
    jobs: usize,
    raw_calls: usize,
    batches_in_flight: usize,
) -> Report {
    let sdk = sdk_config(endpoint).await;
    let ses_sdk = match ses_endpoint {
        Some(ses) => {
            let ses_sdk = sdk_config(ses).await;
            aws_sdk_sesv2::Client::new(&ses_sdk)
                .create_email_identity()
                .email_identity(EMAIL_FROM)
                .send()
                .await
                .expect("the sender identity on the SES emulator");
            ses_sdk
        }
        None => sdk.clone(),
    };
    let BenchStack {
        names: StackNames { queue_url, .. },
        store,
        keys,
        service,
        caller,
        ..
    } = bench_stack(
        &sdk,
        &sdk,
        "otp-drain",
        Rules {
            max_sends_per_ip_per_hour: u32::MAX,
            ..Rules::default()
        },
    )
    .await;
    fill(&service, &caller, jobs).await;
    let sender = Arc::new(AwsSender::new(&ses_sdk, Some(EMAIL_FROM.to_owned())));

    let mut report = Report {
        jobs,
        batches_in_flight,
        raw_calls,
        ..Report::default()
    };
    let cpu = crate::throughput::process_cpu();
    report.raw_before = raw(&*sender, raw_calls).await;
    report.raw_cpu = crate::throughput::process_cpu().saturating_sub(cpu);
    let poller = Poller {
        client: Poller::sqs_client(&sdk, 1),
        queue_url: queue_url.clone(),
        deliverer: Deliverer {
            store,
            sender: sender.clone(),
            keys,
            clock: Arc::new(SystemClock),
            brand: "Bench".to_owned(),
            // Not the limit here: the question is what the worker costs, not the pacing.
            pacer: Arc::new(Pacer::new(100_000.0)),
            claim_seconds: 45,
        },
        rules: DeliveryRules::default(),
        wait_seconds: 1,
        batches_in_flight,
    };
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let stop = CancellationToken::new();
    let started = Instant::now();
    let cpu = crate::throughput::process_cpu();
    let worker = {
        let stop = stop.clone();
        tokio::spawn(async move { poller.run(stop).await })
    };
    while crate::stack::queue_depth(&sqs, &queue_url).await > 0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    report.worker = started.elapsed();
    report.worker_cpu = crate::throughput::process_cpu().saturating_sub(cpu);
    stop.cancel();
    report.counts = worker.await.unwrap_or_default();
    let cpu = crate::throughput::process_cpu();
    report.raw_after = raw(&*sender, raw_calls).await;
    report.raw_cpu += crate::throughput::process_cpu().saturating_sub(cpu);
    report
}

/// `jobs` sends through the service: a record in the table and a job on the queue each.
async fn fill(service: &OtpService, caller: &common::tenant::Caller, jobs: usize) {
    futures::stream::iter(0..jobs)
        .for_each_concurrent(16, |i| async move {
            let destination =
                Destination::parse(Channel::Email, &format!("drain-{i}@example.com")).unwrap();
            service
                .send(
                    caller,
                    api::service::SendCommand {
                        destination,
                        locale: Locale::default(),
                        client_ip: None,
                        idempotency_key: None,
                    },
                )
                .await
                .expect("fill send");
        })
        .await;
}

/// `calls` e-mails through the sender adapter alone, [`CONCURRENCY`] at a time.
async fn raw(sender: &dyn Sender, calls: usize) -> Duration {
    let started = Instant::now();
    futures::stream::iter(0..calls)
        .for_each_concurrent(CONCURRENCY, |i| async move {
            let to = Destination::parse(Channel::Email, &format!("raw-{i}@example.com")).unwrap();
            let message = worker::message::render(
                "Bench",
                "en",
                600,
                &OtpCode::generate(OtpCodeLength::default()),
            );
            sender.send(&to, &message).await.expect("raw SendEmail");
        })
        .await;
    started.elapsed()
}
