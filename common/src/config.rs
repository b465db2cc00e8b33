//! Settings from `OTP_*` environment variables. AWS endpoints and the region are deliberately not
//! here: they come from the SDK's own environment (`AWS_ENDPOINT_URL_<SERVICE>`, `AWS_REGION`), so
//! any one service can be redirected without touching this crate.

use crate::bounds;
use crate::domain::OtpCodeLength;
use std::net::SocketAddr;
use std::ops::RangeInclusive;

/// The rules of issuing and checking codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub code_length: OtpCodeLength,
    pub ttl_seconds: i64,
    pub max_attempts: u32,
    pub resend_cooldown_seconds: i64,
    pub max_sends_per_hour: u32,
    pub max_sends_per_otp: u32,
    pub max_sends_per_ip_per_hour: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            code_length: OtpCodeLength::default(),
            ttl_seconds: 600,
            max_attempts: 5,
            resend_cooldown_seconds: 30,
            max_sends_per_hour: 5,
            max_sends_per_otp: 5,
            max_sends_per_ip_per_hour: 50,
        }
    }
}

/// How the worker paces and retries deliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRules {
    /// Provider calls per second per worker process (a token bucket), so a worker slows down
    /// before the provider throttles it.
    pub max_send_rate: f64,
    /// Backoff after the n-th failed receive: `random(0, min(cap, base * 2^(n-1)))` seconds.
    pub retry_base_seconds: i64,
    pub retry_cap_seconds: i64,
    /// How long a worker's claim keeps other workers off a record while it sends: longer than
    /// a batch's pacing wait plus a provider call with its SDK retries, shorter than the queue's
    /// visibility timeout, so a crashed worker's job is claimable again when SQS hands it out.
    pub claim_seconds: i64,
}

impl Default for DeliveryRules {
    fn default() -> Self {
        Self {
            max_send_rate: 10.0,
            retry_base_seconds: 5,
            retry_cap_seconds: 120,
            claim_seconds: 45,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub rules: Rules,
    pub delivery: DeliveryRules,
    pub table_name: String,
    pub queue_url: String,
    pub email_from: Option<String>,
    pub brand_name: String,
    pub http_addr: SocketAddr,
    /// The worker's CloudWatch embedded-metric namespace (in Lambda): the alarms read it.
    pub metrics_namespace: String,
    /// The polling worker's batches in flight at once. With one, the provider waits while a
    /// batch is received, claimed, settled and deleted; with two, one batch can send while the
    /// other does its SQS and DynamoDB calls. The pacer bounds provider calls either way. One
    /// by default: a second only helps when round trips, not the pacer, the provider or
    /// DynamoDB, bound the rate (docs/benchmarks.md, worker drain).
    pub batches_in_flight: usize,
}

/// A setting that cannot be used, with the variable to fix and what it accepts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can supply a map instead of the process env.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        // Each default is written once, in `Rules::default()` / `DeliveryRules::default()`.
        let defaults = Rules::default();
        let digits = env.number(
            "OTP_CODE_LENGTH",
            i64::from(defaults.code_length.get()),
            bounds::CODE_LENGTH,
        )?;
        // In range by the check above; an error rather than the old silent fallback to 6 digits
        // if the two ever disagree.
        let code_length = u8::try_from(digits)
            .ok()
            .and_then(OtpCodeLength::new)
            .ok_or_else(|| ConfigError {
                var: "OTP_CODE_LENGTH",
                problem: format!("{digits} is not a code length"),
            })?;
        let rules = Rules {
            code_length,
            ttl_seconds: env.number(
                "OTP_TTL_SECONDS",
                defaults.ttl_seconds,
                bounds::TTL_SECONDS,
            )?,
            max_attempts: env.number(
                "OTP_MAX_ATTEMPTS",
                defaults.max_attempts,
                bounds::MAX_ATTEMPTS,
            )?,
            resend_cooldown_seconds: env.number(
                "OTP_RESEND_COOLDOWN_SECONDS",
                defaults.resend_cooldown_seconds,
                bounds::RESEND_COOLDOWN_SECONDS,
            )?,
            max_sends_per_hour: env.number(
                "OTP_MAX_SENDS_PER_HOUR",
                defaults.max_sends_per_hour,
                bounds::SENDS_PER_DESTINATION_PER_HOUR,
            )?,
            max_sends_per_otp: env.number(
                "OTP_MAX_SENDS_PER_OTP",
                defaults.max_sends_per_otp,
                bounds::SENDS_PER_OTP,
            )?,
            max_sends_per_ip_per_hour: env.number(
                "OTP_MAX_SENDS_PER_IP_PER_HOUR",
                defaults.max_sends_per_ip_per_hour,
                bounds::SENDS_PER_IP_PER_HOUR,
            )?,
        };
        let queue_url = env.text("OTP_QUEUE_URL").ok_or_else(|| ConfigError {
            var: "OTP_QUEUE_URL",
            problem: "required: the URL of the delivery job queue (`make dev` sets it locally)"
                .to_owned(),
        })?;
        let email_from = env.text("OTP_EMAIL_FROM");
        if let Some(from) = &email_from {
            crate::domain::EmailAddress::parse(from).map_err(|_| ConfigError {
                var: "OTP_EMAIL_FROM",
                problem: "must be an e-mail address verified in SES".to_owned(),
            })?;
        }
        let http_addr = match env.text("OTP_HTTP_ADDR") {
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
            Some(raw) => raw.parse().map_err(|_| ConfigError {
                var: "OTP_HTTP_ADDR",
                problem: format!("{raw:?} is not an address like 127.0.0.1:3000"),
            })?,
        };
        let delivery_defaults = DeliveryRules::default();
        let delivery = DeliveryRules {
            max_send_rate: env.rate("OTP_MAX_SEND_RATE", delivery_defaults.max_send_rate)?,
            retry_base_seconds: env.number(
                "OTP_RETRY_BASE_SECONDS",
                delivery_defaults.retry_base_seconds,
                1..=300,
            )?,
            retry_cap_seconds: env.number(
                "OTP_RETRY_CAP_SECONDS",
                delivery_defaults.retry_cap_seconds,
                1..=43_200,
            )?,
            claim_seconds: env.number(
                "OTP_CLAIM_SECONDS",
                delivery_defaults.claim_seconds,
                5..=900,
            )?,
        };
        Ok(Self {
            rules,
            delivery,
            table_name: env
                .text("OTP_TABLE_NAME")
                .unwrap_or_else(|| "otp-relay".to_owned()),
            queue_url,
            email_from,
            brand_name: env
                .text("OTP_BRAND_NAME")
                .unwrap_or_else(|| "OTP Relay".to_owned()),
            http_addr,
            metrics_namespace: env
                .text("OTP_METRICS_NAMESPACE")
                .unwrap_or_else(|| "OtpRelay".to_owned()),
            batches_in_flight: env.number("OTP_BATCHES_IN_FLIGHT", 1, 1..=10)?,
        })
    }
}

