//! Requests through the real router on in-memory backends: arbitrary bytes and near-valid JSON
//! as bodies, under any content type and `Idempotency-Key`, and arbitrary `otp_id` path
//! segments. Whatever arrives, the answer is never a 5xx or a panic, it is JSON, a 4xx has an
//! error code and a message, the answer is one api/openapi.json allows, and an error message
//! never repeats a submitted code or destination.

use super::{fuzz, matching};
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request};
use common::config::Rules;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use tests::in_memory::InMemory;
use tests::openapi::spec;

/// A router on in-memory backends with limits high enough that most valid sends succeed, and
/// a few real OTPs for verify and resend to hit; returns it with their ids.
fn app() -> (tokio::runtime::Runtime, InMemory, Vec<String>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let app = InMemory::new(Rules {
        resend_cooldown_seconds: 0,
        max_sends_per_hour: 1000,
        max_sends_per_otp: 100,
        ..Rules::default()
    });
    let mut ids = Vec::new();
    for body in [
        json!({"channel": "email", "destination": "jane@example.com"}),
        json!({"channel": "sms", "destination": "+447400123456", "locale": "de"}),
    ] {
        let request = Request::post("/v1/otp/send")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let reply = runtime.block_on(app.call(request));
        assert_eq!(reply.status, 202);
        let answer: Value = serde_json::from_slice(&reply.body).unwrap();
        ids.push(answer["otp_id"].as_str().unwrap().to_owned());
    }
    (runtime, app, ids)
}

#[derive(Debug, Clone)]
struct Input {
    method: Method,
    path: String,
    content_type: Option<String>,
    idempotency_key: Option<Vec<u8>>,
    body: Vec<u8>,
    /// Values of `code` and `destination` in the body, which no error message may repeat.
    secrets: Vec<String>,
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(Some("application/json".to_owned())),
        1 => Just(None),
        1 => Just(Some("application/json; charset=utf-8".to_owned())),
        1 => Just(Some("APPLICATION/JSON".to_owned())),
        1 => Just(Some("application/merge-patch+json".to_owned())),
        1 => Just(Some("text/plain".to_owned())),
        1 => Just(Some("application/x-www-form-urlencoded".to_owned())),
        1 => matching("[ -~]{0,40}").prop_map(Some),
    ]
}

fn idempotency_key() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some(b"order-1001".to_vec())),
        1 => matching("[!-~]{1,130}").prop_map(|k| Some(k.into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..140).prop_map(Some),
    ]
}

/// Strings near what each field expects, and far from it.
fn near_valid_string(ids: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        Just("email".to_owned()),
        Just("sms".to_owned()),
        Just("jane@example.com".to_owned()),
        Just("+447400123456".to_owned()),
        Just("pt-BR".to_owned()),
        Just("123456".to_owned()),
        select(ids),
        matching("[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]{1,70}@[a-zA-Z0-9.-]{1,70}"),
        matching("[ \t]?[a-z0-9.+-]{1,20}@[a-z0-9-]{1,12}\\.[a-z]{2,6}[ \t\n]?"),
        matching("\\+?[0-9 ()-]{0,20}"),
        matching("[0-9]{0,12}"),
        matching("[a-zA-Z]{1,4}(-[a-zA-Z0-9]{0,9}){0,4}"),
        matching("[0-9a-fA-F{}urn:-]{0,45}"),
        any::<String>(),
        matching("\\PC{0,64}"),
        // Around the 8 KiB body limit; built by repetition, as a regex this size is slow to draw.
        (8150..8250usize, matching("[a-z@.+]{1,3}"))
            .prop_map(|(n, unit)| unit.repeat(n / unit.len())),
    ]
}

fn any_json(ids: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(123456)),
        near_valid_string(ids).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(matching("[a-z_]{1,12}"), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Mangle {
    None,
    Truncate(usize),
    SetByte(usize, u8),
    Prefix(&'static str),
}

fn mangle() -> impl Strategy<Value = Mangle> {
    prop_oneof![
        6 => Just(Mangle::None),
        1 => any::<usize>().prop_map(Mangle::Truncate),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mangle::SetByte(i, b)),
        1 => select(vec![" ", "\u{feff}", "\n\t", "[", "null"]).prop_map(Mangle::Prefix),
    ]
}

/// An object with the fields a send or verify takes (and others), each written as text so a
/// field can appear twice, then maybe mangled at the byte level.
fn near_valid_body(ids: Vec<String>) -> impl Strategy<Value = (Vec<u8>, Vec<String>)> {
    let name = prop_oneof![
        4 => select(vec!["channel", "destination", "locale", "otp_id", "code"]).prop_map(str::to_owned),
        1 => matching("[a-zA-Z_]{1,10}"),
    ];
    let value = prop_oneof![
        4 => near_valid_string(ids.clone()).prop_map(Value::from),
        1 => any_json(ids),
    ];
    (prop::collection::vec((name, value), 0..6), mangle()).prop_map(|(fields, mangle)| {
        let secrets = fields
            .iter()
            .filter(|(name, _)| name == "code" || name == "destination")
            .map(|(_, value)| {
                value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned)
            })
            .collect();
        let text = fields
            .iter()
            .map(|(name, value)| format!("{}:{value}", json!(name)))
            .collect::<Vec<_>>()
            .join(",");
        let mut bytes = format!("{{{text}}}").into_bytes();
        match mangle {
            Mangle::None => {}
            Mangle::Truncate(at) => bytes.truncate(at % (bytes.len() + 1)),
            Mangle::SetByte(at, byte) => {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
            Mangle::Prefix(prefix) => bytes.splice(0..0, prefix.bytes()).for_each(drop),
        }
        (bytes, secrets)
    })
}

fn body_path() -> impl Strategy<Value = &'static str> {
    select(vec!["/v1/otp/send", "/v1/otp/verify"])
}

