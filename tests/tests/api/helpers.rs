//! `spawn_app()` gives each test its own table, queue and DLQ in the shared moto, an API on a
//! random port and a worker it can run on demand, so tests run in parallel without sharing
//! state.

use api::OtpService;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use common::clock::ShiftedClock;
use common::config::{DeliveryRules, Rules};
use common::crypto::Keys;
use common::queue::SqsQueue;
use common::secret::ServiceSecret;
use common::sender::AwsSender;
use common::store::DynamoStore;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tests::fault_proxy::FaultProxy;
pub use tests::stack::{EMAIL_FROM, StackNames, ensure_ses_identity, local_stack, sdk_config};
pub use tests::tenants::{TEST_ORIGIN, Tenants};
use tokio_util::sync::CancellationToken;
use worker::deliver::Deliverer;
use worker::metrics::Counts;
use worker::pacer::Pacer;
use worker::poller::Poller;

/// The moto endpoint `make test` started, e.g. `http://127.0.0.1:41234`.
pub fn moto_endpoint() -> String {
    std::env::var("OTP_TEST_AWS_ENDPOINT").expect(
        "OTP_TEST_AWS_ENDPOINT is not set: run the integration tests with `make test`, which starts moto for them",
    )
}

#[derive(Debug, Clone)]
pub struct TestApp {
    pub address: SocketAddr,
    pub http: reqwest::Client,
    pub endpoint: String,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub table: String,
    pub queue_url: String,
    pub dlq_url: String,
    pub rules: Rules,
    pub clock: Arc<ShiftedClock>,
    pub keys: Arc<Keys>,
    /// Every AWS call of the app (API and worker) goes through this proxy.
    pub proxy: FaultProxy,
    pub secret_b64: String,
    pub poller: Poller,
    /// The app's tenants (in memory: a key check costs no AWS call, as on a warm instance).
    pub tenants: Tenants,
    /// A server key of tenant `acme`, which `http` sends with every request.
    pub api_key: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Rules::default()).await
}

pub async fn spawn_app_with(rules: Rules) -> TestApp {
    // The app's warnings and errors, shown with the output of a failing test.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let endpoint = moto_endpoint();
    let sdk = sdk_config(&endpoint).await;
    ensure_ses_identity(&sdk).await;
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let StackNames {
        table,
        queue_url,
        dlq_url,
    } = StackNames::of(&local_stack(&sdk, &format!("otp-test-{suffix}")).await);
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);

    let proxy = FaultProxy::start(&endpoint).await;
    let app_sdk = sdk_config(&proxy.url).await;
    let secret = ServiceSecret::generate();
    let keys = Arc::new(Keys::derive(&secret));
    let clock = Arc::new(ShiftedClock::default());
    let (tenants, api_key) = Tenants::with_server_key(&secret, "acme").await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&app_sdk),
        table.clone(),
    ));
    let service = OtpService {
        rules: rules.clone(),
        resolver: tenants.resolver.clone(),
        store: store.clone(),
        queue: Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(&app_sdk),
            queue_url.clone(),
        )),
        keys: keys.clone(),
        clock: clock.clone(),
    };
    let address = serve(service).await;
    let poller = Poller {
        client: Poller::sqs_client(&app_sdk, 0),
        queue_url: queue_url.clone(),
        deliverer: Deliverer {
            store,
            sender: Arc::new(AwsSender::new(&app_sdk, Some(EMAIL_FROM.to_owned()))),
            keys: keys.clone(),
            clock: clock.clone(),
            brand: "Acme".to_owned(),
            pacer: Arc::new(Pacer::new(1_000.0)),
            claim_seconds: 45,
        },
        rules: DeliveryRules {
            retry_base_seconds: 1,
            retry_cap_seconds: 2,
            ..DeliveryRules::default()
        },
        wait_seconds: 0,
        // The default; the 500-job fault run uses two.
        batches_in_flight: 1,
    };
    TestApp {
        address,
        http: keyed_client(api_key.expose()),
        endpoint,
        dynamo,
        sqs,
        table,
        queue_url,
        dlq_url,
        rules,
        clock,
        keys,
        proxy,
        secret_b64: secret.to_base64(),
        poller,
        tenants,
        api_key: api_key.expose().to_owned(),
    }
}

/// A client that calls as a relying app's backend does: with a server key, naming the end user
/// (here the test itself, on loopback) in `X-End-User-Ip`, so the per-IP limit applies as it
/// did before keys existed. A request's own headers override these.
pub fn keyed_client(key: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {key}").parse().unwrap(),
    );
    headers.insert("x-end-user-ip", "127.0.0.1".parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Serves a service on a random loopback port, as `axum::serve` does in the binary.
pub async fn serve(service: OtpService) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = api::router(Arc::new(service));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    address
}

