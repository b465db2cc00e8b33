//! Unit tests of the send / verify / resend / status rules, on the in-memory store and queue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use common::clock::ShiftedClock;
use common::domain::OtpCodeLength;
use common::lifecycle::NotAllowedReason;
use common::queue::MemoryQueue;
use common::record::DeliveryState;
use common::secret::ServiceSecret;
use common::store::MemoryStore;
use common::tenant::{
    ApiKey, Channels, CountryCode, KeyKind, Label, MemoryTenantStore, TenantId, TenantPolicy,
};
use std::net::Ipv4Addr;

const JANE: &str = "jane.doe@example.com";

struct Harness {
    service: OtpService,
    caller: Caller,
    store: Arc<MemoryStore>,
    queue: Arc<MemoryQueue>,
    keys: Arc<Keys>,
    clock: Arc<ShiftedClock>,
}

fn harness() -> Harness {
    harness_with(Rules::default())
}

fn harness_with(rules: Rules) -> Harness {
    let store = Arc::new(MemoryStore::default());
    let queue = Arc::new(MemoryQueue::default());
    let keys = Arc::new(Keys::derive(&ServiceSecret::generate()));
    let clock = Arc::new(ShiftedClock::default());
    // Hourly limits count in fixed clock-hour buckets: keep every test well inside one bucket,
    // so a test that happens to run at hh:59:59 cannot see its counters reset.
    let into_hour = clock.now().rem_euclid(3600);
    if into_hour > 3600 - 300 {
        clock.advance(600);
    }
    let tenants = Arc::new(MemoryTenantStore::new());
    let service = OtpService {
        rules,
        resolver: Arc::new(KeyResolver::new(tenants, &ServiceSecret::generate())),
        store: store.clone(),
        queue: queue.clone(),
        keys: keys.clone(),
        clock: clock.clone(),
    };
    Harness {
        service,
        caller: caller("acme"),
        store,
        queue,
        keys,
        clock,
    }
}

/// A server key of tenant `id`, which sends e-mail and SMS (to GB and US) with the deployment's
/// limits.
fn caller(id: &str) -> Caller {
    let mut policy = TenantPolicy::new(
        TenantId::parse(id).unwrap(),
        Label::parse("Acme").unwrap(),
        Channels::new([Channel::Email, Channel::Sms]).unwrap(),
        0,
    );
    policy.set_sms_countries(["GB", "US"].map(|c| CountryCode::parse(c).unwrap()));
    Caller {
        tenant: Arc::new(policy),
        key: ApiKey::generate(KeyKind::Server).id(),
        kind: KeyKind::Server,
    }
}

fn email(address: &str) -> Destination {
    Destination::parse(Channel::Email, address).unwrap()
}

fn to(address: &str) -> SendCommand {
    SendCommand {
        destination: email(address),
        locale: Locale::default(),
        client_ip: None,
        idempotency_key: None,
    }
}

fn from_ip(address: &str, last_octet: u8) -> SendCommand {
    SendCommand {
        client_ip: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, last_octet))),
        ..to(address)
    }
}

fn with_key(address: &str, key: &str) -> SendCommand {
    SendCommand {
        idempotency_key: Some(IdempotencyKey::parse(key).unwrap()),
        ..to(address)
    }
}

/// A code of the same length that differs from `code` in its last digit.
fn wrong(code: &OtpCode) -> OtpCode {
    let digits = code.expose();
    let last = digits.as_bytes()[digits.len() - 1] - b'0';
    let changed = format!("{}{}", &digits[..digits.len() - 1], (last + 1) % 10);
    OtpCode::parse(
        &changed,
        OtpCodeLength::new(u8::try_from(digits.len()).unwrap()).unwrap(),
    )
    .unwrap()
}

impl Harness {
    async fn send(&self, address: &str) -> Issued {
        self.service.send(&self.caller, to(address)).await.unwrap()
    }

    /// The code the worker would deliver for `id`, as sealed in its record.
    fn code_of(&self, id: OtpId) -> OtpCode {
        let record = self.store.record(id).expect("no record for this id");
        common::payload::open(&self.keys, id, record.channel, &record.sealed)
            .expect("the record's seal does not open with the service keys")
            .0
    }

