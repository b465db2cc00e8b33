//! The OpenAPI description (`api/openapi.json`) as a checker: which documented operation a
//! request reached, and whether the answer it got is one the description allows (status,
//! content type, required headers, body schema). The integration tests run every answer they
//! get through it, so the description cannot drift from what the API really says.

use axum::http::HeaderMap;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;

/// Where the document is registered for `$ref` resolution; never fetched.
const BASE: &str = "https://otp-relay.invalid/openapi.json";

pub const METHODS: [&str; 8] = [
    "get", "head", "post", "put", "patch", "delete", "options", "trace",
];

pub struct Spec {
    pub doc: Value,
    compiled: RefCell<Compiled>,
}

struct Compiled {
    compiler: boon::Compiler,
    schemas: boon::Schemas,
    by_pointer: HashMap<String, boon::SchemaIndex>,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Spec(api/openapi.json)")
    }
}

/// The description the API serves, parsed once per test thread (the schema compiler is not
/// `Send`, so each thread keeps its own).
pub fn spec() -> &'static Spec {
    thread_local! {
        static SPEC: &'static Spec = Box::leak(Box::new(Spec::parse(api::routes::OPENAPI_JSON)));
    }
    SPEC.with(|spec| *spec)
}

/// `a/b~c` as a JSON Pointer token: `a~1b~0c`.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

impl Spec {
    pub fn parse(text: &str) -> Self {
        let doc: Value = serde_json::from_str(text).expect("api/openapi.json is not JSON");
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler.enable_format_assertions();
        compiler
            .add_resource(BASE, doc.clone())
            .expect("register the description");
        Self {
            doc,
            compiled: RefCell::new(Compiled {
                compiler,
                schemas: boon::Schemas::new(),
                by_pointer: HashMap::new(),
            }),
        }
    }

    /// The documented path templates, e.g. `/v1/otp/{otp_id}`.
    pub fn paths(&self) -> Vec<String> {
        self.doc["paths"]
            .as_object()
            .map(|paths| paths.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The documented methods of a path template, lowercase.
    pub fn methods(&self, template: &str) -> Vec<&'static str> {
        let item = &self.doc["paths"][template];
        METHODS
            .into_iter()
            .filter(|m| item.get(*m).is_some())
            .collect()
    }

    /// The template a concrete path (no query) falls under. Literal segments win over
    /// parameters, as in the router: `/v1/otp/send` is not a status path.
    pub fn template_of(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('/').collect();
        self.paths()
            .into_iter()
            .filter(|template| {
                let parts: Vec<&str> = template.split('/').collect();
                parts.len() == segments.len()
                    && parts.iter().zip(&segments).all(|(part, segment)| {
                        // A parameter matches any segment, even an empty one, as in the router.
                        part == segment || part.starts_with('{')
                    })
            })
            .min_by_key(|template| template.matches('{').count())
    }

    /// Follows a `$ref` (within this document) to the object it names, with its pointer.
    pub fn resolve<'a>(&'a self, pointer: &str) -> (String, &'a Value) {
        let mut pointer = pointer.to_owned();
        loop {
            let value = self
                .doc
                .pointer(&pointer)
                .unwrap_or_else(|| panic!("nothing at {pointer} in the description"));
            match value.get("$ref").and_then(Value::as_str) {
                Some(target) => pointer = target.trim_start_matches('#').to_owned(),
                None => return (pointer, value),
            }
        }
    }

    /// Validates `value` against the schema at `pointer` (a JSON Pointer into the document).
    pub fn validate(&self, pointer: &str, value: &Value) -> Result<(), String> {
        let mut compiled = self.compiled.borrow_mut();
        let Compiled {
            compiler,
            schemas,
            by_pointer,
        } = &mut *compiled;
        let index = match by_pointer.get(pointer) {
            Some(index) => *index,
            None => {
                let index = compiler
                    .compile(&format!("{BASE}#{pointer}"), schemas)
                    .map_err(|e| format!("the schema at {pointer} does not compile: {e:#}"))?;
                by_pointer.insert(pointer.to_owned(), index);
                index
            }
        };
        schemas
            .validate(value, index)
            .map_err(|e| format!("{value} does not match the schema at {pointer}: {e:#}"))
    }

