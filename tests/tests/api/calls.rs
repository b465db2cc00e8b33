//! AWS calls per operation, counted at the HTTP level by the proxy every app call goes through.
//! Each call costs latency on the request path and money at scale: a change that adds one fails
//! here, and the table in docs/benchmarks.md must change with it.

use crate::helpers::{TestApp, random_email, random_phone, spawn_app, spawn_app_with, wrong_code};
use crate::live_codes::{cancel, verify_at};
use common::config::Rules;
use std::collections::BTreeMap;
use tests::fault_proxy::{Fault, Target};
use tokio_util::sync::CancellationToken;

/// The calls `action` made, by `service:operation`.
pub(crate) async fn calls_of<F: std::future::Future>(
    app: &TestApp,
    action: F,
) -> BTreeMap<String, u64> {
    let before = app.proxy.all_calls();
    action.await;
    app.proxy
        .all_calls()
        .into_iter()
        .filter_map(|(op, n)| {
            let made = n - before.get(&op).copied().unwrap_or(0);
            (made > 0).then_some((op, made))
        })
        .collect()
}

pub(crate) fn expect(calls: &[(&str, u64)]) -> BTreeMap<String, u64> {
    calls.iter().map(|(op, n)| ((*op).to_owned(), *n)).collect()
}

/// One receive of the worker, as the polling loop does it.
async fn poll(app: &TestApp) {
    app.poller
        .poll_once(10, &CancellationToken::new(), 1)
        .await
        .expect("worker poll");
}

#[tokio::test]
async fn each_operation_makes_exactly_its_documented_aws_calls() {
    let app = spawn_app().await;
    let to = random_email();

    let mut otp_id = String::new();
    let send = calls_of(&app, async {
        let answer = app.send_email(&to).await;
        assert_eq!(answer.status, 202, "{:?}", answer.body);
        otp_id = answer.otp_id();
    })
    .await;
    assert_eq!(
        send,
        expect(&[("dynamodb:TransactWriteItems", 1), ("sqs:SendMessage", 1)]),
        "send"
    );

    let delivered = calls_of(&app, poll(&app)).await;
    assert_eq!(
        delivered,
        expect(&[
            ("dynamodb:UpdateItem", 2), // claim, result
            ("sesv2:SendEmail", 1),
            ("sqs:DeleteMessageBatch", 1),
            ("sqs:ReceiveMessage", 1),
        ]),
        "one delivered job"
    );
    let code = app.code_for(&to).await;

    let status = calls_of(&app, async {
        assert_eq!(app.status(&otp_id).await.status, 200);
    })
    .await;
    assert_eq!(status, expect(&[("dynamodb:GetItem", 1)]), "status");

    let wrong = calls_of(&app, async {
        assert_eq!(app.verify(&otp_id, &wrong_code(&code)).await.status, 422);
    })
    .await;
    // The guess on the record, then its count against the destination's hourly guess budget
    // (`lifecycle::guesses`); a right guess stays one call.
    assert_eq!(wrong, expect(&[("dynamodb:UpdateItem", 2)]), "wrong code");

    app.clock.advance(app.rules.resend_cooldown_seconds + 1);
    let resend = calls_of(&app, async {
        let answer = app.resend(&otp_id).await;
        assert_eq!(answer.status, 202, "{:?}", answer.body);
    })
    .await;
    assert_eq!(
        resend,
        expect(&[
            ("dynamodb:GetItem", 1),
            ("dynamodb:TransactWriteItems", 1),
            ("sqs:SendMessage", 1),
        ]),
        "resend"
    );

    let right = calls_of(&app, async {
        assert_eq!(app.verify(&otp_id, &code).await.status, 200);
    })
    .await;
    assert_eq!(right, expect(&[("dynamodb:UpdateItem", 1)]), "right code");

    // The resend's job finds the code used: one claim attempt, nothing sent.
    let skipped = calls_of(&app, poll(&app)).await;
    assert_eq!(
        skipped,
        expect(&[
            ("dynamodb:UpdateItem", 1),
            ("sqs:DeleteMessageBatch", 1),
            ("sqs:ReceiveMessage", 1),
        ]),
        "a job for a verified code"
    );
}

