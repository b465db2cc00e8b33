//! The tenant store seam. Like the OTP store, each write is one conditional DynamoDB call (or
//! one transaction), and the in-memory fake applies the same conditions through [`rules`].
//!
//! Layout, in the OTP table (its own `pk` prefixes; no TTL attribute, so nothing expires):
//! - `tenant#<id>`: `policy` (the [`TenantPolicy`] as JSON), `version` (bumped by every
//!   update, which is conditional on it), and `keys`, a map from [`KeyId`] to key hash, so
//!   listing or revoking by id needs no scan;
//! - `key#<hash>`: one [`KeyRecord`], found with one `GetItem` when a key is presented;
//! - `tenants`: the set of tenant ids (`ids`), so listing tenants needs no scan of OTP records;
//! - `origin#<origin>`: the set of tenants (`tenants`) that list this browser origin, written in
//!   the same transaction as the tenant, so a CORS preflight (which carries no key, hence names
//!   no tenant) is answered with one read.

use super::fields::{Origin, TenantId};
use super::key::{KeyHash, KeyId, KeyRecord};
use super::policy::TenantPolicy;
use crate::error::BackendError;

/// A value as read, with the version an update must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum TenantStoreError {
    #[error("tenant {0} already exists")]
    TenantExists(TenantId),
    #[error("no tenant {0}")]
    NoTenant(TenantId),
    #[error("tenant {tenant} has no key {key}")]
    NoKey { tenant: TenantId, key: KeyId },
    /// A key of this id (or hash) exists already: draw another key.
    #[error("key {0} exists already")]
    KeyExists(KeyId),
    /// The tenant changed since it was read (another update won).
    #[error("tenant {0} was changed by someone else since it was read")]
    Conflict(TenantId),
    /// An item that does not parse: written by hand, or by another version.
    #[error("stored item {item} is unreadable: {problem}")]
    Corrupt { item: String, problem: String },
    /// A call to the store that failed for a reason of the store's own: its AWS error code
    /// (read by the CLI to say what to fix) and kind, and the SDK error as its source.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

#[async_trait::async_trait]
pub trait TenantStore: Send + Sync + std::fmt::Debug {
    /// Stores a new tenant (version 1); [`TenantStoreError::TenantExists`] if its id is taken.
    async fn create_tenant(&self, policy: &TenantPolicy) -> Result<(), TenantStoreError>;

    async fn tenant(
        &self,
        id: &TenantId,
    ) -> Result<Option<Versioned<TenantPolicy>>, TenantStoreError>;

    /// Every tenant, by id.
    async fn tenants(&self) -> Result<Vec<TenantPolicy>, TenantStoreError>;

    /// Replaces a tenant's policy if it is still at `version`; returns the new version.
    async fn update_tenant(
        &self,
        policy: &TenantPolicy,
        version: u64,
    ) -> Result<u64, TenantStoreError>;

    /// Stores a new key of an existing tenant.
    async fn add_key(&self, key: &KeyRecord) -> Result<(), TenantStoreError>;

    /// A tenant's keys, revoked ones included, by id.
    async fn keys(&self, tenant: &TenantId) -> Result<Vec<KeyRecord>, TenantStoreError>;

    /// The key with this hash: one read, the one a request makes on a cold cache.
    async fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, TenantStoreError>;

    /// Whether any tenant lists `origin` for its publishable keys: all a CORS preflight, which
    /// carries no key, can be asked about.
    async fn origin_listed(&self, origin: &str) -> Result<bool, TenantStoreError>;

    /// Revokes a key (see [`KeyRecord::revoke`]) and returns it as it now is.
    async fn revoke_key(
        &self,
        tenant: &TenantId,
        key: &KeyId,
        now: i64,
    ) -> Result<KeyRecord, TenantStoreError>;
}

/// The rules both stores apply, as functions of what is stored.
pub mod rules {
    use super::*;

    /// An update applies only to the version it was based on.
    pub fn update(
        current: Option<u64>,
        id: &TenantId,
        based_on: u64,
    ) -> Result<u64, TenantStoreError> {
        match current {
            None => Err(TenantStoreError::NoTenant(id.clone())),
            Some(v) if v == based_on => Ok(v + 1),
            Some(_) => Err(TenantStoreError::Conflict(id.clone())),
        }
    }

    /// The origins a policy change adds to the index and those it removes from it.
    pub fn origin_changes<'a>(
        before: &'a [Origin],
        after: &'a [Origin],
    ) -> (Vec<&'a Origin>, Vec<&'a Origin>) {
        let added = after.iter().filter(|o| !before.contains(o)).collect();
        let removed = before.iter().filter(|o| !after.contains(o)).collect();
        (added, removed)
    }

    /// A key is added only to an existing tenant, under an id and a hash not yet taken.
    pub fn add_key(
        tenant_exists: bool,
        id_taken: bool,
        hash_taken: bool,
        key: &KeyRecord,
    ) -> Result<(), TenantStoreError> {
        if !tenant_exists {
            return Err(TenantStoreError::NoTenant(key.tenant.clone()));
        }
        if id_taken || hash_taken {
            return Err(TenantStoreError::KeyExists(key.id.clone()));
        }
        Ok(())
    }
}