pub fn random_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// A random UK mobile number (+44 740 then 7 digits), valid by libphonenumber's metadata and
/// in a country the test tenant texts.
pub fn random_phone() -> String {
    format!("+44740{:07}", uuid::Uuid::new_v4().as_u128() % 10_000_000)
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// Reads an answer and checks it against the OpenAPI description: every answer the tests
    /// see is one the description allows, or the test fails.
    async fn from(method: &str, response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let path = response.url().path().to_owned();
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text:?}"));
        if let Err(problem) =
            tests::openapi::spec().check(method, &path, status, &headers, Some(&body))
        {
            panic!("the answer does not match api/openapi.json: {problem}");
        }
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.headers
            .get("retry-after")
            .map(|v| v.to_str().unwrap().parse().unwrap())
    }

    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    pub fn otp_id(&self) -> String {
        self.body["otp_id"]
            .as_str()
            .expect("answer has an otp_id")
            .to_owned()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn send(&self, body: &Value) -> Answer {
        Answer::from(
            "POST",
            self.http
                .post(self.url("/v1/otp/send"))
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn send_with_key(&self, key: &str, body: &Value) -> Answer {
        let request = self
            .http
            .post(self.url("/v1/otp/send"))
            .header("Idempotency-Key", key)
            .json(body);
        Answer::from("POST", request.send().await.unwrap()).await
    }

    pub async fn send_email(&self, to: &str) -> Answer {
        self.send(&json!({ "channel": "email", "destination": to }))
            .await
    }

    pub async fn send_sms(&self, to: &str) -> Answer {
        self.send(&json!({ "channel": "sms", "destination": to }))
            .await
    }

    pub async fn resend(&self, otp_id: &str) -> Answer {
        Answer::from(
            "POST",
            self.http
                .post(self.url(&format!("/v1/otp/{otp_id}/resend")))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn verify(&self, otp_id: &str, code: &str) -> Answer {
        let body = json!({ "otp_id": otp_id, "code": code });
        Answer::from(
            "POST",
            self.http
                .post(self.url("/v1/otp/verify"))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn status(&self, otp_id: &str) -> Answer {
        Answer::from(
            "GET",
            self.http
                .get(self.url(&format!("/v1/otp/{otp_id}")))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// A request with exactly `headers` (none of `http`'s defaults: no key, no end-user IP) and
    /// an optional JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        let mut request = reqwest::Client::new().request(method.parse().unwrap(), self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Answer::from(method, request.send().await.unwrap()).await
    }

    /// Stores this app's key in its table too (under tenant `test-app`), for a test that runs
    /// the API binary against the table and calls it with [`TestApp::http`].
    pub async fn store_key_in_table(&self) {
        let secret = common::secret::ServiceSecret::from_base64(&self.secret_b64).unwrap();
        let key = common::tenant::ApiKey::parse(&self.api_key).unwrap();
        tests::tenants::store_in_table(&self.dynamo, &self.table, &secret, "test-app", &key).await;
    }

    /// A client that calls with `key` (and `X-End-User-Ip: 127.0.0.1`), like [`TestApp::http`].
    pub fn client_with(&self, key: &str) -> TestApp {
        TestApp {
            http: keyed_client(key),
            ..self.clone()
        }
    }

    /// Any request, raw: for malformed-input tests.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method.parse().unwrap(), self.url(path))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        Answer::from(method, request.send().await.unwrap()).await
    }

    /// Runs the worker until the queue has nothing visible left; returns what it did.
    pub async fn deliver_all(&self) -> Counts {
        let mut totals = Counts::new();
        loop {
            let counts = self
                .poller
                .poll_once(10, &CancellationToken::new(), 1)
                .await
                .expect("worker poll");
            if counts.is_empty() {
                return totals;
            }
            totals += &counts;
        }
    }

    /// The environment that points the service binaries at this app's table, queue and
    /// secret, the way a deployment configures them: only through variables.
    pub fn binary_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("OTP_TABLE_NAME", self.table.clone()),
            ("OTP_QUEUE_URL", self.queue_url.clone()),
            ("OTP_SECRET", self.secret_b64.clone()),
            ("OTP_EMAIL_FROM", EMAIL_FROM.to_owned()),
        ]
    }

    /// Runs the worker until the queue is empty (visible and in flight), or `limit` passes;
    /// waits out the backoff of delayed jobs. Returns what the worker did.
    pub async fn drain(&self, limit: std::time::Duration) -> Counts {
        let started = std::time::Instant::now();
        let mut totals = Counts::new();
        while started.elapsed() < limit {
            let counts = self
                .poller
                .poll_once(10, &CancellationToken::new(), 1)
                .await
                .expect("worker poll");
            if counts.is_empty() {
                if self.queue_depth(&self.queue_url).await == 0 {
                    return totals;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            totals += &counts;
        }
        panic!("the queue did not drain within {limit:?}; did so far: {totals:?}");
    }

    /// Puts a raw body on the job queue, as a buggy or hostile producer would.
    pub async fn enqueue_raw(&self, body: &str) {
        self.sqs
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    /// Every message in a queue with its `ApproximateReceiveCount` (this peek's receive
    /// included): each is taken once, hidden while the rest are read, then made visible again.
    pub async fn peek_bodies(&self, queue_url: &str) -> Vec<(String, u32)> {
        use aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount;
        let mut seen = Vec::new();
        let mut handles = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .visibility_timeout(60)
                .message_system_attribute_names(ApproximateReceiveCount)
                .send()
                .await
                .unwrap();
            if out.messages().is_empty() {
                break;
            }
            for m in out.messages() {
                let receives = m
                    .attributes()
                    .and_then(|a| a.get(&ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                seen.push((m.body().unwrap_or_default().to_owned(), receives));
                handles.extend(m.receipt_handle().map(str::to_owned));
            }
        }
        for handle in handles {
            self.sqs
                .change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
        }
        seen
    }

    /// Every message moto delivered to `to`, oldest first (moto's outbox is shared by all tests,
    /// so each test uses its own destinations).
    pub async fn outbox(&self, to: &str) -> Vec<String> {
        outbox(&self.endpoint, to).await
    }

    /// The code in the latest message to `to`.
    pub async fn code_for(&self, to: &str) -> String {
        let messages = self.outbox(to).await;
        let last = messages
            .last()
            .unwrap_or_else(|| panic!("nothing was delivered to {to}"));
        extract_code(last, self.rules.code_length.get()).expect("message contains a code")
    }

    /// Sends an e-mail OTP, delivers it, and returns (otp_id, code).
    pub async fn issue_email(&self) -> (String, String) {
        let to = random_email();
        let answer = self.send_email(&to).await;
        assert_eq!(answer.status, 202, "{:?}", answer.body);
        self.deliver_all().await;
        (answer.otp_id(), self.code_for(&to).await)
    }

    /// The record as stored, attribute by attribute.
    pub async fn raw_record(&self, otp_id: &str) -> Option<HashMap<String, AttributeValue>> {
        self.dynamo
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("otp#{otp_id}")))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    pub async fn scan_table(&self) -> Vec<HashMap<String, AttributeValue>> {
        self.dynamo
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
    }

    /// Approximate visible + in-flight messages of a queue.
    pub async fn queue_depth(&self, queue_url: &str) -> u64 {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap_or_default();
        [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        ]
        .iter()
        .map(|name| {
            attributes
                .get(name)
                .map_or(0, |v| v.parse::<u64>().unwrap())
        })
        .sum()
    }
}

pub async fn outbox(endpoint: &str, to: &str) -> Vec<String> {
    let data = moto_state(endpoint).await;
    let mut messages = Vec::new();
    for mail in data["ses"]["Message"].as_array().into_iter().flatten() {
        let recipients = mail["destinations"]["ToAddresses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if recipients.iter().any(|r| r.as_str() == Some(to)) {
            messages.push(format!(
                "{}\n{}",
                mail["subject"].as_str().unwrap_or_default(),
                mail["body"].as_str().unwrap_or_default()
            ));
        }
    }
    for sms in data["sns"]["SMS"].as_array().into_iter().flatten() {
        if sms["phone_number"].as_str() == Some(to) {
            messages.push(sms["message"].as_str().unwrap_or_default().to_owned());
        }
    }
    messages
}

/// The one run of exactly `digits` digits in a message.
pub fn extract_code(message: &str, digits: u8) -> Option<String> {
    let runs: Vec<&str> = message
        .split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() == usize::from(digits))
        .collect();
    match runs.as_slice() {
        [one] => Some((*one).to_owned()),
        _ => None,
    }
}

/// A wrong code of the right length.
pub fn wrong_code(right: &str) -> String {
    right
        .chars()
        .map(|c| char::from(b'0' + (c as u8 - b'0' + 1) % 10))
        .collect()
}

/// moto's state dump. It is a debugging endpoint that walks live state, so a dump taken while
/// other tests write can come out broken: try again a few times before failing.
pub async fn moto_state(endpoint: &str) -> Value {
    let mut last_error = String::new();
    for _ in 0..5 {
        match reqwest::get(format!("{endpoint}/moto-api/data.json")).await {
            Ok(response) => match response.json::<Value>().await {
                Ok(data) => return data,
                Err(err) => last_error = err.to_string(),
            },
            Err(err) => last_error = err.to_string(),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto's state dump failed 5 times: {last_error}");
}