    fn record(&self, id: OtpId) -> OtpRecord {
        self.store.record(id).expect("no record for this id")
    }
}

fn expect_rate_limited(result: Result<Issued, ApiError>) -> RateLimited {
    match result {
        Err(ApiError::RateLimited(limit)) => limit,
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

// ---- send ----

#[tokio::test]
async fn send_stores_one_record_and_enqueues_one_job_neither_holding_the_code_in_clear() {
    // Ten digits: a six-digit code could turn up by chance inside a hex digest or base64 text.
    let h = harness_with(Rules {
        code_length: OtpCodeLength::new(10).unwrap(),
        ..Rules::default()
    });

    let issued = h.send(JANE).await;

    assert_eq!(h.store.calls(), 1, "send must be one store transaction");
    assert_eq!(h.queue.calls(), 1, "send must be one enqueue");
    assert_eq!(h.store.len(), 1);
    let jobs = h.queue.drain();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    let record = h.record(issued.otp_id);
    let code = h.code_of(issued.otp_id);
    assert_eq!(code.expose().len(), 10);

    assert_eq!(job.otp_id, issued.otp_id);
    assert_eq!(job.send, 1);
    assert_eq!(job.channel, Channel::Email);
    assert_eq!(Some(&job.slot), record.code_slot.as_ref());
    assert_eq!(job.slot, h.keys.code_slot(issued.otp_id, &code));
    assert_eq!(job.to, "j***@example.com");
    assert_eq!(job.expires_at, record.expires_at);

    let record_text = format!("{record:?}");
    let job_body = job.to_body();
    for text in [&record_text, &job_body] {
        assert!(
            !text.contains(code.expose()),
            "the code is in clear: {text}"
        );
        assert!(
            !text.contains(JANE),
            "the full destination is in clear: {text}"
        );
    }

    assert_eq!(record.sends, 1);
    assert_eq!(record.attempts, 0);
    assert_eq!(record.max_attempts, 5);
    assert_eq!(record.delivery, DeliveryState::Queued);
    assert_eq!(record.expires_at - record.created_at, 600);
    assert_eq!(issued.expires_in, 600);
    assert_eq!(issued.resend_after, 30);
}

#[tokio::test]
async fn every_send_draws_its_own_id_and_code() {
    let h = harness();
    let a = h.send("a@example.com").await;
    let b = h.send("b@example.com").await;
    assert_ne!(a.otp_id, b.otp_id);
    assert_ne!(h.record(a.otp_id).code_slot, h.record(b.otp_id).code_slot);
    assert_eq!(h.store.len(), 2);
}

// ---- verify ----

#[tokio::test]
async fn the_right_code_verifies_once_and_then_reports_already_verified() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    let code = h.code_of(id);

    h.service.verify(&h.caller, id, &code).await.unwrap();
    assert!(matches!(
        h.service.verify(&h.caller, id, &code).await,
        Err(ApiError::AlreadyVerified)
    ));
    // A wrong guess after success changes nothing either.
    assert!(matches!(
        h.service.verify(&h.caller, id, &wrong(&code)).await,
        Err(ApiError::AlreadyVerified)
    ));

    let status = h.service.status(&h.caller, id).await.unwrap();
    assert_eq!(status.status, "verified");
    assert_eq!(status.attempts_remaining, 0);
    assert_eq!(
        h.record(id).code_slot,
        None,
        "verifying must consume the code"
    );
}

#[tokio::test]
async fn wrong_codes_count_down_to_zero_then_even_the_right_code_is_refused() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    let code = h.code_of(id);
    let bad = wrong(&code);

    for expected in [4, 3, 2, 1, 0] {
        match h.service.verify(&h.caller, id, &bad).await {
            Err(ApiError::InvalidCode { attempts_remaining }) => {
                assert_eq!(attempts_remaining, expected)
            }
            other => panic!("expected InvalidCode({expected}), got {other:?}"),
        }
    }
    assert!(matches!(
        h.service.verify(&h.caller, id, &bad).await,
        Err(ApiError::TooManyAttempts)
    ));
    assert!(matches!(
        h.service.verify(&h.caller, id, &code).await,
        Err(ApiError::TooManyAttempts)
    ));

    let status = h.service.status(&h.caller, id).await.unwrap();
    assert_eq!(status.status, "locked");
    assert_eq!(status.attempts_remaining, 0);
    assert_eq!(
        h.record(id).attempts,
        5,
        "refused guesses must not be counted"
    );
    assert!(
        h.record(id).code_slot.is_some(),
        "a locked code was consumed"
    );
}

