//! The replayer's long runs: a DLQ of 1,000 jobs, 500 paced jobs, a replay killed halfway.
//! Named `heavy` so `make test` runs them one at a time after the parallel suite.

use super::{
    Issued, bodies, delivered, issue, malformed_bodies, otp_id_of, put_in_dlq, redrive_all,
    replayer, spawn_replayer, verify_all, visible,
};
use crate::helpers::{TestApp, spawn_app_with};
use common::config::Rules;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};
use worker::metrics::Metric;

/// Thousands of sends from one client in a few seconds: no cooldown, a high per-IP cap.
fn rules() -> Rules {
    Rules {
        max_sends_per_ip_per_hour: 100_000,
        max_sends_per_hour: 1_000,
        resend_cooldown_seconds: 0,
        ..Rules::default()
    }
}

/// The delivery state of each OTP's record, by otp id (`BatchGetItem`, 100 at a time).
async fn delivery_states(app: &TestApp, issued: &[&Issued]) -> HashMap<String, String> {
    use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
    let mut states = HashMap::new();
    for chunk in issued.chunks(100) {
        let keys = chunk
            .iter()
            .map(|otp| {
                HashMap::from([(
                    "pk".to_owned(),
                    AttributeValue::S(format!("otp#{}", otp.otp_id)),
                )])
            })
            .collect();
        let mut wanted = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .projection_expression("pk, delivery")
                .consistent_read(true)
                .build()
                .unwrap(),
        );
        while let Some(request) = wanted.take() {
            let out = app
                .dynamo
                .batch_get_item()
                .request_items(&app.table, request)
                .send()
                .await
                .unwrap();
            for item in out
                .responses
                .unwrap_or_default()
                .remove(&app.table)
                .unwrap_or_default()
            {
                let id = item["pk"]
                    .as_s()
                    .unwrap()
                    .trim_start_matches("otp#")
                    .to_owned();
                states.insert(id, item["delivery"].as_s().unwrap().clone());
            }
            wanted = out
                .unprocessed_keys
                .and_then(|mut rest| rest.remove(&app.table));
        }
    }
    states
}

/// How many of `issued` went to each destination.
fn per_destination(issued: &[Issued]) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for otp in issued {
        *counts.entry(otp.to.as_str()).or_default() += 1;
    }
    counts
}

fn ids(issued: &[Issued]) -> BTreeSet<String> {
    issued.iter().map(|i| i.otp_id.clone()).collect()
}

