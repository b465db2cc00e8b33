//! What a command hands back, and how it reaches the operator: text on stdout and the error on
//! stderr, or with `--json` one JSON object on stdout whatever happened.

use crate::error::Error;
use serde_json::{Value, json};
use std::io::Write;

/// How a summary starts when nothing was changed.
pub const DRY_RUN: &str = "dry run (nothing changed; add --execute to do it)";

/// A queue's name, from its URL: what the text summaries show.
pub fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// A finished command: its summary (as JSON fields and as text) and, if not everything asked
/// was done, why. A command that could not start at all returns its [`Error`] instead.
#[derive(Debug)]
pub struct Done {
    pub json: Value,
    pub text: String,
    pub error: Option<Error>,
}

impl Done {
    /// A command's summary: one struct, its fields for `--json` (serde) and its text (`Display`).
    pub fn of<S: serde::Serialize + std::fmt::Display>(summary: &S, error: Option<Error>) -> Self {
        Self {
            json: serde_json::to_value(summary).unwrap_or(Value::Null),
            text: summary.to_string(),
            error,
        }
    }
}

/// The JSON document for `--json`: `command`, `ok`, `error` (`kind` and `message`, or null),
/// then the command's own summary fields.
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
    let (summary, text, error) = match outcome {
        Ok(done) => (Some(done.json), done.text, done.error),
        Err(error) => (None, String::new(), Some(error)),
    };
    let mut out = std::io::stdout().lock();
    if json {
        let doc = document(command, summary.as_ref(), error.as_ref());
        let _ = writeln!(out, "{doc}");
    } else if !text.is_empty() {
        let _ = write!(out, "{text}");
        if !text.ends_with('\n') {
            let _ = writeln!(out);
        }
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
        let summary = json!({ "replayed": 3 });
        let ok = document("replay", Some(&summary), None);
        assert_eq!(ok["ok"], true);
        assert_eq!(ok["error"], Value::Null);
        assert_eq!(ok["replayed"], 3);
        assert_eq!(ok["command"], "replay");
        let failed = document("replay", None, Some(&crate::context::no_job_queue()));
        assert_eq!(failed["ok"], false);
        assert_eq!(failed["error"]["kind"], "no_job_queue");
        assert!(
            failed["error"]["message"]
                .as_str()
                .unwrap()
                .contains("OTP_QUEUE_URL")
        );
    }
}
