//! Backend failures as the request path sees them: something to retry later, never text to show.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;

/// A call to DynamoDB or SQS did not succeed. The message is for logs only; clients get a 503.
#[derive(Debug, thiserror::Error)]
#[error("{service} {operation} failed: {detail}")]
pub struct BackendError {
    pub service: &'static str,
    pub operation: &'static str,
    pub detail: String,
}

impl BackendError {
    pub fn new(service: &'static str, operation: &'static str, detail: impl Into<String>) -> Self {
        Self {
            service,
            operation,
            detail: detail.into(),
        }
    }

    pub fn sdk<E, R>(
        service: &'static str,
        operation: &'static str,
        err: &aws_sdk_dynamodb::error::SdkError<E, R>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self::new(service, operation, describe_sdk_error(err))
    }
}

/// `Code: message` for service errors, the error chain for transport ones. Never includes the
/// request, so no destination or code can leak through it.
pub fn describe_sdk_error<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::SdkError;
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            format!(
                "{}: {}",
                e.code().unwrap_or("Unknown"),
                e.message().unwrap_or("no message")
            )
        }
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}
