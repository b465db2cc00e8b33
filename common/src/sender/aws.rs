//! SES v2 for e-mail, SNS for SMS.

use super::{OutgoingMessage, SendError, Sender};
use crate::aws_errors::{self, Delivery};
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
            .map_err(|e| send_error("ses", &e))
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
            .map_err(|e| send_error("sns", &e))
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

/// What a provider's error means for the message: [`crate::aws_errors`] decides, by the SDK
/// error's variant and code. A permanent failure's reason is the AWS error code, which is what
/// the record keeps as its `failure_reason`.
fn send_error<E, R>(service: &str, err: &SdkError<E, R>) -> SendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = crate::error::describe_sdk_error(err);
    let (kind, code) = aws_errors::classify(service, err);
    match kind.delivery() {
        Delivery::Transient => SendError::Transient(detail),
        Delivery::Permanent => SendError::Permanent {
            reason: code.unwrap_or_else(|| "Unknown".to_owned()),
            detail,
        },
        Delivery::Systemic => SendError::Systemic(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sesv2::config::http::HttpResponse;
    use aws_sdk_sesv2::error::ErrorMetadata;
    use aws_sdk_sesv2::operation::send_email::SendEmailError;
    use aws_sdk_sns::operation::publish::PublishError;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(status.try_into().unwrap(), "".into())
    }

    fn ses(code: &str, message: &str) -> SendError {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        send_error(
            "ses",
            &SdkError::service_error(SendEmailError::generic(meta), response(400)),
        )
    }

    fn sns(code: &str) -> SendError {
        let meta = ErrorMetadata::builder().code(code).build();
        send_error(
            "sns",
            &SdkError::service_error(PublishError::generic(meta), response(400)),
        )
    }

    #[test]
    fn provider_errors_become_send_errors_by_their_code() {
        assert_eq!(
            ses("TooManyRequestsException", "Maximum sending rate exceeded."),
            SendError::Transient("TooManyRequestsException: Maximum sending rate exceeded.".into())
        );
        assert!(matches!(
            ses("MessageRejected", "Email address is not verified."),
            SendError::Permanent { reason, .. } if reason == "MessageRejected"
        ));
        // The quota is read from the code, whatever SES's message says.
        assert!(matches!(
            ses("LimitExceededException", "Sending quota exceeded"),
            SendError::Systemic(_)
        ));
        assert!(matches!(
            ses("SendingPausedException", ""),
            SendError::Systemic(_)
        ));
        assert!(matches!(
            sns("ParameterValueInvalid"),
            SendError::Permanent { reason, .. } if reason == "ParameterValueInvalid"
        ));
        assert!(matches!(sns("AuthorizationError"), SendError::Systemic(_)));
        assert!(matches!(sns("KMSThrottling"), SendError::Transient(_)));
        assert!(matches!(sns("SomethingNew"), SendError::Transient(_)));
    }
}
