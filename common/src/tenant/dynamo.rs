//! [`TenantStore`] on the OTP table (layout in [`super::store`]). Tenants and keys live beside
//! the OTP records rather than in a table of their own: the API already reads that table, so
//! checking a key needs no new permission, and the deployment keeps one table to back up,
//! encrypt and watch. Their items carry no `ttl`, so they never expire.

use super::fields::{Origin, TenantId};
use super::key::{KeyHash, KeyId, KeyKind, KeyRecord};
use super::policy::TenantPolicy;
use super::store::{TenantStore, TenantStoreError, Versioned, rules};
use crate::error::BackendError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure as OnFail,
    TransactWriteItem, Update,
};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

const DIRECTORY: &str = "tenants";
const CHECK_FAILED: &str = "ConditionalCheckFailed";

#[derive(Debug, Clone)]
pub struct DynamoTenantStore {
    client: Client,
    table: String,
}

impl DynamoTenantStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn get(&self, pk: String, operation: &'static str) -> Result<Option<Item>, BackendError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk)))
            .consistent_read(true)
            .send()
            .await
            .map(|out| out.item)
            .map_err(|e| failure(operation, e))
    }

    async fn stored_tenant(
        &self,
        id: &TenantId,
    ) -> Result<Option<(Versioned<TenantPolicy>, Item)>, TenantStoreError> {
        let Some(item) = self.get(tenant_pk(id), "GetItem").await? else {
            return Ok(None);
        };
        let policy = text(&item, "policy")
            .ok_or_else(|| corrupt(&tenant_pk(id), "no policy"))
            .and_then(|json| {
                TenantPolicy::from_json(json).map_err(|e| corrupt(&tenant_pk(id), e.to_string()))
            })?;
        let version =
            number(&item, "version").ok_or_else(|| corrupt(&tenant_pk(id), "no version"))?;
        Ok(Some((
            Versioned {
                value: policy,
                version,
            },
            item,
        )))
    }

    /// The hash a tenant's key id points at.
    async fn key_hash(&self, tenant: &TenantId, id: &KeyId) -> Result<KeyHash, TenantStoreError> {
        let (_, item) = self
            .stored_tenant(tenant)
            .await?
            .ok_or_else(|| TenantStoreError::NoTenant(tenant.clone()))?;
        let map = key_map(&item);
        let hash = map
            .get(id.as_str())
            .ok_or_else(|| TenantStoreError::NoKey {
                tenant: tenant.clone(),
                key: id.clone(),
            })?;
        KeyHash::parse(hash).map_err(|e| corrupt(&tenant_pk(tenant), e.to_string()))
    }

    /// The origin-index writes of a policy change ([`rules::origin_changes`]): this tenant
    /// added to the set of each new origin, removed from that of each dropped one.
    fn origin_items(
        &self,
        tenant: &TenantId,
        before: &[Origin],
        after: &[Origin],
    ) -> Result<Vec<TransactWriteItem>, TenantStoreError> {
        let (added, removed) = rules::origin_changes(before, after);
        let change = |origin: &Origin, action: &str| {
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(origin_pk(origin.as_str()))))
                .update_expression(format!("{action} tenants :id"))
                .expression_attribute_values(":id", AttributeValue::Ss(vec![tenant.to_string()]))
                .build()
                .map(|u| TransactWriteItem::builder().update(u).build())
                .map_err(build_error)
        };
        added
            .into_iter()
            .map(|o| change(o, "ADD"))
            .chain(removed.into_iter().map(|o| change(o, "DELETE")))
            .collect::<Result<_, _>>()
            .map_err(TenantStoreError::from)
    }

    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Vec<bool>>, BackendError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Ok(())),
            Err(err) => match err.as_service_error() {
                // Which of the items' conditions failed, in order.
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => Ok(Err(e
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code() == Some(CHECK_FAILED))
                    .collect())),
                _ => Err(failure("TransactWriteItems", err)),
            },
        }
    }
}

