use super::ParseError;

/// The language of the message text: a BCP 47 tag like `en` or `pt-BR`. A well-formed tag for a
/// language without a template falls back to English rather than failing the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale(String);

impl Locale {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let mut parts = raw.split('-');
        let language = parts.next().unwrap_or_default();
        let language_ok =
            (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_alphabetic());
        let rest_ok = parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if raw.len() <= 35 && language_ok && rest_ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new(
                "locale must be a language tag such as \"en\" or \"pt-BR\"",
            ))
        }
    }

    /// The primary language subtag, lowercased: what template selection keys on.
    pub fn language(&self) -> String {
        self.0
            .split('-')
            .next()
            .unwrap_or("en")
            .to_ascii_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Locale {
    fn default() -> Self {
        Self("en".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        assert_eq!(Locale::parse("pt-BR").unwrap().language(), "pt");
        assert_eq!(Locale::parse("DE").unwrap().language(), "de");
        for bad in ["", "e", "english", "en_US", "en-", "1n", "en-toolongsubtag"] {
            assert!(Locale::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
