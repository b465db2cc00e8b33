//! The service secret: the one value without which a copy of the table, the queue or the DLQ
//! reveals no code.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

const MIN_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "OTP_SECRET must be base64 of at least {MIN_BYTES} random bytes; generate one with `head -c 32 /dev/urandom | base64`"
    )]
    Malformed,
    #[error(
        "could not read the service secret from Secrets Manager ({0}); check OTP_SECRET_ARN and that the role may call secretsmanager:GetSecretValue on it"
    )]
    SecretsManager(String),
    #[error(
        "no service secret: set OTP_SECRET_ARN (Secrets Manager) or OTP_SECRET; a generated secret is only allowed outside AWS Lambda"
    )]
    Missing,
}

/// The raw secret bytes. `Debug` is redacted.
pub struct ServiceSecret(Vec<u8>);

impl std::fmt::Debug for ServiceSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceSecret(<redacted>)")
    }
}

impl ServiceSecret {
    pub fn from_base64(encoded: &str) -> Result<Self, SecretError> {
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|_| SecretError::Malformed)?;
        if bytes.len() < MIN_BYTES {
            return Err(SecretError::Malformed);
        }
        Ok(Self(bytes))
    }

    pub fn generate() -> Self {
        let mut bytes = vec![0u8; MIN_BYTES];
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut bytes).expect("the OS random number generator failed");
        Self(bytes)
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.0)
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Where the secret comes from, in order: `OTP_SECRET_ARN` (Secrets Manager, what the
    /// deployed stack uses), `OTP_SECRET` (base64), else, outside Lambda only, a fresh random
    /// one with a warning: codes then die with the process, which is fine for a demo and wrong
    /// for anything with two processes.
    pub async fn load(sdk: &aws_config::SdkConfig) -> Result<Self, SecretError> {
        if let Some(arn) = non_empty_env("OTP_SECRET_ARN") {
            let client = aws_sdk_secretsmanager::Client::new(sdk);
            let value = client
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .map_err(|e| SecretError::SecretsManager(crate::error::describe_sdk_error(&e)))?;
            let text = value.secret_string().ok_or(SecretError::Malformed)?;
            return Self::from_base64(text);
        }
        if let Some(encoded) = non_empty_env("OTP_SECRET") {
            return Self::from_base64(&encoded);
        }
        if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
            return Err(SecretError::Missing);
        }
        tracing::warn!(
            "OTP_SECRET is not set: using a random secret for this process only; codes issued now cannot be verified by any other process or after a restart"
        );
        Ok(Self::generate())
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_malformed_secrets_are_refused() {
        assert!(ServiceSecret::from_base64("c2hvcnQ=").is_err());
        assert!(ServiceSecret::from_base64("not base64 at all").is_err());
        let good = ServiceSecret::generate().to_base64();
        assert!(ServiceSecret::from_base64(&good).is_ok());
        assert_eq!(
            format!("{:?}", ServiceSecret::generate()),
            "ServiceSecret(<redacted>)"
        );
    }
}
