//! What the record keeps sealed: the code and the full destination. Only the service key opens
//! it, and only the worker (to deliver) needs to.

use crate::crypto::{CryptoError, Keys};
use crate::domain::{Channel, Destination, OtpCode, OtpId};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Plain {
    code: String,
    to: String,
}

pub fn seal(keys: &Keys, id: OtpId, code: &OtpCode, to: &Destination) -> String {
    let plain = Plain {
        code: code.expose().to_owned(),
        to: to.as_str().to_owned(),
    };
    // Was `unwrap_or_default()`, which would have sealed an empty plaintext: a record no worker
    // can deliver. It cannot happen: serde_json fails only on I/O, non-string map keys or a
    // failing `Serialize` impl, and two `String`s have none of them.
    #[allow(clippy::expect_used)]
    let plain = serde_json::to_vec(&plain).expect("two strings always serialise to JSON");
    keys.seal(id, &plain)
}

pub fn open(
    keys: &Keys,
    id: OtpId,
    channel: Channel,
    sealed: &str,
) -> Result<(OtpCode, Destination), CryptoError> {
    let bytes = keys.open(id, sealed)?;
    let plain: Plain = serde_json::from_slice(&bytes).map_err(|_| CryptoError::Unseal)?;
    let to = Destination::from_sealed(channel, plain.to).map_err(|_| CryptoError::Unseal)?;
    Ok((OtpCode::from_sealed(plain.code), to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ServiceSecret;

    #[test]
    fn round_trip_and_nothing_in_clear() {
        let keys = Keys::derive(&ServiceSecret::generate());
        let id = OtpId::new_random();
        let code = OtpCode::generate(Default::default());
        let to = Destination::parse(Channel::Email, "jane@example.com").unwrap();
        let sealed = seal(&keys, id, &code, &to);
        assert!(!sealed.contains(code.expose()) && !sealed.contains("jane"));
        let (opened, dest) = open(&keys, id, Channel::Email, &sealed).unwrap();
        assert_eq!(opened, code);
        assert_eq!(dest, to);
    }

    #[test]
    fn a_sealed_number_opens_as_it_was_sealed() {
        let keys = Keys::derive(&ServiceSecret::generate());
        let id = OtpId::new_random();
        let code = OtpCode::generate(Default::default());
        let to = Destination::parse(Channel::Sms, "+447400123456").unwrap();
        let sealed = seal(&keys, id, &code, &to);
        let (_, opened) = open(&keys, id, Channel::Sms, &sealed).unwrap();
        assert_eq!(opened, to);
        assert_eq!(opened.as_str(), "+447400123456");
        // An e-mail sealed record opened as SMS (or the reverse) is refused, not delivered.
        let mail = Destination::parse(Channel::Email, "jane@example.com").unwrap();
        let sealed = seal(&keys, id, &code, &mail);
        assert!(open(&keys, id, Channel::Sms, &sealed).is_err());
    }
}
