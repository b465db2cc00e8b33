//! Which destinations a tenant may send to at all, before anything is counted or stored.
//!
//! SMS costs money per message, and more for some numbers than others: premium-rate, shared-cost
//! and satellite numbers earn their owners a share of what the sender pays, which is what SMS
//! pumping exploits. So a number is texted only if it is a mobile (or, where the numbering plan
//! cannot tell, fixed-or-mobile: NANP) in a country its tenant lists. A tenant lists no country
//! until its operator adds some (`otp-admin tenant update --sms-countries GB,US`): the safe
//! default is to text nobody.
//!
//! A refusal touches no counter: it costs the caller nothing it could use to probe cheaply, and
//! costs the service no write.

use crate::domain::{PhoneKind, PhoneNumber};
use crate::tenant::CountryCode;
use serde::Serialize;

/// Why a destination is refused (`reason` in the `destination_not_allowed` answer). Other
/// guards append their own reasons here, so the answer stays one error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotAllowedReason {
    /// The number's country is not one its tenant lists.
    Country,
    /// Not a mobile number: premium-rate, shared-cost, toll-free, UAN, pager, voicemail,
    /// a fixed line, a satellite or international network, or a kind the metadata cannot tell.
    NumberType,
}

impl NotAllowedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            NotAllowedReason::Country => "country",
            NotAllowedReason::NumberType => "number_type",
        }
    }
}

/// Whether a number of this kind is texted: mobiles, and NANP's fixed-or-mobile (a US number
/// cannot be told apart by its digits, and most are mobiles).
pub fn textable_kind(kind: PhoneKind) -> bool {
    matches!(kind, PhoneKind::Mobile | PhoneKind::FixedLineOrMobile)
}

/// Whether listing `country` can ever let a number through: libphonenumber knows a numbering
/// plan for it. The admin CLI refuses others (`UK` for `GB` would silently text nobody).
pub fn listable_country(country: &CountryCode) -> bool {
    PhoneNumber::country_has_numbers(country.as_str())
}

/// Why `phone` may not be texted by a tenant that lists `countries`; `None` if it may. The kind
/// is judged first: it does not depend on the tenant, so the answer for a premium number is the
/// same whatever the tenant lists.
pub fn sms_refusal(phone: &PhoneNumber, countries: &[CountryCode]) -> Option<NotAllowedReason> {
    let Some(country) = phone.country() else {
        // Satellite and international networks (+881, +882, +883, +870 …) belong to no country.
        return Some(NotAllowedReason::NumberType);
    };
    if !textable_kind(phone.kind()) {
        return Some(NotAllowedReason::NumberType);
    }
    if !countries.iter().any(|c| c.as_str() == country) {
        return Some(NotAllowedReason::Country);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn countries(list: &[&str]) -> Vec<CountryCode> {
        list.iter()
            .map(|c| CountryCode::parse(c).unwrap())
            .collect()
    }

    fn refusal(number: &str, list: &[&str]) -> Option<NotAllowedReason> {
        sms_refusal(&PhoneNumber::parse(number).unwrap(), &countries(list))
    }

    #[test]
    fn mobiles_in_listed_countries_are_texted() {
        assert_eq!(refusal("+447400123456", &["GB"]), None);
        assert_eq!(refusal("+12015550123", &["US", "GB"]), None);
        assert_eq!(refusal("+4915123456789", &["DE"]), None);
    }

    #[test]
    fn a_tenant_that_lists_no_country_texts_nobody() {
        assert_eq!(
            refusal("+447400123456", &[]),
            Some(NotAllowedReason::Country)
        );
        assert_eq!(
            refusal("+4915123456789", &["GB", "US"]),
            Some(NotAllowedReason::Country)
        );
    }

    #[test]
    fn numbers_that_are_not_mobiles_are_refused_by_type_in_any_country() {
        for number in [
            "+449091234567", // GB premium rate
            "+448001234567", // GB toll free
            "+443001234567", // GB UAN
            "+442012345678", // GB fixed line
            "+19002345678",  // US premium rate
            "+18002345678",  // US toll free
            "+8823421234",   // international networks
        ] {
            assert_eq!(
                refusal(number, &["GB", "US"]),
                Some(NotAllowedReason::NumberType),
                "{number}"
            );
        }
    }
}
