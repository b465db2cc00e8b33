//! What a failed AWS call means, decided in one place from the SDK's structured error: the
//! variant of `SdkError` and, for a service error, its error code (`ProvideErrorMetadata::code`).
//! Never from the error's text.
//!
//! [`CODES`] is the whole table from (service, code) to an [`ErrorKind`]; the store, the queue,
//! the sender and the replayer all read it, through [`classify`] or [`kind_of_code`].
//! [`ErrorKind::delivery`] says what each kind means for a message the worker is delivering.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// What went wrong with an AWS call, as far as anyone acting on it cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Too many requests. The SDK has already retried with backoff: try again later.
    Throttled,
    /// No answer: the network, a timeout, or the service's own 5xx.
    Unavailable,
    /// A sending quota is spent (SES's daily quota): no retry helps until it resets.
    QuotaExhausted,
    /// The account may not send at all (sending paused, account suspended).
    AccountPaused,
    /// The sending identity (the MAIL FROM domain) is not verified.
    SenderUnverified,
    /// The provider refused this message for good (SES `MessageRejected`, a disabled endpoint).
    Rejected,
    /// The destination opted out of messages.
    OptedOut,
    /// The request is invalid: a malformed address or number, a bad parameter.
    InvalidParameter,
    /// An IAM policy refused the call.
    AccessDenied,
    /// The KMS key of the queue or topic refused the call, or is disabled or missing.
    KeyUnusable,
    /// The queue or table does not exist.
    NotFound,
    /// No credentials, or credentials AWS does not accept.
    Credentials,
    /// Anything else (including a service error with a code this table does not know).
    Other,
}

/// Any service: codes every AWS API may answer (auth, throttling, internal errors).
const ANY: &str = "*";

/// (service, AWS error code, kind). `service` is the name the adapters pass ("ses", "sns",
/// "dynamodb", "sqs"), or [`ANY`]. A service's own row wins over an [`ANY`] row.
#[rustfmt::skip]
pub const CODES: &[(&str, &str, ErrorKind)] = &[
    // Throttling. The SDK retries these itself; what is left after its retries is transient.
    (ANY, "Throttling", ErrorKind::Throttled),
    (ANY, "ThrottlingException", ErrorKind::Throttled),
    (ANY, "TooManyRequestsException", ErrorKind::Throttled),
    (ANY, "RequestLimitExceeded", ErrorKind::Throttled),
    ("dynamodb", "ProvisionedThroughputExceededException", ErrorKind::Throttled),
    ("sqs", "RequestThrottled", ErrorKind::Throttled),
    ("sqs", "KMS.ThrottlingException", ErrorKind::Throttled),
    ("sns", "Throttled", ErrorKind::Throttled),
    ("sns", "KMSThrottling", ErrorKind::Throttled),
    // The service's own failures.
    (ANY, "InternalError", ErrorKind::Unavailable),
    (ANY, "InternalFailure", ErrorKind::Unavailable),
    (ANY, "InternalServerError", ErrorKind::Unavailable),
    (ANY, "ServiceUnavailable", ErrorKind::Unavailable),
    // SES SendEmail. It creates no resource, so its LimitExceededException can only be a
    // sending quota (the daily one; the per-second rate is normally TooManyRequestsException).
    // Either way it is account-wide: the worker's systemic pause-then-probe is the right answer
    // to both, where retrying each message would only burn its receives.
    ("ses", "LimitExceededException", ErrorKind::QuotaExhausted),
    ("ses", "SendingPausedException", ErrorKind::AccountPaused),
    ("ses", "AccountSuspendedException", ErrorKind::AccountPaused),
    ("ses", "MailFromDomainNotVerifiedException", ErrorKind::SenderUnverified),
    ("ses", "MessageRejected", ErrorKind::Rejected),
    ("ses", "BadRequestException", ErrorKind::InvalidParameter),
    // SendEmail names no other resource than what the message refers to.
    ("ses", "NotFoundException", ErrorKind::InvalidParameter),
    // SNS Publish (to a phone number).
    ("sns", "InvalidParameter", ErrorKind::InvalidParameter),
    ("sns", "InvalidParameterValue", ErrorKind::InvalidParameter),
    // The wire code of the SDK's InvalidParameterValueException.
    ("sns", "ParameterValueInvalid", ErrorKind::InvalidParameter),
    ("sns", "OptedOut", ErrorKind::OptedOut),
    ("sns", "EndpointDisabled", ErrorKind::Rejected),
    ("sns", "KMSAccessDenied", ErrorKind::KeyUnusable),
    ("sns", "KMSDisabled", ErrorKind::KeyUnusable),
    ("sns", "KMSInvalidState", ErrorKind::KeyUnusable),
    ("sns", "KMSNotFound", ErrorKind::KeyUnusable),
    ("sns", "KMSOptInRequired", ErrorKind::KeyUnusable),
    // SQS: the query protocol's codes and the JSON protocol's shape names.
    ("sqs", "AWS.SimpleQueueService.NonExistentQueue", ErrorKind::NotFound),
    ("sqs", "QueueDoesNotExist", ErrorKind::NotFound),
    ("sqs", "NonExistentQueue", ErrorKind::NotFound),
    ("sqs", "KMS.AccessDeniedException", ErrorKind::KeyUnusable),
    ("sqs", "KMS.DisabledException", ErrorKind::KeyUnusable),
    ("sqs", "KMS.InvalidKeyUsageException", ErrorKind::KeyUnusable),
    ("sqs", "KMS.InvalidStateException", ErrorKind::KeyUnusable),
    ("sqs", "KMS.NotFoundException", ErrorKind::KeyUnusable),
    ("sqs", "KMS.OptInRequired", ErrorKind::KeyUnusable),
    // DynamoDB.
    ("dynamodb", "ResourceNotFoundException", ErrorKind::NotFound),
    // IAM refusals.
    (ANY, "AccessDenied", ErrorKind::AccessDenied),
    (ANY, "AccessDeniedException", ErrorKind::AccessDenied),
    (ANY, "UnauthorizedOperation", ErrorKind::AccessDenied),
    (ANY, "AuthorizationError", ErrorKind::AccessDenied),
    (ANY, "AuthorizationErrorException", ErrorKind::AccessDenied),
    // Credentials AWS does not accept (missing ones never reach AWS: see `classify`).
    (ANY, "InvalidClientTokenId", ErrorKind::Credentials),
    (ANY, "UnrecognizedClientException", ErrorKind::Credentials),
    (ANY, "SignatureDoesNotMatch", ErrorKind::Credentials),
    (ANY, "ExpiredToken", ErrorKind::Credentials),
    (ANY, "ExpiredTokenException", ErrorKind::Credentials),
    (ANY, "InvalidAccessKeyId", ErrorKind::Credentials),
    (ANY, "MissingAuthenticationToken", ErrorKind::Credentials),
    (ANY, "InvalidSecurity", ErrorKind::Credentials),
];

