//! Everything that can stop a command, each with what to do about it. The messages are read by
//! an operator in the middle of an incident: they name the flag, variable or permission to fix.

use common::cli_output::{AwsFailure, CliError};
use common::error::BackendError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The queues given, or found through a redrive policy, cannot be used as asked (none
    /// given, the same queue twice, swapped...). `kind` tells scripts which; the message names
    /// the flag or variable to fix.
    #[error("{message}")]
    Queues { kind: &'static str, message: String },

    /// A failed AWS call (a missing queue or table, a denied call...), saying what to fix.
    #[error(transparent)]
    Aws(#[from] AwsFailure),

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

impl CliError for Error {
    /// 3 when there was nothing to do, 130 when interrupted, 2 for a bad command line, else 1.
    fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } => 2,
            Error::DlqEmpty { .. } => 3,
            Error::Interrupted => 130,
            _ => 1,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Error::Queues { kind, .. } => kind,
            Error::Aws(failure) => failure.kind(),
            Error::DlqEmpty { .. } => "dlq_empty",
            Error::OutputExists { .. } => "output_exists",
            Error::File { .. } => "file",
            Error::BadExportLine { .. } => "bad_export_line",
            Error::Usage { .. } => "usage",
            Error::Incomplete { .. } => "incomplete",
            Error::Interrupted => "interrupted",
        }
    }
}

impl Error {
    /// `failed` of `asked` jobs could not be `verb`; the summary says which were.
    pub fn incomplete(failed: u64, asked: u64, verb: &'static str, detail: String) -> Self {
        Error::Incomplete {
            failed,
            asked,
            verb,
            detail,
        }
    }

    /// A failed read of an OTP record.
    pub fn from_store(table: &str, err: &BackendError) -> Self {
        let not_found = ("table_not_found", "--table / OTP_TABLE_NAME");
        AwsFailure::of(err, format!("the OTP table {table}"), not_found).into()
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
    use crate::queue_url::{QueueRef, Role};

    fn sqs(operation: &'static str, queue: &QueueRef, code: &str, message: &str) -> Error {
        queue.failed()(BackendError::from_code("sqs", operation, code, message))
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
        let err = sqs("ReceiveMessage", &queue, "AccessDenied", "not authorized");
        let text = err.to_string();
        assert!(text.contains("sqs:ReceiveMessage"), "{text}");
        assert!(text.contains("jobs-dlq"), "{text}");
        assert_eq!(err.exit_code(), 1);
        let kms = sqs("SendMessageBatch", &queue, "KMS.AccessDeniedException", "");
        assert!(kms.to_string().contains("kms:GenerateDataKey"), "{kms}");
    }

    #[test]
    fn a_missing_queue_names_the_flag_that_chose_it() {
        let queue = dlq();
        for code in [
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExist",
        ] {
            let err = sqs("GetQueueAttributes", &queue, code, "");
            let text = err.to_string();
            assert_eq!(err.kind(), "queue_not_found");
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
        assert_eq!(err.kind(), "table_not_found");
        assert!(err.to_string().contains("OTP_TABLE_NAME"));
        let denied = BackendError::from_code(
            "dynamodb",
            "GetItem",
            "AccessDeniedException",
            "User is not authorized",
        );
        let err = Error::from_store("otp-relay", &denied);
        assert!(err.to_string().contains("dynamodb:GetItem"), "{err}");
        let expired = BackendError::from_code("dynamodb", "GetItem", "ExpiredTokenException", "");
        assert_eq!(Error::from_store("t", &expired).kind(), "credentials");
    }

    #[test]
    fn a_call_that_never_reached_aws_names_the_network() {
        // The path every SQS call takes: the shared adapter's structured error, then its kind.
        use aws_sdk_cloudwatch::config::http::HttpResponse;
        use aws_sdk_cloudwatch::error::{ConnectorError, SdkError};
        use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsError;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let refused: SdkError<DescribeAlarmsError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        let backend = BackendError::sdk("sqs", "ReceiveMessage", refused);
        let err = dlq().failed()(backend);
        assert_eq!(err.kind(), "unreachable");
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