#[async_trait::async_trait]
impl TenantStore for DynamoTenantStore {
    async fn create_tenant(&self, policy: &TenantPolicy) -> Result<(), TenantStoreError> {
        let mut item = key(tenant_pk(&policy.id));
        item.insert("policy".into(), s(policy.to_json()));
        item.insert("version".into(), n(1));
        item.insert("keys".into(), AttributeValue::M(HashMap::new()));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        let list = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(DIRECTORY.to_owned())))
            .update_expression("ADD ids :id")
            .expression_attribute_values(":id", AttributeValue::Ss(vec![policy.id.to_string()]))
            .build()
            .map_err(build_error)?;
        let mut items = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(list).build(),
        ];
        items.extend(self.origin_items(&policy.id, &[], &policy.origins)?);
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(failed) if failed.first() == Some(&true) => {
                Err(TenantStoreError::TenantExists(policy.id.clone()))
            }
            Err(_) => Err(unexplained("TransactWriteItems")),
        }
    }

    async fn tenant(
        &self,
        id: &TenantId,
    ) -> Result<Option<Versioned<TenantPolicy>>, TenantStoreError> {
        Ok(self.stored_tenant(id).await?.map(|(tenant, _)| tenant))
    }

    async fn tenants(&self) -> Result<Vec<TenantPolicy>, TenantStoreError> {
        let ids = self
            .get(DIRECTORY.to_owned(), "GetItem")
            .await?
            .and_then(|item| item.get("ids").and_then(|v| v.as_ss().ok()).cloned())
            // No directory item yet: no tenant was ever created.
            .unwrap_or_default();
        let mut tenants = Vec::with_capacity(ids.len());
        // One read per tenant: an operator's listing, not a request path.
        for raw in ids {
            let id = TenantId::parse(&raw).map_err(|e| corrupt(DIRECTORY, e.to_string()))?;
            if let Some((tenant, _)) = self.stored_tenant(&id).await? {
                tenants.push(tenant.value);
            }
        }
        tenants.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(tenants)
    }

    async fn update_tenant(
        &self,
        policy: &TenantPolicy,
        version: u64,
    ) -> Result<u64, TenantStoreError> {
        let next = version + 1;
        // The origin index changes with the policy, in one transaction; the read tells which
        // origins come and go, and the version condition makes sure it is still true.
        let current = self.stored_tenant(&policy.id).await?;
        let before = match &current {
            Some((tenant, _)) if tenant.version == version => tenant.value.origins.clone(),
            other => {
                return rules::update(other.as_ref().map(|(t, _)| t.version), &policy.id, version)
                    .and(Err(TenantStoreError::Conflict(policy.id.clone())));
            }
        };
        let origin_items = self.origin_items(&policy.id, &before, &policy.origins)?;
        if !origin_items.is_empty() {
            let bump = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(tenant_pk(&policy.id))))
                .update_expression("SET policy = :policy, version = :next")
                .condition_expression("version = :version")
                .expression_attribute_values(":policy", s(policy.to_json()))
                .expression_attribute_values(":next", n(next))
                .expression_attribute_values(":version", n(version))
                .build()
                .map_err(build_error)?;
            let mut items = vec![TransactWriteItem::builder().update(bump).build()];
            items.extend(origin_items);
            return match self.transact(items).await? {
                Ok(()) => Ok(next),
                Err(failed) if failed.first() == Some(&true) => {
                    Err(TenantStoreError::Conflict(policy.id.clone()))
                }
                Err(_) => Err(unexplained("TransactWriteItems")),
            };
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(&policy.id))))
            .update_expression("SET policy = :policy, version = :next")
            .condition_expression("version = :version")
            .expression_attribute_values(":policy", s(policy.to_json()))
            .expression_attribute_values(":next", n(next))
            .expression_attribute_values(":version", n(version))
            .return_values_on_condition_check_failure(OnFail::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(next),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(e)) => {
                    let current = e.item.as_ref().and_then(|item| number(item, "version"));
                    // The condition failed, so the rule refuses too; Conflict if it disagrees.
                    rules::update(current, &policy.id, version)
                        .and(Err(TenantStoreError::Conflict(policy.id.clone())))
                }
                _ => Err(failure("UpdateItem", err).into()),
            },
        }
    }

    async fn add_key(&self, record: &KeyRecord) -> Result<(), TenantStoreError> {
        let mut item = key(key_pk(&record.hash));
        item.insert("tenant".into(), s(record.tenant.to_string()));
        item.insert("key_id".into(), s(record.id.to_string()));
        item.insert("kind".into(), s(record.kind.as_str()));
        item.insert("created_at".into(), n(record.created_at));
        if let Some(label) = &record.label {
            item.insert("label".into(), s(label.to_string()));
        }
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        let link = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(&record.tenant))))
            .update_expression("SET #keys.#id = :hash")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(#keys.#id)")
            .expression_attribute_names("#keys", "keys")
            .expression_attribute_names("#id", record.id.as_str())
            .expression_attribute_values(":hash", s(record.hash.as_str()))
            .build()
            .map_err(build_error)?;
        match self
            .transact(vec![
                TransactWriteItem::builder().put(put).build(),
                TransactWriteItem::builder().update(link).build(),
            ])
            .await?
        {
            Ok(()) => Ok(()),
            Err(failed) => {
                // Which condition failed, told by the rule from what is there now.
                let tenant = self.stored_tenant(&record.tenant).await?;
                let id_taken = tenant
                    .as_ref()
                    .is_some_and(|(_, item)| key_map(item).contains_key(record.id.as_str()));
                let hash_taken = failed.first() == Some(&true);
                rules::add_key(tenant.is_some(), id_taken, hash_taken, record)
                    .and(Err(unexplained("TransactWriteItems")))
            }
        }
    }

    async fn keys(&self, tenant: &TenantId) -> Result<Vec<KeyRecord>, TenantStoreError> {
        let (_, item) = self
            .stored_tenant(tenant)
            .await?
            .ok_or_else(|| TenantStoreError::NoTenant(tenant.clone()))?;
        let mut hashes: Vec<(&str, &str)> = key_map(&item).into_iter().collect();
        hashes.sort();
        let mut keys = Vec::with_capacity(hashes.len());
        for (_, hash) in hashes {
            let hash =
                KeyHash::parse(hash).map_err(|e| corrupt(&tenant_pk(tenant), e.to_string()))?;
            if let Some(record) = self.key_by_hash(&hash).await? {
                keys.push(record);
            }
        }
        Ok(keys)
    }

    async fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, TenantStoreError> {
        self.get(key_pk(hash), "GetItem")
            .await?
            .map(|item| parse_key(&item))
            .transpose()
    }

    async fn origin_listed(&self, origin: &str) -> Result<bool, TenantStoreError> {
        Ok(self
            .get(origin_pk(origin), "GetItem")
            .await?
            .and_then(|item| {
                item.get("tenants")
                    .and_then(|v| v.as_ss().ok())
                    .map(Vec::len)
            })
            .is_some_and(|n| n > 0))
    }

    async fn revoke_key(
        &self,
        tenant: &TenantId,
        id: &KeyId,
        now: i64,
    ) -> Result<KeyRecord, TenantStoreError> {
        let hash = self.key_hash(tenant, id).await?;
        // KeyRecord::revoke's rule: the first revocation's time stays.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(key_pk(&hash))))
            .update_expression("SET revoked_at = if_not_exists(revoked_at, :now)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out
                .attributes
                .ok_or_else(|| corrupt(&key_pk(&hash), "UpdateItem returned no item"))
                .and_then(|item| parse_key(&item)),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Err(TenantStoreError::NoKey {
                        tenant: tenant.clone(),
                        key: id.clone(),
                    })
                }
                _ => Err(failure("UpdateItem", err).into()),
            },
        }
    }
}

