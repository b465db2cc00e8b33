//! A Lambda Runtime API on a loopback port, for running the built bootstraps the way Lambda runs
//! a `provided.al2023` function: the process is started with `AWS_LAMBDA_RUNTIME_API` pointing
//! here, long-polls `/invocation/next` for an event and posts the answer to `/response` or
//! `/error`, or a start-up failure to `/init/error`. Also the events Lambda would send: an API
//! Gateway HTTP API (payload 2.0) request and an SQS batch.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// How an invocation ended, as the runtime reported it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The JSON the function returned.
    Response(Value),
    /// The error document, and the `Lambda-Runtime-Function-Error-Type` header.
    Error { error_type: String, body: Value },
}

#[derive(Debug)]
struct Shared {
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    answers: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Value>>,
    polls: Mutex<u32>,
    /// When the process first asked for an event: the end of its init phase, as Lambda's
    /// `Init Duration` counts it.
    first_poll: Mutex<Option<Instant>>,
}

#[derive(Debug)]
pub struct RuntimeApi {
    pub address: SocketAddr,
    queue: mpsc::UnboundedSender<(String, Value)>,
    shared: Arc<Shared>,
}

const PREFIX: &str = "/2018-06-01/runtime";

impl RuntimeApi {
    pub async fn start() -> Self {
        let (queue, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: tokio::sync::Mutex::new(events),
            answers: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            polls: Mutex::new(0),
            first_poll: Mutex::new(None),
        });
        let app = Router::new()
            .route(&format!("{PREFIX}/invocation/next"), get(next))
            .route(
                &format!("{PREFIX}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
            .route(&format!("{PREFIX}/init/error"), post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            address,
            queue,
            shared,
        }
    }

    /// The variables Lambda sets for a function's process, pointing at this Runtime API.
    pub fn lambda_env(&self, function: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API", self.address.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", function.to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function}"),
            ),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/21/[$LATEST]test".to_owned(),
            ),
            ("_HANDLER", "bootstrap".to_owned()),
        ]
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        self.shared.answers.lock().unwrap().insert(id.clone(), tx);
        self.queue.send((id, event)).unwrap();
        tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .expect("the function did not answer within 60 s")
            .expect("the Runtime API stopped")
    }

    /// The init error the process reported, waiting up to `limit` for it.
    pub async fn init_error(&self, limit: Duration) -> Option<Value> {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Some(error) = self.shared.init_error.lock().unwrap().clone() {
                return Some(error);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// When the process first asked for an event, if it has.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.shared.first_poll.lock().unwrap()
    }

    /// How many times the process asked for an event (it only asks once initialised).
    pub fn polls(&self) -> u32 {
        *self.shared.polls.lock().unwrap()
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    *shared.polls.lock().unwrap() += 1;
    shared
        .first_poll
        .lock()
        .unwrap()
        .get_or_insert_with(Instant::now);
    let Some((id, event)) = shared.events.lock().await.recv().await else {
        return (StatusCode::GONE, HeaderMap::new(), String::new());
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 30_000;
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline.to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:otp-relay-test"
            .parse()
            .unwrap(),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
            .parse()
            .unwrap(),
    );
    headers.insert("content-type", "application/json".parse().unwrap());
    (StatusCode::OK, headers, event.to_string())
}

fn answer(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match shared.answers.lock().unwrap().remove(id) {
        Some(waiting) => {
            let _ = waiting.send(outcome);
            StatusCode::ACCEPTED
        }
        // Lambda answers an unknown or already answered request id with 400.
        None => StatusCode::BAD_REQUEST,
    }
}

fn json_body(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&shared, &id, Outcome::Response(json_body(&body)))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    answer(
        &shared,
        &id,
        Outcome::Error {
            error_type,
            body: json_body(&body),
        },
    )
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().unwrap() = Some(json_body(&body));
    StatusCode::ACCEPTED
}

/// An API Gateway HTTP API request (payload format 2.0), as the `$default` route passes it.
pub fn http_event(method: &str, path: &str, body: Option<&Value>, source_ip: &str) -> Value {
    let host = "abc123.execute-api.us-east-1.amazonaws.com";
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "host": host,
            "user-agent": "curl/8.5.0",
            "x-forwarded-for": source_ip,
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": host,
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "curl/8.5.0",
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": "21/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1_795_255_200_000_i64,
        },
        "isBase64Encoded": false,
    });
    if let Some(body) = body {
        event["headers"]["content-type"] = json!("application/json");
        event["body"] = json!(body.to_string());
    }
    event
}

/// `event` with `Authorization: Bearer <key>`, as API Gateway passes the header on.
pub fn with_bearer(mut event: Value, key: &str) -> Value {
    event["headers"]["authorization"] = json!(format!("Bearer {key}"));
    event
}

/// One SQS record of a Lambda event, from a message as `ReceiveMessage` returned it.
pub fn sqs_record(queue_arn: &str, message: &aws_sdk_sqs::types::Message) -> Value {
    use aws_sdk_sqs::types::MessageSystemAttributeName as A;
    let attribute = |name: A| {
        message
            .attributes()
            .and_then(|a| a.get(&name))
            .cloned()
            .unwrap_or_default()
    };
    json!({
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": message.body(),
        "attributes": {
            "ApproximateReceiveCount": attribute(A::ApproximateReceiveCount),
            "SentTimestamp": attribute(A::SentTimestamp),
            "SenderId": attribute(A::SenderId),
            "ApproximateFirstReceiveTimestamp": attribute(A::ApproximateFirstReceiveTimestamp),
        },
        "messageAttributes": {},
        "md5OfBody": message.md5_of_body(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    })
}
