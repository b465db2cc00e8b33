//! DynamoDB or SQS unreachable: the API answers 503 with `Retry-After` within seconds, with the SDK
//! configured exactly as the API binary configures it (`Budget::RequestPath`), and recovers by
//! itself when the backend returns. "Unreachable" is the worst kind: a backend that takes the
//! connection and never answers, so only the client's timeouts end the wait.

use crate::helpers::{TestApp, random_email, serve, spawn_app};
use aws_sdk_dynamodb::config::{Credentials, Region};
use common::aws::Budget;
use common::queue::SqsQueue;
use common::store::DynamoStore;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::fault_proxy::{Fault, Target};
use worker::metrics::Metric;

/// The promise: a client waiting on a dead backend hears back within this. The request path's
/// budget is `REQUEST_PATH_CALL` (1.5 s) per AWS call; the rest is margin for a loaded CI machine
/// (2.6 s was seen on 2 busy cores). Without the budget the call would never end: the proxy
/// holds the connection open and never answers.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// A test app whose API uses the production SDK settings (through the app's proxy).
async fn spawn_app_with_production_timeouts() -> TestApp {
    let mut app = spawn_app().await;
    let sdk = common::aws::loader(Budget::RequestPath)
        .endpoint_url(&app.proxy.url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await;
    let service = api::OtpService {
        rules: app.rules.clone(),
        resolver: app.tenants.resolver.clone(),
        store: Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            app.table.clone(),
        )),
        queue: Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(&sdk),
            app.queue_url.clone(),
        )),
        keys: app.keys.clone(),
        clock: app.clock.clone(),
    };
    app.address = serve(service).await;
    app
}

/// Runs `request`, checks it was answered 503 with `Retry-After` in time, and returns how long
/// it took.
async fn assert_quick_503<F>(what: &str, request: F) -> Duration
where
    F: std::future::Future<Output = crate::helpers::Answer>,
{
    let started = Instant::now();
    let answer = request.await;
    let took = started.elapsed();
    assert_eq!(answer.status, 503, "{what}: {:?}", answer.body);
    assert_eq!(answer.error(), "unavailable", "{what}");
    assert!(answer.retry_after().is_some_and(|s| s > 0), "{what}");
    assert!(
        took < ANSWER_WITHIN,
        "{what} took {took:?} to answer with DynamoDB or SQS down"
    );
    took
}

#[tokio::test]
async fn with_dynamodb_unreachable_every_endpoint_answers_503_quickly_and_recovers() {
    let app = spawn_app_with_production_timeouts().await;
    let (otp_id, code) = app.issue_email().await;
    app.proxy.always(Target::Service("dynamodb"), Fault::Hang);

    let to = random_email();
    assert_quick_503("send", app.send_email(&to)).await;
    assert_quick_503("verify", app.verify(&otp_id, &code)).await;
    assert_quick_503("status", app.status(&otp_id)).await;
    assert_quick_503("resend", app.resend(&otp_id)).await;

    // The backend returns; the same process serves again, no restart.
    app.proxy.heal();
    assert_eq!(app.send_email(&to).await.status, 202);
    assert_eq!(app.verify(&otp_id, &code).await.status, 200);
}

#[tokio::test]
async fn with_sqs_unreachable_a_send_answers_503_quickly_and_leaves_nothing_behind() {
    let app = spawn_app_with_production_timeouts().await;
    app.proxy.always(Target::Service("sqs"), Fault::Hang);

    let to = random_email();
    assert_quick_503("send", app.send_email(&to)).await;

    // The failed send was undone: no cooldown or hourly count holds the retry back, and the
    // retry's code is the one delivered.
    app.proxy.heal();
    let retry = app.send_email(&to).await;
    assert_eq!(retry.status, 202, "{:?}", retry.body);
    let counts = app.deliver_all().await;
    assert_eq!(counts[Metric::Sent], 1, "{counts:?}");
    let code = app.code_for(&to).await;
    assert_eq!(app.verify(&retry.otp_id(), &code).await.status, 200);
}
