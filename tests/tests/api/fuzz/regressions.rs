//! What the fuzzing found, each as a named test (its seed is also kept in
//! `tests/tests/proptest-regressions/`, replayed first by every fuzz run).

use axum::body::Body;
use axum::http::Request;
use common::config::Rules;
use serde_json::Value;
use tests::in_memory::InMemory;

async fn answer(app: &InMemory, request: Request<Body>) -> (u16, Value) {
    let reply = app.call(request).await;
    (
        reply.status.as_u16(),
        serde_json::from_slice(&reply.body).unwrap(),
    )
}

/// Found by `near_valid_json_bodies_get_a_documented_answer`: serde quoted a value of the wrong
/// type in its message, so a code sent as a JSON number came back in the 400 (the docs promise
/// that no message repeats a submitted code or destination).
#[tokio::test]
async fn a_code_or_destination_of_the_wrong_type_is_not_repeated_in_the_error() {
    let app = InMemory::new(Rules::default());
    let id = uuid::Uuid::new_v4();
    for (path, body) in [
        (
            "/v1/otp/verify",
            format!(r#"{{"otp_id":"{id}","code":100000}}"#),
        ),
        (
            "/v1/otp/verify",
            format!(r#"{{"otp_id":"{id}","code":482913.5}}"#),
        ),
        (
            "/v1/otp/send",
            r#"{"channel":"sms","destination":447700900121}"#.to_owned(),
        ),
    ] {
        let request = Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))
            .unwrap();
        let (status, answer) = answer(&app, request).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["message"].as_str().unwrap();
        for secret in ["100000", "482913", "447700900121"] {
            assert!(!message.contains(secret), "{body}: {message}");
        }
        assert!(
            message.starts_with("request body is not a valid request: invalid type: "),
            "{message}"
        );
    }
}

/// Found by `arbitrary_otp_id_path_segments_get_a_documented_answer` (a gap in the test's model
/// of the router, not in the API): an empty `{otp_id}` segment reaches the handler and gets the
/// same 400 as any other id that is not a UUID.
#[tokio::test]
async fn an_empty_otp_id_segment_is_refused_like_any_bad_id() {
    let app = InMemory::new(Rules::default());
    let request = Request::post("/v1/otp//resend")
        .body(Body::empty())
        .unwrap();
    let (status, answer) = answer(&app, request).await;
    assert_eq!(status, 400);
    assert_eq!(answer["message"], "otp_id must be a UUID");
}
