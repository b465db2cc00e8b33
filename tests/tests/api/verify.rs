use crate::helpers::{spawn_app, spawn_app_with, wrong_code};
use common::config::Rules;
use tests::fault_proxy::{Fault, Target};

#[tokio::test]
async fn wrong_codes_count_down_then_lock_even_against_the_right_code() {
    let app = spawn_app().await;
    let (id, code) = app.issue_email().await;
    let wrong = wrong_code(&code);
    for remaining in (0..5).rev() {
        let answer = app.verify(&id, &wrong).await;
        assert_eq!((answer.status, answer.error()), (422, "invalid_code"));
        assert_eq!(answer.body["attempts_remaining"], remaining);
    }
    let locked = app.verify(&id, &wrong).await;
    assert_eq!((locked.status, locked.error()), (429, "too_many_attempts"));
    assert_eq!(locked.retry_after(), None, "waiting does not unlock an OTP");
    let right = app.verify(&id, &code).await;
    assert_eq!((right.status, right.error()), (429, "too_many_attempts"));
    let status = app.status(&id).await;
    assert_eq!(status.body["status"], "locked");
    assert_eq!(status.body["attempts_remaining"], 0);
}

#[tokio::test]
async fn an_expired_code_is_refused_while_its_record_is_still_stored() {
    let app = spawn_app_with(Rules {
        ttl_seconds: 60,
        ..Rules::default()
    })
    .await;
    let (id, code) = app.issue_email().await;
    app.clock.advance(61);
    let answer = app.verify(&id, &code).await;
    assert_eq!((answer.status, answer.error()), (410, "expired"));
    assert!(
        app.raw_record(&id).await.is_some(),
        "the record is still in DynamoDB (TTL has not run)"
    );
    assert_eq!(app.status(&id).await.body["status"], "expired");
    let resend = app.resend(&id).await;
    assert_eq!((resend.status, resend.error()), (410, "expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_parallel_right_code_verifies_exactly_one_succeeds() {
    let app = spawn_app().await;
    let (id, code) = app.issue_email().await;
    let answers = futures::future::join_all((0..12).map(|_| app.verify(&id, &code))).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let conflicts = answers.iter().filter(|a| a.status == 409).count();
    assert_eq!(
        (ok, conflicts),
        (1, 11),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
}

/// `n` distinct wrong codes for `code`.
fn wrong_codes(code: &str, n: u32) -> Vec<String> {
    let value: u32 = code.parse().unwrap();
    (1..=n)
        .map(|i| format!("{:06}", (value + i) % 1_000_000))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_guesses_get_exactly_the_allowed_evaluations() {
    let app = spawn_app().await;
    let (id, code) = app.issue_email().await;
    let guesses = wrong_codes(&code, 30);
    let answers = futures::future::join_all(guesses.iter().map(|g| app.verify(&id, g))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 422).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.error() == "too_many_attempts")
            .count(),
        25,
        "{statuses:?}"
    );
    let mut remaining: Vec<u64> = answers
        .iter()
        .filter(|a| a.status == 422)
        .map(|a| a.body["attempts_remaining"].as_u64().unwrap())
        .collect();
    remaining.sort_unstable();
    assert_eq!(
        remaining,
        [0, 1, 2, 3, 4],
        "each counted guess saw its own count"
    );
    // The burst used every attempt: the right code is no longer evaluated.
    assert_eq!(app.verify(&id, &code).await.error(), "too_many_attempts");
    assert_eq!(
        app.raw_record(&id).await.unwrap()["attempts"]
            .as_n()
            .unwrap(),
        "5"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_parallel_burst_with_the_right_code_in_it_is_still_capped() {
    let app = spawn_app().await;
    let (id, code) = app.issue_email().await;
    let mut guesses = wrong_codes(&code, 30);
    guesses.push(code.clone());
    let answers = futures::future::join_all(guesses.iter().map(|g| app.verify(&id, g))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    // The stored counter is the number of guesses evaluated: capped at 5 whatever the timing.
    assert_eq!(
        app.raw_record(&id).await.unwrap()["attempts"]
            .as_n()
            .unwrap(),
        "5",
        "{statuses:?}"
    );
    let wrong = statuses.iter().filter(|&&s| s == 422).count();
    let right = statuses.iter().filter(|&&s| s == 200).count();
    assert!(right <= 1 && wrong + right <= 5, "{statuses:?}");
    if right == 0 {
        // The right code came too late: five wrong guesses locked the OTP first.
        assert_eq!(wrong, 5, "{statuses:?}");
        assert_eq!(app.status(&id).await.body["status"], "locked");
    } else {
        assert_eq!(app.status(&id).await.body["status"], "verified");
    }
}

#[tokio::test]
async fn verify_of_an_unknown_otp_is_404() {
    let app = spawn_app().await;
    let answer = app
        .verify(&uuid::Uuid::new_v4().to_string(), "123456")
        .await;
    assert_eq!((answer.status, answer.error()), (404, "not_found"));
    let status = app.status(&uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(status.status, 404);
}

#[tokio::test]
async fn a_verify_whose_answer_was_lost_is_retried_and_still_wins() {
    let app = spawn_app().await;
    let (id, code) = app.issue_email().await;
    // DynamoDB applies the verify, then the answer is lost: the SDK retries the same request.
    app.proxy
        .next(Target::Dynamo("UpdateItem"), Fault::ApplyThenFail, 1);
    let before = app.proxy.calls("dynamodb:UpdateItem");
    let answer = app.verify(&id, &code).await;
    assert_eq!(
        app.proxy.calls("dynamodb:UpdateItem") - before,
        2,
        "the SDK retried once"
    );
    assert_eq!(
        answer.status, 200,
        "the retry must recognise its own win: {:?}",
        answer.body
    );
    let again = app.verify(&id, &code).await;
    assert_eq!(again.status, 409);
}
