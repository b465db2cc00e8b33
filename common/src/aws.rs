//! The SDK configuration every binary uses. Endpoints, region and credentials come only from the
//! SDK's standard sources (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SESV2`, `AWS_REGION`, ...).

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader};
use std::time::Duration;

/// The loader with our timeouts and retry policy; callers may add overrides before `load()`.
///
/// Standard retry mode with 3 attempts is the only retry loop around AWS calls on the request
/// path; tight per-attempt timeouts keep a dead backend from holding a request for long.
pub fn loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_attempt_timeout(Duration::from_millis(1500))
                .operation_timeout(Duration::from_secs(4))
                .build(),
        )
}

pub async fn load() -> aws_config::SdkConfig {
    loader().load().await
}
