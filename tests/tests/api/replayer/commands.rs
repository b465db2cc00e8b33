//! status, peek and the errors an operator meets: each run through the real binary.

use super::{bodies, issue, malformed_bodies, put_in_dlq, redrive_all, replayer, visible};
use crate::helpers::{spawn_app, spawn_app_with};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
use common::config::Rules;
use common::domain::{Channel, OtpId};

#[tokio::test]
async fn status_shows_both_queues_and_the_alarms_on_them() {
    let app = spawn_app().await;
    issue(&app, 3, false).await;
    redrive_all(&app).await;
    issue(&app, 2, true).await; // still on the job queue
    let dlq_name = app.dlq_url.rsplit('/').next().unwrap().to_owned();
    let cloudwatch =
        aws_sdk_cloudwatch::Client::new(&crate::helpers::sdk_config(&app.endpoint).await);
    let alarm = format!("{dlq_name}-not-empty");
    cloudwatch
        .put_metric_alarm()
        .alarm_name(&alarm)
        .namespace("AWS/SQS")
        .metric_name("ApproximateNumberOfMessagesVisible")
        .dimensions(
            Dimension::builder()
                .name("QueueName")
                .value(&dlq_name)
                .build(),
        )
        .statistic(Statistic::Maximum)
        .period(60)
        .evaluation_periods(1)
        .threshold(0.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    cloudwatch
        .set_alarm_state()
        .alarm_name(&alarm)
        .state_value(StateValue::Alarm)
        .state_reason("3 jobs in the DLQ")
        .send()
        .await
        .unwrap();
    // An alarm on another queue is not this deployment's business.
    cloudwatch
        .put_metric_alarm()
        .alarm_name(format!("{alarm}-elsewhere"))
        .namespace("AWS/SQS")
        .metric_name("ApproximateNumberOfMessagesVisible")
        .dimensions(
            Dimension::builder()
                .name("QueueName")
                .value("someone-elses-queue")
                .build(),
        )
        .statistic(Statistic::Maximum)
        .period(60)
        .evaluation_periods(1)
        .threshold(0.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();

    let status = replayer(&app, &["status", "--json"]).await.ok().json();
    assert_eq!(status["ok"], true);
    let queues = status["queues"].as_array().unwrap();
    assert_eq!(queues[0]["role"], "job_queue");
    assert_eq!(queues[0]["visible"], 2);
    assert_eq!(queues[1]["role"], "dlq");
    assert_eq!(
        queues[1]["url"],
        app.dlq_url.as_str(),
        "found by the redrive policy"
    );
    assert_eq!(queues[1]["visible"], 3);
    assert_eq!(queues[1]["in_flight"], 0);
    assert_eq!(status["max_receive_count"], 5);
    // The stack made from the template has its own alarms on both queues; the one set to
    // ALARM here must be among them, and nothing on another queue.
    let alarms = status["alarms"].as_array().unwrap();
    let job_queue_name = app.queue_url.rsplit('/').next().unwrap();
    assert!(
        alarms
            .iter()
            .all(|a| a["queue"] == dlq_name.as_str() || a["queue"] == job_queue_name),
        "{alarms:?}"
    );
    let ours = alarms
        .iter()
        .find(|a| a["name"] == alarm.as_str())
        .unwrap_or_else(|| panic!("{alarm} not listed: {alarms:?}"));
    assert_eq!(ours["state"], "ALARM");
    assert_eq!(ours["queue"], dlq_name.as_str());

    let text = replayer(&app, &["status"]).await.ok();
    assert!(text.stdout.contains("ALARM"), "{}", text.stdout);
    assert!(text.stdout.contains(&dlq_name), "{}", text.stdout);
}

#[tokio::test]
async fn peek_lists_jobs_without_consuming_them_and_never_shows_a_code() {
    let app = spawn_app().await;
    let issued = issue(&app, 3, false).await;
    redrive_all(&app).await;
    put_in_dlq(&app, "code 482913 for jane.doe@example.com").await;

    let run = replayer(&app, &["peek", "--json"]).await.ok();
    assert_eq!(
        visible(&app, &app.dlq_url).await,
        4,
        "visibility restored at once"
    );
    let listing = run.json();
    let jobs = listing["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 4);
    for otp in &issued {
        let job = jobs
            .iter()
            .find(|j| j["otp_id"] == otp.otp_id.as_str())
            .unwrap_or_else(|| panic!("{} is not listed: {jobs:?}", otp.otp_id));
        assert!(job["receive_count"].as_u64().unwrap() >= 5, "{job}");
        assert_eq!(job["status"], "pending");
        assert_eq!(job["delivery"], "queued");
        assert_eq!(job["verdict"], "replay");
        assert!(job["expires_in_seconds"].as_i64().unwrap() > 500);
        assert!(job["to"].as_str().unwrap().contains('*'), "masked: {job}");
    }
    let malformed = jobs.iter().find(|j| j["verdict"] == "keep").unwrap();
    assert_eq!(malformed["reason"], "not JSON");

    // Neither the codes (opened here with the service key) nor the destinations, nor the
    // content of a body that is not a job, appear in either output.
    let text = replayer(&app, &["peek"]).await.ok();
    for otp in &issued {
        let record = app.raw_record(&otp.otp_id).await.unwrap();
        let channel = Channel::parse(record["channel"].as_s().unwrap()).unwrap();
        let (code, to) = common::payload::open(
            &app.keys,
            OtpId::parse(&otp.otp_id).unwrap(),
            channel,
            record["sealed"].as_s().unwrap(),
        )
        .unwrap();
        for output in [&run.stdout, &text.stdout, &text.stderr] {
            assert!(
                !output.contains(code.expose()),
                "a code was printed:\n{output}"
            );
            assert!(
                !output.contains(to.as_str()),
                "a destination was printed:\n{output}"
            );
        }
    }
    assert!(!text.stdout.contains("482913") && !run.stdout.contains("jane.doe"));
    assert!(text.stdout.contains("OTP ID"), "{}", text.stdout);
    assert_eq!(visible(&app, &app.dlq_url).await, 4);
}

#[tokio::test]
async fn errors_say_how_to_fix_them() {
    let app = spawn_app().await;

    // An empty DLQ: nothing to do, its own exit code.
    let empty = replayer(&app, &["replay", "--execute"]).await;
    assert_eq!(empty.code, 3, "{empty:?}");
    assert!(empty.stderr.contains("is empty"), "{}", empty.stderr);

    issue(&app, 2, true).await;
    redrive_all(&app).await;

    // One queue as both source and destination.
    let same = replayer(
        &app,
        &["replay", "--execute", "--json", "--dlq-url", &app.queue_url],
    )
    .await;
    assert_eq!(same.code, 1);
    assert_eq!(same.json()["error"]["kind"], "same_queue");
    // The DLQ given as the job queue and the other way round.
    let swapped = replayer(
        &app,
        &[
            "replay",
            "--queue-url",
            &app.dlq_url,
            "--dlq-url",
            &app.queue_url,
        ],
    )
    .await;
    assert_eq!(swapped.code, 1);
    assert!(swapped.stderr.contains("swapped"), "{}", swapped.stderr);
    assert_eq!(app.queue_depth(&app.dlq_url).await, 2, "nothing moved");

    // A DLQ that does not exist.
    let missing_url = app.dlq_url.replace("-dlq", "-nope");
    let missing = replayer(&app, &["peek", "--dlq-url", &missing_url]).await;
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("does not exist")
            && missing.stderr.contains("--dlq-url / OTP_DLQ_URL"),
        "{}",
        missing.stderr
    );

    // A table that does not exist.
    let table = replayer(&app, &["replay", "--table", "no-such-table"]).await;
    assert_eq!(table.code, 1);
    assert!(table.stderr.contains("OTP_TABLE_NAME"), "{}", table.stderr);

    // A job queue without a redrive policy, and no DLQ given.
    let lonely = app
        .sqs
        .create_queue()
        .queue_name(format!("lonely-{}", OtpId::new_random().compact()))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let no_dlq = replayer(&app, &["peek", "--queue-url", &lonely]).await;
    assert_eq!(no_dlq.code, 1);
    assert!(
        no_dlq.stderr.contains("no redrive policy") && no_dlq.stderr.contains("--dlq-url"),
        "{}",
        no_dlq.stderr
    );

    // Flags that make no sense never reach AWS.
    for args in [
        &["replay", "--older-than", "30"][..],
        &["replay", "--rate", "0"],
        &["replay", "--older-than", "2h", "--newer-than", "1h"],
        &["purge", "--execute"],
    ] {
        let run = replayer(&app, args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
    assert_eq!(app.queue_depth(&app.dlq_url).await, 2);
}

#[tokio::test]
async fn purge_expired_only_removes_only_expired_jobs() {
    let app = spawn_app_with(Rules {
        max_sends_per_ip_per_hour: 100_000,
        ..Rules::default()
    })
    .await;
    app.clock.advance(-7_200);
    let expired = issue(&app, 4, false).await;
    app.clock.advance(7_200);
    let live = issue(&app, 3, false).await;
    redrive_all(&app).await;
    let junk = malformed_bodies(2);
    for body in &junk {
        put_in_dlq(&app, body).await;
    }

    let dry = replayer(&app, &["purge", "--expired-only", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(dry["removed"], 4);
    assert_eq!(
        app.queue_depth(&app.dlq_url).await,
        9,
        "a dry run removes nothing"
    );

    let done = replayer(&app, &["purge", "--expired-only", "--execute", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(done["removed"], 4);
    assert_eq!(done["kept"]["live"], 3);
    assert_eq!(done["kept"]["malformed"], 2);
    let left = bodies(&app, &app.dlq_url).await;
    assert_eq!(left.len(), 5);
    for otp in &live {
        assert!(left.iter().any(|b| b.contains(&otp.otp_id)));
    }
    for otp in &expired {
        assert!(!left.iter().any(|b| b.contains(&otp.otp_id)));
    }
    for body in &junk {
        assert!(left.contains(body));
    }
}
