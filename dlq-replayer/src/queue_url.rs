//! Queue names as SQS spells them: URLs (what operators pass) and ARNs (what a redrive policy
//! holds), and which of the two queues a URL plays.

use std::str::FromStr;

/// An SQS queue URL, like `https://sqs.eu-west-1.amazonaws.com/123456789012/otp-relay-jobs`
/// or moto's `http://127.0.0.1:4566/123456789012/otp-relay-jobs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrl {
    url: String,
    name_at: usize,
}

impl QueueUrl {
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The queue's name: the last path segment, and the `QueueName` dimension of its metrics.
    pub fn name(&self) -> &str {
        &self.url[self.name_at..]
    }
}

impl FromStr for QueueUrl {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let url = raw.trim().trim_end_matches('/').to_owned();
        let bad = || {
            format!(
                "{raw:?} is not an SQS queue URL like https://sqs.<region>.amazonaws.com/<account>/<queue name>"
            )
        };
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(bad)?;
        let (host, path) = rest.split_once('/').ok_or_else(bad)?;
        let name = path.rsplit('/').next().unwrap_or_default();
        if host.is_empty() || !is_queue_name(name) {
            return Err(bad());
        }
        Ok(Self {
            name_at: url.len() - name.len(),
            url,
        })
    }
}

impl std::fmt::Display for QueueUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// SQS allows 1 to 80 letters, digits, `-` and `_`, plus `.fifo` for FIFO queues.
fn is_queue_name(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    (1..=80).contains(&name.len())
        && !base.is_empty()
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
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
        let parts: Vec<&str> = raw.split(':').collect();
        match parts.as_slice() {
            ["arn", _partition, "sqs", _region, account, name]
                if !account.is_empty() && is_queue_name(name) =>
            {
                Some(Self {
                    account: (*account).to_owned(),
                    name: (*name).to_owned(),
                })
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
    pub fn label(self) -> &'static str {
        match self {
            Role::JobQueue => "job queue",
            Role::Dlq => "DLQ",
        }
    }

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

impl std::fmt::Display for QueueRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {} {}", self.role.label(), self.url)
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