#[tokio::test]
async fn a_wrong_guess_does_not_spoil_a_later_right_one() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    let code = h.code_of(id);
    assert!(matches!(
        h.service.verify(&h.caller, id, &wrong(&code)).await,
        Err(ApiError::InvalidCode {
            attempts_remaining: 4
        })
    ));
    h.service.verify(&h.caller, id, &code).await.unwrap();
}

#[tokio::test]
async fn a_code_is_bound_to_its_own_otp() {
    let h = harness();
    let first = h.send("a@example.com").await.otp_id;
    let second = h.send("b@example.com").await.otp_id;
    let first_code = h.code_of(first);
    if first_code == h.code_of(second) {
        return; // One chance in a million; the slots still differ, but the guess would be right.
    }
    assert!(matches!(
        h.service.verify(&h.caller, second, &first_code).await,
        Err(ApiError::InvalidCode { .. })
    ));
}

#[tokio::test]
async fn after_the_ttl_verify_is_expired_status_says_expired_and_the_record_stays() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    let code = h.code_of(id);

    h.clock.advance(h.service.rules.ttl_seconds);

    assert!(matches!(
        h.service.verify(&h.caller, id, &code).await,
        Err(ApiError::Expired)
    ));
    assert!(matches!(
        h.service.verify(&h.caller, id, &wrong(&code)).await,
        Err(ApiError::Expired)
    ));
    let status = h.service.status(&h.caller, id).await.unwrap();
    assert_eq!(status.status, "expired");
    let record = h
        .store
        .record(id)
        .expect("an expired record must be kept for status");
    assert_eq!(
        record.attempts, 0,
        "guesses after expiry must not be counted"
    );
    assert!(record.code_slot.is_some());
}

#[tokio::test]
async fn verify_and_status_of_an_unknown_id_are_not_found() {
    let h = harness();
    h.send(JANE).await;
    let unknown = OtpId::new_random();
    let code = OtpCode::parse("123456", OtpCodeLength::default()).unwrap();
    assert!(matches!(
        h.service.verify(&h.caller, unknown, &code).await,
        Err(ApiError::NotFound)
    ));
    assert!(matches!(
        h.service.status(&h.caller, unknown).await,
        Err(ApiError::NotFound)
    ));
    assert!(matches!(
        h.service.resend(&h.caller, unknown, None).await,
        Err(ApiError::NotFound)
    ));
}

// ---- status ----

#[tokio::test]
async fn status_shows_the_masked_destination_and_never_the_full_one() {
    let h = harness();
    let mail = h.send(JANE).await.otp_id;
    let phone = h
        .service
        .send(
            &h.caller,
            SendCommand {
                destination: Destination::parse(Channel::Sms, "+447400123456").unwrap(),
                ..to(JANE)
            },
        )
        .await
        .unwrap()
        .otp_id;

    let status = h.service.status(&h.caller, mail).await.unwrap();
    assert_eq!(status.otp_id, mail);
    assert_eq!(status.channel, Channel::Email);
    assert_eq!(status.destination, "j***@example.com");
    assert_eq!(status.status, "pending");
    assert_eq!(status.delivery, "queued");
    assert_eq!(status.attempts_remaining, 5);
    assert_eq!(status.sends, 1);
    let json = serde_json::to_string(&status).unwrap();
    assert!(!json.contains("jane.doe"), "{json}");
    assert!(!json.contains(h.code_of(mail).expose()), "{json}");

    let status = h.service.status(&h.caller, phone).await.unwrap();
    assert_eq!(status.channel, Channel::Sms);
    assert_eq!(status.destination, "+4474******56");
    let json = serde_json::to_string(&status).unwrap();
    assert!(!json.contains("400123"), "{json}");
}

