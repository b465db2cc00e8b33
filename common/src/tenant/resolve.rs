//! From a presented key to the tenant it acts for, behind a short cache.
//!
//! A warm API instance answers a key it saw in the last [`KeyResolver::DEFAULT_TTL`] without an
//! AWS call; a cold one reads the key by its hash (one `GetItem`) and then its tenant (one
//! more). The price is staleness: a revoked key, a disabled tenant or a changed policy takes
//! effect on each instance within the cache's TTL (30 s by default) of the change.
//!
//! Keys that are not found are not cached: anyone can present endless distinct keys, so
//! caching them would only let an attacker flush the keys that are real.

use super::key::{ApiKey, KeyHash, KeyHasher, KeyId, KeyKind};
use super::policy::TenantPolicy;
use super::store::{TenantStore, TenantStoreError};
use crate::secret::ServiceSecret;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Who is calling: a live key of an enabled tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: Arc<TenantPolicy>,
    pub key: KeyId,
    pub kind: KeyKind,
}

/// Why a presented key does not identify a caller. The API answers each the same (401), so a
/// caller learns nothing about which keys exist; the reason is for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not shaped like a key at all (no store call was made).
    Malformed,
    /// No such key (or its tenant is gone).
    Unknown,
    Revoked,
    TenantDisabled,
}

type Answer = Result<Caller, Refusal>;

/// Answers by key hash, each for `ttl` after it was read. Bounded: when full, expired entries
/// go, and if that frees nothing, everything does (the next requests read the store again).
#[derive(Debug)]
pub struct KeyCache {
    ttl: Duration,
    capacity: usize,
    entries: RwLock<HashMap<KeyHash, (Instant, Answer)>>,
}

