//! Everything that can stop a command, each with what to do about it. The messages are read by
//! an operator in the middle of an incident: they name the flag, variable or permission to fix.

use crate::queue_url::QueueRef;
use common::error::{BackendError, ErrorKind};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The queues given, or found through a redrive policy, cannot be used as asked (none
    /// given, the same queue twice, swapped...). `kind` tells scripts which; the message names
    /// the flag or variable to fix.
    #[error("{message}")]
    Queues { kind: &'static str, message: String },

    /// SQS says the queue does not exist (in this account and region).
    #[error(
        "{queue} does not exist (in this account and region): check {flag}, and AWS_REGION / AWS_PROFILE"
    )]
    QueueNotFound { queue: String, flag: &'static str },

    /// The DynamoDB table of OTP records does not exist.
    #[error(
        "the OTP table {table:?} does not exist (in this account and region): check --table / OTP_TABLE_NAME"
    )]
    TableNotFound { table: String },

    /// An IAM (or KMS) policy refused a call.
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

    /// The SDK has no region to send requests to.
    #[error("no AWS region: set AWS_REGION, or use an AWS_PROFILE that has one")]
    NoRegion,

    /// The request never got an answer (after the SDK's own retries).
    #[error(
        "could not reach {service} for {action} ({detail}): check the network, and AWS_ENDPOINT_URL when pointing at a local stack (`make dev` serves one on http://127.0.0.1:4566)"
    )]
    Unreachable {
        service: &'static str,
        action: &'static str,
        detail: String,
    },

    /// Any other AWS error, with AWS's own code and message.
    #[error("{service} {action} on {resource} failed: {detail}")]
    Aws {
        service: &'static str,
        action: &'static str,
        resource: String,
        detail: String,
    },

    /// Nothing to work on. Its own exit code (3), so a script can tell it from a failure.
    #[error("the DLQ {url} is empty: nothing to {verb}{hint}")]
    DlqEmpty {
        url: String,
        verb: &'static str,
        hint: String,
    },

    /// `export` never overwrites a previous copy of the DLQ by accident.
    #[error("refusing to overwrite {}: choose another --out, or pass --force", path.display())]
    OutputExists { path: PathBuf },

    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A line of an import file that `export` did not write (or that was edited badly).
    #[error(
        "{}, line {line}: {problem}; import reads the files `dlq-replayer export` writes, one JSON object per line",
        path.display()
    )]
    BadExportLine {
        path: PathBuf,
        line: usize,
        problem: String,
    },

    /// Flags that cannot work together (clap checks each flag; this, their combination).
    #[error("{problem}")]
    Usage { problem: String },

    /// Part of the work could not be done; the summary says which part was.
    #[error(
        "{failed} of {asked} jobs could not be {verb}: {detail}. They are still where they were: run the command again"
    )]
    Incomplete {
        failed: u64,
        asked: u64,
        verb: &'static str,
        detail: String,
    },

    /// SIGINT or SIGTERM: the batch under way was finished, the rest left untouched.
    #[error(
        "interrupted: the jobs handled so far are in the summary; the rest are still in the DLQ"
    )]
    Interrupted,
}

/// What an AWS call was about, so its failure can name the thing to fix.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Queue(&'a QueueRef),
    Table(&'a str),
    Alarms,
}

impl Target<'_> {
    fn resource(&self) -> String {
        match self {
            Target::Queue(queue) => queue.to_string(),
            Target::Table(table) => format!("the table {table}"),
            Target::Alarms => "CloudWatch alarms".to_owned(),
        }
    }
}

