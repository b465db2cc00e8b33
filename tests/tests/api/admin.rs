//! `otp-admin` against moto: run as operators run it (configured through the service's own
//! variables), and the tenant store behind it held to the same rules as its in-memory fake.

use crate::helpers::{TestApp, spawn_app};
use crate::process::binary;
use crate::replayer::Run;
use common::secret::ServiceSecret;
use common::tenant::{
    ApiKey, Channels, DynamoTenantStore, KeyCache, KeyHasher, KeyKind, KeyRecord, KeyResolver,
    Label, MemoryTenantStore, Refusal, TenantId, TenantPolicy, TenantStore, TenantStoreError,
};
use serde_json::Value;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// Runs `otp-admin ARGS` with the environment the service binaries get (table, secret, AWS).
pub(crate) async fn admin(app: &TestApp, args: &[&str]) -> Run {
    admin_with(app.binary_env(), args).await
}

async fn admin_with(env: Vec<(&'static str, String)>, args: &[&str]) -> Run {
    let mut command = Command::new(binary("otp-admin"));
    command.env_clear().envs(env).args(args);
    Run::of(command).await
}

/// A resolver with no cache, as a cold API instance checks a key against this app's table.
fn cold_resolver(app: &TestApp) -> KeyResolver {
    let store = Arc::new(DynamoTenantStore::new(
        app.dynamo.clone(),
        app.table.clone(),
    ));
    let secret = ServiceSecret::from_base64(&app.secret_b64).unwrap();
    KeyResolver::with_cache(store, &secret, KeyCache::new(Duration::ZERO, 1))
}

async fn create_acme(app: &TestApp) -> Value {
    admin(
        app,
        &[
            "--json",
            "tenant",
            "create",
            "acme",
            "--name",
            "Acme Inc",
            "--channels",
            "email,sms",
            "--origin",
            "https://ACME.example:443",
            "--ttl-seconds",
            "300",
            "--email-from",
            "no-reply@acme.example",
            "--email-display-name",
            "Acme",
        ],
    )
    .await
    .ok()
    .json()
}

#[tokio::test]
async fn keys_are_shown_once_listed_without_secrets_and_stop_working_when_revoked() {
    let app = spawn_app().await;
    let created = create_acme(&app).await;
    assert_eq!(created["command"], "tenant create");
    assert_eq!(created["tenant"]["id"], "acme");
    assert_eq!(created["tenant"]["origins"][0], "https://acme.example");
    assert_eq!(created["tenant"]["limits"]["ttl_seconds"], 300);
    assert_eq!(created["tenant"]["disabled"], false);
    let again = admin(
        &app,
        &[
            "--json",
            "tenant",
            "create",
            "acme",
            "--name",
            "X",
            "--channels",
            "sms",
        ],
    )
    .await;
    assert_eq!(again.code, 1);
    assert_eq!(again.json()["error"]["kind"], "tenant_exists");

    let server = admin(
        &app,
        &[
            "--json", "key", "create", "acme", "--kind", "server", "--label", "backend",
        ],
    )
    .await
    .ok()
    .json();
    let server_key = server["key"].as_str().unwrap().to_owned();
    assert!(server_key.starts_with("otpr_sk_"), "{server_key}");
    assert_eq!(server["id"], &server_key[5..16]);
    assert_eq!(server["tenant"], "acme");
    let publishable = admin(&app, &["key", "create", "acme", "--kind", "publishable"])
        .await
        .ok();
    let publishable_key = publishable
        .stdout
        .split_whitespace()
        .find(|word| word.starts_with("otpr_pk_"))
        .unwrap_or_else(|| panic!("no key in:\n{}", publishable.stdout))
        .to_owned();
    assert!(
        publishable.stdout.contains("shown this once"),
        "{}",
        publishable.stdout
    );

    // Nothing after creation shows a key, or the hash that finds it.
    let listed_json = admin(&app, &["--json", "key", "list", "acme"]).await.ok();
    let listed_text = admin(&app, &["key", "list", "acme"]).await.ok();
    let items = format!("{:?}", app.scan_table().await);
    let hashes: Vec<String> = app
        .scan_table()
        .await
        .iter()
        .filter_map(|item| {
            item.get("pk")?
                .as_s()
                .ok()?
                .strip_prefix("key#")
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(hashes.len(), 2);
    for key in [&server_key, &publishable_key] {
        assert!(!items.contains(key.as_str()), "the table holds a key");
        assert!(!listed_json.stdout.contains(key.as_str()));
        assert!(!listed_text.stdout.contains(key.as_str()));
        assert!(
            listed_text.stdout.contains(&key[5..16]),
            "{}",
            listed_text.stdout
        );
    }
    for hash in &hashes {
        assert!(!listed_json.stdout.contains(hash.as_str()));
    }
    let keys = listed_json.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .any(|k| k["kind"] == "server" && k["label"] == "backend")
    );
    assert!(keys.iter().all(|k| k.get("revoked_at").is_none()));

    // The key the CLI printed is the key the API's resolver accepts: same secret, same hash.
    let resolver = cold_resolver(&app);
    let caller = resolver.resolve(&server_key).await.unwrap().unwrap();
    assert_eq!(caller.tenant.id.as_str(), "acme");
    assert_eq!(caller.kind, KeyKind::Server);
    assert_eq!(caller.tenant.rules(&app.rules).ttl_seconds, 300);

    let server_id = &server_key[5..16];
    let revoked = admin(&app, &["--json", "key", "revoke", "acme", server_id])
        .await
        .ok()
        .json();
    let revoked_at = revoked["revoked_at"].as_i64().unwrap();
    assert_eq!(
        resolver.resolve(&server_key).await.unwrap(),
        Err(Refusal::Revoked)
    );
    assert!(resolver.resolve(&publishable_key).await.unwrap().is_ok());
    let twice = admin(&app, &["--json", "key", "revoke", "acme", server_id])
        .await
        .ok()
        .json();
    assert_eq!(
        twice["revoked_at"].as_i64(),
        Some(revoked_at),
        "the first revocation's time stays"
    );
    let listed = admin(&app, &["--json", "key", "list", "acme"])
        .await
        .ok()
        .json();
    let revoked_entry = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == server_id)
        .cloned()
        .unwrap();
    assert_eq!(revoked_entry["revoked_at"].as_i64(), Some(revoked_at));
    let unknown = admin(&app, &["--json", "key", "revoke", "acme", "sk_00000000"]).await;
    assert_eq!(unknown.code, 1);
    assert_eq!(unknown.json()["error"]["kind"], "no_key");

    // A disabled tenant's keys are refused; enabled again, they work.
    let disabled = admin(&app, &["--json", "tenant", "disable", "acme"])
        .await
        .ok()
        .json();
    assert_eq!(disabled["tenant"]["disabled"], true);
    assert_eq!(disabled["version"], 2);
    assert_eq!(
        resolver.resolve(&publishable_key).await.unwrap(),
        Err(Refusal::TenantDisabled)
    );
    let shown = admin(&app, &["tenant", "show", "acme"]).await.ok();
    assert!(shown.stdout.contains("DISABLED"), "{}", shown.stdout);
    admin(&app, &["tenant", "enable", "acme"]).await.ok();
    assert!(resolver.resolve(&publishable_key).await.unwrap().is_ok());
    let list = admin(&app, &["--json", "tenant", "list"]).await.ok().json();
    assert_eq!(list["tenants"].as_array().unwrap().len(), 1);
    assert_eq!(list["tenants"][0]["id"], "acme");
}

#[tokio::test]
async fn invalid_values_name_the_flag_and_the_bounds_and_change_nothing() {
    let app = spawn_app().await;
    create_acme(&app).await;
    let too_short = admin(&app, &["tenant", "update", "acme", "--ttl-seconds", "5"]).await;
    assert_eq!(too_short.code, 2, "{}", too_short.stderr);
    assert!(
        too_short.stderr.contains("--ttl-seconds") && too_short.stderr.contains("10 to 3600"),
        "{}",
        too_short.stderr
    );
    let as_json = admin(
        &app,
        &["--json", "tenant", "update", "acme", "--max-attempts", "0"],
    )
    .await;
    assert_eq!(as_json.code, 2);
    let doc = as_json.json();
    assert_eq!(doc["error"]["kind"], "invalid");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-attempts")
    );
    let wildcard = admin(
        &app,
        &[
            "tenant",
            "update",
            "acme",
            "--origin",
            "https://*.acme.example",
        ],
    )
    .await;
    assert_eq!(wildcard.code, 2);
    assert!(wildcard.stderr.contains("--origin"), "{}", wildcard.stderr);
    let bad_unset = admin(&app, &["tenant", "update", "acme", "--unset", "ttl"]).await;
    assert_eq!(bad_unset.code, 2);
    assert!(
        bad_unset.stderr.contains("ttl-seconds"),
        "{}",
        bad_unset.stderr
    );
    let bad_id = admin(
        &app,
        &[
            "tenant",
            "create",
            "Acme!",
            "--name",
            "A",
            "--channels",
            "email",
        ],
    )
    .await;
    assert_eq!(bad_id.code, 2);
    assert!(bad_id.stderr.contains("lowercase"), "{}", bad_id.stderr);
    let no_channels = admin(&app, &["tenant", "create", "shop", "--name", "Shop"]).await;
    assert_eq!(no_channels.code, 2);
    assert!(
        no_channels.stderr.contains("--channels"),
        "{}",
        no_channels.stderr
    );

    // Nothing of the refused updates was stored.
    let shown = admin(&app, &["--json", "tenant", "show", "acme"])
        .await
        .ok()
        .json();
    assert_eq!(shown["version"], 1);
    assert_eq!(shown["tenant"]["limits"]["ttl_seconds"], 300);
    assert_eq!(shown["tenant"]["origins"].as_array().unwrap().len(), 1);

    // Valid changes apply, and only the ones given.
    let updated = admin(
        &app,
        &[
            "--json",
            "tenant",
            "update",
            "acme",
            "--unset",
            "ttl-seconds",
            "--max-attempts",
            "3",
            "--channels",
            "email",
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(updated["version"], 2);
    assert!(updated["tenant"]["limits"].get("ttl_seconds").is_none());
    assert_eq!(updated["tenant"]["limits"]["max_attempts"], 3);
    assert_eq!(updated["tenant"]["channels"], serde_json::json!(["email"]));
    assert_eq!(updated["tenant"]["name"], "Acme Inc");
    let missing = admin(&app, &["tenant", "show", "nobody"]).await;
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("otp-admin tenant list"),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn a_missing_secret_or_table_says_what_to_set() {
    let app = spawn_app().await;
    create_acme(&app).await;
    let without_secret: Vec<_> = app
        .binary_env()
        .into_iter()
        .filter(|(name, _)| *name != "OTP_SECRET")
        .collect();
    let run = admin_with(
        without_secret.clone(),
        &["key", "create", "acme", "--kind", "server"],
    )
    .await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("OTP_SECRET_ARN"), "{}", run.stderr);
    // Listing needs no secret.
    admin_with(without_secret, &["key", "list", "acme"])
        .await
        .ok();
    let run = admin(&app, &["--table", "no-such-table", "tenant", "list"]).await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("OTP_TABLE_NAME"), "{}", run.stderr);
}

/// The same steps on the DynamoDB adapter and on the fake give the same answers.
async fn store_contract(store: &dyn TenantStore) {
    let secret = ServiceSecret::generate();
    let hasher = KeyHasher::derive(&secret);
    let acme = TenantPolicy::new(
        TenantId::parse("acme").unwrap(),
        Label::parse("Acme").unwrap(),
        Channels::new([common::domain::Channel::Email]).unwrap(),
        100,
    );
    let mut zeta = acme.clone();
    zeta.id = TenantId::parse("zeta").unwrap();
    store.create_tenant(&zeta).await.unwrap();
    store.create_tenant(&acme).await.unwrap();
    assert!(matches!(
        store.create_tenant(&acme).await,
        Err(TenantStoreError::TenantExists(_))
    ));
    let ids: Vec<String> = store
        .tenants()
        .await
        .unwrap()
        .iter()
        .map(|t| t.id.to_string())
        .collect();
    assert_eq!(ids, ["acme", "zeta"]);

    let read = store.tenant(&acme.id).await.unwrap().unwrap();
    assert_eq!((read.value.clone(), read.version), (acme.clone(), 1));
    let mut changed = read.value.clone();
    changed.disabled = true;
    assert_eq!(store.update_tenant(&changed, 1).await.unwrap(), 2);
    assert!(matches!(
        store.update_tenant(&changed, 1).await,
        Err(TenantStoreError::Conflict(_))
    ));
    let mut ghost = acme.clone();
    ghost.id = TenantId::parse("ghost").unwrap();
    assert!(matches!(
        store.update_tenant(&ghost, 1).await,
        Err(TenantStoreError::NoTenant(_))
    ));
    assert!(store.tenant(&ghost.id).await.unwrap().is_none());
    assert!(
        store
            .tenant(&acme.id)
            .await
            .unwrap()
            .unwrap()
            .value
            .disabled
    );

    let key = ApiKey::generate(KeyKind::Server);
    let record = KeyRecord::issued(&key, &hasher, acme.id.clone(), None, 100);
    store.add_key(&record).await.unwrap();
    assert!(matches!(
        store.add_key(&record).await,
        Err(TenantStoreError::KeyExists(_))
    ));
    let stray = KeyRecord::issued(
        &ApiKey::generate(KeyKind::Server),
        &hasher,
        ghost.id.clone(),
        None,
        100,
    );
    assert!(matches!(
        store.add_key(&stray).await,
        Err(TenantStoreError::NoTenant(_))
    ));
    assert!(
        store.key_by_hash(&stray.hash).await.unwrap().is_none(),
        "nothing half-written"
    );
    assert_eq!(
        store.key_by_hash(&record.hash).await.unwrap(),
        Some(record.clone())
    );
    assert_eq!(store.keys(&acme.id).await.unwrap(), vec![record.clone()]);
    assert!(store.keys(&zeta.id).await.unwrap().is_empty());

    let revoked = store.revoke_key(&acme.id, &record.id, 200).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(200));
    let again = store.revoke_key(&acme.id, &record.id, 300).await.unwrap();
    assert_eq!(again.revoked_at, Some(200));
    assert!(matches!(
        store.revoke_key(&zeta.id, &record.id, 300).await,
        Err(TenantStoreError::NoKey { .. })
    ));

    // The origin index follows every policy change, tenant by tenant.
    let shop = common::tenant::Origin::parse("https://shop.example").unwrap();
    let app = common::tenant::Origin::parse("https://app.example").unwrap();
    assert!(!store.origin_listed(shop.as_str()).await.unwrap());
    let (mut a, a_version) = {
        let v = store.tenant(&acme.id).await.unwrap().unwrap();
        (v.value, v.version)
    };
    a.set_origins([shop.clone(), app.clone()]);
    let a_version = store.update_tenant(&a, a_version).await.unwrap();
    let mut z = store.tenant(&zeta.id).await.unwrap().unwrap();
    z.value.set_origins([shop.clone()]);
    store.update_tenant(&z.value, z.version).await.unwrap();
    assert!(store.origin_listed(shop.as_str()).await.unwrap());
    assert!(store.origin_listed(app.as_str()).await.unwrap());
    a.set_origins([]);
    // A stale version changes neither the policy nor the index.
    assert!(matches!(
        store.update_tenant(&a, a_version - 1).await,
        Err(TenantStoreError::Conflict(_))
    ));
    assert!(store.origin_listed(app.as_str()).await.unwrap());
    store.update_tenant(&a, a_version).await.unwrap();
    assert!(!store.origin_listed(app.as_str()).await.unwrap());
    assert!(
        store.origin_listed(shop.as_str()).await.unwrap(),
        "zeta lists it still"
    );
    let mut with_origin = acme.clone();
    with_origin.id = TenantId::parse("born-listed").unwrap();
    with_origin.set_origins([common::tenant::Origin::parse("https://new.example").unwrap()]);
    store.create_tenant(&with_origin).await.unwrap();
    assert!(store.origin_listed("https://new.example").await.unwrap());
}

