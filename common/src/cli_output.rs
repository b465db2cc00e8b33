//! How the operators' CLIs (`dlq-replayer`, `otp-admin`) report a command: its text on stdout
//! and the error on stderr, or with `--json` one JSON document on stdout whatever happened. One
//! place, so scripts reading either tool see the same document shape and exit-code rules.

use crate::error::{BackendError, ErrorKind};
use serde::Serialize;
use serde_json::{Value, json};
use std::fmt::Display;
use std::io::Write;

/// The flags every operators' CLI takes: the service's table, and how to report.
#[cfg(feature = "cli")]
#[derive(Debug, Clone, clap::Args)]
pub struct OperatorArgs {
    /// The DynamoDB table the service uses (OTP records, tenants and keys).
    #[arg(
        long,
        env = "OTP_TABLE_NAME",
        value_name = "NAME",
        default_value = "otp-relay"
    )]
    #[arg(global = true)]
    pub table: String,

    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The end of both CLIs' `--help`: where AWS settings come from, then the tool's own `notes`.
pub fn help_after(notes: &str) -> String {
    format!(
        "Credentials, region and endpoint come from the standard AWS environment: AWS_PROFILE,\n\
         AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL.\n{notes}"
    )
}

/// A failed AWS call as an operator reads it: what to fix. Built from an adapter's
/// [`BackendError`] by its kind ([`crate::aws_errors`]), never by its text.
#[derive(Debug, thiserror::Error)]
pub enum AwsFailure {
    /// The SDK has no region to send requests to.
    #[error("no AWS region: set AWS_REGION, or use an AWS_PROFILE that has one")]
    NoRegion,

    /// The queue or table does not exist; `fix` names the flag or variable that chose it.
    #[error(
        "{what} does not exist (in this account and region): check {fix}, and AWS_REGION / AWS_PROFILE"
    )]
    NotFound {
        kind: &'static str,
        what: String,
        fix: &'static str,
    },

    /// An IAM (or KMS) policy refused the call; `action` is what the credentials need.
    #[error("access denied: the AWS credentials in use need {action} on {resource} ({detail})")]
    AccessDenied {
        action: String,
        resource: String,
        detail: String,
    },

    /// No credentials, or credentials AWS does not accept.
    #[error(
        "AWS did not accept the credentials ({detail}): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (an expired SSO session needs `aws sso login`)"
    )]
    Credentials { detail: String },

    /// The request never got an answer (after the SDK's own retries).
    #[error(
        "could not reach {service} for {action} ({detail}): check the network, and AWS_ENDPOINT_URL when pointing at a local stack (`make dev` serves one on http://127.0.0.1:4566)"
    )]
    Unreachable {
        service: &'static str,
        action: String,
        detail: String,
    },

    /// Any other AWS error, with AWS's own code and message.
    #[error("{service} {action} on {resource} failed: {detail}")]
    Other {
        service: &'static str,
        action: String,
        resource: String,
        detail: String,
    },
}

impl AwsFailure {
    /// `err`, from a call on `resource` (`the table otp-relay`). A missing resource is
    /// `not_found`: its `kind` for scripts and the flag that names it.
    pub fn of(
        err: &BackendError,
        resource: String,
        not_found: (&'static str, &'static str),
    ) -> Self {
        let detail = match &err.code {
            Some(code) => format!("{code}: {}", err.message),
            None => err.message.clone(),
        };
        // The IAM action a call needs: a batch call is allowed by its single form.
        let op = err.operation.trim_end_matches("Batch");
        let (service, action) = (err.service, format!("{}:{op}", err.service));
        match err.kind {
            ErrorKind::NotFound => AwsFailure::NotFound {
                kind: not_found.0,
                what: resource,
                fix: not_found.1,
            },
            ErrorKind::KeyUnusable => AwsFailure::AccessDenied {
                action: "kms:GenerateDataKey and kms:Decrypt".to_owned(),
                resource: format!("the KMS key of {resource}"),
                detail,
            },
            ErrorKind::AccessDenied => AwsFailure::AccessDenied {
                action,
                resource,
                detail,
            },
            ErrorKind::Credentials => AwsFailure::Credentials { detail },
            // No code: AWS never answered. With one, AWS did, and its code says more.
            ErrorKind::Unavailable if err.code.is_none() => AwsFailure::Unreachable {
                service,
                action,
                detail,
            },
            _ => AwsFailure::Other {
                service,
                action,
                resource,
                detail,
            },
        }
    }

    /// A stable name for scripts reading `--json`.
    pub fn kind(&self) -> &'static str {
        match self {
            AwsFailure::NoRegion => "no_region",
            AwsFailure::NotFound { kind, .. } => kind,
            AwsFailure::AccessDenied { .. } => "access_denied",
            AwsFailure::Credentials { .. } => "credentials",
            AwsFailure::Unreachable { .. } => "unreachable",
            AwsFailure::Other { .. } => "aws",
        }
    }
}

/// What a CLI's error must say about itself for the report.
pub trait CliError: Display {
    /// A stable name for scripts reading `--json`.
    fn kind(&self) -> &'static str;
    /// The process exit code.
    fn exit_code(&self) -> u8;
}

/// A finished command: its summary (as JSON fields and as text) and, if not everything asked
/// was done, why. A command that could not start at all returns its error instead.
#[derive(Debug)]
pub struct Done<E> {
    pub json: Value,
    pub text: String,
    pub error: Option<E>,
}

