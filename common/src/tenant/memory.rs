//! [`TenantStore`] in memory, for tests and benchmarks. It keeps the policy in its stored form
//! (JSON) and decides through [`rules`], as the DynamoDB adapter's conditions do.

use super::fields::Origin;
use super::fields::TenantId;
use super::key::{KeyHash, KeyId, KeyRecord};
use super::policy::TenantPolicy;
use super::store::{TenantStore, TenantStoreError, Versioned, rules};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Default)]
pub struct MemoryTenantStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    tenants: BTreeMap<TenantId, StoredTenant>,
    keys: HashMap<KeyHash, KeyRecord>,
    /// The origin index, kept through [`rules::origin_changes`] as DynamoDB's is.
    origins: HashMap<String, BTreeSet<TenantId>>,
}

impl State {
    fn index_origins(&mut self, tenant: &TenantId, before: &[Origin], after: &[Origin]) {
        let (added, removed) = rules::origin_changes(before, after);
        for origin in added {
            self.origins
                .entry(origin.as_str().to_owned())
                .or_default()
                .insert(tenant.clone());
        }
        for origin in removed {
            if let Some(set) = self.origins.get_mut(origin.as_str()) {
                set.remove(tenant);
            }
        }
    }
}

#[derive(Debug)]
struct StoredTenant {
    policy: String,
    version: u64,
    keys: BTreeMap<KeyId, KeyHash>,
}

impl MemoryTenantStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind, still consistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn read(id: &TenantId, stored: &StoredTenant) -> Result<TenantPolicy, TenantStoreError> {
    TenantPolicy::from_json(&stored.policy).map_err(|e| TenantStoreError::Corrupt {
        item: format!("tenant#{id}"),
        problem: e.to_string(),
    })
}

#[async_trait::async_trait]
impl TenantStore for MemoryTenantStore {
    async fn create_tenant(&self, policy: &TenantPolicy) -> Result<(), TenantStoreError> {
        let mut state = self.state();
        if state.tenants.contains_key(&policy.id) {
            return Err(TenantStoreError::TenantExists(policy.id.clone()));
        }
        state.tenants.insert(
            policy.id.clone(),
            StoredTenant {
                policy: policy.to_json(),
                version: 1,
                keys: BTreeMap::new(),
            },
        );
        state.index_origins(&policy.id, &[], &policy.origins);
        Ok(())
    }

    async fn tenant(
        &self,
        id: &TenantId,
    ) -> Result<Option<Versioned<TenantPolicy>>, TenantStoreError> {
        let state = self.state();
        state
            .tenants
            .get(id)
            .map(|stored| {
                Ok(Versioned {
                    value: read(id, stored)?,
                    version: stored.version,
                })
            })
            .transpose()
    }

    async fn tenants(&self) -> Result<Vec<TenantPolicy>, TenantStoreError> {
        let state = self.state();
        state
            .tenants
            .iter()
            .map(|(id, stored)| read(id, stored))
            .collect()
    }

    async fn update_tenant(
        &self,
        policy: &TenantPolicy,
        version: u64,
    ) -> Result<u64, TenantStoreError> {
        let mut state = self.state();
        let stored = state.tenants.get_mut(&policy.id);
        let next = rules::update(stored.as_ref().map(|s| s.version), &policy.id, version)?;
        let mut before = Vec::new();
        if let Some(stored) = stored {
            before = read(&policy.id, stored)?.origins;
            stored.policy = policy.to_json();
            stored.version = next;
        }
        state.index_origins(&policy.id, &before, &policy.origins);
        Ok(next)
    }

    async fn add_key(&self, key: &KeyRecord) -> Result<(), TenantStoreError> {
        let mut state = self.state();
        let hash_taken = state.keys.contains_key(&key.hash);
        let tenant = state.tenants.get(&key.tenant);
        rules::add_key(
            tenant.is_some(),
            tenant.is_some_and(|t| t.keys.contains_key(&key.id)),
            hash_taken,
            key,
        )?;
        if let Some(tenant) = state.tenants.get_mut(&key.tenant) {
            tenant.keys.insert(key.id.clone(), key.hash.clone());
        }
        state.keys.insert(key.hash.clone(), key.clone());
        Ok(())
    }

    async fn keys(&self, tenant: &TenantId) -> Result<Vec<KeyRecord>, TenantStoreError> {
        let state = self.state();
        let stored = state
            .tenants
            .get(tenant)
            .ok_or_else(|| TenantStoreError::NoTenant(tenant.clone()))?;
        Ok(stored
            .keys
            .values()
            .filter_map(|hash| state.keys.get(hash).cloned())
            .collect())
    }

    async fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, TenantStoreError> {
        Ok(self.state().keys.get(hash).cloned())
    }

    async fn origin_listed(&self, origin: &str) -> Result<bool, TenantStoreError> {
        Ok(self
            .state()
            .origins
            .get(origin)
            .is_some_and(|tenants| !tenants.is_empty()))
    }

    async fn revoke_key(
        &self,
        tenant: &TenantId,
        key: &KeyId,
        now: i64,
    ) -> Result<KeyRecord, TenantStoreError> {
        let mut state = self.state();
        let no_key = || TenantStoreError::NoKey {
            tenant: tenant.clone(),
            key: key.clone(),
        };
        let hash = state
            .tenants
            .get(tenant)
            .ok_or_else(|| TenantStoreError::NoTenant(tenant.clone()))?
            .keys
            .get(key)
            .cloned()
            .ok_or_else(no_key)?;
        let record = state.keys.get_mut(&hash).ok_or_else(no_key)?;
        record.revoke(now);
        Ok(record.clone())
    }
}
