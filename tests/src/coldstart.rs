//! Cold start and memory of the Lambda bootstraps: each function's binary is exec'd the way
//! Lambda starts a `provided.al2023` function (the template's environment, resolved against a
//! local stack, and a Runtime API on loopback with an event already waiting), and timed from
//! exec to its first answered invocation. A fresh process per run, so every run is a cold start.
//! The peak resident memory is the kernel's high-water mark, read after the first invocation and
//! again after a run of warm ones.
//!
//! The API's first event is a real send (a transaction and a `SendMessage`); the worker's is a
//! one-job SQS batch (a claim, a `SendEmail` and a result). What the emulator adds is visible in
//! the warm invocations, which make the same calls on open connections.

use crate::child::Service;
use crate::runtime_api::{Outcome, RuntimeApi, http_event, sqs_record};
use crate::stack::{ensure_ses_identity, local_stack, sdk_config};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Plan {
    /// Where the `api` and `worker` binaries are.
    pub bin_dir: PathBuf,
    /// Where the functions' logs go.
    pub log_dir: PathBuf,
    /// Cold starts per function.
    pub runs: usize,
    /// Sends after the first one, per API cold start. The worker gets as many jobs after its
    /// first, in batches of 10: the jobs those sends made.
    pub warm_invocations: usize,
}

/// One cold start.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Exec to the first `/invocation/next`: Lambda's `Init Duration`.
    pub init: Duration,
    /// Exec to the first invocation's answer.
    pub first_answer: Duration,
    /// The median warm invocation, for what the emulator itself takes.
    pub warm_median: Duration,
    pub peak_rss_first_kib: u64,
    pub peak_rss_warm_kib: u64,
}

#[derive(Debug)]
pub struct Report {
    pub plan: Plan,
    /// (function, binary size in bytes, its cold starts).
    pub functions: Vec<(&'static str, u64, Vec<Sample>)>,
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "{} cold starts per function; after each, {} warm sends (API) or as many jobs in \
             batches of 10 (worker)\n\n\
             | function | binary MiB | init p50 / max ms | exec → first answer p50 / max ms | \
             warm invocation p50 ms | peak RSS after first MiB | peak RSS after warm MiB |\n\
             |---|---|---|---|---|---|---|\n",
            self.plan.runs, self.plan.warm_invocations
        );
        for (name, size, samples) in &self.functions {
            let ms = |f: fn(&Sample) -> Duration| {
                let mut v: Vec<f64> = samples.iter().map(|s| f(s).as_secs_f64() * 1e3).collect();
                v.sort_by(f64::total_cmp);
                (v[v.len() / 2], v[v.len() - 1])
            };
            let mib =
                |f: fn(&Sample) -> u64| samples.iter().map(f).max().unwrap_or(0) as f64 / 1024.0;
            let (init, init_max) = ms(|s| s.init);
            let (first, first_max) = ms(|s| s.first_answer);
            let (warm, _) = ms(|s| s.warm_median);
            out.push_str(&format!(
                "| {name} | {:.1} | {init:.1} / {init_max:.1} | {first:.1} / {first_max:.1} | \
                 {warm:.1} | {:.1} | {:.1} |\n",
                *size as f64 / 1_048_576.0,
                mib(|s| s.peak_rss_first_kib),
                mib(|s| s.peak_rss_warm_kib),
            ));
        }
        out.push_str("\nPeak RSS columns are the largest over the runs.\n");
        out
    }
}

