//! Tenants and keys for tests and benchmarks: an in-memory tenant store with one tenant, so a
//! test talks to the API the way a relying app does (with a key) and pays no AWS call for it.

use common::domain::Channel;
use common::secret::ServiceSecret;
use common::tenant::{
    ApiKey, Caller, Channels, KeyHasher, KeyKind, KeyRecord, KeyResolver, Label, MemoryTenantStore,
    Origin, TenantId, TenantPolicy, TenantStore,
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

    /// A new enabled tenant `id` (e-mail and SMS, the deployment's limits, [`TEST_ORIGIN`]),
    /// changed by `edit` before it is stored.
    pub async fn create(&self, id: &str, edit: impl FnOnce(&mut TenantPolicy)) -> TenantPolicy {
        let mut policy = TenantPolicy::new(
            TenantId::parse(id).expect("a valid tenant id"),
            Label::parse("Acme").expect("a valid label"),
            Channels::new([Channel::Email, Channel::Sms]).expect("channels"),
            0,
        );
        policy.set_origins([Origin::parse(TEST_ORIGIN).expect("a valid origin")]);
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
