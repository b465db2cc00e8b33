//! `api/openapi.json` is held equal to the code from four sides: the router (every path and
//! method, nothing more), the error enum (every error body and status the code can produce),
//! its own examples and docs/api.md's examples (each matches its schema), and, through
//! `helpers::Answer`, every real answer the integration tests get.

use api::error::ApiError;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request};
use axum::response::IntoResponse;
use common::config::Rules;
use common::domain::OtpCodeLength;
use common::error::BackendError;
use common::lifecycle::NotAllowedReason;
use common::store::{LimitScope, RateLimited};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tests::in_memory::InMemory;
use tests::openapi::{METHODS, Spec, escape, spec};

fn concrete(template: &str) -> String {
    template.replace("{otp_id}", &uuid::Uuid::new_v4().to_string())
}

fn body_of(bytes: &[u8]) -> Option<Value> {
    (!bytes.is_empty()).then(|| {
        serde_json::from_slice(bytes).unwrap_or_else(|_| {
            panic!(
                "body is not JSON: {:?}",
                String::from_utf8_lossy(bytes)
                    .chars()
                    .take(200)
                    .collect::<String>()
            )
        })
    })
}

#[tokio::test]
async fn the_description_is_served_at_openapi_json_as_committed() {
    let app = InMemory::new(Rules::default());
    let reply = app
        .call(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "application/json");
    let served: Value = serde_json::from_slice(&reply.body).unwrap();
    let committed: Value = serde_json::from_str(include_str!("../../../api/openapi.json")).unwrap();
    assert_eq!(served, committed);
    assert_eq!(served["openapi"], "3.1.0");
}

