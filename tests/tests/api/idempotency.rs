use crate::helpers::{random_email, spawn_app};
use serde_json::json;
use worker::metrics::Metric;

#[tokio::test]
async fn the_same_key_and_body_return_the_same_answer_and_enqueue_nothing_new() {
    let app = spawn_app().await;
    let to = random_email();
    let body = json!({ "channel": "email", "destination": to });
    let key = format!("order-{}", uuid::Uuid::new_v4());
    let first = app.send_with_key(&key, &body).await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    let second = app.send_with_key(&key, &body).await;
    assert_eq!(second.status, 202, "{:?}", second.body);
    assert_eq!(second.otp_id(), first.otp_id());
    assert_eq!(second.body["expires_at"], first.body["expires_at"]);
    let counts = app.deliver_all().await;
    assert_eq!(counts[Metric::Sent], 1, "{counts:?}");
    assert_eq!(app.outbox(&to).await.len(), 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused() {
    let app = spawn_app().await;
    let key = "checkout-42";
    let first = app
        .send_with_key(
            key,
            &json!({ "channel": "email", "destination": random_email() }),
        )
        .await;
    assert_eq!(first.status, 202);
    let other = app
        .send_with_key(
            key,
            &json!({ "channel": "email", "destination": random_email() }),
        )
        .await;
    assert_eq!(
        (other.status, other.error()),
        (422, "idempotency_key_reused")
    );
}

#[tokio::test]
async fn malformed_idempotency_keys_are_refused() {
    let app = spawn_app().await;
    let body = json!({ "channel": "email", "destination": random_email() });
    for key in ["with space", &"k".repeat(129)] {
        let answer = app.send_with_key(key, &body).await;
        assert_eq!(
            (answer.status, answer.error()),
            (400, "invalid_request"),
            "{key:?}"
        );
    }
}
