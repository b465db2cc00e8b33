//! The soak: the real `api` and `worker` binaries against the local stack for minutes, at a
//! steady mix of sends, wrong and right verifies and status reads, with a share of the provider
//! calls failing (through the fault proxy) and one worker restart halfway. It checks what a
//! long run can break: no 5xx, no job lost (every OTP ends delivered, refused, dropped or in
//! the DLQ), and memory that stays flat.

use crate::child::Service;
use crate::fault_proxy::{Fault, FaultProxy, Target};
use crate::stack::{EMAIL_FROM, StackNames, ensure_ses_identity, local_stack, sdk_config};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Memory samples before this many seconds of a process's life are its warm-up.
const WARM_UP: u64 = 60;
/// The most a warm process's memory may grow over the run and still count as flat.
pub const MAX_GROWTH: f64 = 1.10;

#[derive(Debug, Clone)]
pub struct Plan {
    pub duration: Duration,
    /// Sends per second; each is followed by a wrong verify and a status read.
    pub sends_per_second: f64,
    /// Share of SES and SNS calls the proxy fails (503 for SES, `Throttled` for SNS).
    pub provider_failure_rate: f64,
    /// Where the `api` and `worker` binaries are.
    pub bin_dir: PathBuf,
    /// Where the services' logs go.
    pub log_dir: PathBuf,
}

#[derive(Debug, Default)]
pub struct Report {
    pub elapsed: Duration,
    /// HTTP status → answers, over the whole run.
    pub statuses: BTreeMap<u16, u64>,
    pub sends: u64,
    /// Record delivery state → OTPs, after the drain.
    pub deliveries: BTreeMap<String, u64>,
    pub dlq: u64,
    pub right_verifies: u64,
    pub provider_faults: u64,
    /// (seconds since start, API RSS KiB, worker RSS KiB).
    pub memory: Vec<(u64, u64, u64)>,
    /// When the worker was restarted, seconds since start.
    pub restarted_at: u64,
    pub drained_in: Option<Duration>,
}

impl Report {
    pub fn server_errors(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(status, _)| **status >= 500)
            .map(|(_, n)| n)
            .sum()
    }

    /// OTPs neither finished nor in the DLQ after the drain.
    pub fn lost(&self) -> u64 {
        let finished: u64 = ["sent", "failed", "dropped"]
            .iter()
            .filter_map(|state| self.deliveries.get(*state))
            .sum();
        self.sends.saturating_sub(finished + self.dlq)
    }

    /// How much each process's memory grew once warm: the last sample over the first one
    /// taken a minute or more into the process's life (the worker's second life, after its
    /// restart). 1.0 is flat.
    pub fn memory_growth(&self) -> (f64, f64) {
        let growth = |since: u64, rss: fn(&(u64, u64, u64)) -> u64| {
            let warm: Vec<u64> = self
                .memory
                .iter()
                .filter(|sample| sample.0 >= since)
                .map(rss)
                .filter(|kib| *kib > 0)
                .collect();
            match (warm.first(), warm.last()) {
                (Some(&first), Some(&last)) => last as f64 / first as f64,
                _ => 1.0,
            }
        };
        (
            growth(WARM_UP, |s| s.1),
            growth(self.restarted_at + WARM_UP, |s| s.2),
        )
    }

    /// Flat enough: neither process grew by more than [`MAX_GROWTH`] once warm.
    pub fn memory_flat(&self) -> bool {
        let (api, worker) = self.memory_growth();
        api <= MAX_GROWTH && worker <= MAX_GROWTH
    }

    pub fn markdown(&self) -> String {
        let mut out = format!(
            "ran {:.0} s; {} sends; HTTP answers by status: {:?}; 5xx: **{}**\n\
             provider calls failed by the proxy: {}; right-code verifies answered 200: {}\n\
             after the drain ({}): deliveries by state {:?}, DLQ {}; lost: **{}**\n\
             memory growth once warm: api ×{:.2}, worker ×{:.2} (flat: ≤ ×{MAX_GROWTH})\n\n\
             | at s | api RSS MiB | worker RSS MiB |\n|---|---|---|\n",
            self.elapsed.as_secs_f64(),
            self.sends,
            self.statuses,
            self.server_errors(),
            self.provider_faults,
            self.right_verifies,
            self.drained_in
                .map_or("not drained".to_owned(), |d| format!(
                    "{:.0} s",
                    d.as_secs_f64()
                )),
            self.deliveries,
            self.dlq,
            self.lost(),
            self.memory_growth().0,
            self.memory_growth().1,
        );
        for (at, api, worker) in &self.memory {
            out.push_str(&format!(
                "| {at} | {:.1} | {:.1} |\n",
                *api as f64 / 1024.0,
                *worker as f64 / 1024.0
            ));
        }
        out
    }
}

