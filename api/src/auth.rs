//! The key check in front of every `/v1` route: who is calling, and may this key do this.
//!
//! The check runs inside the API function (locally and in Lambda alike), through the
//! [`KeyResolver`]'s cache, so a warm instance checks a key without an AWS call. A store that
//! cannot be asked is a 503, never a 401: an outage must not read as "your key is bad".

use crate::error::ApiError;
use crate::service::OtpService;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use common::error::BackendError;
use common::tenant::{KeyKind, KeyResolver, TenantStoreError};
use std::sync::Arc;

/// The one `/v1` route a publishable key may not use: status reads an OTP's state, which only
/// the relying app's backend needs.
const STATUS_ROUTE: &str = "/v1/otp/{otp_id}";

/// Cancel is for the relying app's backend too: a browser holding a publishable key must not
/// be able to kill a code someone else is about to type.
const CANCEL_ROUTE: &str = "/v1/otp/{otp_id}/cancel";

/// Resolves `Authorization: Bearer <key>`, refuses what the key may not do, and attaches the
/// [`common::tenant::Caller`] for the handlers ([`crate::extract::Authenticated`]).
pub async fn require_key(
    State(service): State<Arc<OtpService>>,
    mut request: Request,
    next: Next,
) -> Response {
    // Owned: the request's body is not `Sync`, so no reference to it may live across an await.
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .map(str::to_owned);
    let caller = match authenticate(&service.resolver, presented.as_deref()).await {
        Ok(caller) => caller,
        Err(refusal) => return refusal.into_response(),
    };
    // A browser's answer needs the CORS header to be readable; only publishable keys are used
    // from browsers, and only from an origin already checked.
    let allow_origin = match caller.kind {
        KeyKind::Server => None,
        KeyKind::Publishable => {
            let origin = request
                .headers()
                .get(header::ORIGIN)
                .and_then(|v| v.to_str().ok())
                .filter(|origin| caller.tenant.allows_origin(origin));
            let Some(origin) = origin else {
                return ApiError::Forbidden.into_response();
            };
            // GET and HEAD alike: a HEAD is a status read without the body.
            let is_status = request.method() != Method::POST
                && request
                    .extensions()
                    .get::<MatchedPath>()
                    .is_some_and(|p| p.as_str() == STATUS_ROUTE);
            let is_cancel = request
                .extensions()
                .get::<MatchedPath>()
                .is_some_and(|p| p.as_str() == CANCEL_ROUTE);
            if is_status || is_cancel {
                return ApiError::Forbidden.into_response();
            }
            HeaderValue::from_str(origin).ok()
        }
    };
    request.extensions_mut().insert(caller);
    let mut response = next.run(request).await;
    if let Some(origin) = allow_origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

async fn authenticate(
    resolver: &KeyResolver,
    presented: Option<&str>,
) -> Result<common::tenant::Caller, ApiError> {
    let presented = presented.ok_or(ApiError::Unauthorized)?;
    match resolver.resolve(presented).await {
        Ok(Ok(caller)) => Ok(caller),
        Ok(Err(refusal)) => {
            // The reason is for the operator; the caller learns only "unauthorized".
            tracing::info!(?refusal, "API key refused");
            Err(ApiError::Unauthorized)
        }
        Err(err) => Err(unavailable(err)),
    }
}

/// A tenant store that could not answer: a 503 like any backend failure. A stored item that
/// does not parse is the store's fault too, never the caller's.
pub fn unavailable(err: TenantStoreError) -> ApiError {
    ApiError::Unavailable(match err {
        TenantStoreError::Backend(err) => err,
        other => BackendError::new("dynamodb", "tenant-store", other.to_string()),
    })
}

/// The credentials of an `Authorization: Bearer <token>` value (the scheme is case-blind).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn only_the_bearer_scheme_with_a_token_is_read() {
        assert_eq!(bearer("Bearer otpr_sk_x"), Some("otpr_sk_x"));
        assert_eq!(bearer("bearer  otpr_sk_x "), Some("otpr_sk_x"));
        assert_eq!(bearer("Basic dXNlcg=="), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("otpr_sk_x"), None);
    }
}
