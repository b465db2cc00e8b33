//! Two tenants side by side: neither can read, squat nor exhaust the other's OTPs and limits.
//! And the end-user address a backend names with `X-End-User-Ip`.

use crate::helpers::{TEST_ORIGIN, TestApp, random_email, spawn_app, spawn_app_with};
use common::config::Rules;
use common::tenant::KeyKind;
use serde_json::json;

/// The app as tenant `id` (created with the deployment's limits) sees it.
async fn tenant(app: &TestApp, id: &str) -> TestApp {
    app.tenants.create(id, |_| {}).await;
    let key = app.tenants.key(id, KeyKind::Server).await;
    app.client_with(key.expose())
}

#[tokio::test]
async fn another_tenant_gets_404_for_an_otp_id_and_spends_no_guess_on_it() {
    let a = spawn_app().await;
    let b = tenant(&a, "beta").await;
    let id = a.send_email(&random_email()).await.otp_id();
    assert_eq!(b.status(&id).await.status, 404);
    assert_eq!(b.verify(&id, "123456").await.status, 404);
    b.clock.advance(a.rules.resend_cooldown_seconds);
    assert_eq!(b.resend(&id).await.status, 404);
    let status = a.status(&id).await;
    assert_eq!(status.status, 200);
    assert_eq!(
        status.body["attempts_remaining"], a.rules.max_attempts,
        "B's guess was not counted"
    );
    assert_eq!(status.body["sends"], 1, "B's resend did not happen");
}

#[tokio::test]
async fn reusing_another_tenant_s_idempotency_key_creates_one_s_own_otp() {
    let a = spawn_app().await;
    let b = tenant(&a, "beta").await;
    let body = json!({ "channel": "email", "destination": random_email() });
    let first = a.send_with_key("order-1", &body).await;
    let theirs = b.send_with_key("order-1", &body).await;
    assert_eq!((first.status, theirs.status), (202, 202));
    assert_ne!(first.otp_id(), theirs.otp_id());
    assert_eq!(b.status(&theirs.otp_id()).await.status, 200);
    // Each key still replays within its own tenant.
    assert_eq!(
        a.send_with_key("order-1", &body).await.otp_id(),
        first.otp_id()
    );
    assert_eq!(
        b.send_with_key("order-1", &body).await.otp_id(),
        theirs.otp_id()
    );
}

#[tokio::test]
async fn one_tenant_exhausting_a_destination_leaves_the_other_s_sends_to_it_alone() {
    let a = spawn_app_with(Rules {
        max_sends_per_hour: 2,
        resend_cooldown_seconds: 1,
        ..Rules::default()
    })
    .await;
    let b = tenant(&a, "beta").await;
    let to = random_email();
    for _ in 0..2 {
        assert_eq!(a.send_email(&to).await.status, 202);
        a.clock.advance(2);
    }
    let refused = a.send_email(&to).await;
    assert_eq!(
        (refused.status, refused.body["limit"].as_str()),
        (429, Some("destination_hourly"))
    );
    assert_eq!(b.send_email(&to).await.status, 202);
}

#[tokio::test]
async fn two_end_users_behind_one_backend_each_get_their_own_per_ip_allowance() {
    let app = spawn_app_with(Rules {
        max_sends_per_ip_per_hour: 2,
        ..Rules::default()
    })
    .await;
    let as_user = |ip: &'static str| {
        let app = &app;
        async move {
            let body = json!({ "channel": "email", "destination": random_email() });
            let bearer = format!("Bearer {}", app.api_key);
            let headers = [("authorization", bearer.as_str()), ("x-end-user-ip", ip)];
            app.call("POST", "/v1/otp/send", &headers, Some(&body))
                .await
        }
    };
    for _ in 0..2 {
        assert_eq!(as_user("203.0.113.1").await.status, 202);
        assert_eq!(as_user("203.0.113.2").await.status, 202);
    }
    let refused = as_user("203.0.113.1").await;
    assert_eq!(
        (refused.status, refused.body["limit"].as_str()),
        (429, Some("ip_hourly"))
    );
    assert_eq!(as_user("203.0.113.3").await.status, 202);

    // Without the header a server key's sends count against the tenant's budget only.
    let bearer = format!("Bearer {}", app.api_key);
    for _ in 0..3 {
        let body = json!({ "channel": "email", "destination": random_email() });
        let answer = app
            .call(
                "POST",
                "/v1/otp/send",
                &[("authorization", &bearer)],
                Some(&body),
            )
            .await;
        assert_eq!(answer.status, 202);
    }
    let body = json!({ "channel": "email", "destination": random_email() });
    let bad = [
        ("authorization", bearer.as_str()),
        ("x-end-user-ip", "not-an-ip"),
    ];
    let answer = app.call("POST", "/v1/otp/send", &bad, Some(&body)).await;
    assert_eq!((answer.status, answer.error()), (400, "invalid_request"));
}

#[tokio::test]
async fn a_publishable_key_s_end_user_is_the_connection_whatever_the_header_says() {
    let app = spawn_app_with(Rules {
        max_sends_per_ip_per_hour: 2,
        ..Rules::default()
    })
    .await;
    let key = app.tenants.key("acme", KeyKind::Publishable).await;
    let bearer = format!("Bearer {}", key.expose());
    let mut statuses = Vec::new();
    for i in 0..3 {
        let claimed = format!("198.51.100.{i}");
        let headers = [
            ("authorization", bearer.as_str()),
            ("origin", TEST_ORIGIN),
            ("x-end-user-ip", claimed.as_str()),
        ];
        let body = json!({ "channel": "email", "destination": random_email() });
        statuses.push(
            app.call("POST", "/v1/otp/send", &headers, Some(&body))
                .await
                .status,
        );
    }
    assert_eq!(
        statuses,
        [202, 202, 429],
        "the loopback address was counted, not the header"
    );
}
