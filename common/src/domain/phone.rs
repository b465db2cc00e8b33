use super::ParseError;

/// A phone number in E.164: `+`, a country code that does not start with 0, at most 15 digits.
///
/// Only the canonical form is accepted (no spaces, dashes or national prefixes): SNS needs E.164,
/// and guessing how to normalise a national number is how codes go to the wrong person.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let value = raw.trim();
        let digits = value.strip_prefix('+').ok_or_else(|| {
            ParseError::new("destination must be a phone number in E.164 form, e.g. +14155550123")
        })?;
        let valid = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !valid {
            return Err(ParseError::new(
                "destination must be a phone number in E.164 form, e.g. +14155550123",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+4477******21`: the country and the operator prefix, then the last two digits.
    pub fn masked(&self) -> String {
        let digits = &self.0[1..];
        let keep_front = 4.min(digits.len().saturating_sub(2));
        let hidden = digits.len() - keep_front - 2;
        format!(
            "+{}{}{}",
            &digits[..keep_front],
            "*".repeat(hidden),
            &digits[digits.len() - 2..]
        )
    }
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_e164() {
        assert_eq!(
            PhoneNumber::parse("+447700900121").unwrap().as_str(),
            "+447700900121"
        );
        assert!(PhoneNumber::parse("+14155550123").is_ok());
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "447700900121",
            "+",
            "+0447700900121",
            "+44 7700 900121",
            "+44-7700-900121",
            "+1234567",
            "+1234567890123456",
            "+44770090012a",
            "++447700900121",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn masks_the_middle() {
        let phone = PhoneNumber::parse("+447700900121").unwrap();
        assert_eq!(phone.masked(), "+4477******21");
        assert!(!format!("{phone:?}").contains("900121"));
    }
}
