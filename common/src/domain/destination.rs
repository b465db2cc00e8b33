use super::{Channel, EmailAddress, ParseError, PhoneNumber};

/// Where a code goes; the variant is the channel, so a phone number can never be sent an e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    Email(EmailAddress),
    Sms(PhoneNumber),
}

impl Destination {
    pub fn parse(channel: Channel, raw: &str) -> Result<Self, ParseError> {
        match channel {
            Channel::Email => EmailAddress::parse(raw).map(Destination::Email),
            Channel::Sms => PhoneNumber::parse(raw).map(Destination::Sms),
        }
    }

    /// A destination the API accepted and sealed (see [`crate::payload::open`]): an e-mail
    /// address is parsed again (cheap, and the same as then); a phone number keeps its E.164
    /// form without consulting libphonenumber's metadata ([`PhoneNumber::from_sealed`]).
    pub(crate) fn from_sealed(channel: Channel, raw: String) -> Result<Self, ParseError> {
        match channel {
            Channel::Email => EmailAddress::parse(&raw).map(Destination::Email),
            Channel::Sms if raw.starts_with('+') && raw.len() > 1 => {
                Ok(Destination::Sms(PhoneNumber::from_sealed(raw)))
            }
            Channel::Sms => Err(ParseError::new(
                "a sealed phone number is not in E.164 form",
            )),
        }
    }

    pub fn channel(&self) -> Channel {
        match self {
            Destination::Email(_) => Channel::Email,
            Destination::Sms(_) => Channel::Sms,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Destination::Email(email) => email.as_str(),
            Destination::Sms(phone) => phone.as_str(),
        }
    }

    /// The form limits, cooldowns and idempotency key on: aliases of one mailbox fold into
    /// one ([`EmailAddress::canonical`]); a phone number's E.164 is already canonical.
    pub fn canonical(&self) -> String {
        match self {
            Destination::Email(email) => email.canonical(),
            Destination::Sms(phone) => phone.as_str().to_owned(),
        }
    }

    pub fn masked(&self) -> String {
        match self {
            Destination::Email(email) => email.masked(),
            Destination::Sms(phone) => phone.masked(),
        }
    }
}