// ---- rate limits ----

#[tokio::test]
async fn a_second_send_to_the_same_destination_within_the_cooldown_is_rate_limited() {
    let h = harness();
    h.send(JANE).await;

    let limit = expect_rate_limited(h.service.send(&h.caller, to(JANE)).await);
    assert_eq!(limit.scope, LimitScope::DestinationCooldown);
    let wait = limit.retry_after.expect("waiting helps for a cooldown");
    assert!((1..=30).contains(&wait), "retry_after {wait}");
    assert_eq!(h.store.len(), 1, "a refused send must not store a record");
    assert_eq!(h.queue.calls(), 1, "a refused send must not enqueue");

    // Another destination is not held up, and the same one is free once the cooldown is over.
    h.send("someone.else@example.com").await;
    h.clock.advance(30);
    h.send(JANE).await;
}

#[tokio::test]
async fn the_cooldown_applies_to_case_variants_of_one_mailbox() {
    let h = harness();
    h.send(JANE).await;
    let limit = expect_rate_limited(h.service.send(&h.caller, to("Jane.Doe@EXAMPLE.com")).await);
    assert_eq!(limit.scope, LimitScope::DestinationCooldown);
}

#[tokio::test]
async fn the_hourly_limit_per_destination_refuses_the_send_after_the_maximum() {
    let h = harness_with(Rules {
        resend_cooldown_seconds: 0,
        max_sends_per_hour: 3,
        ..Rules::default()
    });
    for _ in 0..3 {
        h.send(JANE).await;
    }

    let limit = expect_rate_limited(h.service.send(&h.caller, to(JANE)).await);
    assert_eq!(limit.scope, LimitScope::DestinationHourly);
    let wait = limit
        .retry_after
        .expect("waiting helps for an hourly limit");
    assert!((1..=3600).contains(&wait), "retry_after {wait}");
    // One live code per destination: the three sends are one OTP, delivered three times.
    assert_eq!(h.store.len(), 1);
    assert_eq!(h.queue.calls(), 3);

    h.send("someone.else@example.com").await;
}

#[tokio::test]
async fn the_hourly_limit_per_client_ip_spans_destinations() {
    let h = harness_with(Rules {
        max_sends_per_ip_per_hour: 2,
        ..Rules::default()
    });
    h.service
        .send(&h.caller, from_ip("a@example.com", 7))
        .await
        .unwrap();
    h.service
        .send(&h.caller, from_ip("b@example.com", 7))
        .await
        .unwrap();

    let limit = expect_rate_limited(h.service.send(&h.caller, from_ip("c@example.com", 7)).await);
    assert_eq!(limit.scope, LimitScope::IpHourly);
    assert!(limit.retry_after.is_some_and(|s| (1..=3600).contains(&s)));
    assert_eq!(h.store.len(), 2);

    // Another client is not held up by this one.
    h.service
        .send(&h.caller, from_ip("c@example.com", 8))
        .await
        .unwrap();
}

#[tokio::test]
async fn resends_beyond_the_per_otp_maximum_are_refused_for_good() {
    let h = harness_with(Rules {
        resend_cooldown_seconds: 0,
        max_sends_per_otp: 2,
        ..Rules::default()
    });
    let id = h.send(JANE).await.otp_id;
    h.service.resend(&h.caller, id, None).await.unwrap();

    let limit = expect_rate_limited(h.service.resend(&h.caller, id, None).await);
    assert_eq!(limit.scope, LimitScope::OtpSends);
    assert_eq!(
        limit.retry_after, None,
        "waiting does not help: a new OTP does"
    );
    assert_eq!(h.record(id).sends, 2);
    assert_eq!(h.queue.calls(), 2);
}