/// A service configured with 8-digit codes describes 8-digit codes: what the description it
/// serves calls valid, its verify reads (and a 6-digit code is refused by both).
#[tokio::test]
async fn a_service_with_another_code_length_describes_its_own_codes() {
    let app = InMemory::new(Rules {
        code_length: OtpCodeLength::new(8).unwrap(),
        ..Rules::default()
    });
    let reply = app
        .call(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    let served = Spec::parse(std::str::from_utf8(&reply.body).unwrap());
    let id = uuid::Uuid::new_v4();
    for (code, valid, status) in [("12345678", true, 404), ("123456", false, 400)] {
        let body = json!({ "otp_id": id, "code": code });
        assert_eq!(
            served
                .validate("/components/schemas/VerifyRequest", &body)
                .is_ok(),
            valid,
            "{code}"
        );
        let request = Request::post("/v1/otp/verify")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        assert_eq!(app.call(request).await.status, status, "{code}");
    }
}

/// The router's paths are the description's paths; on each, the documented methods are
/// answered and every other method gets the 405 the description promises (with an `Allow`
/// header listing exactly the documented ones); an undocumented path gets the documented 404.
#[tokio::test]
async fn every_route_and_method_is_documented_and_nothing_more() {
    let spec = spec();
    let routed: BTreeSet<String> = api::app::routes()
        .into_iter()
        .map(|(path, _)| path.to_owned())
        .collect();
    let documented: BTreeSet<String> = spec.paths().into_iter().collect();
    assert_eq!(
        routed, documented,
        "the router serves these paths, the description lists those"
    );
    let app = InMemory::new(Rules::default());
    for template in &documented {
        let methods = spec.methods(template);
        assert!(!methods.is_empty(), "{template} documents no method");
        for method in METHODS {
            let path = concrete(template);
            let request = Request::builder()
                .method(method.to_ascii_uppercase().as_str())
                .uri(&path)
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let reply = app.call(request).await;
            let is_documented = methods.contains(&method);
            assert_eq!(
                reply.status == 405,
                !is_documented,
                "{method} {template}: answered {}, documented: {is_documented}",
                reply.status
            );
            spec.check(
                method,
                &path,
                reply.status.as_u16(),
                &reply.headers,
                body_of(&reply.body).as_ref(),
            )
            .unwrap_or_else(|problem| panic!("{problem}"));
        }
    }
    for path in ["/", "/v2/otp", "/v1/otp/send/extra", "/openapi.yaml"] {
        let reply = app
            .call(Request::get(path).body(Body::empty()).unwrap())
            .await;
        spec.check(
            "get",
            path,
            reply.status.as_u16(),
            &reply.headers,
            body_of(&reply.body).as_ref(),
        )
        .unwrap_or_else(|problem| panic!("{problem}"));
    }
}

/// One of each error the API can answer. The match has no wildcard: a new variant does not
/// compile until it is listed here, and then this test fails until the description has it.
fn every_error() -> Vec<ApiError> {
    let limited = |scope, retry_after| ApiError::RateLimited(RateLimited { scope, retry_after });
    let all = vec![
        ApiError::InvalidRequest("otp_id must be a UUID".into()),
        ApiError::NotFound,
        ApiError::MethodNotAllowed,
        ApiError::AlreadyVerified,
        ApiError::Expired,
        ApiError::PayloadTooLarge,
        ApiError::UnsupportedMediaType,
        ApiError::IdempotencyKeyReused,
        ApiError::InvalidCode {
            attempts_remaining: 3,
        },
        ApiError::InvalidCode {
            attempts_remaining: 0,
        },
        limited(LimitScope::DestinationCooldown, Some(27)),
        limited(LimitScope::DestinationCooldown, Some(0)),
        limited(LimitScope::DestinationHourly, Some(3000)),
        limited(LimitScope::IpHourly, Some(3592)),
        limited(LimitScope::TenantHourly, Some(1200)),
        limited(LimitScope::OtpSends, None),
        limited(LimitScope::DestinationGuesses, Some(1200)),
        ApiError::TooManyAttempts,
        ApiError::Unavailable(BackendError::new("dynamodb", "GetItem", "timed out")),
        ApiError::Unauthorized,
        ApiError::Forbidden,
        ApiError::ChannelNotAllowed,
        ApiError::DestinationNotAllowed(NotAllowedReason::Country),
        ApiError::DestinationNotAllowed(NotAllowedReason::NumberType),
        ApiError::Canceled,
    ];
    let kind = |error: &ApiError| match error {
        ApiError::InvalidRequest(_) => 0,
        ApiError::NotFound => 1,
        ApiError::MethodNotAllowed => 2,
        ApiError::AlreadyVerified => 3,
        ApiError::Expired => 4,
        ApiError::PayloadTooLarge => 5,
        ApiError::UnsupportedMediaType => 6,
        ApiError::IdempotencyKeyReused => 7,
        ApiError::InvalidCode { .. } => 8,
        ApiError::RateLimited(_) => 9,
        ApiError::TooManyAttempts => 10,
        ApiError::Unavailable(_) => 11,
        ApiError::Unauthorized => 12,
        ApiError::Forbidden => 13,
        ApiError::ChannelNotAllowed => 14,
        ApiError::DestinationNotAllowed(_) => 15,
        ApiError::Canceled => 16,
    };
    let kinds: BTreeSet<usize> = all.iter().map(kind).collect();
    assert_eq!(kinds, (0..=16).collect(), "list one of each variant");
    all
}

/// Every error body, status and header the code produces is an answer the description gives
/// for some operation (or, for 404 and 405, for any undocumented path or method).
#[tokio::test]
async fn every_error_the_code_can_produce_is_documented() {
    let spec = spec();
    let mut operations = Vec::new();
    for template in spec.paths() {
        for method in spec.methods(&template) {
            operations.push((method, concrete(&template)));
        }
    }
    let mut codes = BTreeSet::new();
    for error in every_error() {
        let shown = format!("{error:?}");
        let response = error.into_response();
        let status = response.status().as_u16();
        let mut headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = body_of(&bytes).expect("every error has a body");
        codes.insert(body["error"].as_str().unwrap().to_owned());
        let documented = if status == 405 {
            // The router adds `Allow`; the error alone cannot know it.
            headers.insert("allow", HeaderValue::from_static("POST"));
            spec.check("get", "/v1/otp/send", status, &headers, Some(&body))
                .is_ok()
        } else if status == 404
            && spec
                .check("get", "/no-such-path", status, &headers, Some(&body))
                .is_ok()
        {
            true
        } else {
            operations.iter().any(|(method, path)| {
                spec.check(method, path, status, &headers, Some(&body))
                    .is_ok()
            })
        };
        assert!(
            documented,
            "{shown} answers {status} {body} (headers {headers:?}): no operation documents it"
        );
    }
    // And the description lists no error code the code cannot produce.
    let mut described = BTreeSet::new();
    for schema in spec.doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .values()
    {
        if let Some(code) = schema["properties"]["error"]["const"].as_str() {
            described.insert(code.to_owned());
        }
    }
    assert_eq!(codes, described);
}

/// Walks the document and checks every example against the schema it illustrates: media type
/// and parameter `examples`/`example`, and JSON Schema `examples` arrays. Returns the count.
fn check_examples(pointer: &str, node: &Value, checked: &mut usize) {
    let spec = spec();
    if let Some(object) = node.as_object() {
        if object.contains_key("schema") {
            let schema = format!("{pointer}/schema");
            if let Some(examples) = object.get("examples").and_then(Value::as_object) {
                for name in examples.keys() {
                    let (_, example) =
                        spec.resolve(&format!("{pointer}/examples/{}", escape(name)));
                    spec.validate(&schema, &example["value"])
                        .unwrap_or_else(|e| panic!("example {name} at {pointer}: {e}"));
                    *checked += 1;
                }
            }
            if let Some(example) = object.get("example") {
                spec.validate(&schema, example)
                    .unwrap_or_else(|e| panic!("example at {pointer}: {e}"));
                *checked += 1;
            }
        }
        if let Some(examples) = object.get("examples").and_then(Value::as_array) {
            for example in examples {
                spec.validate(pointer, example)
                    .unwrap_or_else(|e| panic!("schema example at {pointer}: {e}"));
                *checked += 1;
            }
        }
        for (key, child) in object {
            check_examples(&format!("{pointer}/{}", escape(key)), child, checked);
        }
    } else if let Some(items) = node.as_array() {
        for (index, child) in items.iter().enumerate() {
            check_examples(&format!("{pointer}/{index}"), child, checked);
        }
    }
}

#[test]
fn every_example_in_the_description_matches_its_schema() {
    let mut checked = 0;
    check_examples("", &spec().doc, &mut checked);
    assert!(checked >= 40, "only {checked} examples found");
}

#[test]
fn every_link_names_a_documented_operation_and_parameter() {
    let spec = spec();
    let mut ids = BTreeSet::new();
    for template in spec.paths() {
        for method in spec.methods(&template) {
            let operation = &spec.doc["paths"][&template][method];
            let id = operation["operationId"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "operationId {id} is used twice");
        }
    }
    let mut links = 0;
    for template in spec.paths() {
        for method in spec.methods(&template) {
            let responses = spec.doc["paths"][&template][method]["responses"]
                .as_object()
                .unwrap();
            for response in responses.values() {
                for link in response["links"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|l| l.1)
                {
                    let target = link["operationId"].as_str().unwrap();
                    assert!(ids.contains(target), "a link to unknown {target}");
                    links += 1;
                }
            }
        }
    }
    assert!(links >= 4);
}

/// One `$ curl …` example of docs/api.md with the answer shown under it.
#[derive(Debug)]
struct DocExample {
    method: String,
    path: String,
    status: u16,
    headers: HeaderMap,
    body: Option<Value>,
}

/// Splits a shell command into words: enough for the curl lines in the docs ('…' quoting).
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut in_word = false;
    for c in command.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            c => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

fn doc_examples(markdown: &str) -> Vec<DocExample> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut examples = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("$ curl") {
            i += 1;
            continue;
        }
        let mut command = String::new();
        while i < lines.len() {
            let line = lines[i];
            i += 1;
            match line.strip_suffix('\\') {
                Some(start) => command.push_str(start),
                None => {
                    command.push_str(line);
                    break;
                }
            }
            command.push(' ');
        }
        let words = words(command.trim_start_matches("$ "));
        let mut method = None;
        let mut has_data = false;
        let mut url = None;
        for (index, word) in words.iter().enumerate() {
            match word.as_str() {
                "-X" => method = words.get(index + 1).cloned(),
                "-d" | "--data-binary" => has_data = true,
                // `-I`, alone or among other short flags (`-sI`): a HEAD request.
                w if w.starts_with('-') && !w.starts_with("--") && w.contains('I') => {
                    method = Some("HEAD".into());
                }
                w if w.starts_with("http://") => url = Some(w.to_owned()),
                _ => {}
            }
        }
        let method = method.unwrap_or_else(|| if has_data { "POST" } else { "GET" }.into());
        let url = url.expect("a curl example has a URL");
        let path = format!("/{}", url.splitn(4, '/').nth(3).unwrap_or_default());
        // The answer: status line, header lines, a blank line, the body.
        let Some(status_line) = lines.get(i).filter(|l| l.starts_with("HTTP/")) else {
            continue;
        };
        let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        i += 1;
        let mut headers = HeaderMap::new();
        while let Some((name, value)) = lines.get(i).and_then(|l| l.split_once(": ")) {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
            i += 1;
        }
        let mut body = None;
        if lines.get(i).is_some_and(|l| l.is_empty())
            && let Some(text) = lines.get(i + 1).filter(|l| l.starts_with('{'))
        {
            body = Some(
                serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("docs/api.md: {method} {path}: {e}: {text}")),
            );
            i += 2;
        }
        examples.push(DocExample {
            method,
            path,
            status,
            headers,
            body,
        });
    }
    examples
}

/// docs/api.md (the human contract) and the description agree: every answer shown there is
/// one the description allows, status, headers and body.
#[test]
fn every_answer_shown_in_docs_api_md_matches_the_description() {
    let markdown = include_str!("../../../docs/api.md");
    let examples = doc_examples(markdown);
    assert!(examples.len() >= 40, "only {} examples", examples.len());
    let mut statuses = BTreeSet::new();
    for example in &examples {
        statuses.insert(example.status);
        spec()
            .check(
                &example.method,
                &example.path,
                example.status,
                &example.headers,
                example.body.as_ref(),
            )
            .unwrap_or_else(|problem| panic!("docs/api.md: {problem}"));
    }
    let all: BTreeSet<u16> = [
        200, 202, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 429, 503,
    ]
    .into();
    assert_eq!(statuses, all, "docs/api.md shows an example of each status");
}