#[tokio::test]
async fn the_dynamodb_tenant_store_and_its_fake_follow_the_same_rules() {
    store_contract(&MemoryTenantStore::new()).await;
    let app = spawn_app().await;
    store_contract(&DynamoTenantStore::new(
        app.dynamo.clone(),
        app.table.clone(),
    ))
    .await;
}

/// What the API's key check will cost: on a warm instance nothing, on a cold one the key by its
/// hash and then its tenant; a key that is not found is read again each time (never cached).
#[tokio::test]
async fn a_warm_key_check_makes_no_aws_call() {
    use crate::calls::{calls_of, expect};
    let app = spawn_app().await;
    let sdk = tests::stack::sdk_config(&app.proxy.url).await;
    let store = Arc::new(DynamoTenantStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        app.table.clone(),
    ));
    let secret = ServiceSecret::from_base64(&app.secret_b64).unwrap();
    let policy = TenantPolicy::new(
        TenantId::parse("acme").unwrap(),
        Label::parse("Acme").unwrap(),
        Channels::new([common::domain::Channel::Email]).unwrap(),
        0,
    );
    store.create_tenant(&policy).await.unwrap();
    let key = ApiKey::generate(KeyKind::Publishable);
    let record = KeyRecord::issued(&key, &KeyHasher::derive(&secret), policy.id, None, 0);
    store.add_key(&record).await.unwrap();
    let resolver = KeyResolver::new(store, &secret);

    let cold = calls_of(&app, async {
        assert!(resolver.resolve(key.expose()).await.unwrap().is_ok());
    })
    .await;
    assert_eq!(cold, expect(&[("dynamodb:GetItem", 2)]), "cold");
    let warm = calls_of(&app, async {
        for _ in 0..3 {
            assert!(resolver.resolve(key.expose()).await.unwrap().is_ok());
        }
    })
    .await;
    assert_eq!(warm, expect(&[]), "warm");
    let stranger = ApiKey::generate(KeyKind::Server);
    let unknown = calls_of(&app, async {
        for _ in 0..2 {
            let answer = resolver.resolve(stranger.expose()).await.unwrap();
            assert_eq!(answer, Err(Refusal::Unknown));
        }
    })
    .await;
    assert_eq!(unknown, expect(&[("dynamodb:GetItem", 2)]), "unknown");
    let malformed = calls_of(&app, async {
        let answer = resolver.resolve("otpr_sk_nope").await.unwrap();
        assert_eq!(answer, Err(Refusal::Malformed));
    })
    .await;
    assert_eq!(malformed, expect(&[]), "malformed");
}
