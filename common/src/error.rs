//! Backend failures as the request path sees them: something to retry later, never text to show.

pub use crate::aws_errors::ErrorKind;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A call to DynamoDB or SQS did not succeed. The message is for logs only; clients get a 503.
///
/// `kind` and `code` are what callers decide on (see [`crate::aws_errors`]); `message` is AWS's
/// own message, or the transport error chain. None of them, nor the `Display`, includes the
/// request, so no destination or code can leak through it.
#[derive(Debug, thiserror::Error)]
pub struct BackendError {
    pub service: &'static str,
    pub operation: &'static str,
    pub kind: ErrorKind,
    /// The AWS error code, when AWS answered with one.
    pub code: Option<String>,
    pub message: String,
    /// The SDK error itself, when there was one.
    #[source]
    pub source: Option<Source>,
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} failed: ", self.service, self.operation)?;
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl BackendError {
    /// A failure with no SDK error behind it (a record that does not decode, an injected fault).
    pub fn new(service: &'static str, operation: &'static str, detail: impl Into<String>) -> Self {
        Self {
            service,
            operation,
            kind: ErrorKind::Other,
            code: None,
            message: detail.into(),
            source: None,
        }
    }

    /// An AWS error code with no SDK error at hand (e.g. one reason of a cancelled
    /// transaction), classified like any other.
    pub fn from_code(
        service: &'static str,
        operation: &'static str,
        code: &str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind: crate::aws_errors::kind_of_code(service, code),
            code: Some(code.to_owned()),
            ..Self::new(service, operation, message)
        }
    }

    /// A failed SDK call: classified by [`crate::aws_errors::classify`], the error kept as the
    /// source.
    pub fn sdk<E, R>(service: &'static str, operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let (kind, code) = crate::aws_errors::classify(service, &err);
        let message = match &err {
            SdkError::ServiceError(e) => e.err().message().unwrap_or("no message").to_owned(),
            other => describe_sdk_error(other),
        };
        Self {
            service,
            operation,
            kind,
            code,
            message,
            source: Some(Box::new(err)),
        }
    }
}

/// `Code: message` for service errors, the error chain for transport ones. Never includes the
/// request, so no destination or code can leak through it.
pub fn describe_sdk_error<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;

    fn denied() -> SdkError<GetItemError, HttpResponse> {
        let meta = ErrorMetadata::builder()
            .code("AccessDeniedException")
            .message("User is not authorized to perform dynamodb:GetItem")
            .build();
        SdkError::service_error(
            GetItemError::generic(meta),
            HttpResponse::new(400.try_into().unwrap(), "".into()),
        )
    }

    #[test]
    fn an_sdk_error_keeps_its_kind_code_and_source() {
        let err = BackendError::sdk("dynamodb", "GetItem", denied());
        assert_eq!(err.kind, ErrorKind::AccessDenied);
        assert_eq!(err.code.as_deref(), Some("AccessDeniedException"));
        assert_eq!(
            err.to_string(),
            "dynamodb GetItem failed: AccessDeniedException: User is not authorized to perform dynamodb:GetItem"
        );
        let source = std::error::Error::source(&err).expect("the SDK error is kept");
        assert!(source.is::<SdkError<GetItemError, HttpResponse>>());
    }

    #[test]
    fn errors_without_an_sdk_error_have_no_code() {
        let err = BackendError::new("memory", "get", "store unavailable (injected)");
        assert_eq!((err.kind, err.code.as_deref()), (ErrorKind::Other, None));
        assert_eq!(
            err.to_string(),
            "memory get failed: store unavailable (injected)"
        );
        let coded =
            BackendError::from_code("dynamodb", "GetItem", "ResourceNotFoundException", "m");
        assert_eq!(coded.kind, ErrorKind::NotFound);
    }
}