#[tokio::test]
async fn a_resend_within_the_cooldown_is_rate_limited() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    let limit = expect_rate_limited(h.service.resend(&h.caller, id, None).await);
    assert_eq!(limit.scope, LimitScope::DestinationCooldown);
    assert!(limit.retry_after.is_some_and(|s| (1..=30).contains(&s)));
    assert_eq!(h.record(id).sends, 1);
    assert_eq!(h.queue.calls(), 1);
}

// ---- idempotency ----

#[tokio::test]
async fn the_same_idempotency_key_and_body_return_the_first_otp_and_enqueue_nothing_more() {
    let h = harness();
    let first = h
        .service
        .send(&h.caller, with_key(JANE, "req-1"))
        .await
        .unwrap();
    let again = h
        .service
        .send(&h.caller, with_key(JANE, "req-1"))
        .await
        .unwrap();

    assert_eq!(again.otp_id, first.otp_id);
    assert_eq!(again.channel, first.channel);
    assert_eq!(again.expires_at, first.expires_at);
    assert_eq!(h.queue.calls(), 1);
    assert_eq!(h.queue.drain().len(), 1);
    assert_eq!(h.store.len(), 1);
}

#[tokio::test]
async fn the_same_idempotency_key_with_another_body_is_refused() {
    let h = harness();
    h.service
        .send(&h.caller, with_key(JANE, "req-1"))
        .await
        .unwrap();

    let other_destination = h
        .service
        .send(&h.caller, with_key("someone.else@example.com", "req-1"))
        .await;
    assert!(
        matches!(other_destination, Err(ApiError::IdempotencyKeyReused)),
        "{other_destination:?}"
    );
    let other_locale = h
        .service
        .send(
            &h.caller,
            SendCommand {
                locale: Locale::parse("de").unwrap(),
                ..with_key(JANE, "req-1")
            },
        )
        .await;
    assert!(
        matches!(other_locale, Err(ApiError::IdempotencyKeyReused)),
        "{other_locale:?}"
    );
    assert_eq!(h.queue.calls(), 1);
    assert_eq!(h.store.len(), 1);
}

// ---- backend failures ----

#[tokio::test]
async fn an_enqueue_failure_is_unavailable_and_undoes_the_record_the_limits_and_the_key() {
    let h = harness_with(Rules {
        max_sends_per_hour: 1,
        max_sends_per_ip_per_hour: 1,
        ..Rules::default()
    });
    let command = || SendCommand {
        idempotency_key: Some(IdempotencyKey::parse("req-1").unwrap()),
        ..from_ip(JANE, 7)
    };
    h.queue.set_unavailable(true);

    let result = h.service.send(&h.caller, command()).await;
    assert!(
        matches!(result, Err(ApiError::Unavailable(_))),
        "{result:?}"
    );
    assert!(
        h.store.is_empty(),
        "a code nobody will receive must not stay verifiable"
    );

    // The failed attempt counted against no limit (cooldown, hourly per destination and per IP
    // are all at their first send), and the key does not replay the abandoned OTP.
    h.queue.set_unavailable(false);
    let issued = h.service.send(&h.caller, command()).await.unwrap();
    assert!(h.store.record(issued.otp_id).is_some());
    let jobs = h.queue.drain();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].otp_id, issued.otp_id);
}

#[tokio::test]
async fn a_resend_enqueue_failure_is_unavailable_and_restores_the_send_count() {
    let h = harness_with(Rules {
        resend_cooldown_seconds: 0,
        max_sends_per_otp: 2,
        ..Rules::default()
    });
    let id = h.send(JANE).await.otp_id;
    h.queue.set_unavailable(true);

    let result = h.service.resend(&h.caller, id, None).await;
    assert!(
        matches!(result, Err(ApiError::Unavailable(_))),
        "{result:?}"
    );
    assert_eq!(h.record(id).sends, 1);
    assert_eq!(h.record(id).delivery, DeliveryState::Queued);

    h.queue.set_unavailable(false);
    h.service.resend(&h.caller, id, None).await.unwrap();
    assert_eq!(h.record(id).sends, 2);
}