impl Error {
    /// The process exit code: 3 when there was nothing to do, 130 when interrupted, 1 otherwise
    /// (2: a bad command line).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } => 2,
            Error::DlqEmpty { .. } => 3,
            Error::Interrupted => 130,
            _ => 1,
        }
    }

    /// A stable name for scripts reading `--json`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Queues { kind, .. } => kind,
            Error::QueueNotFound { .. } => "queue_not_found",
            Error::TableNotFound { .. } => "table_not_found",
            Error::AccessDenied { .. } => "access_denied",
            Error::Credentials { .. } => "credentials",
            Error::NoRegion => "no_region",
            Error::Unreachable { .. } => "unreachable",
            Error::Aws { .. } => "aws",
            Error::DlqEmpty { .. } => "dlq_empty",
            Error::OutputExists { .. } => "output_exists",
            Error::File { .. } => "file",
            Error::BadExportLine { .. } => "bad_export_line",
            Error::Usage { .. } => "usage",
            Error::Incomplete { .. } => "incomplete",
            Error::Interrupted => "interrupted",
        }
    }

    /// A failed AWS call through one of `common`'s adapters, by its kind and AWS error code
    /// ([`common::aws_errors`]). `action` is the IAM action the call needs
    /// (`sqs:ReceiveMessage`), which is also what a denied call must be granted.
    pub fn from_backend(action: &'static str, target: Target<'_>, err: &BackendError) -> Self {
        let detail = match &err.code {
            Some(code) => format!("{code}: {}", err.message),
            None => err.message.clone(),
        };
        let (service, resource) = (err.service, target.resource());
        match (err.kind, target) {
            (ErrorKind::NotFound, Target::Queue(queue)) => Error::QueueNotFound {
                queue: queue.to_string(),
                flag: queue.role.flag(),
            },
            (ErrorKind::NotFound, Target::Table(table)) => Error::TableNotFound {
                table: table.to_owned(),
            },
            (ErrorKind::KeyUnusable, _) => Error::AccessDenied {
                action: "kms:GenerateDataKey and kms:Decrypt".to_owned(),
                resource: format!("the KMS key of {resource}"),
                detail,
            },
            (ErrorKind::AccessDenied, _) => Error::AccessDenied {
                action: action.to_owned(),
                resource,
                detail,
            },
            (ErrorKind::Credentials, _) => Error::Credentials { detail },
            // No code: AWS never answered. With one, AWS did, and its code says more.
            (ErrorKind::Unavailable, _) if err.code.is_none() => Error::Unreachable {
                service,
                action,
                detail,
            },
            _ => Error::Aws {
                service,
                action,
                resource,
                detail,
            },
        }
    }

    /// A failed read of an OTP record.
    pub fn from_store(table: &str, err: &BackendError) -> Self {
        Self::from_backend("dynamodb:GetItem", Target::Table(table), err)
    }

    pub fn file(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::File {
            path: path.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue_url::Role;

    fn sqs(action: &'static str, queue: &QueueRef, code: &str, message: &str) -> Error {
        let err = BackendError::from_code("sqs", "Call", code, message);
        Error::from_backend(action, Target::Queue(queue), &err)
    }

    fn dlq() -> QueueRef {
        QueueRef {
            role: Role::Dlq,
            url: "https://sqs.eu-west-1.amazonaws.com/1/jobs-dlq"
                .parse()
                .unwrap(),
        }
    }

    #[test]
    fn a_denied_call_names_the_permission_and_the_queue() {
        let queue = dlq();
        let err = sqs(
            "sqs:ReceiveMessage",
            &queue,
            "AccessDenied",
            "not authorized",
        );
        let text = err.to_string();
        assert!(text.contains("sqs:ReceiveMessage"), "{text}");
        assert!(text.contains("jobs-dlq"), "{text}");
        assert_eq!(err.exit_code(), 1);
        let kms = sqs("sqs:SendMessage", &queue, "KMS.AccessDeniedException", "");
        assert!(kms.to_string().contains("kms:GenerateDataKey"), "{kms}");
    }

    #[test]
    fn a_missing_queue_names_the_flag_that_chose_it() {
        let queue = dlq();
        for code in [
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExist",
        ] {
            let err = sqs("sqs:GetQueueAttributes", &queue, code, "");
            let text = err.to_string();
            assert!(
                text.contains("--dlq-url / OTP_DLQ_URL") && text.contains("does not exist"),
                "{text}"
            );
        }
    }

    #[test]
    fn store_errors_are_read_by_their_kind() {
        let missing = BackendError::from_code(
            "dynamodb",
            "GetItem",
            "ResourceNotFoundException",
            "Requested resource not found",
        );
        let err = Error::from_store("otp-relay", &missing);
        assert!(matches!(err, Error::TableNotFound { .. }), "{err}");
        assert!(err.to_string().contains("OTP_TABLE_NAME"));
        let denied = BackendError::from_code(
            "dynamodb",
            "GetItem",
            "AccessDeniedException",
            "User is not authorized",
        );
        let err = Error::from_store("otp-relay", &denied);
        assert!(err.to_string().contains("dynamodb:GetItem"), "{err}");
        assert!(
            err.to_string()
                .contains("AccessDeniedException: User is not authorized")
        );
        let expired = BackendError::from_code("dynamodb", "GetItem", "ExpiredTokenException", "");
        assert!(matches!(
            Error::from_store("t", &expired),
            Error::Credentials { .. }
        ));
        // The text is never read: a message that mentions credentials is still just a failure.
        let other = BackendError::new("dynamodb", "decode", "credential field missing");
        assert!(matches!(Error::from_store("t", &other), Error::Aws { .. }));
    }

    #[test]
    fn a_call_that_never_reached_aws_names_the_network() {
        // The path every SQS call takes: the shared adapter's structured error, then its kind.
        use aws_sdk_cloudwatch::config::http::HttpResponse;
        use aws_sdk_cloudwatch::error::{ConnectorError, SdkError};
        use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsError;
        let queue = dlq();
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let refused: SdkError<DescribeAlarmsError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        let backend = BackendError::sdk("sqs", "ReceiveMessage", refused);
        let err = Error::from_backend("sqs:ReceiveMessage", Target::Queue(&queue), &backend);
        assert!(matches!(err, Error::Unreachable { .. }), "{err}");
        assert!(err.to_string().contains("AWS_ENDPOINT_URL"), "{err}");
    }

    #[test]
    fn exit_codes_tell_nothing_to_do_from_failure() {
        let empty = Error::DlqEmpty {
            url: "u".into(),
            verb: "replay",
            hint: String::new(),
        };
        assert_eq!(empty.exit_code(), 3);
        assert_eq!(Error::Interrupted.exit_code(), 130);
        let setup = Error::Queues {
            kind: "no_job_queue",
            message: String::new(),
        };
        assert_eq!((setup.exit_code(), setup.kind()), (1, "no_job_queue"));
    }
}
