//! One live code per destination, verify by destination, cancel and `verified_at`, on the
//! in-memory store (which calls the same lifecycle rules the DynamoDB conditions express).

use super::*;

fn no_cooldown() -> Harness {
    harness_with(Rules {
        resend_cooldown_seconds: 0,
        ..Rules::default()
    })
}

#[tokio::test]
async fn a_send_while_a_code_is_pending_resends_that_code_and_counts_as_a_resend() {
    let h = no_cooldown();
    let first = h.send(JANE).await;
    let again = h.send(JANE).await;
    assert_eq!(again.otp_id, first.otp_id);
    assert_eq!(h.store.len(), 1, "one live code per destination");
    assert_eq!(h.record(first.otp_id).sends, 2);
    let jobs = h.queue.drain();
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        jobs[0].slot, jobs[1].slot,
        "the same code is delivered again"
    );
    assert_eq!(jobs[1].send, 2);
    // A case variant of the mailbox is the same destination; another channel is not.
    assert_eq!(h.send("Jane.Doe@EXAMPLE.com").await.otp_id, first.otp_id);
}

#[tokio::test]
async fn a_send_while_pending_obeys_the_cooldown_and_the_per_otp_cap() {
    let h = harness();
    h.send(JANE).await;
    let limit = expect_rate_limited(h.service.send(&h.caller, to(JANE)).await);
    assert_eq!(limit.scope, LimitScope::DestinationCooldown);

    let h = harness_with(Rules {
        resend_cooldown_seconds: 0,
        max_sends_per_otp: 2,
        ..Rules::default()
    });
    let id = h.send(JANE).await.otp_id;
    assert_eq!(h.send(JANE).await.otp_id, id);
    let limit = expect_rate_limited(h.service.send(&h.caller, to(JANE)).await);
    assert_eq!(
        (limit.scope, limit.retry_after),
        (LimitScope::OtpSends, None)
    );
}

#[tokio::test]
async fn once_the_code_is_verified_locked_canceled_or_expired_a_send_makes_a_new_one() {
    let h = no_cooldown();
    let verified = h.send(JANE).await.otp_id;
    h.service
        .verify(&h.caller, verified, &h.code_of(verified))
        .await
        .unwrap();
    let canceled = h.send(JANE).await.otp_id;
    assert_ne!(canceled, verified);
    h.service.cancel(&h.caller, canceled).await.unwrap();
    let locked = h.send(JANE).await.otp_id;
    assert_ne!(locked, canceled);
    let bad = wrong(&h.code_of(locked));
    for _ in 0..5 {
        let _ = h.service.verify(&h.caller, locked, &bad).await;
    }
    let expired = h.send(JANE).await.otp_id;
    assert_ne!(expired, locked);
    h.clock.advance(h.service.rules.ttl_seconds);
    let fresh = h.send(JANE).await.otp_id;
    assert_ne!(fresh, expired);
    assert_eq!(h.store.len(), 5);
}

#[tokio::test]
async fn an_idempotency_key_replays_its_own_first_answer_even_when_that_was_a_resend() {
    let h = no_cooldown();
    let id = h.send(JANE).await.otp_id;
    let keyed = h
        .service
        .send(&h.caller, with_key(JANE, "k-1"))
        .await
        .unwrap();
    assert_eq!(keyed.otp_id, id);
    let replay = h
        .service
        .send(&h.caller, with_key(JANE, "k-1"))
        .await
        .unwrap();
    assert_eq!(replay.otp_id, id);
    assert_eq!(h.record(id).sends, 2, "a replay sends nothing");
    assert_eq!(h.queue.drain().len(), 2);
}

#[tokio::test]
async fn verify_by_destination_counts_guesses_on_the_live_code_like_verify_by_id() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    let code = h.code_of(id);
    let found = h.service.live_otp(&h.caller, &email(JANE)).await.unwrap();
    assert_eq!(found, id);
    assert!(matches!(
        h.service.verify(&h.caller, found, &wrong(&code)).await,
        Err(ApiError::InvalidCode {
            attempts_remaining: 4
        })
    ));
    assert_eq!(h.record(id).attempts, 1);
    // Another tenant has no live code for that destination.
    assert!(matches!(
        h.service.live_otp(&caller("other"), &email(JANE)).await,
        Err(ApiError::NotFound)
    ));
    assert!(matches!(
        h.service
            .live_otp(&h.caller, &email("nobody@example.com"))
            .await,
        Err(ApiError::NotFound)
    ));
}

#[tokio::test]
async fn cancel_makes_verify_and_resend_gone_and_status_canceled() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    let code = h.code_of(id);
    let answer = h.service.cancel(&h.caller, id).await.unwrap();
    assert_eq!((answer.otp_id, answer.status), (id, "canceled"));
    // Repeating it answers the same.
    assert_eq!(h.service.cancel(&h.caller, id).await.unwrap(), answer);
    assert!(matches!(
        h.service.verify(&h.caller, id, &code).await,
        Err(ApiError::Canceled)
    ));
    assert_eq!(
        h.record(id).attempts,
        0,
        "a guess at a canceled code is not counted"
    );
    h.clock.advance(h.service.rules.resend_cooldown_seconds);
    assert!(matches!(
        h.service.resend(&h.caller, id, None).await,
        Err(ApiError::Canceled)
    ));
    let status = h.service.status(&h.caller, id).await.unwrap();
    assert_eq!((status.status, status.verified_at), ("canceled", None));
}

#[tokio::test]
async fn cancel_of_a_verified_otp_is_already_verified_and_another_tenant_s_is_not_found() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    assert!(matches!(
        h.service.cancel(&caller("other"), id).await,
        Err(ApiError::NotFound)
    ));
    assert_eq!(
        h.record(id).canceled_at,
        None,
        "another tenant's cancel wrote nothing"
    );
    h.service
        .verify(&h.caller, id, &h.code_of(id))
        .await
        .unwrap();
    assert!(matches!(
        h.service.cancel(&h.caller, id).await,
        Err(ApiError::AlreadyVerified)
    ));
    assert_eq!(
        h.service.status(&h.caller, id).await.unwrap().status,
        "verified"
    );
}

#[tokio::test]
async fn status_shows_verified_at_once_verified() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    assert_eq!(
        h.service.status(&h.caller, id).await.unwrap().verified_at,
        None
    );
    h.clock.advance(7);
    let now = h.clock.now();
    h.service
        .verify(&h.caller, id, &h.code_of(id))
        .await
        .unwrap();
    assert_eq!(
        h.service.status(&h.caller, id).await.unwrap().verified_at,
        Some(rfc3339(now))
    );
}