pub async fn run(endpoint: &str, plan: &Plan) -> Report {
    let sdk = sdk_config(endpoint).await;
    ensure_ses_identity(&sdk).await;
    let name = format!(
        "otp-soak-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let StackNames {
        table: name,
        queue_url,
        dlq_url,
    } = StackNames::of(&local_stack(&sdk, &name).await);
    let proxy = FaultProxy::start(endpoint).await;
    proxy.sometimes(
        Target::SesSend,
        Fault::Unavailable,
        plan.provider_failure_rate,
    );
    proxy.sometimes(
        Target::SnsPublish,
        Fault::SnsThrottled,
        plan.provider_failure_rate,
    );

    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        listener.local_addr().expect("address").port()
    };
    let secret = common::secret::ServiceSecret::generate().to_base64();
    let common_env = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("OTP_TABLE_NAME", name.as_str()),
            ("OTP_QUEUE_URL", queue_url.as_str()),
            ("OTP_SECRET", secret.as_str()),
            ("OTP_EMAIL_FROM", EMAIL_FROM),
            ("RUST_LOG", "info"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        env.sort();
        env
    };
    let http_addr = format!("127.0.0.1:{port}");
    let api_env = common_env(&[
        ("OTP_HTTP_ADDR", &http_addr),
        ("OTP_MAX_SENDS_PER_IP_PER_HOUR", "100000"),
    ]);
    let worker_env = common_env(&[
        ("AWS_ENDPOINT_URL_SESV2", &proxy.url),
        ("AWS_ENDPOINT_URL_SNS", &proxy.url),
        ("OTP_RETRY_BASE_SECONDS", "1"),
        ("OTP_RETRY_CAP_SECONDS", "10"),
        ("OTP_MAX_SEND_RATE", "50"),
    ]);
    std::fs::create_dir_all(&plan.log_dir).expect("log dir");
    let api = Service::start(
        &plan.bin_dir,
        "api",
        &api_env,
        &plan.log_dir.join("soak-api.log"),
    );
    let mut worker = Some(Service::start(
        &plan.bin_dir,
        "worker",
        &worker_env,
        &plan.log_dir.join("soak-worker-1.log"),
    ));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");
    let base = format!("http://{http_addr}");
    wait_until_up(&http, &base).await;

    let mut report = Report::default();
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / plan.sends_per_second);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut issued: Vec<(String, String)> = Vec::new();
    let mut restarted = false;
    let mut next_sample = Duration::ZERO;
    let mut n: u64 = 0;
    while started.elapsed() < plan.duration {
        ticker.tick().await;
        n += 1;
        let at = started.elapsed();
        if at >= next_sample {
            let worker_rss = worker.as_ref().map_or(0, Service::rss_kib);
            report
                .memory
                .push((at.as_secs(), api.rss_kib(), worker_rss));
            next_sample += Duration::from_secs(30);
        }
        if !restarted && at >= plan.duration / 2 {
            if let Some(old) = worker.take() {
                old.stop();
            }
            worker = Some(Service::start(
                &plan.bin_dir,
                "worker",
                &worker_env,
                &plan.log_dir.join("soak-worker-2.log"),
            ));
            restarted = true;
            report.restarted_at = at.as_secs();
        }
        let (channel, to) = if n.is_multiple_of(2) {
            ("email", format!("soak-{n}@example.com"))
        } else {
            ("sms", format!("+44740{:07}", n % 10_000_000))
        };
        let (status, body) = post(
            &http,
            &format!("{base}/v1/otp/send"),
            &json!({ "channel": channel, "destination": to }),
        )
        .await;
        *report.statuses.entry(status).or_default() += 1;
        if status != 202 {
            continue;
        }
        report.sends += 1;
        let Some(otp_id) = body["otp_id"].as_str().map(str::to_owned) else {
            continue;
        };
        let (status, _) = post(
            &http,
            &format!("{base}/v1/otp/verify"),
            &json!({ "otp_id": otp_id, "code": "000000" }),
        )
        .await;
        *report.statuses.entry(status).or_default() += 1;
        let status = get(&http, &format!("{base}/v1/otp/{otp_id}")).await;
        *report.statuses.entry(status).or_default() += 1;
        if channel == "email" {
            issued.push((otp_id, to));
        }
        // Now and then, the whole loop: read a delivered code from the local SES, verify it.
        if n.is_multiple_of(50) {
            report.right_verifies +=
                verify_delivered(&http, &base, &proxy, &mut issued, &mut report.statuses).await;
        }
    }
    report.elapsed = started.elapsed();

    // Let the worker finish what is queued (visible or in flight), then account for every OTP.
    let drain_started = Instant::now();
    while drain_started.elapsed() < Duration::from_secs(180) {
        if crate::stack::queue_depth(&sqs, &queue_url).await == 0 {
            report.drained_in = Some(drain_started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let worker_rss = worker.as_ref().map_or(0, Service::rss_kib);
    report
        .memory
        .push((started.elapsed().as_secs(), api.rss_kib(), worker_rss));
    if let Some(worker) = worker.take() {
        worker.stop();
    }
    api.stop();
    report.deliveries = delivery_states(&dynamo, &name).await;
    report.dlq = crate::stack::queue_depth(&sqs, &dlq_url).await;
    report.provider_faults = proxy.faults();
    report
}

async fn wait_until_up(http: &reqwest::Client, base: &str) {
    for _ in 0..100 {
        if get(http, &format!("{base}/health")).await == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the api did not come up on {base}; see its log");
}

async fn post(http: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    match http.post(url).json(body).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        }
        // A dropped connection counts as a server failure: the client got no answer.
        Err(_) => (599, Value::Null),
    }
}

async fn get(http: &reqwest::Client, url: &str) -> u16 {
    match http.get(url).send().await {
        Ok(response) => response.status().as_u16(),
        Err(_) => 599,
    }
}

/// Verifies the right code of the issued e-mail OTPs whose message reached the local SES so
/// far (as the proxy saw the `SendEmail` requests go through); returns how many answered 200.
async fn verify_delivered(
    http: &reqwest::Client,
    base: &str,
    proxy: &FaultProxy,
    issued: &mut Vec<(String, String)>,
    statuses: &mut BTreeMap<u16, u64>,
) -> u64 {
    let mut codes = std::collections::HashMap::new();
    for (_, body) in proxy.deliveries() {
        if let Some((to, code)) = email_code(&body) {
            codes.insert(to, code);
        }
    }
    let mut verified = 0;
    let mut waiting = Vec::new();
    for (otp_id, to) in issued.drain(..) {
        let Some(code) = codes.get(&to) else {
            waiting.push((otp_id, to));
            continue;
        };
        let (status, _) = post(
            http,
            &format!("{base}/v1/otp/verify"),
            &json!({ "otp_id": otp_id, "code": code }),
        )
        .await;
        *statuses.entry(status).or_default() += 1;
        if status == 200 {
            verified += 1;
        }
    }
    // Only the recent ones can still arrive; older ones were dropped or refused meanwhile.
    let keep_from = waiting.len().saturating_sub(200);
    issued.extend(waiting.into_iter().skip(keep_from));
    verified
}

/// The recipient and the code of an SES v2 `SendEmail` request body.
fn email_code(body: &str) -> Option<(String, String)> {
    let request: Value = serde_json::from_str(body).ok()?;
    let to = request["Destination"]["ToAddresses"][0]
        .as_str()?
        .to_owned();
    let text = request["Content"]["Simple"]["Body"]["Text"]["Data"].as_str()?;
    let runs: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() == 6)
        .collect();
    match runs.as_slice() {
        [code] => Some((to, (*code).to_owned())),
        _ => None,
    }
}