#[tokio::test]
async fn a_store_outage_is_unavailable_for_every_operation() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    let code = h.code_of(id);
    h.store.set_unavailable(true);

    let send = h
        .service
        .send(&h.caller, to("someone.else@example.com"))
        .await;
    assert!(matches!(send, Err(ApiError::Unavailable(_))), "{send:?}");
    assert!(matches!(
        h.service.verify(&h.caller, id, &code).await,
        Err(ApiError::Unavailable(_))
    ));
    assert!(matches!(
        h.service.status(&h.caller, id).await,
        Err(ApiError::Unavailable(_))
    ));
    assert!(matches!(
        h.service.resend(&h.caller, id, None).await,
        Err(ApiError::Unavailable(_))
    ));
    assert_eq!(
        h.queue.calls(),
        1,
        "nothing may be enqueued while the store is down"
    );

    h.store.set_unavailable(false);
    h.service.verify(&h.caller, id, &code).await.unwrap();
}

// ---- resend ----

#[tokio::test]
async fn resend_delivers_the_same_code_again() {
    let h = harness();
    let issued = h.send(JANE).await;
    let id = issued.otp_id;
    let code = h.code_of(id);
    h.clock.advance(30);

    let again = h.service.resend(&h.caller, id, None).await.unwrap();

    assert_eq!(again.otp_id, id);
    assert_eq!(
        again.expires_at, issued.expires_at,
        "a resend must not extend the lifetime"
    );
    let jobs = h.queue.drain();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs.iter().map(|j| j.send).collect::<Vec<_>>(), [1, 2]);
    assert!(jobs.iter().all(|j| j.otp_id == id));
    assert_eq!(jobs[0].slot, jobs[1].slot);
    // Each job leads the worker to the record, and the record still opens to the first code.
    for job in &jobs {
        assert_eq!(h.code_of(job.otp_id), code);
        assert_eq!(job.slot, h.keys.code_slot(id, &code));
        assert!(!job.to_body().contains(code.expose()));
    }
    let record = h.record(id);
    assert_eq!(record.sends, 2);
    assert_eq!(record.delivery, DeliveryState::Queued);
    h.service.verify(&h.caller, id, &code).await.unwrap();
}

#[tokio::test]
async fn resend_of_a_verified_otp_is_already_verified() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    h.service
        .verify(&h.caller, id, &h.code_of(id))
        .await
        .unwrap();
    h.clock.advance(30);

    assert!(matches!(
        h.service.resend(&h.caller, id, None).await,
        Err(ApiError::AlreadyVerified)
    ));
    assert_eq!(h.queue.calls(), 1);
    assert_eq!(h.record(id).sends, 1);
}

#[tokio::test]
async fn resend_of_an_expired_otp_is_expired() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    h.clock.advance(h.service.rules.ttl_seconds);

    assert!(matches!(
        h.service.resend(&h.caller, id, None).await,
        Err(ApiError::Expired)
    ));
    assert_eq!(h.queue.calls(), 1);
}

#[tokio::test]
async fn resend_of_a_locked_otp_is_too_many_attempts() {
    let h = harness_with(Rules {
        max_attempts: 1,
        ..Rules::default()
    });
    let id = h.send(JANE).await.otp_id;
    let bad = wrong(&h.code_of(id));
    assert!(matches!(
        h.service.verify(&h.caller, id, &bad).await,
        Err(ApiError::InvalidCode {
            attempts_remaining: 0
        })
    ));
    h.clock.advance(30);

    assert!(matches!(
        h.service.resend(&h.caller, id, None).await,
        Err(ApiError::TooManyAttempts)
    ));
    assert_eq!(h.queue.calls(), 1);
}

