//! API keys: what a caller presents, and the keyed hash that is all the store ever holds.
//!
//! A key is `otpr_sk_` (server) or `otpr_pk_` (publishable) followed by 43 characters of
//! base62 drawn from the OS CSPRNG (256 bits). The prefix makes a leaked key recognisable
//! (secret scanners, an operator reading a log); the [`KeyId`] is the kind and the first 8
//! random characters, so an operator holding a leaked key can find it in `otp-admin key list`
//! without the store holding anything that opens the API.

use super::fields::{Label, TenantId};
use crate::domain::ParseError;
use crate::secret::ServiceSecret;
use aws_lc_rs::hmac;
use serde::{Deserialize, Serialize};

const PREFIX: &str = "otpr_";
const RANDOM_CHARS: usize = 43;
const ID_CHARS: usize = 8;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// For the relying app's backend: every endpoint.
    Server,
    /// For browsers and mobile apps: send, resend and verify, from the tenant's origins only.
    Publishable,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Server => "server",
            KeyKind::Publishable => "publishable",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "server" => Some(KeyKind::Server),
            "publishable" => Some(KeyKind::Publishable),
            _ => None,
        }
    }

    /// `sk` or `pk`, as in `otpr_sk_...`.
    fn tag(self) -> &'static str {
        match self {
            KeyKind::Server => "sk",
            KeyKind::Publishable => "pk",
        }
    }
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A whole key, as handed out once and presented on every call. `Debug` is redacted; the text
/// is reachable only through [`ApiKey::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    kind: KeyKind,
    text: String,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({}, <redacted>)", self.id())
    }
}

impl ApiKey {
    /// A new key from the OS CSPRNG. Each character is drawn by rejection sampling (bytes from
    /// 248 up are redrawn), so all 62 are equally likely.
    pub fn generate(kind: KeyKind) -> Self {
        let mut text = format!("{PREFIX}{}_", kind.tag());
        let mut drawn = 0;
        while drawn < RANDOM_CHARS {
            let mut bytes = [0u8; 64];
            // No sensible fallback exists when the OS cannot make random numbers.
            #[allow(clippy::expect_used)]
            getrandom::fill(&mut bytes).expect("the OS random number generator failed");
            for b in bytes {
                if drawn < RANDOM_CHARS && b < 248 {
                    text.push(char::from(BASE62[usize::from(b % 62)]));
                    drawn += 1;
                }
            }
        }
        Self { kind, text }
    }

    /// A key as presented: the prefix of its kind, then exactly 43 base62 characters. Checked
    /// before anything is looked up, so garbage costs no store call.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let malformed = || ParseError::new("not an otp-relay API key (otpr_sk_... or otpr_pk_...)");
        let rest = raw.strip_prefix(PREFIX).ok_or_else(malformed)?;
        let (tag, random) = rest.split_once('_').ok_or_else(malformed)?;
        let kind = [KeyKind::Server, KeyKind::Publishable]
            .into_iter()
            .find(|k| k.tag() == tag)
            .ok_or_else(malformed)?;
        if random.len() != RANDOM_CHARS || !random.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(malformed());
        }
        Ok(Self {
            kind,
            text: raw.to_owned(),
        })
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The non-secret handle: `sk_` or `pk_` and the first 8 random characters.
    pub fn id(&self) -> KeyId {
        let start = PREFIX.len();
        KeyId(self.text[start..start + 3 + ID_CHARS].to_owned())
    }

    /// The key itself, for the one time it is shown. Greppable on purpose.
    pub fn expose(&self) -> &str {
        &self.text
    }
}

/// A key's public handle (`sk_AbCd1234`), for listing and revoking. Identifies a key within
/// its tenant; it opens nothing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl KeyId {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let ok = raw.len() == 3 + ID_CHARS
            && (raw.starts_with("sk_") || raw.starts_with("pk_"))
            && raw[3..].bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new(
                "a key id is sk_ or pk_ and 8 letters or digits, as `otp-admin key list` shows",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyId {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<KeyId> for String {
    fn from(value: KeyId) -> Self {
        value.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// HMAC-SHA256 of a key under a key of its own derived from the service secret, hex-encoded.
/// A copy of the table therefore yields no usable key, and cannot be brute-forced offline
/// without the secret either.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyHash(String);

impl KeyHash {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.len() == 64 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new("a key hash is 64 lowercase hex digits"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Equality in time independent of where the two differ. A lookup by hash has the store
    /// compare for us; wherever this process compares, it uses this.
    pub fn matches(&self, other: &KeyHash) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), other.0.as_bytes())
            .is_ok()
    }
}

impl TryFrom<String> for KeyHash {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<KeyHash> for String {
    fn from(value: KeyHash) -> Self {
        value.0
    }
}

/// Hashes keys. Its key is derived from the service secret under a label of its own
/// (`otp-relay/v1/api-key`), independent of the tag and seal keys of [`crate::crypto::Keys`]:
/// rotating the secret invalidates every API key as well (re-issue them).
pub struct KeyHasher(hmac::Key);

impl std::fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHasher(<redacted>)")
    }
}

impl KeyHasher {
    pub fn derive(secret: &ServiceSecret) -> Self {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret.expose());
        let derived = hmac::sign(&root, b"otp-relay/v1/api-key");
        Self(hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()))
    }

    pub fn hash(&self, key: &ApiKey) -> KeyHash {
        KeyHash(crate::crypto::to_hex(
            hmac::sign(&self.0, key.text.as_bytes()).as_ref(),
        ))
    }
}

