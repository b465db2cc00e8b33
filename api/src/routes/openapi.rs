use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

/// The OpenAPI 3.1 description of this API. Written by hand and committed (`api/openapi.json`),
/// so the Lambda carries no schema generator; the `openapi::` integration tests hold it equal to
/// the router, the error enum, docs/api.md and the real answers.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

pub async fn openapi() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI_JSON,
    )
}
