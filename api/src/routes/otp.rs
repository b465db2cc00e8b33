use crate::error::ApiError;
use crate::extract::{Authenticated, EndUserIp, IdempotencyHeader, JsonBody, OtpIdPath};
use crate::service::{Canceled, Issued, OtpService, SendCommand, StatusView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use common::domain::{Channel, Destination, Locale, OtpCode, OtpId};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    channel: String,
    destination: String,
    #[serde(default)]
    locale: Option<String>,
}

/// Either `otp_id`, or `channel` and `destination` (Twilio's shape: the OTP holding the
/// destination's live code), with the `code`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    #[serde(default)]
    otp_id: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    destination: Option<String>,
    code: String,
}

/// Which OTP a verify names, checked before anything is read.
enum VerifyTarget {
    Id(OtpId),
    Destination(Destination),
}

impl VerifyBody {
    fn target(&self) -> Result<VerifyTarget, ApiError> {
        match (&self.otp_id, &self.channel, &self.destination) {
            (Some(id), None, None) => Ok(VerifyTarget::Id(OtpId::parse(id)?)),
            (None, Some(channel), Some(destination)) => {
                let channel = parse_channel(channel)?;
                Ok(VerifyTarget::Destination(Destination::parse(
                    channel,
                    destination,
                )?))
            }
            _ => Err(ApiError::InvalidRequest(
                "give either otp_id, or channel and destination (not both)".into(),
            )),
        }
    }
}

fn parse_channel(channel: &str) -> Result<Channel, ApiError> {
    Channel::parse(channel)
        .ok_or_else(|| ApiError::InvalidRequest("channel must be \"email\" or \"sms\"".into()))
}

pub async fn send(
    State(service): State<Arc<OtpService>>,
    Authenticated(caller): Authenticated,
    EndUserIp(client_ip): EndUserIp,
    IdempotencyHeader(idempotency_key): IdempotencyHeader,
    JsonBody(body): JsonBody<SendBody>,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    let channel = parse_channel(&body.channel)?;
    let destination = Destination::parse(channel, &body.destination)?;
    let locale = body
        .locale
        .as_deref()
        .map(Locale::parse)
        .transpose()?
        // No locale given: English (`Locale::default`).
        .unwrap_or_default();
    let issued = service
        .send(
            &caller,
            SendCommand {
                destination,
                locale,
                client_ip,
                idempotency_key,
            },
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(issued)))
}

pub async fn resend(
    State(service): State<Arc<OtpService>>,
    Authenticated(caller): Authenticated,
    EndUserIp(client_ip): EndUserIp,
    OtpIdPath(id): OtpIdPath,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(service.resend(&caller, id, client_ip).await?),
    ))
}

pub async fn verify(
    State(service): State<Arc<OtpService>>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<Json<Value>, ApiError> {
    let target = body.target()?;
    let code = OtpCode::parse(&body.code, service.rules_for(&caller).code_length)?;
    let id = match target {
        VerifyTarget::Id(id) => id,
        VerifyTarget::Destination(destination) => service.live_otp(&caller, &destination).await?,
    };
    service.verify(&caller, id, &code).await?;
    Ok(Json(json!({ "otp_id": id, "verified": true })))
}

pub async fn status(
    State(service): State<Arc<OtpService>>,
    Authenticated(caller): Authenticated,
    OtpIdPath(id): OtpIdPath,
) -> Result<Json<StatusView>, ApiError> {
    Ok(Json(service.status(&caller, id).await?))
}

pub async fn cancel(
    State(service): State<Arc<OtpService>>,
    Authenticated(caller): Authenticated,
    OtpIdPath(id): OtpIdPath,
) -> Result<Json<Canceled>, ApiError> {
    Ok(Json(service.cancel(&caller, id).await?))
}
