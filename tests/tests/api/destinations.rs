//! Issue 14's destination rules through the real SDK: which numbers are texted (the test tenant
//! lists GB, US and CA, like `make dev`'s), e-mail aliases folding into one destination, and the
//! guess budget per destination.

use crate::admin::admin;
use crate::helpers::{random_email, spawn_app, spawn_app_with, wrong_code};
use common::config::Rules;
use common::tenant::{DynamoTenantStore, KeyKind, TenantId, TenantStore};
use serde_json::json;

#[tokio::test]
async fn numbers_that_are_not_mobiles_or_not_in_a_listed_country_are_refused_with_the_reason() {
    let app = spawn_app().await;
    let stored_before = app.scan_table().await.len();
    let number_type = json!({
        "error": "destination_not_allowed",
        "reason": "number_type",
        "message": "codes are texted to mobile numbers only; this number is not one",
    });
    let country = json!({
        "error": "destination_not_allowed",
        "reason": "country",
        "message": "this tenant does not send SMS to that number's country",
    });
    for (number, expected) in [
        ("+449091234567", &number_type), // GB premium rate
        ("+448001234567", &number_type), // GB toll free
        ("+19002345678", &number_type),  // US premium rate
        ("+8823421234", &number_type),   // international networks, no country
        ("+4915123456789", &country),    // a German mobile: DE is not listed
        ("+33612345678", &country),      // a French mobile: FR is not listed
    ] {
        let answer = app.send_sms(number).await;
        assert_eq!(answer.status, 403, "{number}: {:?}", answer.body);
        assert_eq!(&answer.body, expected, "{number}");
        assert!(answer.retry_after().is_none());
    }
    // Refusals touch no counter: the same number refused again is refused the same way, and
    // nothing was stored.
    assert_eq!(app.send_sms("+449091234567").await.body, number_type);
    assert_eq!(
        app.scan_table().await.len(),
        stored_before,
        "a refusal stored something"
    );
    // Mobiles in listed countries pass: GB, US (fixed-or-mobile), CA.
    for number in ["+447400123456", "+12015550123", "+16135550123"] {
        let answer = app.send_sms(number).await;
        assert_eq!(answer.status, 202, "{number}: {:?}", answer.body);
    }
    // A number invalid for its country is a 400, as before.
    let invalid = app.send_sms("+12345678").await;
    assert_eq!((invalid.status, invalid.error()), (400, "invalid_request"));
}

#[tokio::test]
async fn aliases_of_one_mailbox_share_its_cooldown_and_hourly_limit() {
    let app = spawn_app_with(Rules {
        resend_cooldown_seconds: 30,
        max_sends_per_hour: 2,
        ..Rules::default()
    })
    .await;
    let user = format!("bob-{}", uuid::Uuid::new_v4().simple());
    let alias = |tag: u32| format!("{user}+{tag}@example.com");
    let first = app.send_email(&alias(1)).await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    let cooled = app.send_email(&alias(2)).await;
    assert_eq!((cooled.status, cooled.error()), (429, "rate_limited"));
    assert_eq!(cooled.body["limit"], "destination_cooldown");
    assert!(cooled.retry_after().is_some_and(|s| (1..=30).contains(&s)));

    app.clock.advance(31);
    // The mailbox has a live code: a send to another of its aliases delivers that code again
    // (one live code per destination), and counts as the mailbox's second send this hour.
    let again = app.send_email(&alias(3)).await;
    assert_eq!(again.status, 202, "{:?}", again.body);
    assert_eq!(again.otp_id(), first.otp_id());
    app.clock.advance(31);
    let hourly = app.send_email(&alias(4)).await;
    assert_eq!((hourly.status, hourly.error()), (429, "rate_limited"));
    assert_eq!(hourly.body["limit"], "destination_hourly");
    assert_eq!(
        app.send_email(&format!("{}@example.com", user.to_uppercase()))
            .await
            .body["limit"],
        "destination_hourly",
        "the bare address is the same mailbox"
    );

    // Delivery goes to the address as given, never to the folded one.
    let carol = format!("carol-{}", uuid::Uuid::new_v4().simple());
    let tagged = format!("{carol}+shop@example.com");
    assert_eq!(app.send_email(&tagged).await.status, 202);
    app.deliver_all().await;
    assert_eq!(app.outbox(&tagged).await.len(), 1);
    assert!(app.outbox(&format!("{carol}@example.com")).await.is_empty());
    // The mailbox's one live code went where it was first asked for.
    assert!(!app.outbox(&alias(1)).await.is_empty());
    assert!(app.outbox(&alias(3)).await.is_empty());
}

