//! How the operators' CLIs (`dlq-replayer`, `otp-admin`) report a command: its text on stdout
//! and the error on stderr, or with `--json` one JSON document on stdout whatever happened. One
//! place, so scripts reading either tool see the same document shape and exit-code rules.

use serde::Serialize;
use serde_json::{Value, json};
use std::fmt::Display;
use std::io::Write;

/// What a CLI's error must say about itself for the report.
pub trait CliError: Display {
    /// A stable name for scripts reading `--json`.
    fn kind(&self) -> &'static str;
    /// The process exit code.
    fn exit_code(&self) -> u8;
}

/// A finished command: its summary (as JSON fields and as text) and, if not everything asked
/// was done, why. A command that could not start at all returns its error instead.
#[derive(Debug)]
pub struct Done<E> {
    pub json: Value,
    pub text: String,
    pub error: Option<E>,
}

impl<E> Done<E> {
    /// A command's summary: one struct, its fields for `--json` (serde) and its text (`Display`),
    /// so the two cannot drift apart.
    pub fn of<S: Serialize + Display>(summary: &S, error: Option<E>) -> Self {
        Self {
            // The summaries are plain structs of strings, numbers, lists and string-keyed maps,
            // which serde_json cannot fail on.
            #[allow(clippy::expect_used)]
            json: serde_json::to_value(summary).expect("a summary always serialises"),
            text: summary.to_string(),
            error,
        }
    }
}

/// The JSON document for `--json`: `command`, `ok`, `error` (`kind` and `message`, or null),
/// then the command's own summary fields.
pub fn document<E: CliError>(command: &str, summary: Option<&Value>, error: Option<&E>) -> Value {
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
pub fn emit<E: CliError>(command: &str, outcome: Result<Done<E>, E>, json: bool) -> u8 {
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
