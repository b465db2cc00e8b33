//! Handler throughput benchmark: the API router with in-memory backends, served over loopback
//! HTTP as `axum::serve` serves it locally, driven by `wrk` (a separate process, from Debian).
//! What it measures is the service's own cost per request (parsing, limits, hashing, sealing,
//! the JSON answer), not AWS's.

use api::OtpService;
use common::clock::SystemClock;
use common::config::Rules;
use common::crypto::Keys;
use common::domain::{Channel, Destination, Locale};
use common::queue::MemoryQueue;
use common::secret::ServiceSecret;
use common::store::MemoryStore;
use common::tenant::Caller;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// OTPs the in-memory backends have room for up front: more than a run issues.
const CAPACITY: usize = 1 << 20;

/// Serves the router with in-memory backends on a loopback port. No limit can trip during a
/// run: every send goes to a new destination, and the per-IP limit and attempt cap are lifted.
pub async fn serve_in_memory() -> (SocketAddr, Arc<OtpService>, Caller, String) {
    let rules = Rules {
        max_sends_per_ip_per_hour: u32::MAX,
        max_attempts: u32::MAX,
        ..Rules::default()
    };
    let secret = ServiceSecret::generate();
    // The tenant's hourly budget at its maximum: a run sends far more than the default.
    let tenants = crate::tenants::Tenants::new(&secret);
    tenants
        .create("bench", |p| {
            let _ = p
                .limits
                .set(common::tenant::Limit::TenantSendsPerHour, 10_000_000);
        })
        .await;
    let key = tenants.key("bench", common::tenant::KeyKind::Server).await;
    let caller = tenants.caller(&key).await;
    let service = Arc::new(OtpService {
        rules,
        resolver: tenants.resolver,
        store: Arc::new(MemoryStore::with_capacity(CAPACITY)),
        queue: Arc::new(MemoryQueue::with_capacity(CAPACITY)),
        keys: Arc::new(Keys::derive(&secret)),
        clock: Arc::new(SystemClock),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = api::router(service.clone());
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    (address, service, caller, key.expose().to_owned())
}

/// The floor: a bare axum router on a loopback port, served the same way, that answers send
/// and verify with a fixed JSON document of the same shape and status (202 and 422) and does
/// nothing else. The service's figures are read against it: what is left is its own work.
pub async fn serve_floor() -> SocketAddr {
    use axum::Json;
    use axum::http::StatusCode;
    use axum::routing::post;
    let issued = serde_json::json!({
        "otp_id": "34ba38c6-4be1-4736-8f25-4bc701807fe7",
        "channel": "email",
        "expires_at": "2026-11-21T11:05:26Z",
        "expires_in": 600,
        "resend_after": 30,
    });
    let wrong = serde_json::json!({
        "error": "invalid_code",
        "message": "the code is not correct",
        "attempts_remaining": 4,
    });
    let app = axum::Router::new()
        .route(
            "/v1/otp/send",
            post(move || {
                let body = issued.clone();
                async move { (StatusCode::ACCEPTED, Json(body)) }
            }),
        )
        .route(
            "/v1/otp/verify",
            post(move || {
                let body = wrong.clone();
                async move { (StatusCode::UNPROCESSABLE_ENTITY, Json(body)) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    address
}

/// Issues `n` OTPs straight through the service, for the verify run to guess at.
pub async fn seed(service: &OtpService, caller: &Caller, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let destination =
            Destination::parse(Channel::Email, &format!("seed-{i}@example.com")).expect("address");
        let issued = service
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
            .expect("seed send");
        ids.push(issued.otp_id.to_string());
    }
    ids
}

/// One `wrk` run's figures.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub requests: u64,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// Answers outside 2xx/3xx (a wrong-code verify answers 422 by design).
    pub non_2xx: u64,
    pub socket_errors: u64,
    /// CPU time this process (the server) spent during the run, per request.
    pub cpu_per_request: Duration,
}

/// How hard `wrk` pushes.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub seconds: u32,
    pub threads: u32,
    pub connections: u32,
}

/// Runs `wrk` with `script` (given `script_args`) against `address`, measuring this process's
/// CPU time meanwhile.
/// The scripts send `OTP_BENCH_KEY` as the bearer key (empty: no `Authorization` header).
pub fn wrk(address: SocketAddr, script: &Path, script_args: &[&str], key: &str, load: Load) -> Run {
    let cpu_before = process_cpu();
    let output = Command::new("wrk")
        .env("OTP_BENCH_KEY", key)
        .args([
            "--latency",
            "-t",
            &load.threads.to_string(),
            "-c",
            &load.connections.to_string(),
            "-d",
            &format!("{}s", load.seconds),
            "-s",
        ])
        .arg(script)
        .arg(format!("http://{address}"))
        .arg("--")
        .args(script_args)
        .output()
        .expect("wrk did not run: `make bench` installs it (Debian package wrk)");
    let cpu = process_cpu().saturating_sub(cpu_before);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "wrk failed: {text}");
    let mut run = parse_wrk(&text);
    if run.requests > 0 {
        run.cpu_per_request = cpu / u32::try_from(run.requests).unwrap_or(u32::MAX);
    }
    run
}

/// The figures of `wrk --latency` output.
pub fn parse_wrk(text: &str) -> Run {
    let mut run = Run::default();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => run.p50 = parse_duration(value),
            ["99%", value] => run.p99 = parse_duration(value),
            ["Requests/sec:", value] => run.per_second = value.parse().unwrap_or_default(),
            [count, "requests", "in", ..] => run.requests = count.parse().unwrap_or_default(),
            ["Non-2xx", "or", "3xx", "responses:", count] => {
                run.non_2xx = count.parse().unwrap_or_default();
            }
            ["Socket", "errors:", rest @ ..] => {
                run.socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    run
}

/// `wrk`'s durations: `635.91us`, `1.01ms`, `2.00s`.
fn parse_duration(value: &str) -> Duration {
    let split = value
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().unwrap_or_default();
    let seconds = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        _ => 0.0,
    };
    Duration::from_secs_f64(seconds)
}

/// CPU time (user + system) of this process so far, from /proc (Linux).
pub fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let total = ticks(11) + ticks(12);
    // USER_HZ is 100 on Linux.
    Duration::from_millis(total * 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_latency_output() {
        let text = "Running 10s test @ http://127.0.0.1:3000
  1 threads and 32 connections
  Latency Distribution
     50%  635.91us
     75%  712.00us
     90%    1.01ms
     99%    3.14ms
  123456 requests in 10.00s, 30.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 17
Requests/sec:  12345.60
Transfer/sec:      3.00MB
";
        let run = parse_wrk(text);
        assert_eq!(run.requests, 123_456);
        assert_eq!(run.p50, Duration::from_nanos(635_910));
        assert_eq!(run.p99, Duration::from_micros(3_140));
        assert_eq!(run.non_2xx, 17);
        assert_eq!(run.socket_errors, 3);
        assert!((run.per_second - 12_345.6).abs() < 1e-9);
    }

    #[test]
    fn this_process_cpu_time_grows_with_work() {
        let before = process_cpu();
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(300) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        assert!(process_cpu() > before);
    }
}
