//! Every way a request can fail, and how each is answered. One enum, one status match: a new
//! failure cannot be added without deciding its status, code and text.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::error::BackendError;
use common::lifecycle::NotAllowedReason;
use common::store::{LimitScope, RateLimited};
use serde::Serialize;

/// Seconds a client should wait after a 503: long enough for the SDK's own retries to have
/// been exhausted upstream, short enough that a blip costs little.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed; the text says what to change.
    #[error("{0}")]
    InvalidRequest(String),
    /// 401: no key, or one that is malformed, unknown, revoked or of a disabled tenant. All
    /// answered alike (with `WWW-Authenticate: Bearer`), so no answer tells which keys exist.
    #[error("unauthorized")]
    Unauthorized,
    /// 403: the key is valid but may not do this: a publishable key on status, or from an
    /// origin its tenant does not list (also a CORS preflight from such an origin).
    #[error("forbidden")]
    Forbidden,
    /// 403: the tenant does not send on this channel.
    #[error("channel not allowed")]
    ChannelNotAllowed,
    /// 404: no such OTP (or another tenant's), or no such path.
    #[error("not found")]
    NotFound,
    /// 405: the path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the code was used already (verify, resend; and cancel, which cannot undo a
    /// verification).
    #[error("already verified")]
    AlreadyVerified,
    /// 410: the OTP's lifetime is over.
    #[error("expired")]
    Expired,
    /// 410: a server key canceled the OTP (`POST /v1/otp/{id}/cancel`); verify and resend
    /// refuse it, a new send to the destination makes a new code.
    #[error("canceled")]
    Canceled,
    /// 413: the body is over the limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415: the body is declared as something other than JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 422: the `Idempotency-Key` was used for a different request.
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    /// 422: wrong code; the OTP is still usable.
    #[error("invalid code")]
    InvalidCode { attempts_remaining: u32 },
    /// 429: a send limit; `Retry-After` when waiting helps.
    #[error("rate limited")]
    RateLimited(RateLimited),
    /// 429: no guesses left for this OTP; waiting does not help, a new OTP does.
    #[error("too many attempts")]
    TooManyAttempts,
    /// 403: the tenant may not send to this destination; `reason` says why (see
    /// [`NotAllowedReason`]). Nothing was counted or stored.
    #[error("destination not allowed")]
    DestinationNotAllowed(NotAllowedReason),
    /// 503: a backend failed or throttled; logged, never shown.
    #[error("backend unavailable")]
    Unavailable(#[source] BackendError),
}

impl ApiError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden
            | ApiError::ChannelNotAllowed
            | ApiError::DestinationNotAllowed(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::AlreadyVerified => StatusCode::CONFLICT,
            ApiError::Expired | ApiError::Canceled => StatusCode::GONE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::IdempotencyKeyReused | ApiError::InvalidCode { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::RateLimited(_) | ApiError::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::ChannelNotAllowed => "channel_not_allowed",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::AlreadyVerified => "already_verified",
            ApiError::Expired => "expired",
            ApiError::Canceled => "canceled",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::InvalidCode { .. } => "invalid_code",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::TooManyAttempts => "too_many_attempts",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::DestinationNotAllowed(_) => "destination_not_allowed",
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::InvalidRequest(text) => text.clone(),
            ApiError::Unauthorized => {
                "send a valid API key as `Authorization: Bearer <key>`".into()
            }
            ApiError::Forbidden => "this key may not make this request".into(),
            ApiError::ChannelNotAllowed => "this tenant does not send on that channel".into(),
            ApiError::NotFound => "no such resource".into(),
            ApiError::MethodNotAllowed => "this path does not accept that method".into(),
            ApiError::AlreadyVerified => "this code has already been used".into(),
            ApiError::Expired => "this code has expired; request a new one".into(),
            ApiError::Canceled => "this code was canceled; request a new one".into(),
            ApiError::PayloadTooLarge => "request body is larger than 8 KiB".into(),
            ApiError::UnsupportedMediaType => "request body must be application/json".into(),
            ApiError::IdempotencyKeyReused => {
                "this Idempotency-Key was already used with a different request body".into()
            }
            ApiError::InvalidCode { .. } => "the code is not correct".into(),
            ApiError::RateLimited(RateLimited {
                scope: LimitScope::DestinationGuesses,
                ..
            }) => "too many wrong codes for this destination; retry after the time given".into(),
            ApiError::RateLimited(limit) => match limit.retry_after {
                Some(_) => "too many codes requested; retry after the time given".into(),
                None => {
                    "this code has been sent the maximum number of times; request a new one".into()
                }
            },
            ApiError::TooManyAttempts => "too many wrong codes; request a new one".into(),
            ApiError::Unavailable(_) => {
                "the service is temporarily unavailable; retry shortly".into()
            }
            ApiError::DestinationNotAllowed(reason) => match reason {
                NotAllowedReason::Country => {
                    "this tenant does not send SMS to that number's country".into()
                }
                NotAllowedReason::NumberType => {
                    "codes are texted to mobile numbers only; this number is not one".into()
                }
            },
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited(limit) => limit
                .retry_after
                .map(|s| u64::try_from(s).unwrap_or(0).max(1)),
            ApiError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Unavailable(source) = &self {
            tracing::error!(error = %source, "backend failure answered with 503");
        }
        let retry_after = self.retry_after();
        let body = ErrorBody {
            error: self.code(),
            message: self.message(),
            attempts_remaining: match &self {
                ApiError::InvalidCode { attempts_remaining } => Some(*attempts_remaining),
                _ => None,
            },
            limit: match &self {
                ApiError::RateLimited(limit) => Some(limit.scope),
                _ => None,
            },
            retry_after,
            reason: match &self {
                ApiError::DestinationNotAllowed(reason) => Some(*reason),
                _ => None,
            },
        };
        let mut response = (self.status_code(), Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if matches!(self, ApiError::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The error document (`Error` in `api/openapi.json`). A struct rather than a `json!` map: a
/// wrong-code verify is the API's commonest answer under attack, and this spares it a map.
#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts_remaining: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<LimitScope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<NotAllowedReason>,
}

impl From<BackendError> for ApiError {
    fn from(err: BackendError) -> Self {
        ApiError::Unavailable(err)
    }
}

impl From<common::domain::ParseError> for ApiError {
    fn from(err: common::domain::ParseError) -> Self {
        ApiError::InvalidRequest(err.to_string())
    }
}
