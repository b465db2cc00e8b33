//! What a command hands back, and how it reaches the operator: text on stdout and the error on
//! stderr, or with `--json` one JSON object on stdout whatever happened.

use crate::error::Error;
pub use common::cli_output::emit;

/// How a summary starts when nothing was changed.
pub const DRY_RUN: &str = "dry run (nothing changed; add --execute to do it)";

/// A queue's name, from its URL: what the text summaries show.
pub fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// A finished command's summary and, if not everything asked was done, why.
pub type Done = common::cli_output::Done<Error>;

impl common::cli_output::CliError for Error {
    fn kind(&self) -> &'static str {
        Error::kind(self)
    }

    fn exit_code(&self) -> u8 {
        Error::exit_code(self)
    }
}

#[cfg(test)]
mod tests {
    use common::cli_output::document;
    use serde_json::{Value, json};

    #[test]
    fn the_json_document_says_whether_it_worked_and_why_not() {
        let summary = json!({ "replayed": 3 });
        let ok = document::<crate::error::Error>("replay", Some(&summary), None);
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
