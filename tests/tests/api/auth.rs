//! The key check: who may call `/v1`, and with which key. Every refusal is checked on every
//! endpoint it applies to, against the real store (moto) behind the API.

use crate::helpers::{Answer, TEST_ORIGIN, TestApp, random_email, spawn_app};
use common::tenant::{KeyKind, TenantId, TenantStore};
use serde_json::{Value, json};

/// One request to each `/v1` endpoint, with `headers` only, about a real OTP.
async fn each_endpoint(app: &TestApp, headers: &[(&str, &str)]) -> Vec<(&'static str, Answer)> {
    let id = app.send_email(&random_email()).await.otp_id();
    let send = json!({ "channel": "email", "destination": random_email() });
    let verify = json!({ "otp_id": id, "code": "123456" });
    let json_headers: Vec<(&str, &str)> = headers
        .iter()
        .copied()
        .chain([("content-type", "application/json")])
        .collect();
    let resend_path = format!("/v1/otp/{id}/resend");
    let status_path = format!("/v1/otp/{id}");
    let call = |method: &'static str, path: String, body: Option<Value>| {
        let headers = if body.is_some() {
            json_headers.clone()
        } else {
            headers.to_vec()
        };
        async move { app.call(method, &path, &headers, body.as_ref()).await }
    };
    vec![
        (
            "send",
            call("POST", "/v1/otp/send".into(), Some(send)).await,
        ),
        (
            "verify",
            call("POST", "/v1/otp/verify".into(), Some(verify)).await,
        ),
        ("resend", call("POST", resend_path, None).await),
        ("status", call("GET", status_path, None).await),
    ]
}

fn assert_unauthorized(answers: Vec<(&str, Answer)>, case: &str) {
    for (endpoint, answer) in answers {
        assert_eq!(answer.status, 401, "{case}: {endpoint}: {:?}", answer.body);
        assert_eq!(answer.error(), "unauthorized", "{case}: {endpoint}");
        assert_eq!(
            answer.headers["www-authenticate"], "Bearer",
            "{case}: {endpoint}"
        );
    }
}

#[tokio::test]
async fn every_endpoint_refuses_a_missing_malformed_unknown_or_revoked_key_and_a_disabled_tenant() {
    let app = spawn_app().await;
    assert_unauthorized(each_endpoint(&app, &[]).await, "no key");
    assert_unauthorized(
        each_endpoint(&app, &[("authorization", "Bearer not-a-key")]).await,
        "malformed",
    );
    assert_unauthorized(
        each_endpoint(
            &app,
            &[("authorization", &format!("Basic {}", app.api_key))],
        )
        .await,
        "another scheme",
    );
    let stranger = common::tenant::ApiKey::generate(KeyKind::Server);
    let stranger = format!("Bearer {}", stranger.expose());
    assert_unauthorized(
        each_endpoint(&app, &[("authorization", &stranger)]).await,
        "unknown",
    );

    // Revoked and disabled before their first use: no cached answer stands in between.
    let revoked = app.tenants.key("acme", KeyKind::Server).await;
    let acme = TenantId::parse("acme").unwrap();
    app.tenants
        .store
        .revoke_key(&acme, &revoked.id(), 1)
        .await
        .unwrap();
    let revoked = format!("Bearer {}", revoked.expose());
    assert_unauthorized(
        each_endpoint(&app, &[("authorization", &revoked)]).await,
        "revoked",
    );

    app.tenants.create("dormant", |p| p.disabled = true).await;
    let dormant = app.tenants.key("dormant", KeyKind::Server).await;
    let dormant = format!("Bearer {}", dormant.expose());
    assert_unauthorized(
        each_endpoint(&app, &[("authorization", &dormant)]).await,
        "disabled tenant",
    );

    // Public paths stay public, unknown ones keep their 404 and 405.
    assert_eq!(app.call("GET", "/health", &[], None).await.status, 200);
    assert_eq!(
        app.call("GET", "/openapi.json", &[], None).await.status,
        200
    );
    assert_eq!(app.call("GET", "/v1/nothing", &[], None).await.status, 404);
    assert_eq!(
        app.call("DELETE", "/v1/otp/send", &[], None).await.status,
        405
    );
}