impl<E> Done<E> {
    /// A command's summary: one struct, its fields for `--json` (serde) and its text (`Display`),
    /// so the two cannot drift apart.
    pub fn of<S: Serialize + Display>(summary: &S, error: Option<E>) -> Self {
        Self {
            // The summaries are plain structs of strings, numbers, lists and string-keyed maps,
            // which serde_json cannot fail on.
            #[allow(clippy::expect_used)]
            json: serde_json::to_value(summary).expect("a summary always serialises"),
            text: summary.to_string(),
            error,
        }
    }
}

/// The JSON document for `--json`: `command`, `ok`, `error` (`kind` and `message`, or null),
/// then the command's own summary fields.
pub fn document<E: CliError>(command: &str, summary: Option<&Value>, error: Option<&E>) -> Value {
    let mut doc = json!({
        "command": command,
        "ok": error.is_none(),
        "error": error.map(|e| json!({ "kind": e.kind(), "message": e.to_string() })),
    });
    if let (Some(Value::Object(fields)), Value::Object(target)) = (summary, &mut doc) {
        for (key, value) in fields {
            target.insert(key.clone(), value.clone());
        }
    }
    doc
}

/// Runs one command of an operators' CLI: logs only when `RUST_LOG` asks for them, then
/// [`emit`]s what `command` gave. Returns the process exit code.
pub async fn run<E: CliError>(
    name: &str,
    json: bool,
    command: impl std::future::Future<Output = Result<Done<E>, E>>,
) -> u8 {
    if std::env::var_os("RUST_LOG").is_some() {
        crate::telemetry::init();
    }
    emit(name, command.await, json)
}

/// Prints the outcome and returns the exit code.
pub fn emit<E: CliError>(command: &str, outcome: Result<Done<E>, E>, json: bool) -> u8 {
    let (summary, text, error) = match outcome {
        Ok(done) => (Some(done.json), done.text, done.error),
        Err(error) => (None, String::new(), Some(error)),
    };
    let mut out = std::io::stdout().lock();
    if json {
        let doc = document(command, summary.as_ref(), error.as_ref());
        let _ = writeln!(out, "{doc}");
    } else if !text.is_empty() {
        let _ = write!(out, "{text}");
        if !text.ends_with('\n') {
            let _ = writeln!(out);
        }
    }
    let _ = out.flush();
    match error {
        Some(error) => {
            if !json {
                eprintln!("error: {error}");
            }
            error.exit_code()
        }
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("no job queue: pass --queue-url")]
    struct NoQueue;

    impl CliError for NoQueue {
        fn kind(&self) -> &'static str {
            "no_job_queue"
        }
        fn exit_code(&self) -> u8 {
            1
        }
    }

    #[test]
    fn the_json_document_says_whether_it_worked_and_why_not() {
        let ok = document::<NoQueue>("replay", Some(&json!({ "replayed": 3 })), None);
        assert_eq!(ok["ok"], true);
        assert_eq!(ok["error"], Value::Null);
        assert_eq!(
            (&ok["replayed"], &ok["command"]),
            (&json!(3), &json!("replay"))
        );
        let failed = document("replay", None, Some(&NoQueue));
        assert_eq!(failed["ok"], false);
        assert_eq!(failed["error"]["kind"], "no_job_queue");
        assert!(
            failed["error"]["message"]
                .as_str()
                .unwrap()
                .contains("--queue-url")
        );
    }

    #[test]
    fn aws_failures_name_what_to_fix_by_their_kind() {
        let table = || "the table otp-relay".to_owned();
        let not_found = ("table_not_found", "--table / OTP_TABLE_NAME");
        let of = |code: &str| {
            let err = BackendError::from_code("dynamodb", "GetItem", code, "boom");
            AwsFailure::of(&err, table(), not_found)
        };
        let missing = of("ResourceNotFoundException");
        assert_eq!(missing.kind(), "table_not_found");
        assert!(missing.to_string().contains("OTP_TABLE_NAME"), "{missing}");
        let denied = of("AccessDeniedException");
        assert!(denied.to_string().contains("dynamodb:GetItem"), "{denied}");
        assert!(
            denied.to_string().contains("AccessDeniedException: boom"),
            "{denied}"
        );
        assert_eq!(of("ExpiredTokenException").kind(), "credentials");
        assert_eq!(of("ThrottlingException").kind(), "aws");
        let kms = BackendError::from_code("sqs", "SendMessage", "KMS.AccessDeniedException", "");
        let kms = AwsFailure::of(&kms, "the DLQ".into(), not_found);
        assert!(kms.to_string().contains("kms:GenerateDataKey"), "{kms}");
        // A batch call needs its single form's permission.
        let batch = BackendError::from_code("sqs", "SendMessageBatch", "AccessDenied", "no");
        let batch = AwsFailure::of(&batch, "the DLQ".into(), not_found);
        assert!(batch.to_string().contains("sqs:SendMessage on"), "{batch}");
        // The text is never read: a message that mentions credentials is still just a failure.
        let other = BackendError::new("dynamodb", "decode", "credential field missing");
        assert_eq!(AwsFailure::of(&other, table(), not_found).kind(), "aws");
        let silent = BackendError {
            kind: ErrorKind::Unavailable,
            ..BackendError::new("dynamodb", "GetItem", "connection refused")
        };
        let silent = AwsFailure::of(&silent, table(), not_found);
        assert_eq!(silent.kind(), "unreachable");
        assert!(silent.to_string().contains("AWS_ENDPOINT_URL"), "{silent}");
    }
}
