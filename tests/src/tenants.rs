//! Tenants and keys for tests and benchmarks: an in-memory tenant store with one tenant, so a
//! test talks to the API the way a relying app does (with a key) and pays no AWS call for it.

use common::domain::Channel;
use common::secret::ServiceSecret;
use common::tenant::{
    ApiKey, Caller, Channels, CountryCode, KeyHasher, KeyKind, KeyRecord, KeyResolver, Label,
    MemoryTenantStore, Origin, TenantId, TenantPolicy, TenantStore,
};
use std::sync::Arc;

/// The origin the test tenants allow publishable keys from.
pub const TEST_ORIGIN: &str = "http://127.0.0.1:3000";

/// A tenant store and a resolver over it, hashing keys with `secret`.
#[derive(Debug, Clone)]
pub struct Tenants {
    pub store: Arc<MemoryTenantStore>,
    pub resolver: Arc<KeyResolver>,
    hasher: Arc<KeyHasher>,
}

impl Tenants {
    pub fn new(secret: &ServiceSecret) -> Self {
        let store = Arc::new(MemoryTenantStore::new());
        Self {
            resolver: Arc::new(KeyResolver::new(store.clone(), secret)),
            hasher: Arc::new(KeyHasher::derive(secret)),
            store,
        }
    }

    /// A new enabled tenant `id` (e-mail and SMS to GB, US and CA, the deployment's limits,
    /// [`TEST_ORIGIN`]),
    /// changed by `edit` before it is stored.
    pub async fn create(&self, id: &str, edit: impl FnOnce(&mut TenantPolicy)) -> TenantPolicy {
        let mut policy = TenantPolicy::new(
            TenantId::parse(id).expect("a valid tenant id"),
            Label::parse("Acme").expect("a valid label"),
            Channels::new([Channel::Email, Channel::Sms]).expect("channels"),
            0,
        );
        policy.set_origins([Origin::parse(TEST_ORIGIN).expect("a valid origin")]);
        policy.set_sms_countries(
            ["GB", "US", "CA"].map(|c| CountryCode::parse(c).expect("a valid country")),
        );
        edit(&mut policy);
        self.store
            .create_tenant(&policy)
            .await
            .expect("create tenant");
        policy
    }

    /// A new key of `kind` for tenant `id`.
    pub async fn key(&self, id: &str, kind: KeyKind) -> ApiKey {
        let key = ApiKey::generate(kind);
        let tenant = TenantId::parse(id).expect("a valid tenant id");
        let record = KeyRecord::issued(&key, &self.hasher, tenant, None, 0);
        self.store.add_key(&record).await.expect("add key");
        key
    }

    /// Who `key` acts for, as the API's key check finds it.
    pub async fn caller(&self, key: &ApiKey) -> Caller {
        self.resolver
            .resolve(key.expose())
            .await
            .expect("the memory store answers")
            .expect("a live key")
    }

    /// A tenant `id` with one server key: what most tests and benchmarks need.
    pub async fn with_server_key(secret: &ServiceSecret, id: &str) -> (Self, ApiKey) {
        let tenants = Self::new(secret);
        tenants.create(id, |_| {}).await;
        let key = tenants.key(id, KeyKind::Server).await;
        (tenants, key)
    }
}

/// Stores tenant `id` (as [`Tenants::create`] makes it) with `key` as a server key in a stack's
/// own table, hashed with `secret`: what an API binary under test checks keys against.
pub async fn store_in_table(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &str,
    secret: &ServiceSecret,
    id: &str,
    key: &ApiKey,
) {
    let store = common::tenant::DynamoTenantStore::new(dynamo.clone(), table);
    let memory = Tenants::new(secret);
    let policy = memory.create(id, |_| {}).await;
    store.create_tenant(&policy).await.expect("create tenant");
    let record = KeyRecord::issued(key, &KeyHasher::derive(secret), policy.id, None, 0);
    store.add_key(&record).await.expect("add key");
}

/// A new server key of a new tenant `id` in the stack whose function environment is `env`
/// (`OTP_TABLE_NAME`, and `OTP_SECRET_ARN` or `OTP_SECRET`), as `make dev` makes one.
pub async fn server_key_in_stack(
    sdk: &aws_config::SdkConfig,
    env: &std::collections::BTreeMap<String, String>,
    id: &str,
) -> ApiKey {
    let secret = match env.get("OTP_SECRET_ARN").filter(|v| !v.is_empty()) {
        Some(arn) => {
            let value = aws_sdk_secretsmanager::Client::new(sdk)
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .expect("the stack's secret");
            ServiceSecret::from_base64(value.secret_string().expect("a string secret"))
                .expect("a valid secret")
        }
        None => ServiceSecret::from_base64(&env["OTP_SECRET"]).expect("a valid OTP_SECRET"),
    };
    let key = ApiKey::generate(KeyKind::Server);
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    store_in_table(&dynamo, &env["OTP_TABLE_NAME"], &secret, id, &key).await;
    key
}