fn post(
    path: &str,
    content_type: Option<String>,
    idempotency_key: Option<Vec<u8>>,
    (body, secrets): (Vec<u8>, Vec<String>),
) -> Input {
    Input {
        method: Method::POST,
        path: path.to_owned(),
        content_type,
        idempotency_key,
        body,
        secrets,
    }
}

/// One request, and everything its answer must be.
fn check(
    runtime: &tokio::runtime::Runtime,
    app: &InMemory,
    input: Input,
) -> Result<(), TestCaseError> {
    let mut request = Request::builder()
        .method(input.method.clone())
        .uri(&input.path);
    if let Some(content_type) = &input.content_type {
        request = request.header("content-type", content_type);
    }
    if let Some(key) = input
        .idempotency_key
        .as_deref()
        .and_then(|k| HeaderValue::from_bytes(k).ok())
    {
        request = request.header("idempotency-key", key);
    }
    let request = request.body(Body::from(input.body.clone())).unwrap();
    let reply = runtime.block_on(app.call(request));
    let status = reply.status.as_u16();
    prop_assert!(status < 500, "{status} for {input:?}: {:?}", reply.body);
    let body: Value = serde_json::from_slice(&reply.body).map_err(|_| {
        TestCaseError::fail(format!("{status}: the body is not JSON: {:?}", reply.body))
    })?;
    if (400..500).contains(&status) {
        prop_assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
        let message = body["message"].as_str().unwrap_or_default();
        prop_assert!(!message.is_empty(), "{body}");
        for secret in &input.secrets {
            // Long enough to mean something, and not a piece of a fixed text (the E.164 example).
            let meaningful = secret.chars().count() >= 6
                && secret.chars().any(|c| c.is_ascii_digit() || c == '@')
                && !"+14155550123".contains(secret.as_str());
            prop_assert!(
                !(meaningful && message.contains(secret.as_str())),
                "the message repeats a submitted value {secret:?}: {message}"
            );
        }
    }
    spec()
        .check(
            input.method.as_str(),
            &input.path,
            status,
            &reply.headers,
            Some(&body),
        )
        .map_err(TestCaseError::fail)?;
    Ok(())
}

#[test]
fn arbitrary_bytes_as_a_body_get_a_documented_4xx() {
    let (runtime, app, _) = app();
    let bytes = prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..256),
        1 => (prop::collection::vec(any::<u8>(), 0..64), 8100..8300usize, any::<u8>())
            .prop_map(|(mut head, n, fill)| {
                head.resize(n, fill);
                head
            }),
    ];
    let strategy = (body_path(), content_type(), idempotency_key(), bytes)
        .prop_map(|(path, content_type, key, body)| post(path, content_type, key, (body, vec![])));
    fuzz(file!(), strategy, |input| check(&runtime, &app, input));
}

#[test]
fn near_valid_json_bodies_get_a_documented_answer() {
    let (runtime, app, ids) = app();
    let strategy = (
        body_path(),
        content_type(),
        idempotency_key(),
        near_valid_body(ids),
    )
        .prop_map(|(path, content_type, key, body)| post(path, content_type, key, body));
    fuzz(file!(), strategy, |input| check(&runtime, &app, input));
}

#[test]
fn arbitrary_otp_id_path_segments_get_a_documented_answer() {
    let (runtime, app, ids) = app();
    // Raw segment bytes, percent-encoded where a URI needs it: what any HTTP client can send.
    let segment = prop_oneof![
        2 => select(ids),
        1 => matching("[0-9a-fA-F-]{30,40}"),
        3 => prop::collection::vec(any::<u8>(), 0..48).prop_map(|bytes| {
            bytes
                .iter()
                .map(|&b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        }),
    ];
    let strategy = (segment, any::<bool>()).prop_map(|(segment, resend)| Input {
        method: if resend { Method::POST } else { Method::GET },
        path: if resend {
            format!("/v1/otp/{segment}/resend")
        } else {
            format!("/v1/otp/{segment}")
        },
        content_type: None,
        idempotency_key: None,
        body: vec![],
        secrets: vec![],
    });
    fuzz(file!(), strategy, |input| check(&runtime, &app, input));
}
