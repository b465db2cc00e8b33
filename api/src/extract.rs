//! Extractors whose rejections are [`ApiError`]s, so every malformed request gets the same JSON
//! error shape instead of axum's plain-text defaults.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use common::domain::{IdempotencyKey, OtpId};
use common::tenant::{Caller, KeyKind};
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

/// A JSON body, limited in size by the router's `DefaultBodyLimit`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // No Content-Type is refused too: a browser sends such a body cross-origin without a
        // CORS preflight, so accepting it would let any page post on its visitors' behalf.
        let Some(content_type) = req.headers().get(CONTENT_TYPE) else {
            return Err(ApiError::UnsupportedMediaType);
        };
        // A value that is not visible ASCII names no JSON type: 415 like any other.
        let Ok(value) = content_type.to_str() else {
            return Err(ApiError::UnsupportedMediaType);
        };
        let essence = value
            .split_once(';')
            .map_or(value, |(essence, _)| essence)
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::InvalidRequest("request body could not be read".into())
            }
        })?;
        // serde would also build a struct from a JSON array; the contract is an object.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::InvalidRequest(if bytes.trim_ascii().is_empty() {
                "request body is empty".into()
            } else {
                "request body must be a JSON object".into()
            }));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|err| ApiError::InvalidRequest(describe_json_error(&err)))
    }
}

/// A client-facing description of a bad body. Syntax errors are summarised (their text can quote
/// the input); data errors name the field and what was expected.
fn describe_json_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match err.classify() {
        Category::Eof if err.line() == 1 && err.column() == 0 => "request body is empty".into(),
        Category::Eof | Category::Syntax | Category::Io => "request body is not valid JSON".into(),
        Category::Data => {
            let text = err.to_string();
            // serde appends " at line L column C"; the position is noise for a one-line body.
            let text = text.split(" at line ").next().unwrap_or(&text);
            format!(
                "request body is not a valid request: {}",
                without_value(text)
            )
        }
    }
}

/// serde names a value of the wrong type by quoting it (``invalid type: integer `123456`,
/// expected a string``). The value may be a code or a destination, which no answer repeats:
/// keep its kind, drop the value.
fn without_value(text: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        let Some(rest) = text.strip_prefix(prefix) else {
            continue;
        };
        // The expectation comes from our types; the value, first, may contain anything.
        let (unexpected, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
        // Every kind is one word but "floating point"; the value follows it.
        let kind = if unexpected.starts_with("floating point") {
            "floating point"
        } else {
            unexpected
                .split_once([' ', '`', '"'])
                .map_or(unexpected, |(kind, _)| kind)
        };
        return if expected.is_empty() {
            format!("{prefix}{kind}")
        } else {
            format!("{prefix}{kind}, expected {expected}")
        };
    }
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::without_value;

    #[test]
    fn values_of_the_wrong_type_are_named_by_kind_only() {
        for (serde, shown) in [
            (
                "invalid type: integer `123456`, expected a string",
                "invalid type: integer, expected a string",
            ),
            (
                "invalid type: floating point `1.5`, expected a string",
                "invalid type: floating point, expected a string",
            ),
            (
                "invalid type: boolean `true`, expected a string",
                "invalid type: boolean, expected a string",
            ),
            (
                "invalid type: string \"+44, expected 7700\", expected a string",
                "invalid type: string, expected a string",
            ),
            (
                "invalid type: sequence, expected a string",
                "invalid type: sequence, expected a string",
            ),
            (
                "invalid type: null, expected a string",
                "invalid type: null, expected a string",
            ),
            (
                "unknown field `name`, expected one of `channel`, `destination`, `locale`",
                "unknown field `name`, expected one of `channel`, `destination`, `locale`",
            ),
            ("missing field `code`", "missing field `code`"),
        ] {
            assert_eq!(without_value(serde), shown);
        }
    }
}

/// The `{otp_id}` path segment as an [`OtpId`]; anything else (including bytes that are not
/// UTF-8) is a 400 in the API's own error shape.
#[derive(Debug, Clone, Copy)]
pub struct OtpIdPath(pub OtpId);

impl<S: Send + Sync> FromRequestParts<S> for OtpIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let invalid = || ApiError::InvalidRequest("otp_id must be a UUID".into());
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| invalid())?;
        OtpId::parse(&raw).map(Self).map_err(|_| invalid())
    }
}

/// The client's address: API Gateway's view of the caller in Lambda, the socket peer locally.
/// Forwarding headers are not trusted: any client can write them.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        use lambda_http::request::RequestContext;
        let from_lambda = parts
            .extensions
            .get::<RequestContext>()
            .and_then(|context| match context {
                RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.clone(),
                RequestContext::ApiGatewayV1(ctx) => ctx.identity.source_ip.clone(),
                _ => None,
            })
            .and_then(|ip| ip.parse().ok());
        let from_socket = || {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip())
        };
        Ok(ClientIp(from_lambda.or_else(from_socket)))
    }
}

/// The optional `Idempotency-Key` header, validated.
#[derive(Debug)]
pub struct IdempotencyHeader(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(Self(None));
        };
        let text = value.to_str().map_err(|_| {
            ApiError::InvalidRequest(
                "Idempotency-Key must be 1 to 128 visible ASCII characters".into(),
            )
        })?;
        Ok(Self(Some(IdempotencyKey::parse(text)?)))
    }
}

/// The caller [`crate::auth`] attached to the request. Only `/v1` routes, which sit behind the
/// key check, use it; finding none there is a wiring mistake, answered like a missing key.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(Self)
            .ok_or(ApiError::Unauthorized)
    }
}

/// The header in which a server key names the end user a send is for.
pub const END_USER_IP: &str = "x-end-user-ip";

/// The address the per-IP limit counts. A browser or app (publishable key) is its own end user:
/// the connection's source address counts and any `X-End-User-Ip` is ignored, since the
/// caller could write anything there. A backend (server key) relays for many end users: it
/// says which with `X-End-User-Ip`, and without it no per-IP counter applies (its own address
/// would lump every user together), only the tenant's budget.
#[derive(Debug, Clone, Copy)]
pub struct EndUserIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for EndUserIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Authenticated(caller) = Authenticated::from_request_parts(parts, state).await?;
        if caller.kind == KeyKind::Publishable {
            let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, state).await;
            return Ok(Self(ip));
        }
        let Some(value) = parts.headers.get(END_USER_IP) else {
            return Ok(Self(None));
        };
        value
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse::<IpAddr>().ok())
            .map(|ip| Self(Some(ip)))
            .ok_or_else(|| {
                ApiError::InvalidRequest("X-End-User-Ip must be one IPv4 or IPv6 address".into())
            })
    }
}
