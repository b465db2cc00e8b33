//! A fault-injecting HTTP proxy in front of moto. The SDK reaches it like any endpoint
//! (`AWS_ENDPOINT_URL_SESV2`, `AWS_ENDPOINT_URL_SNS`, or a whole SDK config); it forwards every
//! request to moto, except those a rule picks, which get a real AWS error instead: throttling,
//! 5xx, rejections, account-level failures, or a response lost after the backend applied it.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Which requests a rule applies to.
#[derive(Debug, Clone)]
pub enum Target {
    /// SES v2 `SendEmail`.
    SesSend,
    /// SNS `Publish`.
    SnsPublish,
    /// A DynamoDB operation by name, e.g. `UpdateItem`.
    Dynamo(&'static str),
    /// Every call to a service, e.g. `dynamodb` or `sqs`.
    Service(&'static str),
}

/// What the proxy answers instead of moto's response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SES `TooManyRequestsException` (429), "Maximum sending rate exceeded.".
    SesThrottled,
    /// SES `MessageRejected` (400).
    SesRejected,
    /// SES `AccountSuspendedException` (400).
    SesAccountSuspended,
    /// SNS `Throttled` (400).
    SnsThrottled,
    /// SNS `InvalidParameter` (400).
    SnsInvalidParameter,
    /// 503 with no useful body: a provider-side outage.
    Unavailable,
    /// Forward to moto (the call takes effect), then answer 500: a response lost in transit.
    ApplyThenFail,
    /// Never answer (for a minute): a backend that is unreachable, as the client's timeouts see it.
    Hang,
}

#[derive(Debug, Clone)]
struct Rule {
    target: Target,
    fault: Fault,
    /// Only requests whose body contains this (a destination, say).
    body_contains: Option<String>,
    /// Probability of applying, 0.0 to 1.0.
    rate: f64,
    /// How many more times it may apply; `None`: unlimited.
    remaining: Option<u32>,
}

#[derive(Debug, Default)]
struct Shared {
    rules: Vec<Rule>,
    /// Requests seen, by `service:operation` (e.g. `sesv2:SendEmail`), faulted or not.
    calls: BTreeMap<String, u64>,
    faults: u64,
    /// Provider sends passed on to moto: (Unix time in seconds, request body).
    deliveries: Vec<(f64, String)>,
}

#[derive(Debug, Clone)]
pub struct FaultProxy {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

#[derive(Debug, Clone)]
struct Upstream {
    backend: String,
    client: reqwest::Client,
    shared: Arc<Mutex<Shared>>,
}

impl FaultProxy {
    /// Starts a proxy on a random loopback port in front of `backend` (moto's URL).
    pub async fn start(backend: &str) -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let upstream = Upstream {
            backend: backend.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            shared: shared.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let address: SocketAddr = listener.local_addr().expect("proxy address");
        let app = axum::Router::new().fallback(handle).with_state(upstream);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{address}"),
            shared,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every matching request fails with `fault`.
    pub fn always(&self, target: Target, fault: Fault) {
        self.add(target, fault, None, 1.0, None);
    }

    /// A fraction `rate` of matching requests fails with `fault`.
    pub fn sometimes(&self, target: Target, fault: Fault, rate: f64) {
        self.add(target, fault, None, rate, None);
    }

    /// Matching requests whose body contains `needle` (e.g. a destination) fail with `fault`.
    pub fn for_destination(&self, target: Target, fault: Fault, needle: &str) {
        self.add(target, fault, Some(needle.to_owned()), 1.0, None);
    }

    /// The next `times` matching requests fail with `fault`.
    pub fn next(&self, target: Target, fault: Fault, times: u32) {
        self.add(target, fault, None, 1.0, Some(times));
    }

    fn add(
        &self,
        target: Target,
        fault: Fault,
        body_contains: Option<String>,
        rate: f64,
        remaining: Option<u32>,
    ) {
        self.lock().rules.push(Rule {
            target,
            fault,
            body_contains,
            rate,
            remaining,
        });
    }

    /// Removes every rule: from now on the proxy only forwards.
    pub fn heal(&self) {
        self.lock().rules.clear();
    }

    /// Requests seen for `service:operation`, e.g. `sesv2:SendEmail`.
    pub fn calls(&self, operation: &str) -> u64 {
        self.lock().calls.get(operation).copied().unwrap_or(0)
    }

    pub fn all_calls(&self) -> BTreeMap<String, u64> {
        self.lock().calls.clone()
    }

    /// The SES and SNS sends moto accepted, with when they reached the proxy.
    pub fn deliveries(&self) -> Vec<(f64, String)> {
        self.lock().deliveries.clone()
    }

    /// How many requests got a fault instead of moto's answer.
    pub fn faults(&self) -> u64 {
        self.lock().faults
    }
}

/// `service:operation` of a request, as far as the proxy needs to tell them apart.
fn operation(headers: &HeaderMap, path: &str, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, op) = target.split_once('.').unwrap_or((target, ""));
        let service = if service.starts_with("DynamoDB") {
            "dynamodb"
        } else if service.starts_with("AmazonSQS") {
            "sqs"
        } else {
            service
        };
        return format!("{service}:{op}");
    }
    if path.starts_with("/v2/email/outbound-emails") {
        return "sesv2:SendEmail".to_owned();
    }
    let text = String::from_utf8_lossy(body);
    if let Some(action) = text
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
    {
        return format!("sns:{action}");
    }
    format!("other:{path}")
}

fn matches(target: &Target, operation: &str) -> bool {
    match target {
        Target::SesSend => operation == "sesv2:SendEmail",
        Target::SnsPublish => operation == "sns:Publish",
        Target::Dynamo(op) => operation.strip_prefix("dynamodb:") == Some(op),
        Target::Service(service) => operation
            .strip_prefix(service)
            .is_some_and(|rest| rest.starts_with(':')),
    }
}

/// A uniform draw in [0, 1) without a random-number crate.
fn draw() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos()
            .into(),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

async fn handle(State(upstream): State<Upstream>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let op = operation(&parts.headers, parts.uri.path(), &body);
    let fault = {
        let mut shared = upstream.shared.lock().unwrap_or_else(|e| e.into_inner());
        *shared.calls.entry(op.clone()).or_default() += 1;
        let text = String::from_utf8_lossy(&body).into_owned();
        let picked = shared.rules.iter_mut().find(|rule| {
            matches(&rule.target, &op)
                && rule.remaining != Some(0)
                && rule.body_contains.as_ref().is_none_or(|needle| {
                    text.contains(needle.as_str())
                        || text.contains(&needle.replace('+', "%2B").replace('@', "%40"))
                })
                && draw() < rule.rate
        });
        let fault = picked.map(|rule| {
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            rule.fault
        });
        if fault.is_some() {
            shared.faults += 1;
        }
        fault
    };
    match fault {
        Some(Fault::ApplyThenFail) => {
            let _ = forward(&upstream, &parts, &path, body).await;
            error(
                500,
                "InternalServerError",
                "json",
                "the response was lost (injected)",
            )
        }
        Some(Fault::Hang) => {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            error(503, "ServiceUnavailable", "json", "hung (injected)")
        }
        Some(fault) => fault_response(fault),
        None => {
            let sent_at = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64();
            let text = String::from_utf8_lossy(&body).into_owned();
            let response = forward(&upstream, &parts, &path, body).await;
            // A delivery is one moto accepted: a failed forward is retried by the SDK.
            if (op == "sesv2:SendEmail" || op == "sns:Publish") && response.status().is_success() {
                upstream
                    .shared
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .deliveries
                    .push((sent_at, text));
            }
            response
        }
    }
}

async fn forward(
    upstream: &Upstream,
    parts: &axum::http::request::Parts,
    path: &str,
    body: Bytes,
) -> Response {
    let mut request = upstream
        .client
        .request(parts.method.clone(), format!("{}{path}", upstream.backend))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let bytes = answer.bytes().await.unwrap_or_default();
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            for (name, value) in &headers {
                if name != "content-length" && name != "transfer-encoding" {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(err) => error(
            502,
            "BadGateway",
            "json",
            &format!("proxy could not reach moto: {err}"),
        ),
    }
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::SesThrottled => error(
            429,
            "TooManyRequestsException",
            "json",
            "Maximum sending rate exceeded.",
        ),
        Fault::SesRejected => error(
            400,
            "MessageRejected",
            "json",
            "Email address is on the suppression list.",
        ),
        Fault::SesAccountSuspended => error(
            400,
            "AccountSuspendedException",
            "json",
            "Your account has been suspended.",
        ),
        Fault::SnsThrottled => error(400, "Throttled", "xml", "Rate exceeded"),
        Fault::SnsInvalidParameter => error(
            400,
            "InvalidParameter",
            "xml",
            "Invalid parameter: PhoneNumber",
        ),
        Fault::Unavailable => error(
            503,
            "ServiceUnavailable",
            "json",
            "Service unavailable (injected)",
        ),
        Fault::ApplyThenFail | Fault::Hang => error(
            500,
            "InternalServerError",
            "json",
            "the response was lost (injected)",
        ),
    }
}

/// An AWS error in the protocol's own shape: REST-JSON (SES v2, DynamoDB) names the code in the
/// `x-amzn-ErrorType` header and the body; query (SNS) in an XML `ErrorResponse`.
fn error(status: u16, code: &str, protocol: &str, message: &str) -> Response {
    let (content_type, body) = if protocol == "xml" {
        (
            "text/xml",
            format!(
                "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
            ),
        )
    } else {
        (
            "application/x-amz-json-1.0",
            format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"),
        )
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(code) {
        headers.insert("x-amzn-errortype", value);
    }
    response
}
