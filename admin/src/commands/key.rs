//! `otp-admin key ...`

use super::tenant_id;
use crate::Context;
use crate::Done;
use crate::cli::{KeyCreateArgs, KeyRevokeArgs};
use crate::error::Error;
use crate::summary::{KeyList, NewKey, Revoked};
use common::tenant::{ApiKey, KeyHasher, KeyId, KeyRecord, Label};

pub async fn create(ctx: &Context, args: &KeyCreateArgs) -> Result<Done, Error> {
    let tenant = tenant_id(&args.tenant)?;
    let label = args
        .label
        .as_deref()
        .map(Label::parse)
        .transpose()
        .map_err(|e| Error::invalid("--label", e))?;
    let hasher = KeyHasher::derive(&ctx.secret().await?);
    let key = ApiKey::generate(args.kind.into());
    let record = KeyRecord::issued(&key, &hasher, tenant, label, ctx.clock.now());
    ctx.store
        .add_key(&record)
        .await
        .map_err(|e| Error::from_store(&ctx.table, e))?;
    Ok(Done::of(
        &NewKey {
            record,
            key: key.expose().to_owned(),
        },
        None,
    ))
}

pub async fn list(ctx: &Context, tenant: &str) -> Result<Done, Error> {
    let id = tenant_id(tenant)?;
    let keys = ctx
        .store
        .keys(&id)
        .await
        .map_err(|e| Error::from_store(&ctx.table, e))?;
    Ok(Done::of(
        &KeyList {
            tenant: id.to_string(),
            keys,
        },
        None,
    ))
}

pub async fn revoke(ctx: &Context, args: &KeyRevokeArgs) -> Result<Done, Error> {
    let tenant = tenant_id(&args.tenant)?;
    let key = KeyId::parse(&args.key).map_err(|e| Error::invalid("KEY_ID", e))?;
    let record = ctx
        .store
        .revoke_key(&tenant, &key, ctx.clock.now())
        .await
        .map_err(|e| Error::from_store(&ctx.table, e))?;
    Ok(Done::of(&Revoked { record }, None))
}
