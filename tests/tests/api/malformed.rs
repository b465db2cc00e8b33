use crate::helpers::spawn_app;

const JSON: Option<&str> = Some("application/json");

/// Method, path, content type, body, expected status.
type Case = (&'static str, String, Option<&'static str>, Vec<u8>, u16);

/// Every malformed request gets a 4xx with a JSON `{error, message}` body: never a 5xx, a
/// plain-text default, or a hang.
#[tokio::test]
async fn malformed_requests_get_a_clear_4xx_json_error() {
    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4();
    let send = "/v1/otp/send";
    let verify = "/v1/otp/verify";
    let huge = format!(
        r#"{{"channel":"email","destination":"{}@example.com"}}"#,
        "a".repeat(9000)
    );
    let cases: Vec<Case> = vec![
        ("POST", send.into(), JSON, b"".to_vec(), 400),
        ("POST", send.into(), JSON, b"{".to_vec(), 400),
        ("POST", send.into(), JSON, b"not json".to_vec(), 400),
        ("POST", send.into(), JSON, b"[]".to_vec(), 400),
        ("POST", send.into(), JSON, b"null".to_vec(), 400),
        ("POST", send.into(), JSON, br#"{}"#.to_vec(), 400),
        (
            "POST",
            send.into(),
            JSON,
            br#"{"channel":"email"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            send.into(),
            JSON,
            br#"{"destination":"a@example.com"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            send.into(),
            JSON,
            br#"{"channel":"fax","destination":"a@example.com"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            send.into(),
            JSON,
            br#"{"channel":"EMAIL","destination":"a@example.com"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            send.into(),
            JSON,
            br#"{"channel":5,"destination":"a@example.com"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            send.into(),
            JSON,
            br#"{"channel":"email","destination":"not-an-email"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            send.into(),
            JSON,
            br#"{"channel":"email","destination":"+447400123456"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            send.into(),
            JSON,
            br#"{"channel":"sms","destination":"jane@example.com"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            send.into(),
            JSON,
            br#"{"channel":"sms","destination":"07700 900121"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            send.into(),
            JSON,
            br#"{"channel":"sms","destination":"+1234"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            send.into(),
            JSON,
            br#"{"channel":"email","destination":"a@example.com","extra":1}"#.to_vec(),
            400,
        ),
        (
            "POST",
            send.into(),
            JSON,
            br#"{"channel":"email","destination":"a@example.com","locale":"english"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            send.into(),
            JSON,
            br#"{"channel":"email","destination":["a@example.com"]}"#.to_vec(),
            400,
        ),
        ("POST", send.into(), JSON, huge.into_bytes(), 413),
        (
            "POST",
            send.into(),
            Some("text/plain"),
            br#"{"channel":"email","destination":"a@example.com"}"#.to_vec(),
            415,
        ),
        ("POST", send.into(), JSON, vec![0xff, 0xfe, 0x00], 400),
        (
            "POST",
            verify.into(),
            JSON,
            format!(r#"{{"otp_id":"{id}","code":"12345"}}"#).into_bytes(),
            400,
        ),
        (
            "POST",
            verify.into(),
            JSON,
            format!(r#"{{"otp_id":"{id}","code":"1234567"}}"#).into_bytes(),
            400,
        ),
        (
            "POST",
            verify.into(),
            JSON,
            format!(r#"{{"otp_id":"{id}","code":"12a456"}}"#).into_bytes(),
            400,
        ),
        (
            "POST",
            verify.into(),
            JSON,
            format!(r#"{{"otp_id":"{id}","code":123456}}"#).into_bytes(),
            400,
        ),
        (
            "POST",
            verify.into(),
            JSON,
            br#"{"otp_id":"not-a-uuid","code":"123456"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            verify.into(),
            JSON,
            format!(r#"{{"otp_id":"{id}"}}"#).into_bytes(),
            400,
        ),
        (
            "POST",
            verify.into(),
            JSON,
            format!(r#"{{"otp_id":"{id}","code":"123456","x":true}}"#).into_bytes(),
            400,
        ),
        (
            "POST",
            send.into(),
            JSON,
            br#"["email","a@example.com"]"#.to_vec(),
            400,
        ),
        ("POST", send.into(), JSON, b"   ".to_vec(), 400),
        ("GET", "/v1/otp/not-a-uuid".into(), None, vec![], 400),
        ("GET", "/v1/otp/%FF".into(), None, vec![], 400),
        ("POST", "/v1/otp/%FF/resend".into(), None, vec![], 400),
        (
            "POST",
            "/v1/otp/not-a-uuid/resend".into(),
            None,
            vec![],
            400,
        ),
        ("GET", "/v1/nothing-here".into(), None, vec![], 404),
        ("GET", "/".into(), None, vec![], 404),
        ("GET", send.into(), None, vec![], 405),
        ("PUT", verify.into(), JSON, b"{}".to_vec(), 405),
        ("DELETE", format!("/v1/otp/{id}"), None, vec![], 405),
        ("POST", format!("/v1/otp/{id}/resend"), None, vec![], 404),
    ];
    assert!(cases.len() >= 25);
    for (method, path, content_type, body, expected) in cases {
        let shown = String::from_utf8_lossy(&body)
            .chars()
            .take(80)
            .collect::<String>();
        let answer = app.raw(method, &path, content_type, body).await;
        assert_eq!(
            answer.status, expected,
            "{method} {path} {shown:?} -> {:?}",
            answer.body
        );
        assert!(
            !answer.error().is_empty(),
            "{method} {path}: no error code in {:?}",
            answer.body
        );
        assert!(
            answer.body["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}
