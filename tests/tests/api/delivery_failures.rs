//! Delivery under failure, with faults injected at the HTTP level by the proxy in front of moto.

use crate::helpers::{random_email, spawn_app, spawn_app_with};
use common::config::Rules;
use std::time::Duration;
use tests::fault_proxy::{Fault, Target};
use worker::metrics::Metric;

fn lenient_limits() -> Rules {
    Rules {
        max_sends_per_ip_per_hour: 100_000,
        ..Rules::default()
    }
}

#[tokio::test]
async fn with_every_ses_call_throttled_sends_are_accepted_and_delivered_once_it_stops() {
    let app = spawn_app().await;
    app.proxy.always(Target::SesSend, Fault::SesThrottled);
    let destinations: Vec<String> = (0..5).map(|_| random_email()).collect();
    let mut ids = Vec::new();
    for to in &destinations {
        let answer = app.send_email(to).await;
        assert_eq!(
            answer.status, 202,
            "the request path never waits on SES: {:?}",
            answer.body
        );
        ids.push(answer.otp_id());
    }
    let counts = app
        .poller
        .poll_once(10, &Default::default(), 1)
        .await
        .unwrap();
    assert_eq!(counts[Metric::Retried], 5, "{counts:?}");
    assert!(app.proxy.faults() >= 5);
    for (id, to) in ids.iter().zip(&destinations) {
        assert_eq!(app.status(id).await.body["delivery"], "queued");
        assert!(app.outbox(to).await.is_empty());
    }
    app.proxy.heal();
    let counts = app.drain(Duration::from_secs(30)).await;
    assert_eq!(counts[Metric::Sent], 5, "{counts:?}");
    for (id, to) in ids.iter().zip(&destinations) {
        assert_eq!(app.outbox(to).await.len(), 1);
        assert_eq!(app.status(id).await.body["delivery"], "sent");
    }
    assert_eq!(app.queue_depth(&app.dlq_url).await, 0);
}

#[tokio::test]
async fn poison_rejected_and_good_jobs_in_one_batch_each_get_their_own_fate() {
    let app = spawn_app().await;
    let (good, rejected) = (random_email(), random_email());
    app.proxy
        .for_destination(Target::SesSend, Fault::SesRejected, &rejected);
    let good_id = app.send_email(&good).await.otp_id();
    let rejected_id = app.send_email(&rejected).await.otp_id();
    app.enqueue_raw("{\"this is\": \"not a job\"}").await;

    let counts = app
        .poller
        .poll_once(10, &Default::default(), 1)
        .await
        .unwrap();
    assert_eq!(
        (
            counts[Metric::Sent],
            counts[Metric::Failed],
            counts[Metric::Poisoned]
        ),
        (1, 1, 1),
        "{counts:?}"
    );
    assert_eq!(app.outbox(&good).await.len(), 1);
    assert_eq!(app.status(&good_id).await.body["delivery"], "sent");
    assert_eq!(
        app.status(&rejected_id).await.body["delivery"],
        "failed",
        "failed at once, not retried"
    );
    let rejected_calls = app.proxy.calls("sesv2:SendEmail");
    assert_eq!(
        rejected_calls, 2,
        "one call each for the good and the rejected job"
    );

    // The poison message keeps coming back until the redrive policy moves it to the DLQ.
    let started = std::time::Instant::now();
    while app.queue_depth(&app.dlq_url).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "the poison job never reached the DLQ"
        );
        app.poller
            .poll_once(10, &Default::default(), 1)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let dead = app.peek_bodies(&app.dlq_url).await;
    assert_eq!(dead.len(), 1);
    assert!(dead[0].0.contains("not a job"));
    assert_eq!(app.queue_depth(&app.queue_url).await, 0);
    assert_eq!(
        app.proxy.calls("sesv2:SendEmail"),
        rejected_calls,
        "nothing was sent again"
    );
}

#[tokio::test]
async fn a_systemic_failure_does_not_burn_the_receive_counts_of_the_whole_queue() {
    let app = spawn_app_with(lenient_limits()).await;
    app.proxy
        .always(Target::SesSend, Fault::SesAccountSuspended);
    let destinations: Vec<String> = (0..20).map(|_| random_email()).collect();
    for to in &destinations {
        assert_eq!(app.send_email(to).await.status, 202);
    }
    // The worker runs for 8 s against an account that cannot send: time for a naive worker to
    // receive every job several times (the retry cap is 2 s here).
    let stop = tokio_util::sync::CancellationToken::new();
    let runner = {
        let poller = app.poller.clone();
        let stop = stop.clone();
        tokio::spawn(async move { poller.run(stop).await })
    };
    tokio::time::sleep(Duration::from_secs(8)).await;
    stop.cancel();
    let counts = runner.await.unwrap();
    assert!(counts[Metric::Systemic] >= 1, "{counts:?}");
    // The first batch is already at the provider when the first failure comes back; after it,
    // one probe per pause. A worker without the pause would call 20 jobs every 2 s (80+).
    let provider_calls = app.proxy.calls("sesv2:SendEmail");
    assert!(
        provider_calls <= 10 + 8,
        "the worker kept hammering a suspended account: {provider_calls} calls"
    );

    assert_eq!(
        app.queue_depth(&app.dlq_url).await,
        0,
        "no job was walked to the DLQ by probes"
    );
    tokio::time::sleep(Duration::from_secs(7)).await; // let held-back jobs become visible
    let jobs = app.peek_bodies(&app.queue_url).await;
    assert_eq!(jobs.len(), 20, "every job is still on the queue");
    // Each peek counts one receive; what the worker used is the rest.
    let used: u32 = jobs
        .iter()
        .map(|(_, receives)| receives.saturating_sub(1))
        .sum();
    assert!(
        used <= 20,
        "the worker used {used} receives over 20 jobs: {jobs:?}"
    );
    assert!(
        jobs.iter().all(|(_, receives)| *receives < 5),
        "a job is near the DLQ: {jobs:?}"
    );

    app.proxy.heal();
    let counts = app.drain(Duration::from_secs(40)).await;
    assert_eq!(counts[Metric::Sent], 20, "{counts:?}");
    assert_eq!(app.queue_depth(&app.dlq_url).await, 0);
}
