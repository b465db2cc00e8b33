//! The SDK configuration every binary uses. Endpoints, region and credentials come only from the
//! SDK's standard sources (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SESV2`, `AWS_REGION`, ...).

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader};
use std::time::Duration;

/// How long a caller of the SDK can wait: the timeouts follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// The API: a client is waiting. Any one AWS call gives up within [`REQUEST_PATH_CALL`],
    /// retries included, so a send (a transaction, an enqueue, and an undo when the enqueue
    /// fails) answers 503 well within 2 s when DynamoDB or SQS is unreachable.
    RequestPath,
    /// The worker: nobody is waiting on a socket, so a slow call may take longer before it
    /// counts as a failure.
    Background,
    /// The operators' CLIs (`dlq-replayer`, `otp-admin`): a person on any network, often in
    /// an incident, waits for each call; seconds are fine, a spurious timeout is not.
    Operator,
}

/// Upper bound of one AWS call on the request path, all attempts included.
pub const REQUEST_PATH_CALL: Duration = Duration::from_millis(1_500);

/// The loader with our timeouts and retry policy; callers may add overrides before `load()`.
///
/// Standard retry mode with 3 attempts is the only retry loop around AWS calls; the SDK retries
/// throttling and transient errors itself.
pub fn loader(budget: Budget) -> ConfigLoader {
    let (retry, timeouts) = match budget {
        Budget::RequestPath => (
            // A short first backoff: the retries must fit the call's budget.
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(50)),
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(300))
                .operation_attempt_timeout(Duration::from_millis(700))
                .operation_timeout(REQUEST_PATH_CALL)
                .build(),
        ),
        Budget::Background => (
            RetryConfig::standard().with_max_attempts(3),
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_attempt_timeout(Duration::from_millis(1500))
                .operation_timeout(Duration::from_secs(4))
                .build(),
        ),
        Budget::Operator => (
            RetryConfig::standard().with_max_attempts(3),
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        ),
    };
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry)
        .timeout_config(timeouts)
}

pub async fn load(budget: Budget) -> aws_config::SdkConfig {
    loader(budget).load().await
}
