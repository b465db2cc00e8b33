//! The `dlq-replayer` binary against moto: run as operators run it, configured only through the
//! environment, on DLQs filled the way production fills them (codes requested through the API,
//! their jobs moved to the DLQ by SQS's own redrive policy).
//!
//! The must-show runs of the issue that load moto for long (1,000 jobs, 500 paced jobs, a
//! replay killed halfway) are in `heavy`, run one at a time after the parallel suite.

mod commands;
mod heavy;
mod transfer;

use crate::helpers::{TestApp, extract_code, moto_state, random_email, random_phone};
use crate::process::binary;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};

/// One finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs `command` (one of the operators' CLIs) to completion.
    pub async fn of(mut command: Command) -> Self {
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The `--json` document on stdout.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "exit code {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// How an operator points the tool at this app: the service's own variables. No
/// `OTP_DLQ_URL`: the DLQ comes from the job queue's redrive policy.
pub fn cli_env(app: &TestApp) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", app.endpoint.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("OTP_QUEUE_URL", app.queue_url.clone()),
        ("OTP_TABLE_NAME", app.table.clone()),
    ]
}

fn command(app: &TestApp, args: &[&str]) -> Command {
    let mut command = Command::new(binary("dlq-replayer"));
    command.env_clear().envs(cli_env(app)).args(args);
    command
}

/// Runs `dlq-replayer ARGS` to completion.
pub async fn replayer(app: &TestApp, args: &[&str]) -> Run {
    Run::of(command(app, args)).await
}

