//! `otp-admin tenant ...`

use super::tenant_id;
use crate::Context;
use crate::Done;
use crate::cli::{CreateArgs, PolicyArgs, UpdateArgs};
use crate::error::Error;
use crate::summary::{TenantList, TenantView};
use common::domain::{Channel, EmailAddress};
use common::lifecycle::listable_country;
use common::tenant::{
    Channels, CountryCode, EmailSender, Label, Limit, Origin, TenantPolicy, Versioned,
};

pub async fn create(ctx: &Context, args: &CreateArgs) -> Result<Done, Error> {
    let id = tenant_id(&args.tenant)?;
    let name = Label::parse(&args.name).map_err(|e| Error::invalid("--name", e))?;
    let Some(channels) = &args.policy.channels else {
        return Err(Error::invalid(
            "--channels",
            "required: the channels the tenant may send on, e.g. --channels email,sms",
        ));
    };
    let channels = channels_of(channels)?;
    let mut policy = TenantPolicy::new(id, name, channels, ctx.clock.now());
    apply(&mut policy, &args.policy)?;
    ctx.store
        .create_tenant(&policy)
        .await
        .map_err(|e| Error::from_store(&ctx.table, e))?;
    Ok(Done::of(
        &TenantView {
            tenant: policy,
            version: 1,
        },
        None,
    ))
}

pub async fn list(ctx: &Context) -> Result<Done, Error> {
    let tenants = ctx
        .store
        .tenants()
        .await
        .map_err(|e| Error::from_store(&ctx.table, e))?;
    Ok(Done::of(&TenantList { tenants }, None))
}

pub async fn show(ctx: &Context, tenant: &str) -> Result<Done, Error> {
    let current = read(ctx, tenant).await?;
    Ok(Done::of(
        &TenantView {
            tenant: current.value,
            version: current.version,
        },
        None,
    ))
}

pub async fn update(ctx: &Context, args: &UpdateArgs) -> Result<Done, Error> {
    let unset = args
        .unset
        .iter()
        .map(|name| limit_named(name))
        .collect::<Result<Vec<_>, _>>()?;
    change(ctx, &args.tenant, |policy| {
        if let Some(name) = &args.name {
            policy.name = Label::parse(name).map_err(|e| Error::invalid("--name", e))?;
        }
        if let Some(channels) = &args.policy.channels {
            policy.channels = channels_of(channels)?;
        }
        if args.clear_brand {
            policy.brand = None;
        }
        if args.clear_email_from {
            policy.email_sender = None;
        }
        if args.clear_origins {
            policy.origins.clear();
        }
        if args.clear_sms_countries {
            policy.sms_countries.clear();
        }
        for limit in &unset {
            policy.limits.unset(*limit);
        }
        apply(policy, &args.policy)
    })
    .await
}

pub async fn set_disabled(ctx: &Context, tenant: &str, disabled: bool) -> Result<Done, Error> {
    change(ctx, tenant, |policy| {
        policy.disabled = disabled;
        Ok(())
    })
    .await
}

async fn read(ctx: &Context, tenant: &str) -> Result<Versioned<TenantPolicy>, Error> {
    let id = tenant_id(tenant)?;
    ctx.store
        .tenant(&id)
        .await
        .map_err(|e| Error::from_store(&ctx.table, e))?
        .ok_or(Error::NoTenant {
            tenant: id.to_string(),
        })
}

/// Reads the tenant, applies `edit`, and writes it back if nobody changed it in between.
async fn change(
    ctx: &Context,
    tenant: &str,
    edit: impl FnOnce(&mut TenantPolicy) -> Result<(), Error>,
) -> Result<Done, Error> {
    let Versioned {
        value: mut policy,
        version,
    } = read(ctx, tenant).await?;
    edit(&mut policy)?;
    policy.updated_at = ctx.clock.now();
    let version = ctx
        .store
        .update_tenant(&policy, version)
        .await
        .map_err(|e| Error::from_store(&ctx.table, e))?;
    Ok(Done::of(
        &TenantView {
            tenant: policy,
            version,
        },
        None,
    ))
}

/// The policy fields `create` and `update` share; only those given change.
fn apply(policy: &mut TenantPolicy, args: &PolicyArgs) -> Result<(), Error> {
    if let Some(brand) = &args.brand {
        policy.brand = Some(Label::parse(brand).map_err(|e| Error::invalid("--brand", e))?);
    }
    if let Some(address) = &args.email_from {
        let address = EmailAddress::parse(address).map_err(|_| {
            Error::invalid(
                "--email-from",
                "not an e-mail address; give the From address of an identity verified in SES",
            )
        })?;
        let display_name = args
            .email_display_name
            .as_deref()
            .map(Label::parse)
            .transpose()
            .map_err(|e| Error::invalid("--email-display-name", e))?;
        policy.email_sender = Some(EmailSender {
            address,
            display_name,
        });
    }
    if !args.origins.is_empty() {
        let origins = args
            .origins
            .iter()
            .map(|raw| Origin::parse(raw).map_err(|e| Error::invalid("--origin", e)))
            .collect::<Result<Vec<_>, _>>()?;
        policy.set_origins(origins);
    }
    if let Some(countries) = &args.sms_countries {
        let countries = countries
            .iter()
            .map(|raw| {
                let country =
                    CountryCode::parse(raw).map_err(|e| Error::invalid("--sms-countries", e))?;
                if listable_country(&country) {
                    Ok(country)
                } else {
                    Err(Error::invalid(
                        "--sms-countries",
                        format!(
                            "{} is not an ISO 3166-1 country with phone numbers; use the \
                             two-letter code, e.g. GB for the United Kingdom",
                            country.as_str()
                        ),
                    ))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        policy.set_sms_countries(countries);
    }
    for (limit, value) in args.limits.given() {
        policy
            .limits
            .set(limit, value)
            .map_err(|e| Error::invalid(&flag(limit), e.problem))?;
    }
    Ok(())
}

fn channels_of(channels: &[crate::cli::ChannelArg]) -> Result<Channels, Error> {
    Channels::new(channels.iter().map(|c| Channel::from(*c)))
        .map_err(|e| Error::invalid("--channels", e))
}

fn flag(limit: Limit) -> String {
    format!("--{}", limit.name().replace('_', "-"))
}

/// A limit by its name as `--unset` takes it: the flag's name, with or without `--`.
fn limit_named(name: &str) -> Result<Limit, Error> {
    let wanted = name.trim_start_matches("--").replace('-', "_");
    Limit::ALL
        .into_iter()
        .find(|limit| limit.name() == wanted)
        .ok_or_else(|| {
            let names: Vec<String> = Limit::ALL
                .iter()
                .map(|l| l.name().replace('_', "-"))
                .collect();
            Error::invalid(
                "--unset",
                format!(
                    "{name:?} is not a limit; the limits are {}",
                    names.join(", ")
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_takes_the_flag_names_and_lists_them_when_wrong() {
        assert_eq!(limit_named("ttl-seconds").unwrap(), Limit::TtlSeconds);
        assert_eq!(limit_named("--max-attempts").unwrap(), Limit::MaxAttempts);
        let err = limit_named("ttl").unwrap_err().to_string();
        assert!(
            err.contains("ttl-seconds") && err.contains("--unset"),
            "{err}"
        );
        assert_eq!(flag(Limit::SendsPerIpPerHour), "--sends-per-ip-per-hour");
    }
}
