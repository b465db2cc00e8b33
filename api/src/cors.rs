//! CORS preflights for publishable keys. A preflight carries no key, so it cannot name a tenant;
//! it is answered for an origin some tenant lists ([`KeyResolver::origin_listed`], one cached
//! read) and refused for any other. The real request then carries its key, and
//! [`crate::auth`] checks the origin against that key's own tenant.
//!
//! [`KeyResolver::origin_listed`]: common::tenant::KeyResolver::origin_listed

use crate::error::ApiError;
use crate::service::OtpService;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// What a browser may send: the methods and headers of send, resend and verify.
const ALLOW_METHODS: &str = "POST";
const ALLOW_HEADERS: &str = "authorization, content-type, idempotency-key";
/// How long a browser may reuse a preflight's answer (seconds).
const MAX_AGE: &str = "600";

/// Answers `OPTIONS /v1/...` preflights (an `Origin` and `Access-Control-Request-Method`)
/// before routing; every other request passes through untouched.
pub async fn preflight(
    State(service): State<Arc<OtpService>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let is_preflight = request.method() == Method::OPTIONS
        && request.uri().path().starts_with("/v1/")
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (true, Some(origin)) = (is_preflight, origin) else {
        return next.run(request).await;
    };
    match service.resolver.origin_listed(&origin).await {
        Ok(true) => {}
        Ok(false) => return ApiError::Forbidden.into_response(),
        Err(err) => return crate::auth::unavailable(err).into_response(),
    }
    let Ok(allow_origin) = HeaderValue::from_str(&origin) else {
        return ApiError::Forbidden.into_response();
    };
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin),
            (
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOW_METHODS),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOW_HEADERS),
            ),
            (
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(MAX_AGE),
            ),
            (header::VARY, HeaderValue::from_static("Origin")),
        ],
    )
        .into_response()
}