pub async fn run(endpoint: &str, plan: &Plan) -> Report {
    let sdk = sdk_config(endpoint).await;
    ensure_ses_identity(&sdk).await;
    let name = format!(
        "otp-cold-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let stack = local_stack(&sdk, &name).await;
    let mut env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    env.extend(stack.environment.clone());
    let jobs = Jobs {
        sqs: aws_sdk_sqs::Client::new(&sdk),
        queue_url: stack.environment["OTP_QUEUE_URL"].clone(),
        queue_arn: stack.resources["JobQueue"].attributes["Arn"].clone(),
        api_key: crate::tenants::server_key_in_stack(&sdk, &stack.environment, "cold")
            .await
            .expose()
            .to_owned(),
    };

    let mut functions = Vec::new();
    for function in ["api", "worker"] {
        let size = std::fs::metadata(plan.bin_dir.join(function))
            .map(|m| m.len())
            .unwrap_or(0);
        let mut samples = Vec::new();
        for run in 0..plan.runs {
            let log = plan.log_dir.join(format!("cold-{function}-{run}.log"));
            samples.push(cold_start(plan, function, &env, &log, run, &jobs).await);
        }
        functions.push((function, size, samples));
    }
    Report {
        plan: plan.clone(),
        functions,
    }
}

/// The job queue the API fills and the worker's events come from.
#[derive(Debug)]
struct Jobs {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    /// A server key of a tenant in the stack's table: the API's sends carry it.
    api_key: String,
}

impl Jobs {
    /// The `n`th event of a run: a send for the API; for the worker, one job first, then 10.
    async fn next_event(&self, function: &str, run: usize, n: usize) -> Value {
        match (function, n) {
            ("api", _) => send_event(run, n, &self.api_key),
            (_, 0) => self.event(1).await,
            _ => self.event(10).await,
        }
    }

    /// An SQS event of `count` jobs, received as Lambda's poller would (they stay in flight).
    async fn event(&self, count: usize) -> Value {
        let mut records = Vec::new();
        while records.len() < count {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(
                    i32::try_from((count - records.len()).min(10)).unwrap_or(10),
                )
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .expect("receive jobs");
            assert!(
                !out.messages().is_empty(),
                "the job queue ran dry: the API runs make the worker's jobs"
            );
            records.extend(
                out.messages()
                    .iter()
                    .map(|m| sqs_record(&self.queue_arn, m)),
            );
        }
        json!({ "Records": records })
    }
}

async fn cold_start(
    plan: &Plan,
    function: &str,
    base_env: &[(String, String)],
    log: &std::path::Path,
    run: usize,
    jobs: &Jobs,
) -> Sample {
    // The event is ready before the process starts, as it is when an invocation causes the
    // cold start.
    let first = jobs.next_event(function, run, 0).await;
    let runtime = RuntimeApi::start().await;
    let mut env = base_env.to_vec();
    env.extend(
        runtime
            .lambda_env(&format!("otp-relay-{function}"))
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
    );
    let started = Instant::now();
    let service = Service::start(&plan.bin_dir, function, &env, log);
    let outcome = runtime.invoke(first).await;
    let first_answer = started.elapsed();
    check(function, &outcome);
    let init = runtime
        .first_poll()
        .expect("answered without asking for an event")
        .duration_since(started);
    let peak_rss_first_kib = service.peak_rss_kib();

    let mut warm = Vec::new();
    let warm_invocations = match function {
        "api" => plan.warm_invocations,
        _ => plan.warm_invocations / 10,
    };
    for n in 1..=warm_invocations {
        let event = jobs.next_event(function, run, n).await;
        let at = Instant::now();
        let outcome = runtime.invoke(event).await;
        warm.push(at.elapsed());
        check(function, &outcome);
    }
    warm.sort();
    let peak_rss_warm_kib = service.peak_rss_kib();
    service.stop();
    Sample {
        init,
        first_answer,
        warm_median: warm.get(warm.len() / 2).copied().unwrap_or_default(),
        peak_rss_first_kib,
        peak_rss_warm_kib,
    }
}

/// A send from its own address to its own destination, so that no limit trips.
fn send_event(run: usize, n: usize, key: &str) -> Value {
    let destination = format!(
        "cold-{run}-{n}-{}@example.com",
        uuid::Uuid::new_v4().simple()
    );
    let event = http_event(
        "POST",
        "/v1/otp/send",
        Some(&json!({ "channel": "email", "destination": destination })),
        &format!("10.{}.{}.{}", run % 250, n / 250 % 250, n % 250 + 1),
    );
    crate::runtime_api::with_bearer(event, key)
}

/// A cold start only counts if the invocation did its job.
fn check(function: &str, outcome: &Outcome) {
    let ok = match (function, outcome) {
        ("api", Outcome::Response(r)) => r["statusCode"] == 202,
        (_, Outcome::Response(r)) => r["batchItemFailures"].as_array().is_some_and(Vec::is_empty),
        _ => false,
    };
    assert!(ok, "{function} answered {outcome:?}");
}
