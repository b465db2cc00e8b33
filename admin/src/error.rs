//! Everything that can stop a command, each saying what to do about it.

use common::cli_output::{AwsFailure, CliError};
use common::tenant::TenantStoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value the policy refuses; `flag` is the option that carried it.
    #[error("{flag}: {problem}")]
    Invalid { flag: String, problem: String },

    #[error("no tenant {tenant}: `otp-admin tenant list` shows the tenants there are")]
    NoTenant { tenant: String },

    #[error(
        "tenant {tenant} already exists: choose another id, or change it with `otp-admin tenant update {tenant}`"
    )]
    TenantExists { tenant: String },

    #[error("tenant {tenant} has no key {key}: `otp-admin key list {tenant}` shows its keys")]
    NoKey { tenant: String, key: String },

    #[error("tenant {tenant} was changed by someone else while this command ran: run it again")]
    Conflict { tenant: String },

    #[error(
        "a new key collided with an existing one (astronomically unlikely): run the command again"
    )]
    KeyExists,

    #[error(
        "the stored item {item} is unreadable ({problem}): it was edited by hand or written by another version of otp-relay"
    )]
    Corrupt { item: String, problem: String },

    #[error(
        "no service secret: `key create` hashes the key with the secret the API uses; set OTP_SECRET_ARN (its ARN in Secrets Manager, the stack output SecretArn) or OTP_SECRET"
    )]
    NoSecret,

    #[error("service secret: {0}")]
    Secret(#[from] common::secret::SecretError),

    /// A failed AWS call, saying what to fix.
    #[error(transparent)]
    Aws(#[from] AwsFailure),
}

impl CliError for Error {
    /// 2 for what the operator typed, 1 for everything else.
    fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid { .. } => 2,
            _ => 1,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid",
            Error::NoTenant { .. } => "no_tenant",
            Error::TenantExists { .. } => "tenant_exists",
            Error::NoKey { .. } => "no_key",
            Error::Conflict { .. } => "conflict",
            Error::KeyExists => "key_exists",
            Error::Corrupt { .. } => "corrupt",
            Error::NoSecret => "no_secret",
            Error::Secret(_) => "secret",
            Error::Aws(failure) => failure.kind(),
        }
    }
}

impl Error {
    /// A value refused by one of the policy's parsers, named by the flag that carried it.
    pub fn invalid(flag: &str, problem: impl std::fmt::Display) -> Self {
        Error::Invalid {
            flag: flag.to_owned(),
            problem: problem.to_string(),
        }
    }

    /// A store error, read by its kind and, for AWS errors, by the service's error code.
    pub fn from_store(table: &str, err: TenantStoreError) -> Self {
        match err {
            TenantStoreError::TenantExists(id) => Error::TenantExists {
                tenant: id.to_string(),
            },
            TenantStoreError::NoTenant(id) => Error::NoTenant {
                tenant: id.to_string(),
            },
            TenantStoreError::NoKey { tenant, key } => Error::NoKey {
                tenant: tenant.to_string(),
                key: key.to_string(),
            },
            TenantStoreError::KeyExists(_) => Error::KeyExists,
            TenantStoreError::Conflict(id) => Error::Conflict {
                tenant: id.to_string(),
            },
            TenantStoreError::Corrupt { item, problem } => Error::Corrupt { item, problem },
            TenantStoreError::Backend(failure) => Error::Aws(AwsFailure::of(
                &failure,
                format!("the table {table}"),
                ("table_not_found", "--table / OTP_TABLE_NAME"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::tenant::TenantId;

    fn failure(code: Option<&str>) -> TenantStoreError {
        use common::error::{BackendError, ErrorKind};
        match code {
            Some(code) => BackendError::from_code("dynamodb", "GetItem", code, "boom"),
            None => BackendError {
                kind: ErrorKind::Unavailable,
                ..BackendError::new("dynamodb", "GetItem", "boom")
            },
        }
        .into()
    }

    #[test]
    fn aws_errors_are_read_by_their_code_and_name_what_to_fix() {
        let missing = Error::from_store("otp-relay", failure(Some("ResourceNotFoundException")));
        assert_eq!(missing.kind(), "table_not_found");
        assert!(missing.to_string().contains("OTP_TABLE_NAME"), "{missing}");
        let denied = Error::from_store("otp-relay", failure(Some("AccessDeniedException")));
        assert!(denied.to_string().contains("dynamodb:GetItem"), "{denied}");
        let silent = Error::from_store("otp-relay", failure(None));
        assert_eq!(silent.kind(), "unreachable");
        assert!(silent.to_string().contains("AWS_ENDPOINT_URL"), "{silent}");
        let other = Error::from_store("otp-relay", failure(Some("ThrottlingException")));
        assert_eq!(other.kind(), "aws");
    }

    #[test]
    fn store_refusals_say_which_command_helps() {
        let id = TenantId::parse("acme").unwrap();
        let err = Error::from_store("t", TenantStoreError::NoTenant(id.clone()));
        assert!(err.to_string().contains("otp-admin tenant list"), "{err}");
        let err = Error::from_store("t", TenantStoreError::TenantExists(id));
        assert!(err.to_string().contains("tenant update acme"), "{err}");
        assert_eq!(Error::invalid("--ttl-seconds", "x").exit_code(), 2);
        assert_eq!(err.exit_code(), 1);
    }
}