#[tokio::test]
async fn a_publishable_key_works_from_its_origins_only_and_never_on_status() {
    let app = spawn_app().await;
    let key = app.tenants.key("acme", KeyKind::Publishable).await;
    let bearer = format!("Bearer {}", key.expose());
    let body = json!({ "channel": "email", "destination": random_email() });
    let json = ("content-type", "application/json");

    let from_ours = [
        ("authorization", bearer.as_str()),
        ("origin", TEST_ORIGIN),
        json,
    ];
    let sent = app
        .call("POST", "/v1/otp/send", &from_ours, Some(&body))
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    assert_eq!(sent.headers["access-control-allow-origin"], TEST_ORIGIN);
    let id = sent.otp_id();

    let foreign = [
        ("authorization", bearer.as_str()),
        ("origin", "https://evil.example"),
        json,
    ];
    let answer = app
        .call("POST", "/v1/otp/send", &foreign, Some(&body))
        .await;
    assert_eq!((answer.status, answer.error()), (403, "forbidden"));
    assert!(answer.headers.get("access-control-allow-origin").is_none());
    let verify = json!({ "otp_id": id, "code": "123456" });
    let answer = app
        .call("POST", "/v1/otp/verify", &foreign, Some(&verify))
        .await;
    assert_eq!((answer.status, answer.error()), (403, "forbidden"));
    let no_origin = [("authorization", bearer.as_str()), json];
    let answer = app
        .call("POST", "/v1/otp/send", &no_origin, Some(&body))
        .await;
    assert_eq!((answer.status, answer.error()), (403, "forbidden"));

    let status = [("authorization", bearer.as_str()), ("origin", TEST_ORIGIN)];
    let answer = app
        .call("GET", &format!("/v1/otp/{id}"), &status, None)
        .await;
    assert_eq!((answer.status, answer.error()), (403, "forbidden"));
    let head = reqwest::Client::new()
        .head(app.url(&format!("/v1/otp/{id}")))
        .header("authorization", &bearer)
        .header("origin", TEST_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 403, "HEAD is a status read too");
    // The same OTP's status is the backend's to read, with its server key.
    assert_eq!(app.status(&id).await.status, 200);
}

#[tokio::test]
async fn a_body_must_be_declared_as_json() {
    let app = spawn_app().await;
    let bearer = format!("Bearer {}", app.api_key);
    let body = json!({ "channel": "email", "destination": random_email() }).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        for path in ["/v1/otp/send", "/v1/otp/verify"] {
            let mut request = reqwest::Client::new()
                .post(app.url(path))
                .header("authorization", &bearer)
                .body(body.clone());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 415, "{path} {content_type:?}");
            let answer: Value = response.json().await.unwrap();
            assert_eq!(answer["error"], "unsupported_media_type");
        }
    }
    // A resend has no body, and needs no Content-Type.
    let id = app.send_email(&random_email()).await.otp_id();
    app.clock.advance(app.rules.resend_cooldown_seconds);
    let resent = app
        .call(
            "POST",
            &format!("/v1/otp/{id}/resend"),
            &[("authorization", &bearer)],
            None,
        )
        .await;
    assert_eq!(resent.status, 202, "{:?}", resent.body);
}

#[tokio::test]
async fn a_cors_preflight_is_answered_for_a_listed_origin_only() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str, path: &'static str| {
        let url = app.url(path);
        async move {
            reqwest::Client::new()
                .request(reqwest::Method::OPTIONS, url)
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
                .send()
                .await
                .unwrap()
        }
    };
    for path in ["/v1/otp/send", "/v1/otp/verify"] {
        let allowed = preflight(TEST_ORIGIN, path).await;
        assert_eq!(allowed.status().as_u16(), 204, "{path}");
        let headers = allowed.headers();
        assert_eq!(headers["access-control-allow-origin"], TEST_ORIGIN);
        assert_eq!(headers["access-control-allow-methods"], "POST");
        let allowed_headers = headers["access-control-allow-headers"].to_str().unwrap();
        assert!(
            allowed_headers.contains("authorization") && allowed_headers.contains("content-type")
        );

        let refused = preflight("https://evil.example", path).await;
        assert_eq!(refused.status().as_u16(), 403, "{path}");
        assert!(
            refused
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"], "forbidden");
    }
    // An origin a tenant adds is answered too (a new tenant: nothing cached for it yet).
    app.tenants
        .create("shop", |p| {
            p.set_origins([common::tenant::Origin::parse("https://shop.example").unwrap()])
        })
        .await;
    assert_eq!(
        preflight("https://shop.example", "/v1/otp/send")
            .await
            .status()
            .as_u16(),
        204
    );
}
