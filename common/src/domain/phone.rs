use super::ParseError;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, Type};

/// A phone number valid for its country by libphonenumber's metadata, in E.164, with the
/// country and the kind of line the metadata says it is.
///
/// Only the canonical form is accepted (`+`, digits; no spaces, dashes or national prefixes):
/// SNS needs E.164, and guessing how to normalise a national number is how codes go to the wrong
/// person. Beyond the shape, the number must be one its country's numbering plan has: `+12345678`
/// and `+1555…` with 10 more digits are refused here, before any rule or counter sees them.
///
/// The metadata (all countries' patterns, in the `phonenumber` crate) is decoded on first use;
/// [`PhoneNumber::load_metadata`] lets a binary pay for that at start-up instead (see
/// docs/benchmarks.md, cold start).
#[derive(Clone)]
pub struct PhoneNumber {
    e164: String,
    /// ISO 3166-1 alpha-2, upper case; `None` for the non-geographic codes (`+800`, `+808`,
    /// `+870`, `+878`, `+881`, `+882`, `+883`, `+888`, `+979`: satellite and international
    /// networks, global freephone and premium numbers).
    country: Option<String>,
    kind: PhoneKind,
}

/// What kind of line a number is, by its country's numbering plan. Only the first two are
/// texted by default (see [`crate::lifecycle::destination`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneKind {
    Mobile,
    /// NANP (`+1`) and a few other plans cannot tell fixed lines from mobiles by the number.
    FixedLineOrMobile,
    FixedLine,
    TollFree,
    PremiumRate,
    SharedCost,
    PersonalNumber,
    Voip,
    Pager,
    /// Universal access ("company") numbers.
    Uan,
    Voicemail,
    /// Anything else the metadata knows (short codes, emergency, carrier-specific) or does not.
    Unknown,
}

impl PhoneKind {
    /// The name in logs and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneKind::Mobile => "mobile",
            PhoneKind::FixedLineOrMobile => "fixed_line_or_mobile",
            PhoneKind::FixedLine => "fixed_line",
            PhoneKind::TollFree => "toll_free",
            PhoneKind::PremiumRate => "premium_rate",
            PhoneKind::SharedCost => "shared_cost",
            PhoneKind::PersonalNumber => "personal_number",
            PhoneKind::Voip => "voip",
            PhoneKind::Pager => "pager",
            PhoneKind::Uan => "uan",
            PhoneKind::Voicemail => "voicemail",
            PhoneKind::Unknown => "unknown",
        }
    }

    fn of(kind: Type) -> Self {
        match kind {
            Type::Mobile => PhoneKind::Mobile,
            Type::FixedLineOrMobile => PhoneKind::FixedLineOrMobile,
            Type::FixedLine => PhoneKind::FixedLine,
            Type::TollFree => PhoneKind::TollFree,
            Type::PremiumRate => PhoneKind::PremiumRate,
            Type::SharedCost => PhoneKind::SharedCost,
            Type::PersonalNumber => PhoneKind::PersonalNumber,
            Type::Voip => PhoneKind::Voip,
            Type::Pager => PhoneKind::Pager,
            Type::Uan => PhoneKind::Uan,
            Type::Voicemail => PhoneKind::Voicemail,
            _ => PhoneKind::Unknown,
        }
    }
}

const SHAPE: &str = "destination must be a phone number in E.164 form, e.g. +14155550123";
const INVALID: &str = "destination is not a valid phone number for its country";

