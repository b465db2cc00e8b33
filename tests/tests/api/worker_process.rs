//! The polling worker binary stopped mid-batch: killed outright, or asked to stop.

use crate::helpers::{TestApp, random_email, spawn_app};
use crate::process::Process;
use aws_sdk_sqs::types::QueueAttributeName;
use std::time::{Duration, Instant};

/// Environment for the worker binary: this app's table, queue and secret, paced to 2 sends a
/// second so a batch of 10 takes about 4 s, claims shorter than the queue's visibility timeout.
fn worker_env(app: &TestApp) -> Vec<(&'static str, String)> {
    let mut env = app.binary_env();
    env.extend([
        // SES through the proxy: the test sees each send the moment it leaves the worker.
        ("AWS_ENDPOINT_URL_SESV2", app.proxy.url.clone()),
        ("OTP_MAX_SEND_RATE", "2".to_owned()),
        ("OTP_CLAIM_SECONDS", "5".to_owned()),
        ("OTP_RETRY_BASE_SECONDS", "1".to_owned()),
        ("OTP_RETRY_CAP_SECONDS", "2".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ]);
    env
}

/// Ten queued e-mail codes, on a queue whose visibility timeout is 6 s.
async fn ten_jobs(app: &TestApp) -> Vec<String> {
    app.sqs
        .set_queue_attributes()
        .queue_url(&app.queue_url)
        .attributes(QueueAttributeName::VisibilityTimeout, "6")
        .send()
        .await
        .unwrap();
    let destinations: Vec<String> = (0..10).map(|_| random_email()).collect();
    for to in &destinations {
        assert_eq!(app.send_email(to).await.status, 202);
    }
    destinations
}

/// Sends that left the worker, per destination (from the proxy: instant, unlike moto's dump).
fn sent_so_far(app: &TestApp, destinations: &[String]) -> Vec<usize> {
    let deliveries = app.proxy.deliveries();
    destinations
        .iter()
        .map(|to| {
            deliveries
                .iter()
                .filter(|(_, body)| body.contains(to.as_str()))
                .count()
        })
        .collect()
}

/// Waits until the worker's batch is under way: some sent, the rest waiting for pacing.
async fn wait_until_under_way(app: &TestApp, destinations: &[String]) {
    let started = Instant::now();
    while sent_so_far(app, destinations).iter().sum::<usize>() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the worker delivered nothing"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What moto's outbox holds per destination: the authoritative count.
async fn delivered(app: &TestApp, destinations: &[String]) -> Vec<usize> {
    let mut counts = Vec::new();
    for to in destinations {
        counts.push(app.outbox(to).await.len());
    }
    counts
}

async fn wait_until_all_delivered(
    app: &TestApp,
    destinations: &[String],
    limit: Duration,
) -> Vec<usize> {
    let started = Instant::now();
    loop {
        if sent_so_far(app, destinations).iter().all(|&n| n >= 1) {
            return delivered(app, destinations).await;
        }
        let counts = sent_so_far(app, destinations);
        assert!(
            started.elapsed() < limit,
            "not every job was delivered: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_worker_killed_mid_batch_loses_nothing() {
    let app = spawn_app().await;
    let destinations = ten_jobs(&app).await;
    let worker = Process::start("worker", &worker_env(&app));
    // Wait until the batch is under way: some sent, the rest claimed and waiting for pacing.
    wait_until_under_way(&app, &destinations).await;
    worker.kill();
    let at_kill: usize = sent_so_far(&app, &destinations).iter().sum();
    assert!(
        at_kill < 10,
        "the batch finished before the kill; the test proves nothing"
    );

    let restarted = Process::start("worker", &worker_env(&app));
    let counts = wait_until_all_delivered(&app, &destinations, Duration::from_secs(60)).await;
    restarted.stop();
    // At least once: a job killed between the provider call and its bookkeeping may go twice.
    assert!(counts.iter().all(|&n| (1..=2).contains(&n)), "{counts:?}");
    assert_eq!(app.queue_depth(&app.queue_url).await, 0);
    assert_eq!(app.queue_depth(&app.dlq_url).await, 0);
}

#[tokio::test]
async fn sigterm_finishes_the_sends_under_way_and_releases_the_rest_at_once() {
    let app = spawn_app().await;
    let destinations = ten_jobs(&app).await;
    let worker = Process::start("worker", &worker_env(&app));
    wait_until_under_way(&app, &destinations).await;
    let stopping = Instant::now();
    let logs = worker.stop();
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "stopping took {:?}",
        stopping.elapsed()
    );
    assert!(logs.contains("worker stopped"), "{logs}");
    let sent = sent_so_far(&app, &destinations)
        .iter()
        .filter(|&&n| n > 0)
        .count();
    assert!(
        sent < 10,
        "the batch finished before the stop; the test proves nothing:\n{logs}"
    );
    // What was not sent is visible again now, not after the 6 s visibility timeout.
    let visible = app
        .sqs
        .get_queue_attributes()
        .queue_url(&app.queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::ApproximateNumberOfMessages]
        .parse::<usize>()
        .unwrap();
    assert_eq!(
        visible,
        10 - sent,
        "unsent jobs must be released at once:\n{logs}"
    );

    let restarted = Process::start("worker", &worker_env(&app));
    let counts = wait_until_all_delivered(&app, &destinations, Duration::from_secs(30)).await;
    restarted.stop();
    assert!(
        counts.iter().all(|&n| n == 1),
        "a graceful stop sends nothing twice: {counts:?}"
    );
}