/// OTP records by delivery state.
async fn delivery_states(dynamo: &aws_sdk_dynamodb::Client, table: &str) -> BTreeMap<String, u64> {
    // A whole-table scan of tens of thousands of items takes the emulator well over the shared
    // client's 15 s: this one call gets minutes, and only the two attributes it reads.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(300))
        .operation_timeout(Duration::from_secs(600))
        .build();
    let dynamo = aws_sdk_dynamodb::Client::from_conf(
        dynamo
            .config()
            .to_builder()
            .timeout_config(timeouts)
            .build(),
    );
    let mut states = BTreeMap::new();
    let mut start = None;
    loop {
        let page = dynamo
            .scan()
            .table_name(table)
            .projection_expression("pk, delivery")
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            let is_otp = item
                .get("pk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|pk| pk.starts_with("otp#"));
            if let (true, Some(state)) = (is_otp, item.get("delivery").and_then(|v| v.as_s().ok()))
            {
                *states.entry(state.clone()).or_default() += 1;
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return states;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(memory: &[(u64, u64, u64)], restarted_at: u64) -> Report {
        Report {
            memory: memory.to_vec(),
            restarted_at,
            ..Report::default()
        }
    }

    #[test]
    fn memory_is_judged_once_warm_and_over_the_workers_second_life() {
        // The API grows in its first minute only; the worker's first life ends bigger than
        // its second starts, which is no growth.
        let flat = report(
            &[
                (0, 8_000, 9_000),
                (60, 15_000, 16_000),
                (300, 15_500, 20_000),
                (330, 15_500, 9_000),
                (390, 15_600, 16_000),
                (600, 15_800, 16_500),
            ],
            300,
        );
        let (api, worker) = flat.memory_growth();
        assert!((api - 15_800.0 / 15_000.0).abs() < 1e-9);
        assert!((worker - 16_500.0 / 16_000.0).abs() < 1e-9);
        assert!(flat.memory_flat());

        let leaking = report(&[(60, 15_000, 16_000), (600, 18_000, 16_000)], 0);
        assert!(!leaking.memory_flat());
    }
}