/// The metadata's region id for the non-geographic calling codes.
const NON_GEOGRAPHIC: &str = "001";

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let value = raw.trim();
        let digits = value
            .strip_prefix('+')
            .ok_or_else(|| ParseError::new(SHAPE))?;
        let shaped = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !shaped {
            return Err(ParseError::new(SHAPE));
        }
        let number = phonenumber::parse(None, value).map_err(|_| ParseError::new(INVALID))?;
        if !number.is_valid_with(&DATABASE) {
            return Err(ParseError::new(INVALID));
        }
        let country = number
            .metadata(&DATABASE)
            .map(phonenumber::Metadata::id)
            .filter(|id| *id != NON_GEOGRAPHIC && id.len() == 2)
            .map(str::to_owned);
        Ok(Self {
            e164: number.format_with(&DATABASE).mode(Mode::E164).to_string(),
            country,
            kind: PhoneKind::of(number.number_type(&DATABASE)),
        })
    }

    /// A number the API accepted and sealed into a record, opened by the worker to deliver: its
    /// E.164 form is trusted as it is (the seal is authenticated), and the metadata is not
    /// consulted again. So a worker never pays for loading it, and a number accepted before a
    /// metadata update is still delivered. Its country and kind are not known (`None`,
    /// [`PhoneKind::Unknown`]): the rules that read them run in the API, before anything is
    /// stored, and would refuse such a number, never let it through.
    pub(crate) fn from_sealed(e164: String) -> Self {
        Self {
            e164,
            country: None,
            kind: PhoneKind::Unknown,
        }
    }

    /// Whether libphonenumber's metadata has a numbering plan for `region` (ISO 3166-1 alpha-2,
    /// upper case): a country a number can be in. `UK` (not ISO: `GB` is) and `ZZ` are not.
    pub fn country_has_numbers(region: &str) -> bool {
        region != NON_GEOGRAPHIC && DATABASE.by_id(region).is_some()
    }

    /// Decodes libphonenumber's metadata now rather than on the first phone number (a few
    /// milliseconds, see docs/benchmarks.md); later calls cost nothing.
    pub fn load_metadata() {
        let _loaded: &phonenumber::metadata::Database = &DATABASE;
    }

    /// The E.164 form: what SNS is given and what limits key on.
    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// ISO 3166-1 alpha-2 (`GB`, `US`), or `None` for a non-geographic number (`+882…`).
    pub fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }

    pub fn kind(&self) -> PhoneKind {
        self.kind
    }

    /// `+4474******56`: the country and the operator prefix, then the last two digits.
    pub fn masked(&self) -> String {
        let digits = &self.e164[1..];
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

/// One number is one E.164 string; its country and kind follow from it (or, for a sealed
/// number, are not looked up: still the same number).
impl PartialEq for PhoneNumber {
    fn eq(&self, other: &Self) -> bool {
        self.e164 == other.e164
    }
}

impl Eq for PhoneNumber {}

impl std::hash::Hash for PhoneNumber {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.e164.hash(state);
    }
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PhoneNumber({}, {:?}, {})",
            self.masked(),
            self.country,
            self.kind.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_e164_and_knows_country_and_kind() {
        let uk = PhoneNumber::parse("+447400123456").unwrap();
        assert_eq!(uk.as_str(), "+447400123456");
        assert_eq!(uk.country(), Some("GB"));
        assert_eq!(uk.kind(), PhoneKind::Mobile);
        let us = PhoneNumber::parse("+12015550123").unwrap();
        assert_eq!(us.country(), Some("US"));
        assert_eq!(us.kind(), PhoneKind::FixedLineOrMobile);
        let ca = PhoneNumber::parse("+16135550123").unwrap();
        assert_eq!(ca.country(), Some("CA"));
        let de = PhoneNumber::parse("+4915123456789").unwrap();
        assert_eq!((de.country(), de.kind()), (Some("DE"), PhoneKind::Mobile));
    }

    #[test]
    fn knows_the_kinds_that_cost_money() {
        let kind = |n: &str| PhoneNumber::parse(n).unwrap().kind();
        assert_eq!(kind("+449091234567"), PhoneKind::PremiumRate);
        assert_eq!(kind("+448001234567"), PhoneKind::TollFree);
        assert_eq!(kind("+443001234567"), PhoneKind::Uan);
        assert_eq!(kind("+19002345678"), PhoneKind::PremiumRate);
        assert_eq!(kind("+18002345678"), PhoneKind::TollFree);
        assert_eq!(kind("+442012345678"), PhoneKind::FixedLine);
        let satellite = PhoneNumber::parse("+8823421234").unwrap();
        assert_eq!(satellite.country(), None);
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
            "+12345678",
            "+15551234567890",
            "+1234567890123456",
            "+44770090012a",
            "++447700900121",
            "+4477009001",
            "+447700900121", // Ofcom's range for drama: never allocated, so not valid
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            PhoneNumber::parse("+12345678").unwrap_err().to_string(),
            INVALID
        );
    }

    #[test]
    fn knows_which_countries_have_numbers() {
        for region in ["GB", "US", "CA", "DE", "JP", "IE"] {
            assert!(PhoneNumber::country_has_numbers(region), "{region}");
        }
        for region in ["UK", "ZZ", "EU", "001", "gb"] {
            assert!(!PhoneNumber::country_has_numbers(region), "{region}");
        }
    }

    #[test]
    fn masks_the_middle() {
        let phone = PhoneNumber::parse("+447400123456").unwrap();
        assert_eq!(phone.masked(), "+4474******56");
        assert!(!format!("{phone:?}").contains("123456"));
    }
}
