//! Session keys and the signed cookie value that carries them.
//!
//! A key is Django's format: 32 characters of `[a-z0-9]` (about 165 bits) from
//! a CSPRNG. For the server-side engines the cookie does not carry the bare
//! key: it carries `KEY.VERSION.MAC`, where `VERSION` is the record version the
//! client last saw written (for `cached_db`'s read-your-writes) and `MAC` is the
//! first 128 bits of Django's `salted_hmac` over `KEY.VERSION`, keyed by
//! `SECRET_KEY` and salted with the cookie name. A forged, guessed, truncated or
//! otherwise malformed value fails here, before any store is asked.

use std::fmt;

use crate::signing::KeyRing;

/// The length of a session key.
pub const KEY_LEN: usize = 32;
const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const MAC_LEN: usize = 16;
const MAC_B64_LEN: usize = 22;
/// The longest cookie value [`CookieSigner::verify`] looks at.
const MAX_COOKIE_VALUE: usize = KEY_LEN + 1 + 20 + 1 + MAC_B64_LEN;

/// A well-formed session key: exactly 32 characters of `[a-z0-9]`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionKey([u8; KEY_LEN]);

impl SessionKey {
    /// Accepts exactly 32 characters of `[a-z0-9]`, nothing else.
    ///
    /// ```
    /// use edge_session::SessionKey;
    /// assert!(SessionKey::parse("abcdefghijklmnopqrstuvwxyz012345").is_some());
    /// assert!(SessionKey::parse("../../etc/passwd").is_none());
    /// assert!(SessionKey::parse("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let bytes: [u8; KEY_LEN] = text.as_bytes().try_into().ok()?;
        bytes.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()).then_some(Self(bytes))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// A key from 32 random bytes, each mapped uniformly onto the alphabet;
    /// `None` if too many bytes had to be rejected (the caller draws again).
    fn from_random(bytes: &[u8]) -> Option<Self> {
        let mut key = [0u8; KEY_LEN];
        let mut filled = 0;
        // 252 = 7 * 36: rejecting bytes >= 252 keeps every character equally likely.
        for &b in bytes.iter().filter(|&&b| b < 252) {
            key[filled] = ALPHABET[usize::from(b % 36)];
            filled += 1;
            if filled == KEY_LEN {
                return Some(Self(key));
            }
        }
        None
    }
}

impl fmt::Debug for SessionKey {
    /// Shows only the first 4 characters: keys are bearer secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({}…)", &self.as_str()[..4])
    }
}

/// The system's random source failed (Django would raise; we refuse the request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomError;

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the system's random number generator failed")
    }
}

impl std::error::Error for RandomError {}

/// Where new session keys come from.
pub trait KeySource {
    /// A new, unpredictable session key.
    fn new_key(&self) -> Result<SessionKey, RandomError>;
}

impl<K: KeySource + ?Sized> KeySource for std::rc::Rc<K> {
    fn new_key(&self) -> Result<SessionKey, RandomError> {
        (**self).new_key()
    }
}

/// Keys from the operating system's CSPRNG (`crypto.getRandomValues` on Workers).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsKeySource;

impl KeySource for OsKeySource {
    fn new_key(&self) -> Result<SessionKey, RandomError> {
        // 48 bytes leave room for the ~1.6% of bytes that rejection drops;
        // the loop runs again on the (2^-60-unlikely) shortfall.
        for _ in 0..4 {
            let mut bytes = [0u8; 48];
            getrandom::fill(&mut bytes).map_err(|_| RandomError)?;
            if let Some(key) = SessionKey::from_random(&bytes) {
                return Ok(key);
            }
        }
        Err(RandomError)
    }
}

/// What a verified server-side session cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    /// The session key.
    pub key: SessionKey,
    /// The record version this client last saw written.
    pub version: u64,
    /// Whether a key from `SECRET_KEY_FALLBACKS` verified it (re-issue it).
    pub used_fallback: bool,
}

/// Signs and verifies the `KEY.VERSION.MAC` cookie value of the server-side engines.
#[derive(Clone, Debug)]
pub struct CookieSigner {
    ring: KeyRing,
}

impl CookieSigner {
    /// A signer bound to `cookie_name`, with `secret` and its `fallbacks`.
    pub fn new(cookie_name: &str, secret: &str, fallbacks: &[String]) -> Self {
        Self { ring: KeyRing::new(&format!("edge_session.cookie:{cookie_name}"), secret, fallbacks) }
    }

    /// The cookie value for `key` at `version`.
    pub fn sign(&self, key: &SessionKey, version: u64) -> String {
        let signed_part = format!("{}.{version}", key.as_str());
        let mac = self.ring.tag(&signed_part, MAC_LEN);
        format!("{signed_part}.{mac}")
    }