struct Env<'a, F>(&'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    fn text(&self, var: &str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn rate(&self, var: &'static str, default: f64) -> Result<f64, ConfigError> {
        let Some(raw) = self.text(var) else {
            return Ok(default);
        };
        match raw.parse::<f64>() {
            Ok(value) if (0.1..=10_000.0).contains(&value) => Ok(value),
            _ => Err(ConfigError {
                var,
                problem: format!(
                    "{raw:?} is not a rate from 0.1 to 10000 per second (default {default})"
                ),
            }),
        }
    }

    /// A whole number within `range`, as the type the setting is used as: the range is what makes
    /// the conversion lossless, so a value outside it is refused rather than cast.
    fn number<T>(
        &self,
        var: &'static str,
        default: T,
        range: RangeInclusive<i64>,
    ) -> Result<T, ConfigError>
    where
        T: TryFrom<i64> + std::fmt::Display,
    {
        let Some(raw) = self.text(var) else {
            return Ok(default);
        };
        match raw
            .parse::<i64>()
            .map(|v| (range.contains(&v), T::try_from(v)))
        {
            Ok((true, Ok(value))) => Ok(value),
            _ => Err(ConfigError {
                var,
                problem: format!(
                    "{raw:?} is not a whole number from {} to {} (default {default})",
                    range.start(),
                    range.end()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_only_the_queue_is_given() {
        let s = settings(&[("OTP_QUEUE_URL", "http://q")]).unwrap();
        assert_eq!(s.rules, Rules::default());
        assert_eq!(s.delivery, DeliveryRules::default());
        assert_eq!(s.http_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(s.table_name, "otp-relay");
    }

    #[test]
    fn out_of_range_values_name_the_variable_and_the_range() {
        let err = settings(&[("OTP_QUEUE_URL", "q"), ("OTP_CODE_LENGTH", "3")]).unwrap_err();
        assert_eq!(err.var, "OTP_CODE_LENGTH");
        assert!(err.problem.contains("4 to 10"));
        let err = settings(&[("OTP_QUEUE_URL", "q"), ("OTP_TTL_SECONDS", "9")]).unwrap_err();
        assert_eq!(err.var, "OTP_TTL_SECONDS");
        let err = settings(&[("OTP_QUEUE_URL", "q"), ("OTP_TTL_SECONDS", "ten")]).unwrap_err();
        assert_eq!(err.var, "OTP_TTL_SECONDS");
        assert_eq!(settings(&[]).unwrap_err().var, "OTP_QUEUE_URL");
        let err = settings(&[("OTP_QUEUE_URL", "q"), ("OTP_MAX_SEND_RATE", "0")]).unwrap_err();
        assert_eq!(err.var, "OTP_MAX_SEND_RATE");
        let err = settings(&[("OTP_QUEUE_URL", "q"), ("OTP_EMAIL_FROM", "nope")]).unwrap_err();
        assert_eq!(err.var, "OTP_EMAIL_FROM");
        let err = settings(&[("OTP_QUEUE_URL", "q"), ("OTP_BATCHES_IN_FLIGHT", "0")]).unwrap_err();
        assert_eq!(err.var, "OTP_BATCHES_IN_FLIGHT");
    }

    #[test]
    fn values_in_range_are_taken() {
        let s = settings(&[
            ("OTP_QUEUE_URL", "q"),
            ("OTP_CODE_LENGTH", "8"),
            ("OTP_TTL_SECONDS", "10"),
            ("OTP_HTTP_ADDR", "0.0.0.0:8080"),
            ("OTP_BATCHES_IN_FLIGHT", "4"),
        ])
        .unwrap();
        assert_eq!(s.batches_in_flight, 4);
        assert_eq!(
            settings(&[("OTP_QUEUE_URL", "q")])
                .unwrap()
                .batches_in_flight,
            1
        );
        assert_eq!(s.rules.code_length.get(), 8);
        assert_eq!(s.rules.ttl_seconds, 10);
        assert_eq!(s.http_addr.port(), 8080);
    }
}
