//! What a command hands back, and how it reaches the operator: text on stdout and the error on
//! stderr, or with `--json` one JSON document on stdout whatever happened.

use crate::error::Error;
pub use common::cli_output::emit;

/// A finished command's summary (admin commands either finish or fail: no partial error).
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
    use super::Error;
    use common::cli_output::document;
    use serde_json::{Value, json};

    #[test]
    fn the_json_document_says_whether_it_worked_and_why_not() {
        let ok = document::<Error>("tenant list", Some(&json!({ "tenants": [] })), None);
        assert_eq!(ok["ok"], true);
        assert_eq!(ok["error"], Value::Null);
        assert_eq!(ok["tenants"], json!([]));
        let failed = document("tenant show", None, Some(&Error::NoSecret));
        assert_eq!(failed["ok"], false);
        assert_eq!(failed["error"]["kind"], "no_secret");
    }
}
