//! The one `Router`, served by Lambda and by `axum::serve` alike.

use crate::error::ApiError;
use crate::routes;
use crate::service::OtpService;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use std::sync::Arc;

/// Bodies are small JSON objects; anything bigger is refused before it is parsed.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// Every path the API serves, with its methods. One list, so the test that holds the OpenAPI
/// description (`api/openapi.json`) equal to the code sees exactly what the router serves.
pub fn routes() -> Vec<(&'static str, MethodRouter<Arc<OtpService>>)> {
    vec![
        ("/health", get(routes::health)),
        ("/openapi.json", get(routes::openapi)),
        ("/v1/otp/send", post(routes::send)),
        ("/v1/otp/verify", post(routes::verify)),
        ("/v1/otp/{otp_id}", get(routes::status)),
        ("/v1/otp/{otp_id}/resend", post(routes::resend)),
        ("/v1/otp/{otp_id}/cancel", post(routes::cancel)),
    ]
}

/// The paths anyone may call; every other route needs a key ([`crate::auth`]).
pub fn is_public(path: &str) -> bool {
    !path.starts_with("/v1/")
}

pub fn router(service: Arc<OtpService>) -> Router {
    let (public, keyed): (Vec<_>, Vec<_>) =
        routes().into_iter().partition(|(path, _)| is_public(path));
    let build = |list: Vec<(&'static str, MethodRouter<Arc<OtpService>>)>| {
        list.into_iter()
            .fold(Router::new(), |router, (path, methods)| {
                router.route(path, methods)
            })
    };
    // `route_layer`: the key check runs for matched routes only, so an unknown path or method
    // is still a 404 or 405 without one.
    let keyed = build(keyed).route_layer(middleware::from_fn_with_state(
        service.clone(),
        crate::auth::require_key,
    ));
    build(public)
        .merge(keyed)
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Before routing: a preflight carries no key, and the routes have no OPTIONS.
        .layer(middleware::from_fn_with_state(
            service.clone(),
            crate::cors::preflight,
        ))
        .layer(middleware::from_fn(access_log))
        .with_state(service)
}

/// One span per request, one line per response: the route template, never the body.
async fn access_log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // A clone of the matched path shares its string: no allocation per request.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let span = tracing::info_span!("request", %method, %route);
    let started = std::time::Instant::now();
    let response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "response"
        );
    });
    response.into_response()
}