#[tokio::test]
async fn eleven_wrong_guesses_across_two_codes_to_one_destination_in_an_hour_get_429() {
    // Eight attempts per code, so the per-code lock alone would allow 16 guesses here.
    let app = spawn_app_with(Rules {
        resend_cooldown_seconds: 0,
        max_attempts: 8,
        ..Rules::default()
    })
    .await;
    let to = random_email();
    let first = app.send_email(&to).await.otp_id();
    app.deliver_all().await;
    let first_code = app.code_for(&to).await;
    for _ in 0..8 {
        let answer = app.verify(&first, &wrong_code(&first_code)).await;
        assert_eq!(answer.status, 422, "{:?}", answer.body);
    }
    // The first code is locked by its own attempts: the next send makes a second code (one live
    // code per destination).
    let second = app.send_email(&to).await.otp_id();
    assert_ne!(second, first);
    app.deliver_all().await;
    let second_code = app.code_for(&to).await;
    let ninth = app.verify(&second, &wrong_code(&second_code)).await;
    assert_eq!(ninth.body["attempts_remaining"], 7, "{:?}", ninth.body);
    let tenth = app.verify(&second, &wrong_code(&second_code)).await;
    assert_eq!(tenth.status, 422);
    assert_eq!(tenth.body["attempts_remaining"], 0, "the budget is spent");
    let eleventh = app.verify(&second, &wrong_code(&second_code)).await;
    assert_eq!(
        (eleventh.status, eleventh.error()),
        (429, "too_many_attempts")
    );
    // Even the right code is not evaluated any more, and no new code can be sent this hour.
    let right = app.verify(&second, &second_code).await;
    assert_eq!((right.status, right.error()), (429, "too_many_attempts"));
    let resend = app.send_email(&to).await;
    assert_eq!((resend.status, resend.error()), (429, "rate_limited"));
    assert_eq!(resend.body["limit"], "destination_guesses");
    // Another destination of the same tenant is not affected.
    let (other, code) = app.issue_email().await;
    assert_eq!(app.verify(&other, &code).await.status, 200);
}

/// The operator's path: a tenant made with `otp-admin` lists no country and texts nobody (the
/// policy the CLI stored, served by the API); `--sms-countries` lists some (an unknown code such
/// as `UK` is refused, naming the flag), and only those are texted.
#[tokio::test]
async fn a_new_tenant_texts_nobody_until_its_operator_lists_countries() {
    let app = spawn_app().await;
    let stored = DynamoTenantStore::new(app.dynamo.clone(), app.table.clone());
    let id = TenantId::parse("shop").unwrap();
    // The policy as the CLI stored it, served by this app's API.
    let serve = |countries: &'static str| {
        let (app, stored, id) = (&app, &stored, &id);
        async move {
            let policy = stored.tenant(id).await.unwrap().unwrap().value;
            let listed: Vec<&str> = policy.sms_countries.iter().map(|c| c.as_str()).collect();
            assert_eq!(listed.join(","), countries);
            let tenant = format!("shop-{}", uuid::Uuid::new_v4().simple());
            app.tenants
                .create(&tenant, |p| p.sms_countries = policy.sms_countries.clone())
                .await;
            app.client_with(app.tenants.key(&tenant, KeyKind::Server).await.expose())
        }
    };

    let created = admin(
        &app,
        &[
            "tenant",
            "create",
            "shop",
            "--name",
            "Shop",
            "--channels",
            "email,sms",
        ],
    )
    .await
    .ok();
    assert!(
        created.stdout.contains("(no country: texts nobody)"),
        "{}",
        created.stdout
    );
    let fresh = serve("").await;
    let refused = fresh.send_sms("+447400123456").await;
    assert_eq!(
        (refused.status, refused.body["reason"].as_str()),
        (403, Some("country"))
    );
    assert_eq!(fresh.send_email(&random_email()).await.status, 202);

    let unknown = admin(
        &app,
        &["tenant", "update", "shop", "--sms-countries", "GB,UK"],
    )
    .await;
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("--sms-countries") && unknown.stderr.contains("UK is not"),
        "{}",
        unknown.stderr
    );
    serve("").await;

    let listed = admin(
        &app,
        &[
            "--json",
            "tenant",
            "update",
            "shop",
            "--sms-countries",
            "us,gb",
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(listed["tenant"]["sms_countries"], json!(["GB", "US"]));
    let shop = serve("GB,US").await;
    assert_eq!(shop.send_sms("+447400123456").await.status, 202);
    assert_eq!(shop.send_sms("+12015550123").await.status, 202);
    let canada = shop.send_sms("+16135550123").await;
    assert_eq!(
        (canada.status, canada.body["reason"].as_str()),
        (403, Some("country"))
    );

    admin(&app, &["tenant", "update", "shop", "--clear-sms-countries"])
        .await
        .ok();
    serve("").await;
}
