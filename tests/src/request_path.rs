//! Request-path isolation benchmark: send latency through the HTTP API against the local stack,
//! with SES healthy and with every SES call throttled, in one run. The worker runs throughout
//! (retrying against the throttled SES), so any coupling between delivery trouble and the
//! request path would show up as latency.

use crate::fault_proxy::{Fault, FaultProxy, Target};
use crate::stack::{BenchStack, EMAIL_FROM, StackNames, bench_stack, sdk_config};
use common::clock::SystemClock;
use common::config::{DeliveryRules, Rules};
use common::sender::AwsSender;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use worker::deliver::Deliverer;
use worker::pacer::Pacer;
use worker::poller::Poller;

#[derive(Debug, Default)]
pub struct Samples {
    pub healthy: Vec<Duration>,
    pub throttled: Vec<Duration>,
    pub ses_faults: u64,
    /// Every AWS call that went through the proxy, by operation (API and worker together).
    pub calls: std::collections::BTreeMap<String, u64>,
    pub worker: worker::metrics::Counts,
}

/// `rounds` blocks of `per_block` healthy sends and `per_block` throttled sends, with the worker
/// paced and backing off by `delivery` (the production defaults, or something harsher). The
/// order alternates (healthy first, then throttled first: ABBA), because the emulator slows down
/// as the table grows and a fixed order would charge that drift to the second condition.
pub async fn run(
    endpoint: &str,
    rounds: usize,
    per_block: usize,
    delivery: DeliveryRules,
) -> Samples {
    let direct = sdk_config(endpoint).await;
    let proxy = FaultProxy::start(endpoint).await;
    let sdk = sdk_config(&proxy.url).await;
    let BenchStack {
        names: StackNames { queue_url, .. },
        store,
        keys,
        service,
        api_key,
        ..
    } = bench_stack(
        &direct,
        &sdk,
        "otp-bench",
        Rules {
            max_sends_per_ip_per_hour: 100_000,
            ..Rules::default()
        },
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = api::router(Arc::new(service));
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    let poller = Poller {
        client: Poller::sqs_client(&sdk, 1),
        queue_url,
        deliverer: Deliverer {
            store,
            sender: Arc::new(AwsSender::new(&sdk, Some(EMAIL_FROM.to_owned()))),
            keys,
            clock: Arc::new(SystemClock),
            brand: "Bench".to_owned(),
            pacer: Arc::new(Pacer::new(delivery.max_send_rate)),
            claim_seconds: 45,
        },
        rules: delivery,
        wait_seconds: 1,
        batches_in_flight: 1,
    };
    let stop = CancellationToken::new();
    let worker = {
        let stop = stop.clone();
        tokio::spawn(async move { poller.run(stop).await })
    };

    let http = reqwest::Client::new();
    let url = format!("http://{address}/v1/otp/send");
    let mut samples = Samples::default();
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for throttled in order {
            if throttled {
                proxy.always(Target::SesSend, Fault::SesThrottled);
            } else {
                proxy.heal();
            }
            for _ in 0..per_block {
                let body = serde_json::json!({
                    "channel": "email",
                    "destination": format!("bench-{}@example.com", uuid::Uuid::new_v4().simple()),
                });
                let started = Instant::now();
                let response = http
                    .post(&url)
                    .bearer_auth(&api_key)
                    .json(&body)
                    .send()
                    .await
                    .expect("send");
                let elapsed = started.elapsed();
                assert_eq!(response.status().as_u16(), 202, "the API refused a send");
                if throttled {
                    samples.throttled.push(elapsed);
                } else {
                    samples.healthy.push(elapsed);
                }
            }
        }
    }
    samples.ses_faults = proxy.faults();
    samples.calls = proxy.all_calls();
    stop.cancel();
    samples.worker = worker.await.unwrap_or_default();
    samples
}

/// The `p`-th percentile (0 to 100) of `samples`, by nearest rank.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // A rank from 1 to len: p is a percentage, so the product is within len.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// A Markdown table of the two conditions and their ratio.
pub fn report(samples: &Samples) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let row = |name: &str, s: &[Duration]| {
        format!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            s.len(),
            ms(percentile(s, 50.0)),
            ms(percentile(s, 90.0)),
            ms(percentile(s, 99.0)),
            ms(percentile(s, 100.0))
        )
    };
    let ratio =
        |p: f64| ms(percentile(&samples.throttled, p)) / ms(percentile(&samples.healthy, p));
    format!(
        "| SES | sends | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|\n{}\n{}\n\nthrottled / healthy: p50 {:.2}, p99 {:.2}\nSES calls throttled by the proxy: {}; worker outcomes: {:?}\nAWS calls by operation: {:?}\n",
        row("healthy", &samples.healthy),
        row("every call throttled", &samples.throttled),
        ratio(50.0),
        ratio(99.0),
        samples.ses_faults,
        samples.worker,
        samples.calls
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }
}
