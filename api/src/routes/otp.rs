use crate::error::ApiError;
use crate::extract::{Authenticated, EndUserIp, IdempotencyHeader, JsonBody, OtpIdPath};
use crate::service::{Issued, OtpService, SendCommand, StatusView};
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    otp_id: String,
    code: String,
}

pub async fn send(
    State(service): State<Arc<OtpService>>,
    Authenticated(caller): Authenticated,
    EndUserIp(client_ip): EndUserIp,
    IdempotencyHeader(idempotency_key): IdempotencyHeader,
    JsonBody(body): JsonBody<SendBody>,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    let channel = Channel::parse(&body.channel)
        .ok_or_else(|| ApiError::InvalidRequest("channel must be \"email\" or \"sms\"".into()))?;
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
    let id = OtpId::parse(&body.otp_id)?;
    let code = OtpCode::parse(&body.code, service.rules_for(&caller).code_length)?;
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
