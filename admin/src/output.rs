//! What a command hands back, and how it reaches the operator: text on stdout and the error on
//! stderr, or with `--json` one JSON document on stdout whatever happened.

use crate::error::Error;
use serde::Serialize;
use serde_json::{Value, json};
use std::io::Write;

/// A finished command's summary, as JSON fields and as text: each command's summary type is
/// `Serialize` (the JSON) and `Display` (the text), so the two cannot drift apart.
#[derive(Debug)]
pub struct Done {
    pub json: Value,
    pub text: String,
}

impl Done {
    pub fn of<T: Serialize + std::fmt::Display>(summary: &T) -> Self {
        Self {
            // The summaries are plain structs of strings, numbers, lists and string-keyed
            // maps, which serde_json cannot fail on.
            #[allow(clippy::expect_used)]
            json: serde_json::to_value(summary).expect("a summary always serialises"),
            text: summary.to_string(),
        }
    }
}

/// `command`, `ok`, `error` (`kind` and `message`, or null), then the summary's own fields.
pub fn document(command: &str, summary: Option<&Value>, error: Option<&Error>) -> Value {
    let mut doc = json!({
        "command": command,
        "ok": error.is_none(),
        "error": error.map(|e| json!({ "kind": e.kind(), "message": e.to_string() })),
    });
    if let (Some(Value::Object(fields)), Value::Object(target)) = (summary, &mut doc) {
        for (key, value) in fields {
            target.insert(key.clone(), value.clone());
        }
    }
    doc
}

/// Prints the outcome and returns the exit code.
pub fn emit(command: &str, outcome: Result<Done, Error>, json: bool) -> u8 {
    let mut out = std::io::stdout().lock();
    let (summary, error) = match outcome {
        Ok(done) => {
            if !json {
                let _ = writeln!(out, "{}", done.text.trim_end());
            }
            (Some(done.json), None)
        }
        Err(error) => (None, Some(error)),
    };
    if json {
        let _ = writeln!(
            out,
            "{}",
            document(command, summary.as_ref(), error.as_ref())
        );
    }
    let _ = out.flush();
    match error {
        Some(error) => {
            if !json {
                eprintln!("error: {error}");
            }
            error.exit_code()
        }
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_document_says_whether_it_worked_and_why_not() {
        let ok = document("tenant list", Some(&json!({ "tenants": [] })), None);
        assert_eq!(ok["ok"], true);
        assert_eq!(ok["error"], Value::Null);
        assert_eq!(ok["tenants"], json!([]));
        let failed = document("tenant show", None, Some(&Error::NoSecret));
        assert_eq!(failed["ok"], false);
        assert_eq!(failed["error"]["kind"], "no_secret");
    }
}
