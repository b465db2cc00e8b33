//! Every keyed operation on secrets: the hash that lets a code be checked without being stored,
//! and the seal that lets the worker (and a resend) recover it without anyone else being able to.
//!
//! Two independent keys are derived from the one service secret, so a bug that leaks one use
//! (say, a logged hash) does not weaken the other.

use crate::domain::{Destination, IdempotencyKey, OtpCode, OtpId};
use crate::secret::ServiceSecret;
use aws_lc_rs::{aead, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use std::net::IpAddr;

/// A `u64` from the operating system's CSPRNG (see [`crate::entropy`]).
pub fn random_u64() -> u64 {
    crate::entropy::u64()
}

/// Lower-case hex of `bytes`. By hand: the `hex` crate's `encode` goes through a `char` iterator and cost
/// more than the HMAC it encodes (measured with `perf` on the send path).
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("sealed value is malformed or was sealed with another secret")]
    Unseal,
}

/// The keys derived from the service secret.
pub struct Keys {
    tag: hmac::Key,
    seal: aead::LessSafeKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

impl Keys {
    pub fn derive(secret: &ServiceSecret) -> Self {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret.expose());
        let tag_key = hmac::sign(&root, b"otp-relay/v1/tag");
        let seal_key = hmac::sign(&root, b"otp-relay/v1/seal");
        #[allow(clippy::expect_used)] // 32 bytes is always a valid AES-256 key.
        let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, seal_key.as_ref())
            .expect("an HMAC-SHA256 output is a valid AES-256 key");
        Self {
            tag: hmac::Key::new(hmac::HMAC_SHA256, tag_key.as_ref()),
            seal: aead::LessSafeKey::new(unbound),
        }
    }

    /// A keyed, domain-separated digest of `parts`, hex-encoded. Each part is length-prefixed so
    /// that no two different inputs share an encoding.
    fn tag(&self, domain: &str, parts: &[&[u8]]) -> String {
        let mut ctx = hmac::Context::with_key(&self.tag);
        for part in std::iter::once(domain.as_bytes()).chain(parts.iter().copied()) {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        to_hex(ctx.sign().as_ref())
    }

    /// The attribute name under which a pending code is stored: `live_<hmac(id, code)>`.
    /// Verifying removes it, so a code can be matched once and only by whoever knows it.
    pub fn code_slot(&self, id: OtpId, code: &OtpCode) -> String {
        format!(
            "live_{}",
            self.tag(
                "code",
                &[id.to_string().as_bytes(), code.expose().as_bytes()]
            )
        )
    }

    /// The rate-limit identity of a destination, within one tenant (so one tenant's sends never
    /// spend another's allowance). Lowercased so case variants of one mailbox share a limit.
    pub fn destination_key(&self, tenant: &str, destination: &Destination) -> String {
        // Aliases of one mailbox are one destination (`Destination::canonical`).
        let normalised = destination.canonical();
        self.tag(
            "destination",
            &[
                tenant.as_bytes(),
                destination.channel().as_str().as_bytes(),
                normalised.as_bytes(),
            ],
        )
    }

    /// The rate-limit identity of an end user's address, within one tenant.
    pub fn ip_key(&self, tenant: &str, ip: IpAddr) -> String {
        // An IPv6 client controls its whole /64, so limit on the prefix, not the address.
        let canonical = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        };
        self.tag("ip", &[tenant.as_bytes(), canonical.as_bytes()])
    }

    /// An `Idempotency-Key` within one tenant: another tenant using the same key neither sees
    /// nor squats this one.
    pub fn idempotency_key(&self, tenant: &str, key: &IdempotencyKey) -> String {
        self.tag("idempotency", &[tenant.as_bytes(), key.as_str().as_bytes()])
    }

    /// What makes two send requests "the same body" for idempotency.
    pub fn request_fingerprint(
        &self,
        tenant: &str,
        destination: &Destination,
        locale: &str,
    ) -> String {
        self.tag(
            "request",
            &[
                tenant.as_bytes(),
                destination.channel().as_str().as_bytes(),
                destination.canonical().as_bytes(),
                locale.as_bytes(),
            ],
        )
    }

    /// AES-256-GCM with a random nonce, bound to the OTP id so a sealed value cannot be moved
    /// to another record. Output: base64(nonce || ciphertext || tag).
    pub fn seal(&self, id: OtpId, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; aead::NONCE_LEN];
        crate::entropy::fill(&mut nonce);
        let mut buffer = plaintext.to_vec();
        let aad = id.to_string();
        #[allow(clippy::expect_used)] // Only fails for inputs over 64 GiB.
        self.seal
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad.as_bytes()),
                &mut buffer,
            )
            .expect("sealing a small buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        STANDARD_NO_PAD.encode(out)
    }

    pub fn open(&self, id: OtpId, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let bytes = STANDARD_NO_PAD
            .decode(sealed)
            .map_err(|_| CryptoError::Unseal)?;
        if bytes.len() < aead::NONCE_LEN {
            return Err(CryptoError::Unseal);
        }
        let (nonce, ciphertext) = bytes.split_at(aead::NONCE_LEN);
        let nonce =
            aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Unseal)?;
        let mut buffer = ciphertext.to_vec();
        let aad = id.to_string();
        let plain = self
            .seal
            .open_in_place(nonce, aead::Aad::from(aad.as_bytes()), &mut buffer)
            .map_err(|_| CryptoError::Unseal)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Channel, OtpCodeLength};

    #[test]
    fn hex_is_lower_case_two_digits_per_byte() {
        // Stored hashes (key hashes, limit keys) were written by `hex::encode`: same form.
        assert_eq!(to_hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(to_hex(&[]), "");
    }

    fn keys() -> Keys {
        Keys::derive(&ServiceSecret::generate())
    }

    #[test]
    fn seal_round_trips_and_is_bound_to_its_id() {
        let keys = keys();
        let id = OtpId::new_random();
        let sealed = keys.seal(id, b"123456");
        assert_eq!(keys.open(id, &sealed).unwrap(), b"123456");
        assert!(keys.open(OtpId::new_random(), &sealed).is_err());
        assert!(keys.open(id, "not base64!").is_err());
        assert!(
            Keys::derive(&ServiceSecret::generate())
                .open(id, &sealed)
                .is_err()
        );
        assert!(!sealed.contains("123456"));
    }

    #[test]
    fn code_slots_depend_on_secret_id_and_code() {
        let keys = keys();
        let id = OtpId::new_random();
        let six = OtpCodeLength::default();
        let code = OtpCode::parse("123456", six).unwrap();
        let slot = keys.code_slot(id, &code);
        assert_eq!(slot, keys.code_slot(id, &code));
        assert!(slot.starts_with("live_") && !slot.contains("123456"));
        assert_ne!(
            slot,
            keys.code_slot(id, &OtpCode::parse("123457", six).unwrap())
        );
        assert_ne!(slot, keys.code_slot(OtpId::new_random(), &code));
        assert_ne!(
            slot,
            Keys::derive(&ServiceSecret::generate()).code_slot(id, &code)
        );
    }

    #[test]
    fn destination_keys_ignore_case_and_ipv6_keys_cover_the_slash_64() {
        let keys = keys();
        let a = Destination::parse(Channel::Email, "Jane@Example.com").unwrap();
        let b = Destination::parse(Channel::Email, "jane@example.com").unwrap();
        assert_eq!(keys.destination_key("t", &a), keys.destination_key("t", &b));
        let ip1: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let ip2: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let ip3: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(keys.ip_key("t", ip1), keys.ip_key("t", ip2));
        assert_ne!(keys.ip_key("t", ip1), keys.ip_key("t", ip3));
    }

    #[test]
    fn every_limit_and_idempotency_identity_is_scoped_to_its_tenant() {
        let keys = keys();
        let d = Destination::parse(Channel::Email, "jane@example.com").unwrap();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let key = IdempotencyKey::parse("order-1").unwrap();
        assert_ne!(keys.destination_key("a", &d), keys.destination_key("b", &d));
        assert_ne!(keys.ip_key("a", ip), keys.ip_key("b", ip));
        assert_ne!(
            keys.idempotency_key("a", &key),
            keys.idempotency_key("b", &key)
        );
        assert_ne!(
            keys.request_fingerprint("a", &d, "en"),
            keys.request_fingerprint("b", &d, "en")
        );
    }
}