    /// Whether an answer to `method path` is one the description allows. `body` is `None` for an
    /// empty body.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        body: Option<&Value>,
    ) -> Result<(), String> {
        let method = method.to_ascii_lowercase();
        let Some(template) = self.template_of(path) else {
            return self.check_response(
                &format!("{method} {path} (no such path)"),
                "/components/responses/NotFound",
                status,
                404,
                headers,
                body,
            );
        };
        let operation = format!("/paths/{}/{method}", escape(&template));
        if self.doc.pointer(&operation).is_none() {
            self.check_response(
                &format!("{method} {template} (method not documented)"),
                "/components/responses/MethodNotAllowed",
                status,
                405,
                headers,
                body,
            )?;
            let allow = header(headers, "allow").unwrap_or_default();
            let mut allowed: Vec<String> = allow
                .split(',')
                .map(|m| m.trim().to_ascii_lowercase())
                .collect();
            allowed.sort();
            let mut documented: Vec<String> = self
                .methods(&template)
                .into_iter()
                .map(str::to_owned)
                .collect();
            documented.sort();
            return if allowed == documented {
                Ok(())
            } else {
                Err(format!(
                    "{method} {template}: Allow is {allow:?}, the description lists {documented:?}"
                ))
            };
        }
        let response = format!("{operation}/responses/{status}");
        if self.doc.pointer(&response).is_none() {
            return Err(format!(
                "{method} {template} answered {status}, which the description does not list for it (body: {body:?})"
            ));
        }
        self.check_response(
            &format!("{method} {template}"),
            &response,
            status,
            status,
            headers,
            body,
        )
    }

    fn check_response(
        &self,
        what: &str,
        pointer: &str,
        status: u16,
        expected_status: u16,
        headers: &HeaderMap,
        body: Option<&Value>,
    ) -> Result<(), String> {
        if status != expected_status {
            return Err(format!(
                "{what}: answered {status}, expected {expected_status} (body: {body:?})"
            ));
        }
        let (pointer, response) = self.resolve(pointer);
        let content_type = header(headers, "content-type");
        // HEAD answers carry GET's headers and never a body.
        let content = response
            .get("content")
            .filter(|_| !what.starts_with("head "));
        match (content, body) {
            (Some(content), Some(body)) => {
                let essence = content_type
                    .as_deref()
                    .and_then(|c| c.split(';').next())
                    .map(|c| c.trim().to_ascii_lowercase())
                    .unwrap_or_default();
                if content.get(&essence).is_none() {
                    return Err(format!(
                        "{what} {status}: content type {content_type:?} is not documented"
                    ));
                }
                self.validate(
                    &format!("{pointer}/content/{}/schema", escape(&essence)),
                    body,
                )
                .map_err(|e| format!("{what} {status}: {e}"))?;
            }
            (Some(_), None) => {
                return Err(format!(
                    "{what} {status}: no body, but the description gives it one"
                ));
            }
            (None, Some(body)) => {
                return Err(format!(
                    "{what} {status}: a body ({body}), but the description gives it none"
                ));
            }
            (None, None) => {}
        }
        let documented = response.get("headers").and_then(Value::as_object);
        for name in documented.into_iter().flatten().map(|(name, _)| name) {
            let (header_pointer, spec) =
                self.resolve(&format!("{pointer}/headers/{}", escape(name)));
            match header(headers, name) {
                None if spec["required"] == Value::Bool(true) => {
                    return Err(format!("{what} {status}: the {name} header is missing"));
                }
                None => {}
                Some(raw) => {
                    let value = raw
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or(Value::String(raw.clone()));
                    self.validate(&format!("{header_pointer}/schema"), &value)
                        .map_err(|e| format!("{what} {status}: header {name}: {e}"))?;
                }
            }
        }
        // A header that means something to clients must not appear where it is not documented.
        if header(headers, "retry-after").is_some()
            && !documented.is_some_and(|h| h.contains_key("Retry-After"))
        {
            return Err(format!(
                "{what} {status}: a Retry-After header the description does not give it"
            ));
        }
        Ok(())
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}