/// Starts `dlq-replayer ARGS` without waiting for it (to kill it).
pub fn spawn_replayer(app: &TestApp, args: &[&str]) -> Child {
    command(app, args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A code requested through the API.
#[derive(Debug, Clone)]
pub struct Issued {
    pub otp_id: String,
    pub to: String,
}

/// One send, retried after a `503` as its `Retry-After` says (moto on a loaded machine can
/// be slower than the API's timeouts; a client retries, and so does this).
async fn send(app: &TestApp, body: &Value) -> String {
    for _ in 0..5 {
        let answer = app.send(body).await;
        match answer.status {
            202 => return answer.otp_id(),
            503 => {
                let wait = answer.retry_after().unwrap_or(1);
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
            }
            other => panic!("send answered {other}: {:?}", answer.body),
        }
    }
    panic!("send answered 503 five times");
}

/// Requests `n` codes through the API, five at a time, each for a new destination; even ones
/// by e-mail, odd ones by SMS unless `email_only`.
///
/// One destination each: a destination has one live code at a time (a second send re-sends
/// it), so `n` distinct jobs in a DLQ are `n` OTPs for `n` destinations.
pub async fn issue(app: &TestApp, n: usize, email_only: bool) -> Vec<Issued> {
    let wanted = destinations(n, email_only);
    let mut issued = Vec::with_capacity(n);
    for chunk in wanted.chunks(5) {
        let requests: Vec<Value> = chunk
            .iter()
            .map(|(to, channel)| json!({ "channel": channel, "destination": to }))
            .collect();
        let answers = futures::future::join_all(requests.iter().map(|body| send(app, body))).await;
        for ((to, _), otp_id) in chunk.iter().zip(answers) {
            issued.push(Issued {
                otp_id,
                to: to.clone(),
            });
        }
    }
    issued
}

/// `n` new destinations; even ones e-mail addresses, odd ones phone numbers unless `email_only`.
fn destinations(n: usize, email_only: bool) -> Vec<(String, &'static str)> {
    (0..n)
        .map(|i| {
            if email_only || i % 2 == 0 {
                (random_email(), "email")
            } else {
                (random_phone(), "sms")
            }
        })
        .collect()
}

/// Lets SQS's redrive policy move every job on the job queue to the DLQ, as five failed
/// deliveries would: each job is received (and left) until its receive count reaches the
/// policy's maximum, and the next receive moves it, body and attributes untouched.
pub async fn redrive_all(app: &TestApp) {
    let started = std::time::Instant::now();
    loop {
        let out = app
            .sqs
            .receive_message()
            .queue_url(&app.queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        if out.messages().is_empty() && app.queue_depth(&app.queue_url).await == 0 {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(300),
            "the job queue did not redrive"
        );
    }
}

/// Puts a body straight into the DLQ, as a buggy producer's message would end up there.
pub async fn put_in_dlq(app: &TestApp, body: &str) {
    app.sqs
        .send_message()
        .queue_url(&app.dlq_url)
        .message_body(body)
        .send()
        .await
        .unwrap();
}

/// Bodies that are not delivery jobs, of the kinds a DLQ collects.
pub fn malformed_bodies(n: usize) -> Vec<String> {
    let kinds = [
        "not json at all".to_owned(),
        "{}".to_owned(),
        r#"{"v":2,"otp_id":"00000000-0000-4000-8000-000000000000","send":1}"#.to_owned(),
        r#"{"v":1,"otp_id":"00000000-0000-4000-8000-000000000000","send":0,"channel":"email","slot":"live_x","to":"x","expires_at":1,"enqueued_at":1}"#.to_owned(),
        r#"{"v":1,"otp_id":"#.to_owned(),
    ];
    (0..n)
        .map(|i| format!("{} ", kinds[i % kinds.len()]).repeat(1 + i / kinds.len()))
        .collect()
}

/// The `otp_id` of a job body, if it is one.
pub fn otp_id_of(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    value["otp_id"].as_str().map(str::to_owned)
}

/// Every body in a queue (each read once, then made visible again), with its receive count.
pub async fn bodies(app: &TestApp, queue_url: &str) -> Vec<String> {
    app.peek_bodies(queue_url)
        .await
        .into_iter()
        .map(|(body, _)| body)
        .collect()
}

/// Visible messages only: what a consumer would be handed right now.
pub async fn visible(app: &TestApp, queue_url: &str) -> u64 {
    app.sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::ApproximateNumberOfMessages]
        .parse()
        .unwrap()
}

/// Waits until a queue has nothing in flight (holds of a killed run have run out).
pub async fn wait_until_nothing_in_flight(app: &TestApp, queue_url: &str) {
    let started = std::time::Instant::now();
    loop {
        let in_flight: u64 = app
            .sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible]
            .parse()
            .unwrap();
        if in_flight == 0 {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{in_flight} messages stayed in flight"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// How many messages moto delivered to each destination (one state dump for all of them).
pub async fn delivered(app: &TestApp, destinations: &[&str]) -> HashMap<String, Vec<String>> {
    let data = moto_state(&app.endpoint).await;
    let mut found: HashMap<String, Vec<String>> = destinations
        .iter()
        .map(|d| ((*d).to_owned(), Vec::new()))
        .collect();
    for mail in data["ses"]["Message"].as_array().into_iter().flatten() {
        for to in mail["destinations"]["ToAddresses"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(list) = to.as_str().and_then(|to| found.get_mut(to)) {
                list.push(mail["body"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    for sms in data["sns"]["SMS"].as_array().into_iter().flatten() {
        if let Some(list) = sms["phone_number"]
            .as_str()
            .and_then(|to| found.get_mut(to))
        {
            list.push(sms["message"].as_str().unwrap_or_default().to_owned());
        }
    }
    found
}

/// Verifies each OTP with the code it was delivered (codes from one state dump).
pub async fn verify_all(app: &TestApp, issued: &[Issued]) {
    let destinations: Vec<&str> = issued.iter().map(|i| i.to.as_str()).collect();
    let messages = delivered(app, &destinations).await;
    for otp in issued {
        let last = messages[&otp.to]
            .last()
            .unwrap_or_else(|| panic!("nothing was delivered to {}", otp.to));
        let code = extract_code(last, app.rules.code_length.get()).unwrap();
        let answer = app.verify(&otp.otp_id, &code).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
}
