//! Queue names as SQS spells them: URLs (what operators pass) and ARNs (what a redrive policy
//! holds), and which of the two queues a URL plays.

use crate::error::Error;
use common::cli_output::AwsFailure;
use common::error::BackendError;
use std::str::FromStr;

/// An SQS queue URL, like `https://sqs.eu-west-1.amazonaws.com/123456789012/otp-relay-jobs`
/// or moto's `http://127.0.0.1:4566/123456789012/otp-relay-jobs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrl(String);

impl QueueUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The queue's name: the last path segment, and the `QueueName` dimension of its metrics.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or_default()
    }
}

impl FromStr for QueueUrl {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let url = raw.trim().trim_end_matches('/');
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        match rest.and_then(|rest| rest.split_once('/')) {
            Some((host, path))
                if !host.is_empty()
                    && is_queue_name(path.rsplit('/').next().unwrap_or_default()) =>
            {
                Ok(Self(url.to_owned()))
            }
            _ => Err(format!(
                "{raw:?} is not an SQS queue URL like https://sqs.<region>.amazonaws.com/<account>/<queue name>"
            )),
        }
    }
}

impl std::fmt::Display for QueueUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// SQS allows 1 to 80 letters, digits, `-` and `_`, plus `.fifo` for FIFO queues.
fn is_queue_name(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    (1..=80).contains(&name.len()) && !base.is_empty() && base.chars().all(allowed)
}

/// `arn:<partition>:sqs:<region>:<account>:<name>`, as in a redrive policy's
/// `deadLetterTargetArn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueArn {
    pub account: String,
    pub name: String,
}

impl QueueArn {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.split(':').collect::<Vec<_>>()[..] {
            ["arn", _, "sqs", _, account, name] if !account.is_empty() && is_queue_name(name) => {
                let (account, name) = (account.to_owned(), name.to_owned());
                Some(Self { account, name })
            }
            _ => None,
        }
    }
}

/// Which queue a URL is, so an error can name the flag that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    JobQueue,
    Dlq,
}

impl Role {
    pub fn flag(self) -> &'static str {
        match self {
            Role::JobQueue => "--queue-url / OTP_QUEUE_URL",
            Role::Dlq => "--dlq-url / OTP_DLQ_URL",
        }
    }
}

/// A queue and the part it plays in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRef {
    pub role: Role,
    pub url: QueueUrl,
}

impl QueueRef {
    pub fn new(role: Role, url: QueueUrl) -> Self {
        Self { role, url }
    }

    /// A failed call on this queue: a missing one names the flag that chose it.
    pub fn failed(&self) -> impl Fn(BackendError) -> Error + '_ {
        |err| {
            AwsFailure::of(
                &err,
                self.to_string(),
                ("queue_not_found", self.role.flag()),
            )
            .into()
        }
    }
}

impl std::fmt::Display for QueueRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let role = if self.role == Role::Dlq {
            "DLQ"
        } else {
            "job queue"
        };
        write!(f, "the {role} {}", self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_aws_and_local_urls_and_knows_the_name() {
        let aws: QueueUrl = "https://sqs.eu-west-1.amazonaws.com/123456789012/otp-relay-jobs"
            .parse()
            .unwrap();
        assert_eq!(aws.name(), "otp-relay-jobs");
        let local: QueueUrl = "http://127.0.0.1:4566/123456789012/otp-relay-jobs-dlq/"
            .parse()
            .unwrap();
        assert_eq!(local.name(), "otp-relay-jobs-dlq");
        assert_eq!(
            local.as_str(),
            "http://127.0.0.1:4566/123456789012/otp-relay-jobs-dlq"
        );
        let fifo: QueueUrl = "https://sqs.us-east-1.amazonaws.com/1/jobs.fifo"
            .parse()
            .unwrap();
        assert_eq!(fifo.name(), "jobs.fifo");
    }

    #[test]
    fn refuses_what_is_not_a_queue_url() {
        for bad in [
            "",
            "otp-relay-jobs",
            "sqs.eu-west-1.amazonaws.com/1/q",
            "https://",
            "https://host",
            "https://host/1/bad name",
            "ftp://host/1/q",
        ] {
            let err = bad.parse::<QueueUrl>().unwrap_err();
            assert!(err.contains("not an SQS queue URL"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn reads_redrive_target_arns() {
        let arn = QueueArn::parse("arn:aws:sqs:us-east-1:123456789012:otp-relay-jobs-dlq").unwrap();
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.name, "otp-relay-jobs-dlq");
        assert!(QueueArn::parse("arn:aws:sns:us-east-1:1:topic").is_none());
        assert!(QueueArn::parse("otp-relay-jobs-dlq").is_none());
    }
}
