//! Tests that load the shared moto heavily. `make test` runs them after the parallel suite,
//! one at a time (`cargo test -- heavy:: --test-threads=1`), so their load cannot push other
//! tests' calls past their timeouts.

use crate::helpers::{random_email, random_phone, spawn_app_with};
use common::config::Rules;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use tests::fault_proxy::{Fault, Target};
use worker::metrics::Metric;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_30_percent_transient_failures_every_one_of_500_jobs_is_accounted_for() {
    // A 10 s lifetime: the run takes longer, so some codes expire and must be dropped, not sent.
    let app = spawn_app_with(Rules {
        ttl_seconds: 10,
        max_sends_per_ip_per_hour: 100_000,
        ..Rules::default()
    })
    .await;
    app.proxy
        .sometimes(Target::SesSend, Fault::Unavailable, 0.3);
    app.proxy
        .sometimes(Target::SnsPublish, Fault::SnsThrottled, 0.3);
    // The worker runs while the codes are requested, as in production.
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = {
        // Two batches in flight: no job may be lost or sent twice with concurrent batches.
        let poller = worker::poller::Poller {
            batches_in_flight: 2,
            ..app.poller.clone()
        };
        let stop = stop.clone();
        tokio::spawn(async move { poller.run(stop).await })
    };
    let mut expiry: HashMap<String, i64> = HashMap::new();
    let destinations: Vec<(String, &str)> = (0..500)
        .map(|i| {
            if i % 2 == 0 {
                (random_email(), "email")
            } else {
                (random_phone(), "sms")
            }
        })
        .collect();
    for chunk in destinations.chunks(5) {
        let bodies: Vec<_> = chunk
            .iter()
            .map(|(to, channel)| json!({ "channel": channel, "destination": to }))
            .collect();
        let answers = futures::future::join_all(bodies.iter().map(|body| app.send(body))).await;
        for ((to, _), answer) in chunk.iter().zip(answers) {
            assert_eq!(answer.status, 202, "{:?}", answer.body);
            expiry.insert(
                to.clone(),
                time_of(answer.body["expires_at"].as_str().unwrap()),
            );
        }
    }
    let started = std::time::Instant::now();
    while app.queue_depth(&app.queue_url).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the queue did not drain"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.cancel();
    let counts = worker.await.unwrap();
    let (sent, dropped) = (counts[Metric::Sent], counts[Metric::Dropped]);
    let dead = app.queue_depth(&app.dlq_url).await;
    assert_eq!(
        sent + dropped + dead,
        500,
        "every job ends sent, dropped or dead: {counts:?}, DLQ {dead}"
    );
    assert!(
        counts[Metric::Retried] > 0,
        "faults were injected: {counts:?}"
    );

    // Each delivery reached the provider before its code expired (250 ms for the hop to the proxy).
    let deliveries = app.proxy.deliveries();
    assert_eq!(deliveries.len() as u64, sent);
    for (at, body) in &deliveries {
        let (to, expires_at) = expiry
            .iter()
            .find(|(to, _)| body.contains(to.as_str()) || body.contains(&to.replace('+', "%2B")))
            .expect("a delivery for a known destination");
        assert!(
            *at < *expires_at as f64 + 0.25,
            "{to} was sent {:.2} s after its code expired",
            at - *expires_at as f64
        );
    }
}

/// Unix seconds of an RFC 3339 UTC timestamp like `2026-11-21T10:00:00Z`.
fn time_of(rfc3339: &str) -> i64 {
    let parsed =
        time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
            .unwrap();
    parsed.unix_timestamp()
}