/// The kind of a service error with this code from this service.
pub fn kind_of_code(service: &str, code: &str) -> ErrorKind {
    let row = |wanted: &str| {
        CODES
            .iter()
            .find(|(s, c, _)| *s == wanted && *c == code)
            .map(|(_, _, kind)| *kind)
    };
    row(service)
        .or_else(|| row(ANY))
        .unwrap_or(ErrorKind::Other)
}

/// The kind of a failed SDK call, and the AWS error code when the service answered with one.
///
/// A service error is looked up by its code. Anything else never got an answer from AWS: a
/// credentials provider that failed (found by the error's type in its source chain), else a
/// dispatch failure or a timeout (unavailable), else something the SDK could not build or read.
pub fn classify<E, R>(service: &str, err: &SdkError<E, R>) -> (ErrorKind, Option<String>)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(service_error) = err {
        let code = service_error.err().code();
        let kind = code.map_or(ErrorKind::Other, |c| kind_of_code(service, c));
        return (kind, code.map(str::to_owned));
    }
    let kind = if lacks_credentials(err) {
        ErrorKind::Credentials
    } else if matches!(
        err,
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
    ) {
        ErrorKind::Unavailable
    } else {
        ErrorKind::Other
    };
    (kind, None)
}

/// Whether the SDK failed to get credentials before sending: its credentials provider's error
/// is somewhere in the source chain.
fn lacks_credentials(err: &dyn std::error::Error) -> bool {
    let mut next = err.source();
    while let Some(e) = next {
        if e.is::<aws_credential_types::provider::error::CredentialsError>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// What a failed provider call means for the message being delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Try this message again later.
    Transient,
    /// This message can never be delivered.
    Permanent,
    /// Nothing can be sent from this account now: stop the batch, back off.
    Systemic,
}

impl ErrorKind {
    /// Credentials count as transient: the SDK refreshes them, and a provider that failed once
    /// (an instance metadata timeout) usually answers the next time.
    pub fn delivery(self) -> Delivery {
        match self {
            ErrorKind::Throttled
            | ErrorKind::Unavailable
            | ErrorKind::Credentials
            | ErrorKind::Other => Delivery::Transient,
            ErrorKind::Rejected | ErrorKind::OptedOut | ErrorKind::InvalidParameter => {
                Delivery::Permanent
            }
            ErrorKind::QuotaExhausted
            | ErrorKind::AccountPaused
            | ErrorKind::SenderUnverified
            | ErrorKind::AccessDenied
            | ErrorKind::KeyUnusable
            | ErrorKind::NotFound => Delivery::Systemic,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorKind::*;

    /// Every code the table handles, by name, with what it means. A row added to [`CODES`]
    /// without a line here fails `the_table_is_exactly_these_codes`.
    #[rustfmt::skip]
    const EXPECTED: &[(&str, &str, ErrorKind, Delivery)] = &[
        ("ses", "TooManyRequestsException", Throttled, Delivery::Transient),
        ("ses", "Throttling", Throttled, Delivery::Transient),
        ("ses", "ThrottlingException", Throttled, Delivery::Transient),
        ("ses", "RequestLimitExceeded", Throttled, Delivery::Transient),
        ("dynamodb", "ProvisionedThroughputExceededException", Throttled, Delivery::Transient),
        ("sqs", "RequestThrottled", Throttled, Delivery::Transient),
        ("sqs", "KMS.ThrottlingException", Throttled, Delivery::Transient),
        ("sns", "Throttled", Throttled, Delivery::Transient),
        ("sns", "KMSThrottling", Throttled, Delivery::Transient),
        ("sns", "InternalError", Unavailable, Delivery::Transient),
        ("ses", "InternalFailure", Unavailable, Delivery::Transient),
        ("dynamodb", "InternalServerError", Unavailable, Delivery::Transient),
        ("sqs", "ServiceUnavailable", Unavailable, Delivery::Transient),
        ("ses", "LimitExceededException", QuotaExhausted, Delivery::Systemic),
        ("ses", "SendingPausedException", AccountPaused, Delivery::Systemic),
        ("ses", "AccountSuspendedException", AccountPaused, Delivery::Systemic),
        ("ses", "MailFromDomainNotVerifiedException", SenderUnverified, Delivery::Systemic),
        ("ses", "MessageRejected", Rejected, Delivery::Permanent),
        ("ses", "BadRequestException", InvalidParameter, Delivery::Permanent),
        ("ses", "NotFoundException", InvalidParameter, Delivery::Permanent),
        ("sns", "InvalidParameter", InvalidParameter, Delivery::Permanent),
        ("sns", "InvalidParameterValue", InvalidParameter, Delivery::Permanent),
        ("sns", "ParameterValueInvalid", InvalidParameter, Delivery::Permanent),
        ("sns", "OptedOut", OptedOut, Delivery::Permanent),
        ("sns", "EndpointDisabled", Rejected, Delivery::Permanent),
        ("sns", "KMSAccessDenied", KeyUnusable, Delivery::Systemic),
        ("sns", "KMSDisabled", KeyUnusable, Delivery::Systemic),
        ("sns", "KMSInvalidState", KeyUnusable, Delivery::Systemic),
        ("sns", "KMSNotFound", KeyUnusable, Delivery::Systemic),
        ("sns", "KMSOptInRequired", KeyUnusable, Delivery::Systemic),
        ("sqs", "AWS.SimpleQueueService.NonExistentQueue", NotFound, Delivery::Systemic),
        ("sqs", "QueueDoesNotExist", NotFound, Delivery::Systemic),
        ("sqs", "NonExistentQueue", NotFound, Delivery::Systemic),
        ("sqs", "KMS.AccessDeniedException", KeyUnusable, Delivery::Systemic),
        ("sqs", "KMS.DisabledException", KeyUnusable, Delivery::Systemic),
        ("sqs", "KMS.InvalidKeyUsageException", KeyUnusable, Delivery::Systemic),
        ("sqs", "KMS.InvalidStateException", KeyUnusable, Delivery::Systemic),
        ("sqs", "KMS.NotFoundException", KeyUnusable, Delivery::Systemic),
        ("sqs", "KMS.OptInRequired", KeyUnusable, Delivery::Systemic),
        ("dynamodb", "ResourceNotFoundException", NotFound, Delivery::Systemic),
        ("sqs", "AccessDenied", AccessDenied, Delivery::Systemic),
        ("dynamodb", "AccessDeniedException", AccessDenied, Delivery::Systemic),
        ("ses", "AccessDeniedException", AccessDenied, Delivery::Systemic),
        ("sqs", "UnauthorizedOperation", AccessDenied, Delivery::Systemic),
        ("sns", "AuthorizationError", AccessDenied, Delivery::Systemic),
        ("sns", "AuthorizationErrorException", AccessDenied, Delivery::Systemic),
        ("sqs", "InvalidClientTokenId", Credentials, Delivery::Transient),
        ("dynamodb", "UnrecognizedClientException", Credentials, Delivery::Transient),
        ("sqs", "SignatureDoesNotMatch", Credentials, Delivery::Transient),
        ("sqs", "ExpiredToken", Credentials, Delivery::Transient),
        ("dynamodb", "ExpiredTokenException", Credentials, Delivery::Transient),
        ("sqs", "InvalidAccessKeyId", Credentials, Delivery::Transient),
        ("sqs", "MissingAuthenticationToken", Credentials, Delivery::Transient),
        ("sns", "InvalidSecurity", Credentials, Delivery::Transient),
    ];

    #[test]
    fn every_code_means_what_it_says() {
        for &(service, code, kind, delivery) in EXPECTED {
            assert_eq!(kind_of_code(service, code), kind, "{service} {code}");
            assert_eq!(kind.delivery(), delivery, "{service} {code}");
        }
    }

    #[test]
    fn the_table_is_exactly_these_codes() {
        for (_, code, _) in CODES {
            assert!(
                EXPECTED.iter().any(|(_, c, _, _)| c == code),
                "{code} is in the table but not named by the test"
            );
        }
    }

    #[test]
    fn a_code_means_something_only_from_the_service_that_sends_it() {
        // SES's quota code from DynamoDB, SQS's missing queue from SNS: nothing known.
        assert_eq!(kind_of_code("dynamodb", "LimitExceededException"), Other);
        assert_eq!(kind_of_code("sns", "QueueDoesNotExist"), Other);
        assert_eq!(kind_of_code("ses", "NoSuchThing"), Other);
        assert_eq!(Other.delivery(), Delivery::Transient);
    }

    #[test]
    fn errors_that_never_reached_aws_are_told_apart_by_their_type() {
        use aws_sdk_dynamodb::config::http::HttpResponse;
        use aws_sdk_dynamodb::error::ConnectorError;
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        type Err = SdkError<GetItemError, HttpResponse>;

        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let refused: Err = SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        assert_eq!(classify("dynamodb", &refused), (Unavailable, None));

        let no_credentials = aws_credential_types::provider::error::CredentialsError::not_loaded(
            "no providers in chain provided credentials",
        );
        let unsigned: Err =
            SdkError::dispatch_failure(ConnectorError::other(Box::new(no_credentials), None));
        assert_eq!(classify("dynamodb", &unsigned), (Credentials, None));

        let timeout: Err = SdkError::timeout_error("operation timed out");
        assert_eq!(classify("dynamodb", &timeout), (Unavailable, None));
        let unbuilt: Err = SdkError::construction_failure("bad input");
        assert_eq!(classify("dynamodb", &unbuilt), (Other, None));
    }

    #[test]
    fn service_errors_are_read_by_their_code() {
        use aws_sdk_dynamodb::config::http::HttpResponse;
        use aws_sdk_dynamodb::error::ErrorMetadata;
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        let err = |code: Option<&str>| {
            let mut meta = ErrorMetadata::builder().message("Requested resource not found");
            if let Some(code) = code {
                meta = meta.code(code);
            }
            SdkError::service_error(
                GetItemError::generic(meta.build()),
                HttpResponse::new(400.try_into().unwrap(), "".into()),
            )
        };
        assert_eq!(
            classify("dynamodb", &err(Some("ResourceNotFoundException"))),
            (NotFound, Some("ResourceNotFoundException".to_owned()))
        );
        assert_eq!(classify("dynamodb", &err(None)), (Other, None));
    }
}