fn origin_pk(origin: &str) -> String {
    format!("origin#{origin}")
}

fn tenant_pk(id: &TenantId) -> String {
    format!("tenant#{id}")
}

fn key_pk(hash: &KeyHash) -> String {
    format!("key#{}", hash.as_str())
}

fn key(pk: String) -> Item {
    HashMap::from([("pk".to_owned(), AttributeValue::S(pk))])
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// The tenant item's map from key id to key hash.
fn key_map(item: &Item) -> HashMap<&str, &str> {
    item.get("keys")
        .and_then(|v| v.as_m().ok())
        .map(|keys| {
            keys.iter()
                .filter_map(|(id, hash)| Some((id.as_str(), hash.as_s().ok()?.as_str())))
                .collect()
        })
        .unwrap_or_default()
}

fn parse_key(item: &Item) -> Result<KeyRecord, TenantStoreError> {
    let pk = text(item, "pk").unwrap_or("key#?");
    let bad = |problem: &str| corrupt(pk, problem);
    let hash = pk
        .strip_prefix("key#")
        .and_then(|h| KeyHash::parse(h).ok())
        .ok_or_else(|| bad("pk is not key#<hash>"))?;
    Ok(KeyRecord {
        id: text(item, "key_id")
            .and_then(|v| KeyId::parse(v).ok())
            .ok_or_else(|| bad("key_id"))?,
        kind: text(item, "kind")
            .and_then(KeyKind::parse)
            .ok_or_else(|| bad("kind"))?,
        tenant: text(item, "tenant")
            .and_then(|v| TenantId::parse(v).ok())
            .ok_or_else(|| bad("tenant"))?,
        hash,
        label: match text(item, "label") {
            None => None,
            Some(v) => Some(super::fields::Label::parse(v).map_err(|_| bad("label"))?),
        },
        created_at: number(item, "created_at").ok_or_else(|| bad("created_at"))?,
        revoked_at: number(item, "revoked_at"),
    })
}

fn corrupt(item: &str, problem: impl Into<String>) -> TenantStoreError {
    TenantStoreError::Corrupt {
        item: item.to_owned(),
        problem: problem.into(),
    }
}

/// A transaction cancelled for no condition of ours (throttling, a conflicting transaction):
/// the caller runs the command again.
fn unexplained(operation: &'static str) -> TenantStoreError {
    BackendError::from_code(
        "dynamodb",
        operation,
        "TransactionCanceledException",
        "the transaction was cancelled for a reason other than its conditions (a concurrent change or throttling): run it again",
    )
    .into()
}

fn build_error(err: aws_sdk_dynamodb::error::BuildError) -> BackendError {
    BackendError::new("dynamodb", "build request", err.to_string())
}

/// Keeps the service's error code and kind as data and the SDK error as the source.
fn failure<E, R>(operation: &'static str, err: SdkError<E, R>) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    BackendError::sdk("dynamodb", operation, err)
}