    /// Checks the shape (key alphabet and length, canonical decimal version,
    /// MAC length) and then the MAC against every secret. `None` for anything
    /// that fails; no store is ever asked about such a value.
    ///
    /// ```
    /// use edge_session::{testing::internals::CookieSigner, SessionKey};
    /// let signer = CookieSigner::new("sessionid", "secret", &[]);
    /// let key = SessionKey::parse("abcdefghijklmnopqrstuvwxyz012345").unwrap();
    /// let value = signer.sign(&key, 3);
    /// assert_eq!(signer.verify(value.as_bytes()).unwrap().version, 3);
    /// assert!(signer.verify(b"abcdefghijklmnopqrstuvwxyz012345").is_none());
    /// ```
    pub fn verify(&self, value: &[u8]) -> Option<SessionCookie> {
        if value.len() > MAX_COOKIE_VALUE {
            return None;
        }
        let value = std::str::from_utf8(value).ok()?;
        let (signed_part, mac) = value.rsplit_once('.')?;
        let (key, version) = signed_part.split_once('.')?;
        let key = SessionKey::parse(key)?;
        let canonical = version.bytes().all(|c| c.is_ascii_digit())
            && !version.is_empty()
            && (version == "0" || !version.starts_with('0'));
        if !canonical || mac.len() != MAC_B64_LEN {
            return None;
        }
        let version: u64 = version.parse().ok()?;
        let position = self.ring.verify(signed_part, mac, MAC_LEN)?;
        Some(SessionCookie { key, version, used_fallback: position > 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::measure;

    #[test]
    fn generated_keys_are_djangos_format_and_distinct() {
        let a = OsKeySource.new_key().unwrap();
        let b = OsKeySource.new_key().unwrap();
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn key_characters_are_uniform() {
        // 36 * 1000 draws through the mapping: every character appears.
        let bytes: Vec<u8> = (0..=255u8).cycle().take(36 * 1000).collect();
        let mut seen = [0usize; 36];
        for chunk in bytes.chunks(48) {
            if let Some(k) = SessionKey::from_random(chunk) {
                for c in k.as_str().bytes() {
                    seen[ALPHABET.iter().position(|&a| a == c).unwrap()] += 1;
                }
            }
        }
        let (min, max) = (seen.iter().min().unwrap(), seen.iter().max().unwrap());
        assert!(*min > 0 && max - min <= max / 4, "{seen:?}");
    }

    #[test]
    fn debug_does_not_leak_the_key() {
        let k = SessionKey::parse("abcdefghijklmnopqrstuvwxyz012345").unwrap();
        assert_eq!(format!("{k:?}"), "SessionKey(abcd…)");
    }

    #[test]
    fn cookie_values_are_bound_to_name_secret_and_version() {
        let key = SessionKey::parse("abcdefghijklmnopqrstuvwxyz012345").unwrap();
        let signer = CookieSigner::new("sessionid", "secret", &[]);
        let value = signer.sign(&key, 7);
        assert!(CookieSigner::new("other", "secret", &[]).verify(value.as_bytes()).is_none());
        assert!(CookieSigner::new("sessionid", "other", &[]).verify(value.as_bytes()).is_none());
        let bumped = value.replacen(".7.", ".8.", 1);
        assert!(signer.verify(bumped.as_bytes()).is_none());
        let leading_zero = value.replacen(".7.", ".07.", 1);
        assert!(signer.verify(leading_zero.as_bytes()).is_none());
    }

    #[test]
    fn malformed_values_cost_no_crypto() {
        let signer = CookieSigner::new("sessionid", "secret", &[]);
        for bad in [
            &b""[..],
            b"abc",
            b"abcdefghijklmnopqrstuvwxyz012345",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345.0.AAAAAAAAAAAAAAAAAAAAAA",
            b"abcdefghijklmnopqrstuvwxyz01234/.0.AAAAAAAAAAAAAAAAAAAAAA",
            b"abcdefghijklmnopqrstuvwxyz012345.x.AAAAAAAAAAAAAAAAAAAAAA",
            b"abcdefghijklmnopqrstuvwxyz012345.0.short",
            b"\xff\xfe",
        ] {
            let (got, calls) = measure(|| signer.verify(bad));
            assert!(got.is_none());
            assert_eq!(calls, 0, "{bad:?}");
        }
        // A well-shaped forgery costs one MAC per configured secret.
        let forged = b"abcdefghijklmnopqrstuvwxyz012345.0.AAAAAAAAAAAAAAAAAAAAAA";
        let (got, calls) = measure(|| signer.verify(forged));
        assert!(got.is_none());
        assert_eq!(calls, 1);
    }

    #[test]
    fn fallback_secret_verifies_and_is_flagged() {
        let key = SessionKey::parse("abcdefghijklmnopqrstuvwxyz012345").unwrap();
        let value = CookieSigner::new("sessionid", "old", &[]).sign(&key, 1);
        let rotated = CookieSigner::new("sessionid", "new", &["old".into()]);
        assert!(rotated.verify(value.as_bytes()).unwrap().used_fallback);
        assert!(!rotated.verify(rotated.sign(&key, 1).as_bytes()).unwrap().used_fallback);
    }
}
