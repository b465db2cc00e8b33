use crate::helpers::{TestApp, random_email, serve, spawn_app};
use api::OtpService;
use common::queue::SqsQueue;
use common::store::DynamoStore;
use std::sync::Arc;

/// The app's service, with one of its AWS clients swapped.
fn service(app: &TestApp, store: Option<DynamoStore>, queue: Option<SqsQueue>) -> OtpService {
    OtpService {
        rules: app.rules.clone(),
        resolver: app.tenants.resolver.clone(),
        store: Arc::new(
            store.unwrap_or_else(|| DynamoStore::new(app.dynamo.clone(), app.table.clone())),
        ),
        queue: Arc::new(
            queue.unwrap_or_else(|| SqsQueue::new(app.sqs.clone(), app.queue_url.clone())),
        ),
        keys: app.keys.clone(),
        clock: app.clock.clone(),
    }
}

#[tokio::test]
async fn an_unreachable_dynamodb_gets_503_with_retry_after_and_no_internal_text() {
    let app = spawn_app().await;
    // Nothing listens on port 9 (discard) on loopback: connections are refused at once.
    let dead = crate::helpers::sdk_config("http://127.0.0.1:9").await;
    let broken = service(
        &app,
        Some(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&dead),
            app.table.clone(),
        )),
        None,
    );
    let address = serve(broken).await;
    let response = app
        .http
        .post(format!("http://{address}/v1/otp/send"))
        .json(&serde_json::json!({ "channel": "email", "destination": random_email() }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    let headers = response.headers().clone();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
    tests::openapi::spec()
        .check("POST", "/v1/otp/send", 503, &headers, Some(&body))
        .unwrap();
    let text = body.to_string().to_lowercase();
    assert!(
        !text.contains("dynamodb") && !text.contains("dispatch") && !text.contains("127.0.0.1"),
        "{text}"
    );
}

#[tokio::test]
async fn a_failed_enqueue_answers_503_and_leaves_no_deliverable_code() {
    let app = spawn_app().await;
    let missing_queue = format!("{}-missing", app.queue_url);
    let broken = service(
        &app,
        None,
        Some(SqsQueue::new(app.sqs.clone(), missing_queue)),
    );
    let address = serve(broken).await;
    let to = random_email();
    let body = serde_json::json!({ "channel": "email", "destination": to });
    let send = || {
        app.http
            .post(format!("http://{address}/v1/otp/send"))
            .header("Idempotency-Key", "k1")
            .json(&body)
            .send()
    };
    let response = send().await.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let records: Vec<_> = app
        .scan_table()
        .await
        .into_iter()
        .filter(|item| {
            item["pk"].as_s().unwrap().starts_with("otp#")
                || item["pk"].as_s().unwrap().starts_with("idem#")
        })
        .collect();
    assert!(records.is_empty(), "a record was left behind: {records:?}");
    // The failed attempt used up no limit: the healthy API sends to the same address at once,
    // and the idempotency key is free again.
    let healthy = app.send_with_key("k1", &body).await;
    assert_eq!(healthy.status, 202, "{:?}", healthy.body);
    app.deliver_all().await;
    assert_eq!(app.outbox(&to).await.len(), 1);
}