/// Issue 14's checks on a number (libphonenumber's metadata, the tenant's countries and kinds of
/// line) are made in the process: an SMS send is still one transaction and one message, and a
/// refused number costs no AWS call at all.
#[tokio::test]
async fn an_sms_send_makes_the_same_calls_and_a_refused_number_none() {
    let app = spawn_app().await;
    let send = calls_of(&app, async {
        let answer = app.send_sms(&random_phone()).await;
        assert_eq!(answer.status, 202, "{:?}", answer.body);
    })
    .await;
    assert_eq!(
        send,
        expect(&[("dynamodb:TransactWriteItems", 1), ("sqs:SendMessage", 1)]),
        "sms send"
    );
    let refused = calls_of(&app, async {
        assert_eq!(app.send_sms("+449091234567").await.status, 403);
        assert_eq!(app.send_sms("+4915123456789").await.status, 403);
    })
    .await;
    assert_eq!(refused, expect(&[]), "refused numbers");
}

#[tokio::test]
async fn a_throttled_retry_costs_one_claim_and_no_release() {
    let app = spawn_app().await;
    let to = random_email();
    assert_eq!(app.send_email(&to).await.status, 202);
    // Throttled through all of the SDK's own attempts (3, standard mode): the worker retries.
    app.proxy.next(Target::SesSend, Fault::SesThrottled, 3);

    let throttled = calls_of(&app, poll(&app)).await;
    assert_eq!(
        throttled,
        expect(&[
            ("dynamodb:UpdateItem", 1), // the claim, kept for the next receive
            ("sesv2:SendEmail", 3),
            ("sqs:ChangeMessageVisibilityBatch", 1),
            ("sqs:ReceiveMessage", 1),
        ]),
        "a throttled attempt"
    );

    // The retry comes back within the claim's lease and takes it over: no waiting, no release.
    let retried = calls_of(&app, app.drain(std::time::Duration::from_secs(30))).await;
    assert_eq!(retried.get("dynamodb:UpdateItem"), Some(&2), "{retried:?}");
    assert_eq!(retried.get("sesv2:SendEmail"), Some(&1), "{retried:?}");
    assert_eq!(app.outbox(&to).await.len(), 1);
}

/// A send to a destination whose code is pending is a resend of that code; one whose holder
/// is no longer pending (here: canceled) replaces it. Verify by destination reads the pointer
/// first; cancel is one write.
#[tokio::test]
async fn live_codes_verify_by_destination_and_cancel_make_their_documented_calls() {
    let app = spawn_app_with(Rules {
        resend_cooldown_seconds: 0,
        ..Rules::default()
    })
    .await;
    let to = random_email();
    let id = app.send_email(&to).await.otp_id();

    let pending = calls_of(&app, async {
        let answer = app.send_email(&to).await;
        assert_eq!((answer.status, answer.otp_id()), (202, id.clone()));
    })
    .await;
    assert_eq!(
        pending,
        expect(&[
            ("dynamodb:TransactWriteItems", 2), // refused create (the pointer is held), resend
            ("dynamodb:GetItem", 1),            // the OTP the pointer names
            ("sqs:SendMessage", 1),
        ]),
        "send while a code is pending"
    );

    let mut status = 0;
    let by_destination = calls_of(&app, async {
        let answer = verify_at(&app, "email", &to, "000000").await;
        assert!(matches!(answer.status, 200 | 422), "{:?}", answer.body);
        status = answer.status;
    })
    .await;
    // A wrong code is also counted against the destination's guess budget, as by id.
    let writes = if status == 422 { 2 } else { 1 };
    assert_eq!(
        by_destination,
        expect(&[("dynamodb:GetItem", 1), ("dynamodb:UpdateItem", writes)]),
        "verify by destination: the pointer, then the one counted write"
    );

    let canceled = calls_of(&app, async {
        assert_eq!(cancel(&app, &id).await.status, 200);
    })
    .await;
    assert_eq!(canceled, expect(&[("dynamodb:UpdateItem", 1)]), "cancel");

    let replaced = calls_of(&app, async {
        let answer = app.send_email(&to).await;
        assert_eq!(answer.status, 202, "{:?}", answer.body);
        assert_ne!(answer.otp_id(), id);
    })
    .await;
    assert_eq!(
        replaced,
        expect(&[
            ("dynamodb:TransactWriteItems", 2), // refused create, create replacing the holder
            ("dynamodb:GetItem", 1),
            ("sqs:SendMessage", 1),
        ]),
        "send after the destination's code was canceled"
    );
}
