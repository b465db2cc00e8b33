//! What a tenant may do: its channels, sender, origins and limits. Every value is checked when
//! the policy is built or read back, so code that holds a [`TenantPolicy`] never re-checks it.

use super::fields::{Channels, CountryCode, Label, Origin, TenantId};
use crate::bounds;
use crate::config::Rules;
use crate::domain::{EmailAddress, OtpCodeLength};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// A limit a tenant may set for itself. Unset, the deployment's own setting applies (its
/// `OTP_*` variable), so changing a deployment default reaches every tenant that kept it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    CodeLength,
    TtlSeconds,
    MaxAttempts,
    ResendCooldownSeconds,
    SendsPerDestinationPerHour,
    SendsPerIpPerHour,
    TenantSendsPerHour,
    WrongGuessesPerDestinationPerHour,
}

impl Limit {
    pub const ALL: [Limit; 8] = [
        Limit::CodeLength,
        Limit::TtlSeconds,
        Limit::MaxAttempts,
        Limit::ResendCooldownSeconds,
        Limit::SendsPerDestinationPerHour,
        Limit::SendsPerIpPerHour,
        Limit::TenantSendsPerHour,
        Limit::WrongGuessesPerDestinationPerHour,
    ];

    /// The name in storage, in `--json` output and (with hyphens) as the CLI flag.
    pub fn name(self) -> &'static str {
        match self {
            Limit::CodeLength => "code_length",
            Limit::TtlSeconds => "ttl_seconds",
            Limit::MaxAttempts => "max_attempts",
            Limit::ResendCooldownSeconds => "resend_cooldown_seconds",
            Limit::SendsPerDestinationPerHour => "sends_per_destination_per_hour",
            Limit::SendsPerIpPerHour => "sends_per_ip_per_hour",
            Limit::TenantSendsPerHour => "tenant_sends_per_hour",
            Limit::WrongGuessesPerDestinationPerHour => "wrong_guesses_per_destination_per_hour",
        }
    }

    /// The range the deployment's settings are held to as well.
    pub fn bounds(self) -> RangeInclusive<i64> {
        match self {
            Limit::CodeLength => bounds::CODE_LENGTH,
            Limit::TtlSeconds => bounds::TTL_SECONDS,
            Limit::MaxAttempts => bounds::MAX_ATTEMPTS,
            Limit::ResendCooldownSeconds => bounds::RESEND_COOLDOWN_SECONDS,
            Limit::SendsPerDestinationPerHour => bounds::SENDS_PER_DESTINATION_PER_HOUR,
            Limit::SendsPerIpPerHour => bounds::SENDS_PER_IP_PER_HOUR,
            Limit::TenantSendsPerHour => bounds::TENANT_SENDS_PER_HOUR,
            Limit::WrongGuessesPerDestinationPerHour => {
                bounds::WRONG_GUESSES_PER_DESTINATION_PER_HOUR
            }
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a policy cannot be built: which field, and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct PolicyError {
    pub field: String,
    pub problem: String,
}

impl PolicyError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// The limits a tenant set, each within its [`Limit::bounds`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<Limit, i64>", into = "BTreeMap<Limit, i64>")]
pub struct Limits(BTreeMap<Limit, i64>);

impl Limits {
    /// Sets `limit`, or says which range it must be in.
    pub fn set(&mut self, limit: Limit, value: i64) -> Result<(), PolicyError> {
        let range = limit.bounds();
        if !range.contains(&value) {
            return Err(PolicyError::new(
                limit.name(),
                format!(
                    "{value} is outside the deployment's bounds, {} to {}",
                    range.start(),
                    range.end()
                ),
            ));
        }
        self.0.insert(limit, value);
        Ok(())
    }

    /// Back to the deployment's setting.
    pub fn unset(&mut self, limit: Limit) {
        self.0.remove(&limit);
    }

    pub fn get(&self, limit: Limit) -> Option<i64> {
        self.0.get(&limit).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (Limit, i64)> + '_ {
        self.0.iter().map(|(limit, value)| (*limit, *value))
    }

    /// The rules for this tenant's codes: the deployment's, with this tenant's limits in place.
    pub fn rules(&self, deployment: &Rules) -> Rules {
        let u32_or = |limit, fallback: u32| {
            self.get(limit)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(fallback)
        };
        Rules {
            code_length: self
                .get(Limit::CodeLength)
                .and_then(|v| u8::try_from(v).ok())
                .and_then(OtpCodeLength::new)
                .unwrap_or(deployment.code_length),
            ttl_seconds: self
                .get(Limit::TtlSeconds)
                .unwrap_or(deployment.ttl_seconds),
            max_attempts: u32_or(Limit::MaxAttempts, deployment.max_attempts),
            resend_cooldown_seconds: self
                .get(Limit::ResendCooldownSeconds)
                .unwrap_or(deployment.resend_cooldown_seconds),
            max_sends_per_hour: u32_or(
                Limit::SendsPerDestinationPerHour,
                deployment.max_sends_per_hour,
            ),
            max_sends_per_otp: deployment.max_sends_per_otp,
            max_sends_per_ip_per_hour: u32_or(
                Limit::SendsPerIpPerHour,
                deployment.max_sends_per_ip_per_hour,
            ),
        }
    }

    /// Sends per hour for the whole tenant (all destinations and end users together).
    pub fn tenant_sends_per_hour(&self) -> i64 {
        self.get(Limit::TenantSendsPerHour)
            .unwrap_or(bounds::DEFAULT_TENANT_SENDS_PER_HOUR)
    }
}

impl Limits {
    /// Wrong guesses at one destination per hour, across its codes (see
    /// [`crate::lifecycle::guesses`]).
    pub fn wrong_guesses_per_destination_per_hour(&self) -> u32 {
        let value = self
            .get(Limit::WrongGuessesPerDestinationPerHour)
            .unwrap_or(bounds::DEFAULT_WRONG_GUESSES_PER_DESTINATION_PER_HOUR);
        u32::try_from(value).unwrap_or(u32::MAX)
    }
}

impl TryFrom<BTreeMap<Limit, i64>> for Limits {
    type Error = PolicyError;
    fn try_from(values: BTreeMap<Limit, i64>) -> Result<Self, Self::Error> {
        let mut limits = Limits::default();
        for (limit, value) in values {
            limits.set(limit, value)?;
        }
        Ok(limits)
    }
}

impl From<Limits> for BTreeMap<Limit, i64> {
    fn from(value: Limits) -> Self {
        value.0
    }
}

/// Who a tenant's e-mails come from: an address of an identity verified in SES, and the name
/// shown next to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSender {
    #[serde(with = "address")]
    pub address: EmailAddress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<Label>,
}

impl EmailSender {
    /// The `From` header value: `"Acme" <no-reply@acme.example>`, or the bare address.
    pub fn from_header(&self) -> String {
        match &self.display_name {
            Some(name) => format!("\"{name}\" <{}>", self.address.as_str()),
            None => self.address.as_str().to_owned(),
        }
    }
}

/// An [`EmailAddress`] as a JSON string, parsed again when read.
mod address {
    use crate::domain::EmailAddress;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &EmailAddress, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<EmailAddress, D::Error> {
        let raw = String::deserialize(d)?;
        EmailAddress::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// One relying application and what it may do.
///
/// Stored whole (as JSON, see [`super::store`]); reading it back runs every field's parser
/// again, so a hand-edited item that breaks a bound is refused rather than obeyed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantPolicy {
    pub id: TenantId,
    pub name: Label,
    /// The name in messages ("Your Acme code is ..."); the deployment's `OTP_BRAND_NAME` if unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<Label>,
    pub channels: Channels,
    /// The deployment's `OTP_EMAIL_FROM` if unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_sender: Option<EmailSender>,
    /// Where publishable keys may be used from (the browser's `Origin`).
    #[serde(default)]
    pub origins: Vec<Origin>,
    #[serde(default)]
    pub limits: Limits,
    /// Countries SMS may go to (ISO 3166-1 alpha-2, sorted). Empty: none, so a new tenant texts
    /// nobody until its operator lists countries (see [`crate::lifecycle::destination`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sms_countries: Vec<CountryCode>,
    /// The audience of the tokens a verify hands out (filled by a later issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_audience: Option<Label>,
    /// Message templates by name (filled by a later issue).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<String, String>,
    /// A disabled tenant's keys are refused; its data stays.
    #[serde(default)]
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl TenantPolicy {
    /// A new, enabled tenant with the deployment's limits and no origins.
    pub fn new(id: TenantId, name: Label, channels: Channels, now: i64) -> Self {
        Self {
            id,
            name,
            brand: None,
            channels,
            email_sender: None,
            origins: Vec::new(),
            limits: Limits::default(),
            sms_countries: Vec::new(),
            token_audience: None,
            templates: BTreeMap::new(),
            disabled: false,
            created_at: now,
            updated_at: now,
        }
    }

    /// Replaces the allowed origins (deduplicated, in order).
    pub fn set_origins(&mut self, origins: impl IntoIterator<Item = Origin>) {
        let mut list: Vec<Origin> = origins.into_iter().collect();
        list.sort();
        list.dedup();
        self.origins = list;
    }

    /// Replaces the countries SMS may go to (deduplicated, sorted).
    pub fn set_sms_countries(&mut self, countries: impl IntoIterator<Item = CountryCode>) {
        let mut list: Vec<CountryCode> = countries.into_iter().collect();
        list.sort();
        list.dedup();
        self.sms_countries = list;
    }

    pub fn allows_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o.as_str() == origin)
    }

    /// The brand for messages, given the deployment's.
    pub fn brand_or<'a>(&'a self, deployment: &'a str) -> &'a str {
        self.brand.as_ref().map_or(deployment, Label::as_str)
    }

    /// The rules for this tenant's codes (see [`Limits::rules`]).
    pub fn rules(&self, deployment: &Rules) -> Rules {
        self.limits.rules(deployment)
    }

    /// The stored form.
    pub fn to_json(&self) -> String {
        // Strings, numbers, lists and maps keyed by unit variants: serde_json cannot fail on
        // them, and storing an empty policy instead would be worse than stopping.
        #[allow(clippy::expect_used)]
        serde_json::to_string(self).expect("a tenant policy always serialises")
    }

    /// Reads the stored form, checking every field again.
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        serde_json::from_str(text).map_err(|e| PolicyError::new("policy", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Channel;

    fn policy() -> TenantPolicy {
        TenantPolicy::new(
            TenantId::parse("acme").unwrap(),
            Label::parse("Acme").unwrap(),
            Channels::new([Channel::Email]).unwrap(),
            1_700_000_000,
        )
    }

    #[test]
    fn each_limit_is_held_to_the_bounds_the_deployment_settings_have() {
        let mut limits = Limits::default();
        for limit in Limit::ALL {
            let range = limit.bounds();
            assert!(limits.set(limit, *range.start()).is_ok(), "{limit}");
            assert!(limits.set(limit, *range.end()).is_ok(), "{limit}");
            let below = limits.set(limit, range.start() - 1).unwrap_err();
            assert_eq!(below.field, limit.name());
            assert!(below.problem.contains(&range.end().to_string()), "{below}");
            assert!(limits.set(limit, range.end() + 1).is_err(), "{limit}");
        }
        // The same ranges refuse the same values as deployment settings.
        let deployment = |var: &str, value: i64| {
            crate::config::Settings::from_lookup(|k| match k {
                "OTP_QUEUE_URL" => Some("q".to_owned()),
                k if k == var => Some(value.to_string()),
                _ => None,
            })
        };
        for (var, limit) in [
            ("OTP_CODE_LENGTH", Limit::CodeLength),
            ("OTP_TTL_SECONDS", Limit::TtlSeconds),
            ("OTP_MAX_ATTEMPTS", Limit::MaxAttempts),
            ("OTP_RESEND_COOLDOWN_SECONDS", Limit::ResendCooldownSeconds),
            ("OTP_MAX_SENDS_PER_HOUR", Limit::SendsPerDestinationPerHour),
            ("OTP_MAX_SENDS_PER_IP_PER_HOUR", Limit::SendsPerIpPerHour),
        ] {
            let range = limit.bounds();
            assert!(deployment(var, *range.end()).is_ok(), "{var}");
            assert!(deployment(var, range.end() + 1).is_err(), "{var}");
            assert!(deployment(var, range.start() - 1).is_err(), "{var}");
        }
    }

    #[test]
    fn unset_limits_follow_the_deployment_and_set_ones_win() {
        let deployment = Rules {
            ttl_seconds: 300,
            ..Rules::default()
        };
        let mut p = policy();
        assert_eq!(p.rules(&deployment), deployment);
        p.limits.set(Limit::TtlSeconds, 120).unwrap();
        p.limits.set(Limit::CodeLength, 8).unwrap();
        p.limits.set(Limit::SendsPerIpPerHour, 7).unwrap();
        let rules = p.rules(&deployment);
        assert_eq!(rules.ttl_seconds, 120);
        assert_eq!(rules.code_length.get(), 8);
        assert_eq!(rules.max_sends_per_ip_per_hour, 7);
        assert_eq!(rules.max_attempts, deployment.max_attempts);
        assert_eq!(
            p.limits.tenant_sends_per_hour(),
            bounds::DEFAULT_TENANT_SENDS_PER_HOUR
        );
        p.limits.unset(Limit::TtlSeconds);
        assert_eq!(p.rules(&deployment).ttl_seconds, 300);
    }

    #[test]
    fn the_stored_form_round_trips_and_is_checked_when_read() {
        let mut p = policy();
        p.brand = Some(Label::parse("Acme Shop").unwrap());
        p.email_sender = Some(EmailSender {
            address: EmailAddress::parse("no-reply@acme.example").unwrap(),
            display_name: Some(Label::parse("Acme").unwrap()),
        });
        p.set_origins([
            Origin::parse("https://acme.example").unwrap(),
            Origin::parse("https://ACME.example:443").unwrap(),
        ]);
        p.limits.set(Limit::MaxAttempts, 3).unwrap();
        let json = p.to_json();
        assert_eq!(TenantPolicy::from_json(&json).unwrap(), p);
        assert_eq!(p.origins.len(), 1);
        assert!(p.allows_origin("https://acme.example"));
        let tampered = json.replace("\"max_attempts\":3", "\"max_attempts\":1000");
        let err = TenantPolicy::from_json(&tampered).unwrap_err();
        assert!(err.to_string().contains("max_attempts"), "{err}");
        let bad_origin = json.replace("https://acme.example", "https://*.acme.example");
        assert!(TenantPolicy::from_json(&bad_origin).is_err());
        assert_eq!(
            p.email_sender.unwrap().from_header(),
            "\"Acme\" <no-reply@acme.example>"
        );
    }
}