// ---- concurrency ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_concurrent_right_guesses_exactly_one_verifies() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    let code = h.code_of(id);
    let start = Arc::new(tokio::sync::Barrier::new(20));

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (service, code, start, caller) = (
                h.service.clone(),
                code.clone(),
                start.clone(),
                h.caller.clone(),
            );
            tokio::spawn(async move {
                start.wait().await;
                service.verify(&caller, id, &code).await
            })
        })
        .collect();
    let mut verified = 0;
    let mut already = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => verified += 1,
            Err(ApiError::AlreadyVerified) => already += 1,
            Err(other) => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((verified, already), (1, 19));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_concurrent_wrong_guesses_only_max_attempts_are_evaluated() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    let bad = wrong(&h.code_of(id));
    let start = Arc::new(tokio::sync::Barrier::new(20));

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (service, bad, start, caller) = (
                h.service.clone(),
                bad.clone(),
                start.clone(),
                h.caller.clone(),
            );
            tokio::spawn(async move {
                start.wait().await;
                service.verify(&caller, id, &bad).await
            })
        })
        .collect();
    let mut remaining = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Err(ApiError::InvalidCode { attempts_remaining }) => remaining.push(attempts_remaining),
            Err(ApiError::TooManyAttempts) => refused += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    remaining.sort_unstable();
    assert_eq!(
        remaining,
        [0, 1, 2, 3, 4],
        "each evaluated guess sees its own count"
    );
    assert_eq!(refused, 15);
    assert_eq!(h.record(id).attempts, 5);
}

#[tokio::test]
async fn a_record_without_a_live_slot_gives_no_job_but_already_verified() {
    let h = harness();
    let issued = h.send(JANE).await;
    let mut record = h.record(issued.otp_id);
    let job = OtpService::job(&record, 2, h.clock.now()).unwrap();
    assert_eq!(Some(job.slot), record.code_slot);

    // Never a job with an empty slot, which the worker would only throw to the DLQ.
    record.code_slot = None;
    assert!(matches!(
        OtpService::job(&record, 2, h.clock.now()),
        Err(ApiError::AlreadyVerified)
    ));
}

// ---- tenants ----

#[tokio::test]
async fn another_tenant_s_otp_is_not_found_and_a_guess_at_it_is_not_counted() {
    let h = harness();
    let id = h.send(JANE).await.otp_id;
    let other = caller("other");
    let code = h.code_of(id);
    assert!(matches!(
        h.service.status(&other, id).await,
        Err(ApiError::NotFound)
    ));
    assert!(matches!(
        h.service.verify(&other, id, &code).await,
        Err(ApiError::NotFound)
    ));
    assert!(matches!(
        h.service.resend(&other, id, None).await,
        Err(ApiError::NotFound)
    ));
    assert_eq!(
        h.record(id).attempts,
        0,
        "the foreign guess was not counted"
    );
    h.service.verify(&h.caller, id, &code).await.unwrap();
}

#[tokio::test]
async fn idempotency_keys_and_destination_limits_are_per_tenant() {
    let h = harness_with(Rules {
        max_sends_per_hour: 1,
        ..Rules::default()
    });
    let other = caller("other");
    let mine = h
        .service
        .send(&h.caller, with_key(JANE, "k"))
        .await
        .unwrap();
    let theirs = h.service.send(&other, with_key(JANE, "k")).await.unwrap();
    assert_ne!(mine.otp_id, theirs.otp_id);
    h.clock.advance(60);
    expect_rate_limited(h.service.send(&h.caller, to(JANE)).await);
    expect_rate_limited(h.service.send(&other, to(JANE)).await);
    h.service.send(&caller("third"), to(JANE)).await.unwrap();
}

#[tokio::test]
async fn a_channel_the_tenant_does_not_use_is_refused_and_the_budget_counts_all_sends() {
    let h = harness();
    let mut policy = (*caller("mail-only").tenant).clone();
    policy.channels = Channels::new([Channel::Email]).unwrap();
    policy
        .limits
        .set(common::tenant::Limit::TenantSendsPerHour, 2)
        .unwrap();
    let mail_only = Caller {
        tenant: Arc::new(policy),
        ..caller("mail-only")
    };
    let sms = SendCommand {
        destination: Destination::parse(Channel::Sms, "+447400123456").unwrap(),
        ..to(JANE)
    };
    assert!(matches!(
        h.service.send(&mail_only, sms).await,
        Err(ApiError::ChannelNotAllowed)
    ));
    h.service
        .send(&mail_only, to("a@example.com"))
        .await
        .unwrap();
    h.service
        .send(&mail_only, to("b@example.com"))
        .await
        .unwrap();
    let limit = expect_rate_limited(h.service.send(&mail_only, to("c@example.com")).await);
    assert_eq!(limit.scope, LimitScope::TenantHourly);
}

