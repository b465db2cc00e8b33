use super::ParseError;

/// An e-mail address in the shape SES accepts: `local@domain`, ASCII, a dotted domain.
///
/// Deliberately stricter than RFC 5322 (no quoted local parts, comments or IP literals): an OTP
/// must reach a real mailbox, and the exotic forms are where delivery and masking go wrong.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

const MAX_LEN: usize = 254;
const MAX_LOCAL: usize = 64;
/// Gmail ignores dots in the local part; both domains are one mailbox.
const GMAIL: [&str; 2] = ["gmail.com", "googlemail.com"];

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let value = raw.trim();
        let invalid = || ParseError::new("destination is not a valid e-mail address");
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        // An internationalised domain is kept in its ASCII (punycode) form, which is the same
        // mailbox, what SES takes, and one key for limits however the client spelled it.
        let domain = if domain.is_ascii() {
            domain.to_owned()
        } else {
            idna::domain_to_ascii(domain).map_err(|_| invalid())?
        };
        let value = format!("{local}@{domain}");
        if value.is_empty() || value.len() > MAX_LEN || !value.is_ascii() {
            return Err(invalid());
        }
        let local_ok = !local.is_empty()
            && local.len() <= MAX_LOCAL
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && !tld.bytes().all(|b| b.is_ascii_digit()));
        if !(local_ok && domain_ok) {
            return Err(invalid());
        }
        // Domains are case-insensitive; the local part is kept as given (some providers care).
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The mailbox behind the address, for limits, cooldowns and idempotency (delivery still
    /// goes to [`Self::as_str`]): lower case, without a `+tag`, and for Gmail without dots and
    /// with `googlemail.com` as `gmail.com`. `bob+1@` and `bob+2@example.com` reach one inbox,
    /// so they must share one hourly limit, or fifty aliases are fifty mails a minute.
    pub fn canonical(&self) -> String {
        let lower = self.0.to_ascii_lowercase();
        let (local, domain) = lower.rsplit_once('@').unwrap_or(("", &lower));
        let local = match local.split_once('+') {
            Some((base, _tag)) if !base.is_empty() => base,
            _ => local,
        };
        if GMAIL.contains(&domain) {
            format!("{}@gmail.com", local.replace('.', ""))
        } else {
            format!("{local}@{domain}")
        }
    }

    /// `j***@example.com`: enough for a user to recognise their own address, not enough to
    /// harvest it from a status page or a log line.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or(("", &self.0));
        let first = local.chars().next().unwrap_or('*');
        format!("{first}***@{domain}")
    }
}

impl std::fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EmailAddress({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_lowercases_the_domain() {
        let email = EmailAddress::parse(" Jane.Doe+otp@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Jane.Doe+otp@example.com");
    }

    #[test]
    fn rejects_what_ses_would_bounce() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "jane@",
            "jane@localhost",
            "jane@@example.com",
            "jane@exa mple.com",
            "ja ne@example.com",
            ".jane@example.com",
            "jane.@example.com",
            "ja..ne@example.com",
            "jane@-example.com",
            "jane@example.c",
            "jane@example.123",
            "jäne@example.com",
            "jane@example..com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(EmailAddress::parse(&long_local).is_err());
    }

    #[test]
    fn aliases_of_one_mailbox_share_a_canonical_form() {
        let canonical = |raw: &str| EmailAddress::parse(raw).unwrap().canonical();
        assert_eq!(canonical("bob+1@example.com"), "bob@example.com");
        assert_eq!(canonical("Bob+2@Example.com"), "bob@example.com");
        assert_eq!(canonical("b.o.b+x@googlemail.com"), "bob@gmail.com");
        assert_eq!(canonical("B.ob@gmail.com"), "bob@gmail.com");
        // Dots matter elsewhere; a bare `+` prefix is not a tag.
        assert_eq!(canonical("b.ob@example.com"), "b.ob@example.com");
        assert_eq!(canonical("+x@example.com"), "+x@example.com");
        // Delivery keeps the address as given.
        assert_eq!(
            EmailAddress::parse("bob+1@example.com").unwrap().as_str(),
            "bob+1@example.com"
        );
    }

    #[test]
    fn internationalised_domains_are_kept_in_ascii() {
        let email = EmailAddress::parse("jane@bücher.example").unwrap();
        assert_eq!(email.as_str(), "jane@xn--bcher-kva.example");
        assert_eq!(
            email.canonical(),
            EmailAddress::parse("jane@xn--bcher-kva.example")
                .unwrap()
                .canonical()
        );
    }

    #[test]
    fn masks_all_but_the_first_letter_and_the_domain() {
        let email = EmailAddress::parse("jane@example.com").unwrap();
        assert_eq!(email.masked(), "j***@example.com");
        assert!(!format!("{email:?}").contains("jane"));
    }
}
