use crate::service::OtpService;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use common::domain::OtpCodeLength;
use std::borrow::Cow;
use std::sync::Arc;

/// The OpenAPI 3.1 description of this API. Written by hand and committed (`api/openapi.json`),
/// so the Lambda carries no schema generator; the `openapi::` integration tests hold it equal to
/// the router, the error enum, docs/api.md and the real answers.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

pub async fn openapi(State(service): State<Arc<OtpService>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document(service.rules.code_length),
    )
}

/// The description of a service with this code length. The committed document states the
/// default; a service configured otherwise describes the codes it really accepts, so clients
/// and validators built from it agree with verify.
pub(super) fn document(code_length: OtpCodeLength) -> Cow<'static, str> {
    if code_length == OtpCodeLength::default() {
        return Cow::Borrowed(OPENAPI_JSON);
    }
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(OPENAPI_JSON) else {
        return Cow::Borrowed(OPENAPI_JSON);
    };
    let digits = usize::from(code_length.get());
    if let Some(code) = doc.pointer_mut("/components/schemas/VerifyRequest/properties/code") {
        code["pattern"] = format!("^[0-9]{{{digits}}}$").into();
        code["examples"] = serde_json::json!(["0123456789"[..digits]]);
    }
    Cow::Owned(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_schema(text: &str) -> serde_json::Value {
        let doc: serde_json::Value = serde_json::from_str(text).expect("the document is JSON");
        doc["components"]["schemas"]["VerifyRequest"]["properties"]["code"].clone()
    }

    #[test]
    fn the_committed_document_states_the_default_code_length() {
        let default = OtpCodeLength::default();
        assert!(matches!(document(default), Cow::Borrowed(_)));
        assert_eq!(
            code_schema(OPENAPI_JSON)["pattern"],
            format!("^[0-9]{{{}}}$", default.get())
        );
    }

    #[test]
    fn the_document_carries_this_crate_version() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).expect("JSON");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn another_code_length_is_described_as_configured() {
        let eight = OtpCodeLength::new(8).expect("8 is a valid length");
        let code = code_schema(&document(eight));
        assert_eq!(code["pattern"], "^[0-9]{8}$");
        assert_eq!(code["examples"], serde_json::json!(["01234567"]));
    }
}
