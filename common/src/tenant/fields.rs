//! The small values a tenant's policy is made of, each valid once it exists.

use crate::domain::{Channel, ParseError};
use serde::{Deserialize, Serialize};

/// A tenant's identifier, chosen by the operator: 2 to 63 lowercase letters, digits and
/// hyphens, starting with a letter or digit (`acme`, `shop-eu`). It appears in storage keys,
/// logs and the admin CLI, so it is kept to characters that need no quoting anywhere.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let ok = (2..=63).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new(
                "a tenant id is 2 to 63 lowercase letters, digits and hyphens, not starting with a hyphen",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TenantId> for String {
    fn from(value: TenantId) -> Self {
        value.0
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Text shown to people: a tenant's name, its brand in messages, a sender's display name, a
/// key's note. 1 to 100 characters, trimmed, with no control characters (a newline in a brand
/// would end up in an e-mail header or split an SMS) and none of `<>"` (which would break a
/// `"Name" <address>` sender).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Label(String);

impl Label {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let text = raw.trim();
        let chars = text.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS {
            return Err(ParseError::new(format!(
                "must be 1 to {} characters",
                Self::MAX_CHARS
            )));
        }
        if text
            .chars()
            .any(|c| c.is_control() || matches!(c, '<' | '>' | '"'))
        {
            return Err(ParseError::new(
                "must not contain control characters, <, > or \"",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Label {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Label> for String {
    fn from(value: Label) -> Self {
        value.0
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A browser origin as the `Origin` header carries it: `https://app.example.com` or
/// `http://localhost:3000`. Scheme and host are lowercased and a default port dropped, so it
/// compares equal to what a browser sends; a path, query, user info or wildcard is refused
/// (an origin allow-list that matches patterns is how CORS checks go wrong).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Origin(String);

impl Origin {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = || {
            ParseError::new(
                "an origin is scheme://host[:port], e.g. https://app.example.com, with no path, and no wildcard",
            )
        };
        let lower = raw.trim().to_ascii_lowercase();
        let (scheme, rest) = lower.split_once("://").ok_or_else(bad)?;
        let default_port = match scheme {
            "https" => "443",
            "http" => "80",
            _ => return Err(bad()),
        };
        let (host, port) = match rest.rsplit_once(':') {
            // An IPv6 literal's colons are inside its brackets.
            Some((host, port)) if !port.contains(']') => (host, Some(port)),
            _ => (rest, None),
        };
        let host_ok = if let Some(inner) = host.strip_prefix('[') {
            inner
                .strip_suffix(']')
                .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
        } else {
            !host.is_empty()
                && host.len() <= 253
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        };
        if !host_ok {
            return Err(bad());
        }
        match port {
            None => Ok(Self(format!("{scheme}://{host}"))),
            Some(port) if port == default_port => Ok(Self(format!("{scheme}://{host}"))),
            Some(port) => match port.parse::<u16>() {
                Ok(n) if n > 0 && !port.starts_with('0') => {
                    Ok(Self(format!("{scheme}://{host}:{port}")))
                }
                _ => Err(bad()),
            },
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Origin {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Origin> for String {
    fn from(value: Origin) -> Self {
        value.0
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 3166-1 alpha-2 country code (`GB`), for the SMS countries a tenant may send to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let upper = raw.trim().to_ascii_uppercase();
        if upper.len() == 2 && upper.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(upper))
        } else {
            Err(ParseError::new(
                "a country is a two-letter ISO 3166-1 code, e.g. GB",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CountryCode {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CountryCode> for String {
    fn from(value: CountryCode) -> Self {
        value.0
    }
}

/// The channels a tenant may send on: at least one, each once, e-mail before SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Channel>", into = "Vec<Channel>")]
pub struct Channels(Vec<Channel>);

impl Channels {
    pub fn new(channels: impl IntoIterator<Item = Channel>) -> Result<Self, ParseError> {
        let mut list: Vec<Channel> = channels.into_iter().collect();
        list.sort_by_key(|c| c.as_str());
        list.dedup();
        if list.is_empty() {
            return Err(ParseError::new(
                "a tenant needs at least one channel (email, sms)",
            ));
        }
        Ok(Self(list))
    }

    pub fn allows(&self, channel: Channel) -> bool {
        self.0.contains(&channel)
    }

    pub fn iter(&self) -> impl Iterator<Item = Channel> + '_ {
        self.0.iter().copied()
    }
}

impl TryFrom<Vec<Channel>> for Channels {
    type Error = ParseError;
    fn try_from(value: Vec<Channel>) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Channels> for Vec<Channel> {
    fn from(value: Channels) -> Self {
        value.0
    }
}

impl std::fmt::Display for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|c| c.as_str()).collect();
        f.write_str(&names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_slugs() {
        for good in ["acme", "shop-eu", "a1", "0day"] {
            assert!(TenantId::parse(good).is_ok(), "{good}");
        }
        let long = "a".repeat(64);
        for bad in ["a", "-acme", "Acme", "ac me", "acme#1", "", long.as_str()] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels_refuse_header_breaking_text() {
        assert_eq!(Label::parse("  Acme Shop ").unwrap().as_str(), "Acme Shop");
        for bad in ["", "   ", "a\nb", "Evil\" <x@y>", "tab\there"] {
            assert!(Label::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Label::parse(&"é".repeat(100)).is_ok());
        assert!(Label::parse(&"é".repeat(101)).is_err());
    }

    #[test]
    fn origins_are_normalised_as_browsers_send_them() {
        let cases = [
            ("https://App.Example.com", "https://app.example.com"),
            ("https://app.example.com:443", "https://app.example.com"),
            ("http://localhost:3000", "http://localhost:3000"),
            ("http://127.0.0.1:80", "http://127.0.0.1"),
            ("http://[::1]:8080", "http://[::1]:8080"),
        ];
        for (raw, normal) in cases {
            assert_eq!(Origin::parse(raw).unwrap().as_str(), normal, "{raw}");
        }
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://*.example.com",
            "ftp://example.com",
            "https://user@example.com",
            "https://example.com:0",
            "https://example.com:99999",
            "https://",
            "https://[nope]",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn channels_are_a_non_empty_set() {
        let both = Channels::new([Channel::Sms, Channel::Email, Channel::Sms]).unwrap();
        assert_eq!(both.to_string(), "email, sms");
        assert!(both.allows(Channel::Sms));
        assert!(Channels::new([]).is_err());
        assert!(
            !Channels::new([Channel::Email])
                .unwrap()
                .allows(Channel::Sms)
        );
    }

    #[test]
    fn countries_are_two_letters() {
        assert_eq!(CountryCode::parse("gb").unwrap().as_str(), "GB");
        assert!(CountryCode::parse("GBR").is_err());
        assert!(CountryCode::parse("1A").is_err());
    }
}
