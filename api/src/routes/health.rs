use axum::Json;
use serde_json::{Value, json};

/// Liveness only: it touches no backend, so a DynamoDB blip does not take the API out of a
/// load balancer that would then have nothing better to send traffic to.
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
