//! SES v2 for e-mail, SNS for SMS.

use super::{OutgoingMessage, SendError, Sender};
use crate::domain::Destination;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination as SesDestination, EmailContent, Message};
use aws_sdk_sns::types::MessageAttributeValue;

#[derive(Debug, Clone)]
pub struct AwsSender {
    ses: aws_sdk_sesv2::Client,
    sns: aws_sdk_sns::Client,
    email_from: Option<String>,
}

impl AwsSender {
    pub fn new(sdk: &aws_config::SdkConfig, email_from: Option<String>) -> Self {
        Self {
            ses: aws_sdk_sesv2::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            email_from,
        }
    }

    async fn send_email(&self, to: &str, message: &OutgoingMessage) -> Result<(), SendError> {
        let from = self.email_from.as_deref().ok_or_else(|| {
            SendError::Systemic("OTP_EMAIL_FROM is not set: no sender address for e-mail".into())
        })?;
        let content = |data: &str| Content::builder().data(data).charset("UTF-8").build();
        let subject = content(&message.subject).map_err(build_error)?;
        let text = content(&message.text).map_err(build_error)?;
        self.ses
            .send_email()
            .from_email_address(from)
            .destination(SesDestination::builder().to_addresses(to).build())
            .content(
                EmailContent::builder()
                    .simple(
                        Message::builder()
                            .subject(subject)
                            .body(Body::builder().text(text).build())
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&e, ses_class))
    }

    async fn send_sms(&self, to: &str, message: &OutgoingMessage) -> Result<(), SendError> {
        // Transactional routes are the ones carriers prioritise and do not filter as marketing.
        let sms_type = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Transactional")
            .build()
            .map_err(|e| SendError::Transient(e.to_string()))?;
        self.sns
            .publish()
            .phone_number(to)
            .message(&message.text)
            .message_attributes("AWS.SNS.SMS.SMSType", sms_type)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&e, sns_class))
    }
}

#[async_trait::async_trait]
impl Sender for AwsSender {
    async fn send(&self, to: &Destination, message: &OutgoingMessage) -> Result<(), SendError> {
        match to {
            Destination::Email(email) => self.send_email(email.as_str(), message).await,
            Destination::Sms(phone) => self.send_sms(phone.as_str(), message).await,
        }
    }
}

fn build_error(err: aws_sdk_sesv2::error::BuildError) -> SendError {
    SendError::Transient(err.to_string())
}

enum Class {
    Transient,
    Permanent,
    Systemic,
}

fn ses_class(code: &str, message: &str) -> Class {
    match code {
        "AccountSuspendedException"
        | "SendingPausedException"
        | "MailFromDomainNotVerifiedException" => Class::Systemic,
        // SES reports a spent daily quota as LimitExceeded with this text: no retry helps today.
        "LimitExceededException" if message.contains("Daily message quota") => Class::Systemic,
        "MessageRejected" | "BadRequestException" | "NotFoundException" => Class::Permanent,
        _ => Class::Transient,
    }
}

fn sns_class(code: &str, _message: &str) -> Class {
    match code {
        "InvalidParameter" | "InvalidParameterValue" | "OptedOut" | "EndpointDisabled" => {
            Class::Permanent
        }
        "AuthorizationError" | "KMSAccessDenied" | "KMSDisabled" | "KMSNotFound"
        | "KMSInvalidState" => Class::Systemic,
        _ => Class::Transient,
    }
}

/// Service errors by their code; everything else (timeouts, dispatch, 5xx) is transient.
fn classify<E, R>(err: &SdkError<E, R>, class_of: fn(&str, &str) -> Class) -> SendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = crate::error::describe_sdk_error(err);
    let SdkError::ServiceError(service) = err else {
        return SendError::Transient(detail);
    };
    let code = service.err().code().unwrap_or("Unknown").to_owned();
    match class_of(&code, service.err().message().unwrap_or_default()) {
        Class::Transient => SendError::Transient(detail),
        Class::Permanent => SendError::Permanent {
            reason: code,
            detail,
        },
        Class::Systemic => SendError::Systemic(detail),
    }
}
