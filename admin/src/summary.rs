//! The summaries the commands print: JSON through serde, text through `Display`.

use common::clock::rfc3339;
use common::tenant::{KeyRecord, Limit, TenantPolicy};
use serde::Serialize;
use std::fmt;

/// One tenant, as `create`, `show`, `update`, `disable` and `enable` print it.
#[derive(Debug, Serialize)]
pub struct TenantView {
    pub tenant: TenantPolicy,
    pub version: u64,
}

impl fmt::Display for TenantView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.tenant;
        let state = if t.disabled { "DISABLED" } else { "enabled" };
        writeln!(f, "tenant {} ({state})", t.id)?;
        writeln!(f, "  name:       {}", t.name)?;
        writeln!(
            f,
            "  brand:      {}",
            t.brand.as_ref().map_or("(deployment's)", |b| b.as_str())
        )?;
        writeln!(f, "  channels:   {}", t.channels)?;
        let sender = t
            .email_sender
            .as_ref()
            .map_or("(deployment's)".to_owned(), |s| s.from_header());
        writeln!(f, "  e-mail:     {sender}")?;
        let origins: Vec<&str> = t.origins.iter().map(|o| o.as_str()).collect();
        writeln!(
            f,
            "  origins:    {}",
            if origins.is_empty() {
                "(none: publishable keys work from nowhere)".to_owned()
            } else {
                origins.join(" ")
            }
        )?;
        let countries: Vec<&str> = t.sms_countries.iter().map(|c| c.as_str()).collect();
        writeln!(
            f,
            "  sms to:     {}",
            if countries.is_empty() {
                "(no country: texts nobody)".to_owned()
            } else {
                countries.join(" ")
            }
        )?;
        writeln!(f, "  limits:")?;
        for limit in Limit::ALL {
            match t.limits.get(limit) {
                Some(value) => writeln!(f, "    {:<32}{value}", limit.name())?,
                None if limit == Limit::TenantSendsPerHour => writeln!(
                    f,
                    "    {:<32}{} (default)",
                    limit.name(),
                    t.limits.tenant_sends_per_hour()
                )?,
                None if limit == Limit::WrongGuessesPerDestinationPerHour => writeln!(
                    f,
                    "    {:<32}{} (default)",
                    limit.name(),
                    t.limits.wrong_guesses_per_destination_per_hour()
                )?,
                None => writeln!(f, "    {:<32}(deployment's)", limit.name())?,
            }
        }
        writeln!(f, "  created:    {}", rfc3339(t.created_at))?;
        write!(
            f,
            "  updated:    {} (version {})",
            rfc3339(t.updated_at),
            self.version
        )
    }
}

#[derive(Debug, Serialize)]
pub struct TenantList {
    pub tenants: Vec<TenantPolicy>,
}

impl fmt::Display for TenantList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.tenants.is_empty() {
            return write!(
                f,
                "no tenants yet: create one with `otp-admin tenant create`"
            );
        }
        for t in &self.tenants {
            let state = if t.disabled { "DISABLED" } else { "enabled" };
            writeln!(
                f,
                "{:<24} {:<9} {:<12} {}",
                t.id.as_str(),
                state,
                t.channels.to_string(),
                t.name
            )?;
        }
        Ok(())
    }
}

/// A key just made: the only time its text is shown.
#[derive(Debug, Serialize)]
pub struct NewKey {
    #[serde(flatten)]
    pub record: KeyRecord,
    pub key: String,
}

impl fmt::Display for NewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.record;
        writeln!(f, "{} key {} for tenant {}:", r.kind, r.id, r.tenant)?;
        writeln!(f)?;
        writeln!(f, "  {}", self.key)?;
        writeln!(f)?;
        write!(
            f,
            "It is shown this once (only its hash is stored): put it in the app's secret store now."
        )
    }
}

#[derive(Debug, Serialize)]
pub struct KeyList {
    pub tenant: String,
    pub keys: Vec<KeyRecord>,
}

impl fmt::Display for KeyList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.keys.is_empty() {
            return write!(
                f,
                "tenant {} has no keys: create one with `otp-admin key create {} --kind server`",
                self.tenant, self.tenant
            );
        }
        for k in &self.keys {
            writeln!(f, "{}", KeyLine(k))?;
        }
        Ok(())
    }
}

#[derive(Debug, Serialize)]
pub struct Revoked {
    #[serde(flatten)]
    pub record: KeyRecord,
}

impl fmt::Display for Revoked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\nThe API refuses it within 30 s (each instance's key cache).",
            KeyLine(&self.record)
        )
    }
}

struct KeyLine<'a>(&'a KeyRecord);

impl fmt::Display for KeyLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.0;
        let state = match k.revoked_at {
            Some(at) => format!("revoked {}", rfc3339(at)),
            None => "active".to_owned(),
        };
        write!(
            f,
            "{}  {:<11}  created {}  {:<30}  {}",
            k.id,
            k.kind.as_str(),
            rfc3339(k.created_at),
            state,
            k.label.as_ref().map_or("", |l| l.as_str())
        )
    }
}
