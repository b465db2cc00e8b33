use crate::helpers::{random_email, random_phone, spawn_app, spawn_app_with};
use common::config::Rules;

#[tokio::test]
async fn a_destination_waits_out_the_cooldown() {
    let app = spawn_app().await;
    let to = random_email();
    assert_eq!(app.send_email(&to).await.status, 202);
    let again = app.send_email(&to).await;
    assert_eq!((again.status, again.error()), (429, "rate_limited"));
    assert_eq!(again.body["limit"], "destination_cooldown");
    let wait = again.retry_after().expect("Retry-After header");
    assert!((1..=30).contains(&wait), "{wait}");
    assert_eq!(again.body["retry_after"], wait);
    // Case variants of the same mailbox share the limit.
    let shouted = app
        .send_email(&to.to_uppercase().replace("EXAMPLE.COM", "example.com"))
        .await;
    assert_eq!(shouted.status, 429);
    // Another destination is not affected.
    assert_eq!(app.send_email(&random_email()).await.status, 202);
}

#[tokio::test]
async fn a_destination_gets_at_most_the_hourly_number_of_sends() {
    let app = spawn_app_with(Rules {
        resend_cooldown_seconds: 0,
        max_sends_per_hour: 3,
        ..Rules::default()
    })
    .await;
    let to = random_phone();
    for _ in 0..3 {
        assert_eq!(app.send_sms(&to).await.status, 202);
    }
    let refused = app.send_sms(&to).await;
    assert_eq!((refused.status, refused.error()), (429, "rate_limited"));
    assert_eq!(refused.body["limit"], "destination_hourly");
    let wait = refused.retry_after().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
}

#[tokio::test]
async fn a_client_ip_gets_at_most_its_hourly_number_of_sends() {
    let app = spawn_app_with(Rules {
        max_sends_per_ip_per_hour: 3,
        ..Rules::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.send_email(&random_email()).await.status, 202);
    }
    let refused = app.send_email(&random_email()).await;
    assert_eq!((refused.status, refused.error()), (429, "rate_limited"));
    assert_eq!(refused.body["limit"], "ip_hourly");
    assert!(
        refused
            .retry_after()
            .is_some_and(|s| (1..=3600).contains(&s))
    );
}

#[tokio::test]
async fn one_otp_is_sent_at_most_max_sends_per_otp_times_and_waiting_does_not_help() {
    let app = spawn_app_with(Rules {
        resend_cooldown_seconds: 0,
        max_sends_per_otp: 3,
        ..Rules::default()
    })
    .await;
    let id = app.send_email(&random_email()).await.otp_id();
    assert_eq!(app.resend(&id).await.status, 202);
    assert_eq!(app.resend(&id).await.status, 202);
    let refused = app.resend(&id).await;
    assert_eq!((refused.status, refused.error()), (429, "rate_limited"));
    assert_eq!(refused.body["limit"], "otp_sends");
    assert_eq!(refused.retry_after(), None);
    assert_eq!(app.status(&id).await.body["sends"], 3);
}

#[tokio::test]
async fn resend_respects_the_destination_cooldown() {
    let app = spawn_app().await;
    let id = app.send_email(&random_email()).await.otp_id();
    let refused = app.resend(&id).await;
    assert_eq!((refused.status, refused.error()), (429, "rate_limited"));
    assert!(refused.retry_after().is_some_and(|s| (1..=30).contains(&s)));
    assert_eq!(app.status(&id).await.body["sends"], 1);
}
