//! One live code per destination, verify by destination and cancel, through the real SDK
//! against moto: what a user relies on is read back from moto's outbox.

use crate::helpers::{
    Answer, TEST_ORIGIN, TestApp, extract_code, random_email, random_phone, spawn_app,
    spawn_app_with, wrong_code,
};
use common::config::Rules;
use common::tenant::KeyKind;
use serde_json::{Value, json};
use worker::metrics::Metric;

/// A POST with the app's server key (and a JSON body when given).
pub(crate) async fn post(app: &TestApp, path: &str, body: Option<&Value>) -> Answer {
    let bearer = format!("Bearer {}", app.api_key);
    let mut headers = vec![("authorization", bearer.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    app.call("POST", path, &headers, body).await
}

pub(crate) async fn verify_at(app: &TestApp, channel: &str, to: &str, code: &str) -> Answer {
    let body = json!({ "channel": channel, "destination": to, "code": code });
    post(app, "/v1/otp/verify", Some(&body)).await
}

pub(crate) async fn cancel(app: &TestApp, otp_id: &str) -> Answer {
    post(app, &format!("/v1/otp/{otp_id}/cancel"), None).await
}

fn no_cooldown() -> Rules {
    Rules {
        resend_cooldown_seconds: 0,
        ..Rules::default()
    }
}

#[tokio::test]
async fn sends_while_a_code_is_pending_return_the_same_otp_and_deliver_the_same_code() {
    let app = spawn_app_with(no_cooldown()).await;
    let to = random_phone();
    let first = app.send_sms(&to).await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    let id = first.otp_id();
    app.deliver_all().await;
    for _ in 0..2 {
        let again = app.send_sms(&to).await;
        assert_eq!(again.status, 202, "{:?}", again.body);
        assert_eq!(again.otp_id(), id, "a second live code was made");
        assert_eq!(again.body["expires_at"], first.body["expires_at"]);
        // One at a time: a send's job is skipped once a later send of the same code has
        // reached the provider, so two jobs in one batch could make one message.
        assert_eq!(app.deliver_all().await[Metric::Sent], 1);
    }
    let messages = app.outbox(&to).await;
    assert_eq!(messages.len(), 3);
    assert!(
        messages.iter().all(|m| *m == messages[0]),
        "every send delivered the same code: {messages:?}"
    );
    assert_eq!(app.status(&id).await.body["sends"], 3);
    let code = extract_code(&messages[0], 6).unwrap();
    assert_eq!(app.verify(&id, &code).await.status, 200);
    // Verified: the next send is a new code.
    let next = app.send_sms(&to).await;
    assert_eq!(next.status, 202, "{:?}", next.body);
    assert_ne!(next.otp_id(), id);
}

#[tokio::test]
async fn a_send_while_pending_is_a_resend_with_the_resend_s_limits_and_keys_replay() {
    let app = spawn_app_with(Rules {
        max_sends_per_otp: 2,
        ..Rules::default()
    })
    .await;
    let to = random_email();
    let id = app.send_email(&to).await.otp_id();
    // Delivered before the resend: a send's job is skipped once a later send of the same code
    // has reached the provider, so two jobs in one batch could make one message.
    app.deliver_all().await;
    let early = app.send_email(&to).await;
    assert_eq!((early.status, early.error()), (429, "rate_limited"));
    assert_eq!(early.body["limit"], "destination_cooldown");
    app.clock.advance(app.rules.resend_cooldown_seconds);
    let body = json!({ "channel": "email", "destination": to });
    let keyed = app.send_with_key("live-1", &body).await;
    assert_eq!((keyed.status, keyed.otp_id()), (202, id.clone()));
    // The key replays its own first answer (a resend of `id`), not a third delivery.
    let replay = app.send_with_key("live-1", &body).await;
    assert_eq!((replay.status, replay.otp_id()), (202, id.clone()));
    app.clock.advance(app.rules.resend_cooldown_seconds);
    let capped = app.send_email(&to).await;
    assert_eq!(
        (capped.status, capped.body["limit"].clone()),
        (429, json!("otp_sends"))
    );
    app.deliver_all().await;
    assert_eq!(app.outbox(&to).await.len(), 2);
}

#[tokio::test]
async fn verify_by_destination_works_and_counts_attempts_like_verify_by_id() {
    let app = spawn_app().await;
    let to = random_email();
    let id = app.send_email(&to).await.otp_id();
    app.deliver_all().await;
    let code = app.code_for(&to).await;
    let bad = wrong_code(&code);

    let first = verify_at(&app, "email", &to, &bad).await;
    assert_eq!(
        (first.status, first.body["attempts_remaining"].clone()),
        (422, json!(4))
    );
    let by_id = app.verify(&id, &bad).await;
    assert_eq!(
        by_id.body["attempts_remaining"], 3,
        "one counter for both shapes"
    );
    // The destination as typed differently (domain case) is the same destination.
    let shouted = to.replace("example.com", "EXAMPLE.com");
    let second = verify_at(&app, "email", &shouted, &bad).await;
    assert_eq!(second.body["attempts_remaining"], 2);
    assert_eq!(app.status(&id).await.body["attempts_remaining"], 2);

    let right = verify_at(&app, "email", &to, &code).await;
    assert_eq!(right.status, 200, "{:?}", right.body);
    assert_eq!(
        (right.body["otp_id"].as_str(), &right.body["verified"]),
        (Some(id.as_str()), &json!(true))
    );
    let again = verify_at(&app, "email", &to, &code).await;
    assert_eq!((again.status, again.error()), (409, "already_verified"));
    let status = app.status(&id).await;
    assert_eq!(status.body["status"], "verified");
    assert!(status.body["verified_at"].is_string(), "{:?}", status.body);

    let nobody = verify_at(&app, "email", &random_email(), &code).await;
    assert_eq!((nobody.status, nobody.error()), (404, "not_found"));
    for body in [
        json!({ "otp_id": id, "channel": "email", "destination": to, "code": code }),
        json!({ "channel": "email", "code": code }),
        json!({ "destination": to, "code": code }),
        json!({ "code": code }),
    ] {
        let answer = post(&app, "/v1/otp/verify", Some(&body)).await;
        assert_eq!(
            (answer.status, answer.error()),
            (400, "invalid_request"),
            "{body}"
        );
        assert_eq!(
            answer.body["message"],
            "give either otp_id, or channel and destination (not both)"
        );
    }
}

#[tokio::test]
async fn after_cancel_verify_is_gone_and_a_job_queued_before_it_delivers_nothing() {
    let app = spawn_app().await;
    let to = random_email();
    let id = app.send_email(&to).await.otp_id();
    // The job is on the queue, not yet delivered; the code is only in the sealed record.
    let canceled = cancel(&app, &id).await;
    assert_eq!(canceled.status, 200, "{:?}", canceled.body);
    assert_eq!(canceled.body, json!({ "otp_id": id, "status": "canceled" }));
    assert_eq!(cancel(&app, &id).await.body, canceled.body, "repeatable");

    let counts = app.deliver_all().await;
    assert_eq!(
        (counts[Metric::Skipped], counts[Metric::Sent]),
        (1, 0),
        "{counts:?}"
    );
    assert!(
        app.outbox(&to).await.is_empty(),
        "a canceled code was delivered"
    );

    let verify = app.verify(&id, "123456").await;
    assert_eq!((verify.status, verify.error()), (410, "canceled"));
    let by_destination = verify_at(&app, "email", &to, "123456").await;
    assert_eq!(
        (by_destination.status, by_destination.error()),
        (410, "canceled")
    );
    let status = app.status(&id).await;
    assert_eq!(status.body["status"], "canceled");
    assert_eq!(status.body["attempts_remaining"], 0);
    assert_eq!(status.body["verified_at"], Value::Null);
    app.clock.advance(app.rules.resend_cooldown_seconds);
    let resend = app.resend(&id).await;
    assert_eq!((resend.status, resend.error()), (410, "canceled"));
    // A new send to the destination is a new code.
    let next = app.send_email(&to).await;
    assert_eq!(next.status, 202, "{:?}", next.body);
    assert_ne!(next.otp_id(), id);
}

#[tokio::test]
async fn cancel_is_for_server_keys_of_the_owning_tenant_and_cannot_undo_a_verify() {
    let app = spawn_app().await;
    let (id, code) = app.issue_email().await;

    let publishable = app.tenants.key("acme", KeyKind::Publishable).await;
    let bearer = format!("Bearer {}", publishable.expose());
    let from_browser = [("authorization", bearer.as_str()), ("origin", TEST_ORIGIN)];
    let answer = app
        .call("POST", &format!("/v1/otp/{id}/cancel"), &from_browser, None)
        .await;
    assert_eq!((answer.status, answer.error()), (403, "forbidden"));

    app.tenants.create("beta", |_| {}).await;
    let beta = TestApp {
        api_key: app
            .tenants
            .key("beta", KeyKind::Server)
            .await
            .expose()
            .to_owned(),
        ..app.clone()
    };
    let theirs = cancel(&beta, &id).await;
    assert_eq!((theirs.status, theirs.error()), (404, "not_found"));
    assert_eq!(app.status(&id).await.body["status"], "pending");

    assert_eq!(app.verify(&id, &code).await.status, 200);
    let late = cancel(&app, &id).await;
    assert_eq!((late.status, late.error()), (409, "already_verified"));
    assert_eq!(app.status(&id).await.body["status"], "verified");
    let bad = cancel(&app, "not-a-uuid").await;
    assert_eq!((bad.status, bad.error()), (400, "invalid_request"));
}