impl KeyCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The answer stored for `hash`, if it was read less than the TTL before `now`.
    pub fn get(&self, hash: &KeyHash, now: Instant) -> Option<Answer> {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (read_at, answer) = entries.get(hash)?;
        (now.saturating_duration_since(*read_at) < self.ttl).then(|| answer.clone())
    }

    pub fn insert(&self, hash: KeyHash, answer: Answer, now: Instant) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&hash) {
            entries.retain(|_, (read_at, _)| now.saturating_duration_since(*read_at) < self.ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(hash, (now, answer));
    }

    pub fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Checks presented keys against the store, through a [`KeyCache`].
#[derive(Debug)]
pub struct KeyResolver {
    store: Arc<dyn TenantStore>,
    hasher: KeyHasher,
    cache: KeyCache,
    /// CORS preflights' answers by origin, with the key cache's TTL and capacity.
    origins: OriginCache,
}

/// Whether an origin is listed, by origin, each for the TTL after it was read. Unlisted origins
/// are cached too (a preflight is cheap to send, and one read each would be an amplifier);
/// like [`KeyCache`], a full cache drops what expired, then everything.
#[derive(Debug)]
struct OriginCache {
    ttl: Duration,
    capacity: usize,
    entries: RwLock<HashMap<String, (Instant, bool)>>,
}

impl OriginCache {
    fn get(&self, origin: &str, now: Instant) -> Option<bool> {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (read_at, listed) = entries.get(origin)?;
        (now.saturating_duration_since(*read_at) < self.ttl).then_some(*listed)
    }

    fn insert(&self, origin: &str, listed: bool, now: Instant) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(origin) {
            entries.retain(|_, (read_at, _)| now.saturating_duration_since(*read_at) < self.ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(origin.to_owned(), (now, listed));
    }
}

impl KeyResolver {
    /// How long an answer is reused: the most a revocation waits to take effect.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
    /// Distinct live keys one instance remembers.
    pub const DEFAULT_CAPACITY: usize = 10_000;

    pub fn new(store: Arc<dyn TenantStore>, secret: &ServiceSecret) -> Self {
        Self::with_cache(
            store,
            secret,
            KeyCache::new(Self::DEFAULT_TTL, Self::DEFAULT_CAPACITY),
        )
    }

    pub fn with_cache(
        store: Arc<dyn TenantStore>,
        secret: &ServiceSecret,
        cache: KeyCache,
    ) -> Self {
        Self {
            store,
            hasher: KeyHasher::derive(secret),
            origins: OriginCache {
                ttl: cache.ttl,
                capacity: cache.capacity,
                entries: RwLock::new(HashMap::new()),
            },
            cache,
        }
    }

    /// Whether some tenant lists `origin` (see [`TenantStore::origin_listed`]): what a CORS
    /// preflight is answered by. Cached like keys, so a listing change also takes up to the
    /// TTL to reach a warm instance.
    pub async fn origin_listed(&self, origin: &str) -> Result<bool, TenantStoreError> {
        let now = Instant::now();
        if let Some(listed) = self.origins.get(origin, now) {
            return Ok(listed);
        }
        let listed = self.store.origin_listed(origin).await?;
        self.origins.insert(origin, listed, now);
        Ok(listed)
    }

    /// Who `presented` (the text after `Bearer `) acts for. `Err` only when the store could
    /// not be asked; the API then answers 503, not 401, so an outage never reads as "bad key".
    pub async fn resolve(&self, presented: &str) -> Result<Answer, TenantStoreError> {
        self.resolve_at(presented, Instant::now()).await
    }

    /// [`KeyResolver::resolve`] as of `now` (tests move time by hand).
    pub async fn resolve_at(
        &self,
        presented: &str,
        now: Instant,
    ) -> Result<Answer, TenantStoreError> {
        let Ok(key) = ApiKey::parse(presented) else {
            return Ok(Err(Refusal::Malformed));
        };
        let hash = self.hasher.hash(&key);
        if let Some(answer) = self.cache.get(&hash, now) {
            return Ok(answer);
        }
        let Some(record) = self.store.key_by_hash(&hash).await? else {
            return Ok(Err(Refusal::Unknown));
        };
        // The store found it by hash; compare once more here, in constant time, so a store
        // that matched loosely (or a fake) can never let another key through.
        if !record.hash.matches(&hash) || record.kind != key.kind() {
            return Ok(Err(Refusal::Unknown));
        }
        let answer = if record.is_revoked() {
            Err(Refusal::Revoked)
        } else {
            match self.store.tenant(&record.tenant).await? {
                None => Err(Refusal::Unknown),
                Some(tenant) if tenant.value.disabled => Err(Refusal::TenantDisabled),
                Some(tenant) => Ok(Caller {
                    tenant: Arc::new(tenant.value),
                    key: record.id,
                    kind: record.kind,
                }),
            }
        };
        self.cache.insert(hash, answer.clone(), now);
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Channel;
    use crate::tenant::{Channels, KeyRecord, Label, MemoryTenantStore, TenantId};

    const TTL: Duration = Duration::from_secs(30);

    fn tenant(id: &str) -> TenantPolicy {
        TenantPolicy::new(
            TenantId::parse(id).unwrap(),
            Label::parse("Acme").unwrap(),
            Channels::new([Channel::Email]).unwrap(),
            0,
        )
    }

    async fn setup() -> (Arc<MemoryTenantStore>, KeyResolver, ApiKey, ServiceSecret) {
        let store = Arc::new(MemoryTenantStore::new());
        let secret = ServiceSecret::generate();
        let policy = tenant("acme");
        store.create_tenant(&policy).await.unwrap();
        let key = ApiKey::generate(KeyKind::Server);
        let record = KeyRecord::issued(&key, &KeyHasher::derive(&secret), policy.id, None, 0);
        store.add_key(&record).await.unwrap();
        let resolver = KeyResolver::with_cache(store.clone(), &secret, KeyCache::new(TTL, 100));
        (store, resolver, key, secret)
    }

    #[test]
    fn cached_answers_expire_after_the_ttl() {
        let cache = KeyCache::new(TTL, 10);
        let hash =
            KeyHasher::derive(&ServiceSecret::generate()).hash(&ApiKey::generate(KeyKind::Server));
        let t0 = Instant::now();
        cache.insert(hash.clone(), Err(Refusal::Revoked), t0);
        let almost = t0 + TTL - Duration::from_millis(1);
        assert_eq!(cache.get(&hash, almost), Some(Err(Refusal::Revoked)));
        assert_eq!(cache.get(&hash, t0 + TTL), None);
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first_and_never_grows_past_its_capacity() {
        let cache = KeyCache::new(TTL, 3);
        let hasher = KeyHasher::derive(&ServiceSecret::generate());
        let hash = || hasher.hash(&ApiKey::generate(KeyKind::Server));
        let t0 = Instant::now();
        let old = hash();
        cache.insert(old.clone(), Err(Refusal::Revoked), t0);
        let later = t0 + TTL;
        let (a, b) = (hash(), hash());
        cache.insert(a.clone(), Err(Refusal::Revoked), later);
        cache.insert(b.clone(), Err(Refusal::Revoked), later);
        cache.insert(hash(), Err(Refusal::Revoked), later);
        assert_eq!(cache.len(), 3, "the expired entry made room");
        assert!(cache.get(&a, later).is_some() && cache.get(&b, later).is_some());
        for _ in 0..10 {
            cache.insert(hash(), Err(Refusal::Revoked), later);
            assert!(cache.len() <= 3);
        }
    }

    #[tokio::test]
    async fn a_live_key_resolves_to_its_tenant_and_malformed_or_unknown_keys_do_not() {
        let (_, resolver, key, _) = setup().await;
        let caller = resolver.resolve(key.expose()).await.unwrap().unwrap();
        assert_eq!(caller.tenant.id.as_str(), "acme");
        assert_eq!(caller.kind, KeyKind::Server);
        assert_eq!(caller.key, key.id());
        assert_eq!(
            resolver.resolve("otpr_sk_short").await.unwrap(),
            Err(Refusal::Malformed)
        );
        let stranger = ApiKey::generate(KeyKind::Server);
        assert_eq!(
            resolver.resolve(stranger.expose()).await.unwrap(),
            Err(Refusal::Unknown)
        );
        // A key hashed under another secret is unknown here.
        let (_, other, _, _) = setup().await;
        assert_eq!(
            other.resolve(key.expose()).await.unwrap(),
            Err(Refusal::Unknown)
        );
    }

    #[tokio::test]
    async fn a_revocation_takes_effect_once_the_cached_answer_expires() {
        let (store, resolver, key, _) = setup().await;
        let t0 = Instant::now();
        assert!(resolver.resolve_at(key.expose(), t0).await.unwrap().is_ok());
        let tenant = TenantId::parse("acme").unwrap();
        store.revoke_key(&tenant, &key.id(), 5).await.unwrap();
        // Within the TTL the cached answer stands: no store call on a warm instance.
        let warm = t0 + TTL - Duration::from_secs(1);
        assert!(
            resolver
                .resolve_at(key.expose(), warm)
                .await
                .unwrap()
                .is_ok()
        );
        assert_eq!(
            resolver.resolve_at(key.expose(), t0 + TTL).await.unwrap(),
            Err(Refusal::Revoked)
        );
    }

    #[tokio::test]
    async fn an_origin_is_listed_while_a_tenant_lists_it() {
        use crate::tenant::Origin;
        let store = Arc::new(MemoryTenantStore::new());
        let secret = ServiceSecret::generate();
        let origin = "https://shop.example";
        let mut policy = tenant("acme");
        policy.set_origins([Origin::parse(origin).unwrap()]);
        store.create_tenant(&policy).await.unwrap();
        let mut other = tenant("other");
        other.set_origins([Origin::parse(origin).unwrap()]);
        store.create_tenant(&other).await.unwrap();
        assert!(store.origin_listed(origin).await.unwrap());
        assert!(!store.origin_listed("https://evil.example").await.unwrap());
        policy.set_origins([]);
        store.update_tenant(&policy, 1).await.unwrap();
        assert!(
            store.origin_listed(origin).await.unwrap(),
            "other lists it still"
        );
        other.set_origins([]);
        store.update_tenant(&other, 1).await.unwrap();
        assert!(!store.origin_listed(origin).await.unwrap());
        // The resolver caches the answer: a warm instance asks the store once per TTL.
        let resolver = KeyResolver::new(store.clone(), &secret);
        assert!(!resolver.origin_listed(origin).await.unwrap());
    }

    #[tokio::test]
    async fn a_disabled_tenant_s_keys_are_refused() {
        let (store, resolver, key, _) = setup().await;
        let id = TenantId::parse("acme").unwrap();
        let mut current = store.tenant(&id).await.unwrap().unwrap();
        current.value.disabled = true;
        store
            .update_tenant(&current.value, current.version)
            .await
            .unwrap();
        assert_eq!(
            resolver.resolve(key.expose()).await.unwrap(),
            Err(Refusal::TenantDisabled)
        );
    }
}
