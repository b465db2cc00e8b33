use crate::helpers::{random_email, random_phone, spawn_app, spawn_app_with};
use common::config::Rules;
use worker::metrics::Metric;

#[tokio::test]
async fn an_email_code_is_delivered_verified_once_and_shown_as_verified() {
    let app = spawn_app().await;
    let to = random_email();
    let sent = app.send_email(&to).await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    assert_eq!(sent.body["channel"], "email");
    assert_eq!(sent.body["expires_in"], 600);
    assert_eq!(sent.body["resend_after"], 30);
    let id = sent.otp_id();
    assert_eq!(app.status(&id).await.body["delivery"], "queued");

    assert_eq!(app.deliver_all().await[Metric::Sent], 1);
    let messages = app.outbox(&to).await;
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("Acme") && messages[0].contains("10 minutes"),
        "{}",
        messages[0]
    );
    let code = app.code_for(&to).await;

    let status = app.status(&id).await;
    assert_eq!(status.body["status"], "pending");
    assert_eq!(status.body["delivery"], "sent");
    let first = to.chars().next().unwrap();
    assert_eq!(
        status.body["destination"],
        format!("{first}***@example.com")
    );

    let verified = app.verify(&id, &code).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    assert_eq!(verified.body["verified"], true);
    assert_eq!(verified.body["otp_id"], id.as_str());
    let again = app.verify(&id, &code).await;
    assert_eq!((again.status, again.error()), (409, "already_verified"));
    let status = app.status(&id).await;
    assert_eq!(status.body["status"], "verified");
    assert_eq!(status.body["delivery"], "sent");
}

#[tokio::test]
async fn an_sms_code_is_delivered_and_verified() {
    let app = spawn_app().await;
    let to = random_phone();
    let sent = app.send_sms(&to).await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    let id = sent.otp_id();
    app.deliver_all().await;
    let code = app.code_for(&to).await;
    let status = app.status(&id).await;
    assert_eq!(status.body["delivery"], "sent");
    let masked = status.body["destination"].as_str().unwrap().to_owned();
    assert!(
        masked.starts_with(&to[..5])
            && masked.ends_with(&to[to.len() - 2..])
            && masked.contains("****"),
        "{masked}"
    );
    assert_eq!(app.verify(&id, &code).await.status, 200);
    assert_eq!(app.verify(&id, &code).await.status, 409);
    assert_eq!(app.status(&id).await.body["status"], "verified");
}

#[tokio::test]
async fn resend_delivers_the_same_code_again() {
    let app = spawn_app_with(Rules {
        resend_cooldown_seconds: 0,
        ..Rules::default()
    })
    .await;
    let to = random_phone();
    let id = app.send_sms(&to).await.otp_id();
    app.deliver_all().await;
    let resent = app.resend(&id).await;
    assert_eq!(resent.status, 202, "{:?}", resent.body);
    assert_eq!(resent.otp_id(), id);
    app.deliver_all().await;
    let messages = app.outbox(&to).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0], messages[1], "the resend carries the same code");
    assert_eq!(app.status(&id).await.body["sends"], 2);
    // The first message's code works.
    let code = crate::helpers::extract_code(&messages[0], 6).unwrap();
    assert_eq!(app.verify(&id, &code).await.status, 200);
    // Nothing is resent once verified.
    let late = app.resend(&id).await;
    assert_eq!((late.status, late.error()), (409, "already_verified"));
}

#[tokio::test]
async fn a_job_that_outlives_its_code_is_dropped_not_sent() {
    let app = spawn_app().await;
    let to = random_email();
    let id = app.send_email(&to).await.otp_id();
    app.clock.advance(601);
    let counts = app.deliver_all().await;
    assert_eq!(counts[Metric::Dropped], 1, "{counts:?}");
    assert!(
        app.outbox(&to).await.is_empty(),
        "an expired code was delivered"
    );
    let status = app.status(&id).await;
    assert_eq!(status.body["status"], "expired");
    assert_eq!(status.body["delivery"], "dropped");
}

#[tokio::test]
async fn a_verified_code_is_not_delivered_again_by_a_late_duplicate_job() {
    let app = spawn_app_with(Rules {
        resend_cooldown_seconds: 0,
        ..Rules::default()
    })
    .await;
    let to = random_email();
    let id = app.send_email(&to).await.otp_id();
    app.deliver_all().await;
    assert_eq!(app.resend(&id).await.status, 202);
    // The user verifies with the first message before the resend job is processed.
    let code = app.code_for(&to).await;
    assert_eq!(app.verify(&id, &code).await.status, 200);
    let counts = app.deliver_all().await;
    assert_eq!(counts[Metric::Skipped], 1, "{counts:?}");
    assert_eq!(app.outbox(&to).await.len(), 1);
}
