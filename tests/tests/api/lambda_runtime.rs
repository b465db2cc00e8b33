//! The Lambda bootstraps run the way Lambda runs them: started with the environment the template
//! gives the functions (resolved against a local stack), talking to a Runtime API
//! (`tests::runtime_api`), fed API Gateway HTTP events and SQS batches, and answering with the
//! exact documents Lambda expects. `make test` runs the debug binaries; `make package-test`
//! runs the same tests on the packaged `bootstrap`s (`OTP_TEST_LAMBDA_DIR`).

use crate::helpers::{
    EMAIL_FROM, extract_code, moto_endpoint, outbox, random_email, random_phone, sdk_config,
    wrong_code,
};
use crate::process::{Process, lambda_binary};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use serde_json::{Value, json};
use std::time::Duration;
use tests::runtime_api::{Outcome, RuntimeApi, http_event, sqs_record, with_bearer};

/// A local stack and what a function's process gets: the template's environment for the
/// functions, the local AWS, and no other variable.
struct Deployment {
    sdk: aws_config::SdkConfig,
    env: Vec<(String, String)>,
    queue_url: String,
    queue_arn: String,
    /// A server key of a tenant in the stack's table.
    api_key: String,
}

impl Deployment {
    async fn new() -> Self {
        let sdk = sdk_config(&moto_endpoint()).await;
        tests::stack::ensure_ses_identity(&sdk).await;
        let name = format!(
            "otp-lambda-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let stack = tests::stack::local_stack(&sdk, &name).await;
        let mut env: Vec<(String, String)> = [
            ("AWS_ENDPOINT_URL", moto_endpoint()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(stack.environment.clone());
        assert!(stack.environment["OTP_SECRET_ARN"].starts_with("arn:aws:secretsmanager:"));
        assert_eq!(stack.environment["OTP_EMAIL_FROM"], EMAIL_FROM);
        let queue_url = stack.environment["OTP_QUEUE_URL"].clone();
        let queue_arn = stack.resources["JobQueue"].attributes["Arn"].clone();
        let api_key = tests::tenants::server_key_in_stack(&sdk, &stack.environment, "lambda")
            .await
            .expose()
            .to_owned();
        Self {
            api_key,
            sdk,
            env,
            queue_url,
            queue_arn,
        }
    }

    /// A function's process on its own Runtime API, with `extra` variables on top.
    async fn function(
        &self,
        binary: &str,
        extra: &[(&'static str, String)],
        without: &[&str],
    ) -> (RuntimeApi, Process) {
        let runtime = RuntimeApi::start().await;
        let mut env: Vec<(&str, String)> = self
            .env
            .iter()
            .filter(|(k, _)| !without.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        env.extend(runtime.lambda_env(&format!("otp-relay-{binary}")));
        env.extend(extra.iter().cloned());
        let process = Process::start_at(lambda_binary(binary), &env);
        (runtime, process)
    }

    fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    /// Receives until `count` messages are in hand (they stay in flight: the queue's
    /// visibility timeout is the template's 180 s).
    async fn receive(&self, count: usize) -> Vec<Message> {
        let mut messages = Vec::new();
        for _ in 0..50 {
            let out = self
                .sqs()
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap();
            messages.extend(out.messages().iter().cloned());
            if messages.len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(messages.len(), count, "messages on the job queue");
        messages
    }

    async fn enqueue(&self, body: &str) -> String {
        self.sqs()
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .unwrap()
            .message_id
            .unwrap()
    }
}

/// The function's HTTP answer: status, content type and the body as JSON.
fn http_answer(outcome: Outcome) -> (u64, String, Value) {
    let Outcome::Response(response) = outcome else {
        panic!("the API function failed the invocation: {outcome:?}");
    };
    assert_eq!(response["isBase64Encoded"], false, "{response}");
    let body = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    (
        response["statusCode"].as_u64().unwrap(),
        response["headers"]["content-type"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        body,
    )
}

async fn send(runtime: &RuntimeApi, key: &str, channel: &str, to: &str) -> String {
    let event = http_event(
        "POST",
        "/v1/otp/send",
        Some(&json!({ "channel": channel, "destination": to })),
        "203.0.113.7",
    );
    let event = with_bearer(event, key);
    let (status, content_type, body) = http_answer(runtime.invoke(event).await);
    assert_eq!(
        (status, content_type.as_str()),
        (202, "application/json"),
        "{body}"
    );
    assert_eq!(body["channel"], channel);
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["resend_after"], 30);
    body["otp_id"].as_str().unwrap().to_owned()
}

async fn code_for(to: &str) -> String {
    let messages = outbox(&moto_endpoint(), to).await;
    extract_code(messages.last().expect("a message was delivered"), 6).unwrap()
}

/// The EMF lines a worker printed, as JSON.
fn metric_lines(output: &str) -> Vec<Value> {
    output
        .lines()
        .filter(|l| l.contains("\"_aws\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn send_deliver_and_verify_through_the_runtime_api() {
    let deployment = Deployment::new().await;
    let (api_runtime, api) = deployment.function("api", &[], &[]).await;
    let (worker_runtime, worker) = deployment.function("worker", &[], &[]).await;

    let email = random_email();
    let phone = random_phone();
    let key = deployment.api_key.as_str();
    let email_id = send(&api_runtime, key, "email", &email).await;
    let sms_id = send(&api_runtime, key, "sms", &phone).await;

    // A bad request is the API's 400, not a failed invocation.
    let bad = http_event(
        "POST",
        "/v1/otp/send",
        Some(&json!({ "channel": "fax", "destination": "x" })),
        "203.0.113.7",
    );
    let bad = with_bearer(bad, key);
    let (status, content_type, body) = http_answer(api_runtime.invoke(bad).await);
    assert_eq!((status, content_type.as_str()), (400, "application/json"));
    assert_eq!(body["error"], "invalid_request");

    // The two jobs, a body that is not a job, and a job whose OTP does not exist.
    let mut jobs = deployment.receive(2).await;
    let real: Value = serde_json::from_str(jobs[0].body().unwrap()).unwrap();
    let mut orphan = real.clone();
    orphan["otp_id"] = json!(uuid::Uuid::new_v4().to_string());
    let poison_id = deployment.enqueue("{\"not\":\"a job\"}").await;
    let orphan_id = deployment.enqueue(&orphan.to_string()).await;
    jobs.extend(deployment.receive(2).await);
    for id in [&poison_id, &orphan_id] {
        assert_eq!(
            jobs.iter()
                .filter(|m| m.message_id() == Some(id.as_str()))
                .count(),
            1
        );
    }
    let records: Vec<Value> = jobs
        .iter()
        .map(|m| sqs_record(&deployment.queue_arn, m))
        .collect();
    let outcome = worker_runtime.invoke(json!({ "Records": records })).await;
    // Exactly the record that must come back; the delivered and the orphan are done.
    assert_eq!(
        outcome,
        Outcome::Response(json!({ "batchItemFailures": [{ "itemIdentifier": poison_id }] }))
    );
    // The failed record got its backoff (at most OTP_RETRY_BASE_SECONDS = 5 s after a first
    // receive) instead of the queue's 180 s; the others stay with Lambda, which deletes them.
    let mut again = Vec::new();
    for _ in 0..10 {
        let out = deployment
            .sqs()
            .receive_message()
            .queue_url(&deployment.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        again.extend(
            out.messages()
                .iter()
                .filter_map(|m| m.message_id().map(str::to_owned)),
        );
        if !again.is_empty() {
            break;
        }
    }
    assert_eq!(again, std::slice::from_ref(&poison_id));

    // The codes arrived; verify them through the API function.
    let email_code = code_for(&email).await;
    let sms_code = code_for(&phone).await;
    let verify = |id: &str, code: &str| {
        let event = http_event(
            "POST",
            "/v1/otp/verify",
            Some(&json!({ "otp_id": id, "code": code })),
            "203.0.113.7",
        );
        with_bearer(event, key)
    };
    let (status, _, body) = http_answer(
        api_runtime
            .invoke(verify(&sms_id, &wrong_code(&sms_code)))
            .await,
    );
    assert_eq!(status, 422);
    assert_eq!(body["error"], "invalid_code");
    assert_eq!(body["attempts_remaining"], 4);
    for (id, code) in [(&email_id, &email_code), (&sms_id, &sms_code)] {
        let (status, _, body) = http_answer(api_runtime.invoke(verify(id, code)).await);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, json!({ "otp_id": id, "verified": true }));
    }
    let status_event = with_bearer(
        http_event("GET", &format!("/v1/otp/{email_id}"), None, "203.0.113.7"),
        key,
    );
    let (status, _, body) = http_answer(api_runtime.invoke(status_event).await);
    assert_eq!(status, 200);
    assert_eq!(body["status"], "verified");
    assert_eq!(body["delivery"], "sent");

    // One metrics line per invocation, in the template's namespace.
    let (_, output) = worker.wait_exit(Duration::ZERO);
    let lines = metric_lines(&output);
    assert_eq!(lines.len(), 1, "{output}");
    assert_eq!(
        lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "OtpRelay"
    );
    for (metric, count) in [
        ("sent", 2),
        ("poisoned", 1),
        ("skipped", 1),
        ("systemic", 0),
    ] {
        assert_eq!(lines[0][metric], count, "{metric}");
    }
    let (_, output) = api.wait_exit(Duration::ZERO);
    assert!(
        !output.contains(&email_code),
        "a code reached the API's log"
    );
    assert!(
        !output.contains(&email),
        "a full destination reached the API's log"
    );
}

#[tokio::test]
async fn a_systemic_failure_fails_the_worker_invocation() {
    let deployment = Deployment::new().await;
    let (api_runtime, api) = deployment.function("api", &[], &[]).await;
    send(&api_runtime, &deployment.api_key, "email", &random_email()).await;
    let jobs = deployment.receive(1).await;
    // A worker with another secret cannot open the sealed code: systemic, not the job's fault.
    let other_secret = common::secret::ServiceSecret::generate().to_base64();
    let (worker_runtime, worker) = deployment
        .function(
            "worker",
            &[("OTP_SECRET", other_secret)],
            &["OTP_SECRET_ARN"],
        )
        .await;
    let records: Vec<Value> = jobs
        .iter()
        .map(|m| sqs_record(&deployment.queue_arn, m))
        .collect();
    let outcome = worker_runtime.invoke(json!({ "Records": records })).await;
    let Outcome::Error { error_type, body } = outcome else {
        panic!("the invocation should fail: {outcome:?}");
    };
    assert_eq!(error_type, "unhandled");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(message.starts_with("systemic delivery failure"), "{body}");
    let (_, output) = worker.wait_exit(Duration::ZERO);
    assert_eq!(metric_lines(&output)[0]["systemic"], 1, "{output}");
    api.wait_exit(Duration::ZERO);
}

#[tokio::test]
async fn a_bad_setting_or_secret_is_reported_as_an_init_error() {
    let deployment = Deployment::new().await;
    let cases = [
        (
            "api",
            vec![("OTP_CODE_LENGTH", "3".to_owned())],
            "Startup.Config",
            "configuration: OTP_CODE_LENGTH",
        ),
        (
            "worker",
            vec![(
                "OTP_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing".to_owned(),
            )],
            "Startup.Secret",
            "service secret: could not read the service secret from Secrets Manager",
        ),
    ];
    for (binary, extra, error_type, message) in cases {
        let (runtime, process) = deployment.function(binary, &extra, &[]).await;
        let error = runtime
            .init_error(Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("{binary}: no init error reported"));
        assert_eq!(error["errorType"], error_type, "{error}");
        assert!(
            error["errorMessage"].as_str().unwrap().starts_with(message),
            "{error}"
        );
        let (status, output) = process.wait_exit(Duration::from_secs(10));
        assert!(
            status.is_some_and(|s| !s.success()),
            "{binary} should exit with a failure: {output}"
        );
        assert_eq!(
            runtime.polls(),
            0,
            "{binary} asked for events without starting"
        );
    }
}