// ---- destinations (issue 14) ----

fn sms(number: &str) -> SendCommand {
    SendCommand {
        destination: Destination::parse(Channel::Sms, number).unwrap(),
        ..to(JANE)
    }
}

#[tokio::test]
async fn numbers_that_are_not_mobiles_in_listed_countries_are_refused_before_anything_counts() {
    let h = harness();
    for (number, reason) in [
        ("+449091234567", NotAllowedReason::NumberType), // GB premium rate
        ("+8823421234", NotAllowedReason::NumberType),   // international networks
        ("+4915123456789", NotAllowedReason::Country),   // a DE mobile; the tenant lists GB, US
    ] {
        match h.service.send(&h.caller, sms(number)).await {
            Err(ApiError::DestinationNotAllowed(got)) => assert_eq!(got, reason, "{number}"),
            other => panic!("{number}: {other:?}"),
        }
    }
    assert_eq!(h.store.calls(), 0, "a refusal touches no counter");
    assert!(
        h.service
            .send(&h.caller, sms("+447400123456"))
            .await
            .is_ok()
    );
    assert!(h.service.send(&h.caller, sms("+12015550123")).await.is_ok());
}

#[tokio::test]
async fn a_tenant_that_lists_no_country_texts_nobody() {
    let h = harness();
    let mut policy = (*caller("fresh").tenant).clone();
    policy.sms_countries.clear();
    let fresh = Caller {
        tenant: Arc::new(policy),
        ..caller("fresh")
    };
    assert!(matches!(
        h.service.send(&fresh, sms("+447400123456")).await,
        Err(ApiError::DestinationNotAllowed(NotAllowedReason::Country))
    ));
}

#[tokio::test]
async fn aliases_of_one_mailbox_share_its_cooldown() {
    let h = harness();
    h.send("bob+1@example.com").await;
    match h.service.send(&h.caller, to("Bob+2@example.com")).await {
        Err(ApiError::RateLimited(limit)) => {
            assert_eq!(limit.scope, LimitScope::DestinationCooldown);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_wrong_guess_that_spends_a_destinations_budget_locks_all_its_codes_and_sends() {
    let h = harness_with(Rules {
        resend_cooldown_seconds: 0,
        max_attempts: 8,
        ..Rules::default()
    });
    // One live code per destination: the second code comes once the first is locked.
    let first = h.send(JANE).await.otp_id;
    let first_code = h.code_of(first);
    for _ in 0..8 {
        assert!(matches!(
            h.service
                .verify(&h.caller, first, &wrong(&first_code))
                .await,
            Err(ApiError::InvalidCode { .. })
        ));
    }
    let second = h.send(JANE).await.otp_id;
    assert_ne!(second, first);
    let second_code = h.code_of(second);
    assert!(matches!(
        h.service
            .verify(&h.caller, second, &wrong(&second_code))
            .await,
        Err(ApiError::InvalidCode {
            attempts_remaining: 7
        })
    ));
    // The tenth wrong guess spends the budget (10): no attempts left anywhere.
    assert!(matches!(
        h.service
            .verify(&h.caller, second, &wrong(&second_code))
            .await,
        Err(ApiError::InvalidCode {
            attempts_remaining: 0
        })
    ));
    assert!(matches!(
        h.service.verify(&h.caller, second, &second_code).await,
        Err(ApiError::TooManyAttempts)
    ));
    match h.service.send(&h.caller, to(JANE)).await {
        Err(ApiError::RateLimited(limit)) => {
            assert_eq!(limit.scope, LimitScope::DestinationGuesses);
        }
        other => panic!("{other:?}"),
    }
    // Another destination is not affected.
    let other = h.send("someone.else@example.com").await.otp_id;
    h.service
        .verify(&h.caller, other, &h.code_of(other))
        .await
        .unwrap();
}

mod live;