/// A key as stored: who it acts for and whether it still may. Holds no secret. Serialises
/// (for `otp-admin --json`) without its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRecord {
    pub id: KeyId,
    pub kind: KeyKind,
    pub tenant: TenantId,
    /// Not shown by `key list` or `--json`: it is the lookup handle, not for operators.
    #[serde(skip_serializing)]
    pub hash: KeyHash,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

impl KeyRecord {
    /// The record of a key just made for `tenant`.
    pub fn issued(
        key: &ApiKey,
        hasher: &KeyHasher,
        tenant: TenantId,
        label: Option<Label>,
        now: i64,
    ) -> Self {
        Self {
            id: key.id(),
            kind: key.kind(),
            tenant,
            hash: hasher.hash(key),
            label,
            created_at: now,
            revoked_at: None,
        }
    }

    /// The revocation rule: the first revocation's time stays (revoking twice changes
    /// nothing). The DynamoDB adapter says the same with `if_not_exists(revoked_at, :now)`.
    pub fn revoke(&mut self, now: i64) {
        self.revoked_at.get_or_insert(now);
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_their_prefix_and_parse_back() {
        for (kind, prefix) in [
            (KeyKind::Server, "otpr_sk_"),
            (KeyKind::Publishable, "otpr_pk_"),
        ] {
            let key = ApiKey::generate(kind);
            let text = key.expose();
            assert!(text.starts_with(prefix), "{text}");
            assert_eq!(text.len(), prefix.len() + RANDOM_CHARS);
            let parsed = ApiKey::parse(text).unwrap();
            assert_eq!(parsed, key);
            assert_eq!(parsed.kind(), kind);
            assert_eq!(key.id().as_str(), &text[5..16]);
            assert!(KeyId::parse(key.id().as_str()).is_ok());
            assert_ne!(ApiKey::generate(kind), key);
        }
    }

    #[test]
    fn malformed_keys_are_refused_before_any_lookup() {
        let good = ApiKey::generate(KeyKind::Server).expose().to_owned();
        let cases = [
            String::new(),
            "Bearer x".to_owned(),
            good.replace("otpr_sk_", "otpr_xk_"),
            good.replace("otpr_", "otp_"),
            good[..good.len() - 1].to_owned(),
            format!("{good}A"),
            format!("{}-", &good[..good.len() - 1]),
            format!("{}é", &good[..good.len() - 2]),
        ];
        for bad in cases {
            assert!(ApiKey::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::generate(KeyKind::Publishable);
        let shown = format!("{key:?}");
        assert!(!shown.contains(key.expose()), "{shown}");
        assert!(shown.contains(key.id().as_str()));
    }

    #[test]
    fn hashes_depend_on_the_secret_and_the_whole_key() {
        let secret = ServiceSecret::generate();
        let hasher = KeyHasher::derive(&secret);
        let key = ApiKey::generate(KeyKind::Server);
        let hash = hasher.hash(&key);
        assert!(KeyHash::parse(hash.as_str()).is_ok());
        assert!(hash.matches(&KeyHasher::derive(&secret).hash(&key)));
        assert!(!hash.matches(&KeyHasher::derive(&ServiceSecret::generate()).hash(&key)));
        assert!(!hash.matches(&hasher.hash(&ApiKey::generate(KeyKind::Server))));
        // Not the tag key of the OTP records: a different label, so a different key.
        assert!(!hash.as_str().contains(key.expose()));
    }

    #[test]
    fn a_revocation_keeps_its_first_time() {
        let hasher = KeyHasher::derive(&ServiceSecret::generate());
        let key = ApiKey::generate(KeyKind::Server);
        let mut record =
            KeyRecord::issued(&key, &hasher, TenantId::parse("acme").unwrap(), None, 10);
        assert!(!record.is_revoked());
        record.revoke(20);
        record.revoke(30);
        assert_eq!(record.revoked_at, Some(20));
        let shown = serde_json::to_string(&record).unwrap();
        assert!(!shown.contains(record.hash.as_str()), "{shown}");
    }
}