/// The otp ids of every job body in a queue, with how often each occurs.
async fn jobs_in(app: &TestApp, queue_url: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for body in bodies(app, queue_url).await {
        if let Some(id) = otp_id_of(&body) {
            *counts.entry(id).or_default() += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_dlq_of_1000_jobs_replays_exactly_the_live_ones_which_the_worker_delivers() {
    let app = spawn_app_with(rules()).await;
    let fill = Instant::now();
    // 700 live codes (half e-mail, half SMS, one per destination) and 100 that will be
    // verified meanwhile ...
    let live = issue(&app, 700, false).await;
    let verified = issue(&app, 100, true).await;
    // ... 150 requested two hours ago (expired) ...
    app.clock.advance(-7_200);
    let expired = issue(&app, 150, false).await;
    app.clock.advance(7_200);
    // ... all of whose jobs the outage sent to the DLQ.
    redrive_all(&app).await;
    // The 100 users asked again once the outage was over, got their code and used it.
    for otp in &verified {
        assert_eq!(app.resend(&otp.otp_id).await.status, 202);
    }
    let resent = app.drain(Duration::from_secs(120)).await;
    assert_eq!(resent[Metric::Sent], 100, "{resent:?}");
    verify_all(&app, &verified).await;
    // And 50 bodies that are not jobs at all.
    let malformed = malformed_bodies(50);
    for body in &malformed {
        put_in_dlq(&app, body).await;
    }
    eprintln!("filled the DLQ in {:?}", fill.elapsed());
    assert_eq!(app.queue_depth(&app.dlq_url).await, 1_000);
    assert_eq!(app.queue_depth(&app.queue_url).await, 0);

    // The dry run reports what would happen and changes nothing.
    let started = Instant::now();
    let dry = replayer(&app, &["replay", "--json"]).await.ok().json();
    eprintln!("dry run over 1000 jobs: {:?}", started.elapsed());
    assert_eq!(dry["execute"], false);
    assert_eq!(dry["examined"], 1_000);
    assert_eq!(dry["replayed"], 700);
    assert_eq!(dry["removed_from_dlq"], 0);
    assert_eq!(
        visible(&app, &app.dlq_url).await,
        1_000,
        "all visible again at once"
    );
    assert_eq!(app.queue_depth(&app.dlq_url).await, 1_000);
    assert_eq!(app.queue_depth(&app.queue_url).await, 0);

    let started = Instant::now();
    let run = replayer(&app, &["replay", "--execute", "--json"])
        .await
        .ok();
    eprintln!("replay --execute over 1000 jobs: {:?}", started.elapsed());
    let done = run.json();
    assert_eq!(done["examined"], 1_000);
    assert_eq!(done["replayed"], 700);
    assert_eq!(done["skipped"]["expired"], 150);
    assert_eq!(done["skipped"]["verified"], 100);
    assert_eq!(done["skipped_total"], 250, "no other reason: {done}");
    assert_eq!(done["removed_from_dlq"], 250);
    assert_eq!(done["kept_in_dlq"]["malformed"], 50);
    assert_eq!(done["errors"].as_array().unwrap().len(), 0);
    assert_eq!(
        done["skipped"], dry["skipped"],
        "the dry run predicted the skips"
    );
    assert_eq!(done["kept_in_dlq"], dry["kept_in_dlq"], "and what stays");

    // Exactly the live jobs are back, once each; exactly the malformed bodies are left.
    let back = jobs_in(&app, &app.queue_url).await;
    assert_eq!(back.keys().cloned().collect::<BTreeSet<_>>(), ids(&live));
    assert!(back.values().all(|&n| n == 1), "a job was put back twice");
    let mut left = bodies(&app, &app.dlq_url).await;
    left.sort();
    let mut expected = malformed.clone();
    expected.sort();
    assert_eq!(left, expected);

    // The worker delivers every one of them, once.
    let started = Instant::now();
    let counts = app.drain(Duration::from_secs(240)).await;
    eprintln!(
        "worker delivered the replayed jobs in {:?}",
        started.elapsed()
    );
    assert_eq!(counts[Metric::Sent], 700, "{counts:?}");
    // Every live record says sent, no expired one does; one state dump shows no code went
    // twice: one message per live destination, none to the expired ones, and only the
    // resend their users asked for to the verified ones.
    let states = delivery_states(&app, &live.iter().chain(&expired).collect::<Vec<_>>()).await;
    for otp in &live {
        assert_eq!(states[&otp.otp_id], "sent", "{}", otp.otp_id);
    }
    for otp in &expired {
        assert_ne!(states[&otp.otp_id], "sent", "{}", otp.otp_id);
    }
    let everyone: Vec<&str> = [&live, &expired, &verified]
        .into_iter()
        .flatten()
        .map(|i| i.to.as_str())
        .collect();
    let messages = delivered(&app, &everyone).await;
    for (group, each) in [(&live, 1), (&expired, 0), (&verified, 1)] {
        for (to, codes) in per_destination(group) {
            assert_eq!(messages[to].len(), codes * each, "{to}: {:?}", messages[to]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_50_over_500_jobs_takes_at_least_10_s_and_the_limit_is_exact() {
    let app = spawn_app_with(rules()).await;
    issue(&app, 537, false).await;
    redrive_all(&app).await;
    assert_eq!(app.queue_depth(&app.dlq_url).await, 537);

    let dry = replayer(&app, &["replay", "--limit", "20", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(dry["replayed"], 20);
    assert_eq!(app.queue_depth(&app.queue_url).await, 0);

    let started = Instant::now();
    let done = replayer(
        &app,
        &[
            "replay",
            "--execute",
            "--rate",
            "50",
            "--limit",
            "500",
            "--json",
        ],
    )
    .await
    .ok()
    .json();
    let took = started.elapsed();
    eprintln!("--rate 50 --limit 500: {took:?}");
    assert!(
        took >= Duration::from_secs(10),
        "500 jobs at 50/s took {took:?}"
    );
    assert_eq!(done["replayed"], 500);
    assert_eq!(
        done["kept_in_dlq"]["beyond_limit"], 0,
        "it stopped receiving at the limit"
    );
    assert_eq!(app.queue_depth(&app.queue_url).await, 500);
    assert_eq!(app.queue_depth(&app.dlq_url).await, 37);
    assert_eq!(
        visible(&app, &app.dlq_url).await,
        37,
        "the rest is visible again at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_killed_halfway_and_run_again_loses_nothing_and_duplicates_only_the_send_in_flight()
 {
    let app = spawn_app_with(rules()).await;
    let issued = issue(&app, 150, true).await;
    redrive_all(&app).await;
    let all = ids(&issued);

    let mut child = spawn_replayer(
        &app,
        &[
            "replay",
            "--execute",
            "--rate",
            "30",
            "--visibility-timeout",
            "3",
        ],
    );
    let started = Instant::now();
    while app.queue_depth(&app.queue_url).await < 60 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the replay did not get going"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap(); // SIGKILL: no chance to release anything
    child.wait().unwrap();

    // What the killed run held comes back by itself after its visibility timeout.
    super::wait_until_nothing_in_flight(&app, &app.dlq_url).await;
    let on_queue = jobs_in(&app, &app.queue_url).await;
    let in_dlq = jobs_in(&app, &app.dlq_url).await;
    assert!(on_queue.len() < 150, "the replay finished before the kill");
    let in_both: BTreeSet<&String> = on_queue
        .keys()
        .filter(|id| in_dlq.contains_key(*id))
        .collect();
    let union: BTreeSet<String> = on_queue.keys().chain(in_dlq.keys()).cloned().collect();
    assert_eq!(union, all, "a job was lost");
    assert!(
        in_both.len() <= 10,
        "more than the one send in flight is in both queues: {}",
        in_both.len()
    );
    eprintln!(
        "killed with {} put back, {} in both queues",
        on_queue.len(),
        in_both.len()
    );

    let rerun = replayer(&app, &["replay", "--execute", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(rerun["replayed"].as_u64().unwrap(), in_dlq.len() as u64);
    assert_eq!(app.queue_depth(&app.dlq_url).await, 0);
    let back = jobs_in(&app, &app.queue_url).await;
    assert_eq!(back.keys().cloned().collect::<BTreeSet<_>>(), all);
    let twice: BTreeSet<&String> = back
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        twice, in_both,
        "duplicates are exactly the jobs in flight at the kill"
    );
    assert!(back.values().all(|&n| n <= 2));

    // And the worker sends each code once, duplicate job or not.
    let counts = app.drain(Duration::from_secs(120)).await;
    assert_eq!(counts[Metric::Sent], 150, "{counts:?}");
    let expected = per_destination(&issued);
    let to: Vec<&str> = expected.keys().copied().collect();
    let messages = delivered(&app, &to).await;
    for (to, codes) in expected {
        assert_eq!(messages[to].len(), codes, "{to}: {:?}", messages[to]);
    }
}
