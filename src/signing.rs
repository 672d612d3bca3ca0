//! Django-compatible signing (`django.core.signing`).
//!
//! * [`SaltedHmac`] is Django's `salted_hmac(key_salt, value, secret, algorithm="sha256")`:
//!   the HMAC key is `sha256(key_salt + secret)`.
//! * [`TimestampSigner`] signs `value:timestamp` with the salt `salt + "signer"`,
//!   encodes the 32-byte MAC in URL-safe base64 without padding, and verifies
//!   against `SECRET_KEY` and then each of `SECRET_KEY_FALLBACKS`, comparing in
//!   constant time.
//! * [`TimestampSigner::sign_object`] / [`TimestampSigner::unsign_object`] are
//!   `dumps`/`loads` with Django's `JSONSerializer` and the `.`-prefixed zlib path.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;

use crate::encoding::{b62_decode, b62_encode, b64_decode, b64_encode, constant_time_eq};
use crate::metrics::count_crypto_call;

/// The most bytes a signed object may inflate to; larger payloads are refused
/// (a zlib bomb in a cookie cannot make the worker allocate more than this).
pub const MAX_DECOMPRESSED: usize = 1 << 20;

/// Django's `salted_hmac` with SHA-256, keyed once and reused.
#[derive(Clone)]
pub struct SaltedHmac {
    keyed: Hmac<Sha256>,
}

impl SaltedHmac {
    /// Derives the HMAC key `sha256(key_salt + secret)`.
    pub fn new(key_salt: &str, secret: &str) -> Self {
        let key = Sha256::new().chain_update(key_salt).chain_update(secret).finalize();
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        Self { keyed }
    }

    /// The 32-byte MAC of `message`. Counted in [`crate::metrics`].
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        count_crypto_call();
        let mut mac = self.keyed.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for SaltedHmac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SaltedHmac(..)")
    }
}

/// `SECRET_KEY` then each of `SECRET_KEY_FALLBACKS`, keyed for one salt:
/// signs with the current key, verifies against all of them in constant time.
#[derive(Clone, Debug)]
pub struct KeyRing {
    /// The current key first, then the fallbacks.
    keys: Vec<SaltedHmac>,
}

impl KeyRing {
    /// Keys `sha256(key_salt + secret)` for the secret and each fallback.
    pub fn new(key_salt: &str, secret: &str, fallbacks: &[String]) -> Self {
        let keys = std::iter::once(secret)
            .chain(fallbacks.iter().map(String::as_str))
            .map(|s| SaltedHmac::new(key_salt, s))
            .collect();
        Self { keys }
    }

    fn tag_with(key: &SaltedHmac, message: &str, len: usize) -> String {
        b64_encode(&key.mac(message.as_bytes())[..len])
    }

    /// The first `len` bytes of the current key's MAC of `message`, URL-safe base64.
    pub fn tag(&self, message: &str, len: usize) -> String {
        Self::tag_with(&self.keys[0], message, len)
    }

    /// Which key made `tag` (0: the current one, more: a fallback), or `None`.
    pub fn verify(&self, message: &str, tag: &str, len: usize) -> Option<usize> {
        self.keys.iter().position(|key| constant_time_eq(Self::tag_with(key, message, len).as_bytes(), tag.as_bytes()))
    }
}

/// Why a signed value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningError {
    /// No key produced this signature, or the value is not `value:timestamp:signature`.
    BadSignature,
    /// The signature is good but older than `max_age` (Django's `SignatureExpired`).
    SignatureExpired,
    /// The signature is good but the payload does not decode (base64, zlib, JSON).
    BadPayload,
}

impl fmt::Display for SigningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadSignature => "signature does not match",
            Self::SignatureExpired => "signature has expired",
            Self::BadPayload => "signed payload does not decode",
        })
    }
}

impl std::error::Error for SigningError {}

/// A verified signed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsigned<T> {
    /// The value.
    pub value: T,
    /// When it was signed (Unix seconds).
    pub timestamp: i64,
    /// Whether a key from `SECRET_KEY_FALLBACKS` rather than `SECRET_KEY` verified it.
    pub used_fallback: bool,
}

/// Django's `TimestampSigner(key, salt=salt, fallback_keys=...)`, algorithm SHA-256.
#[derive(Clone, Debug)]
pub struct TimestampSigner {
    ring: KeyRing,
}

/// A SHA-256 signature: 32 bytes, 43 characters of base64.
const SIGNATURE_LEN: usize = 32;

impl TimestampSigner {
    /// A signer for `salt`, signing with `secret` and also accepting `fallbacks`.
    pub fn new(secret: &str, fallbacks: &[String], salt: &str) -> Self {
        Self { ring: KeyRing::new(&format!("{salt}signer"), secret, fallbacks) }
    }

    /// `value:timestamp:signature`, signed with the current key at `now`.
    ///
    /// ```
    /// use edge_session::testing::internals::TimestampSigner;
    /// let signer = TimestampSigner::new("secret", &[], "salt");
    /// let token = signer.sign("hello", 1_765_019_770);
    /// assert!(token.starts_with("hello:1vRqGo:"));
    /// assert_eq!(signer.unsign(&token, None, 1_765_019_770).unwrap().value, "hello");
    /// ```
    pub fn sign(&self, value: &str, now: i64) -> String {
        let stamped = format!("{value}:{}", b62_encode(now.max(0) as u64));
        let sig = self.ring.tag(&stamped, SIGNATURE_LEN);
        format!("{stamped}:{sig}")
    }

    /// Verifies `signed` against every key and, when `max_age` is given, its age at `now`.
    pub fn unsign<'a>(
        &self,
        signed: &'a str,
        max_age: Option<i64>,
        now: i64,
    ) -> Result<Unsigned<&'a str>, SigningError> {
        let (stamped, sig) = signed.rsplit_once(':').ok_or(SigningError::BadSignature)?;
        // A SHA-256 signature is always 43 characters: refuse anything else
        // before spending an HMAC on it.
        if sig.len() != 43 {
            return Err(SigningError::BadSignature);
        }
        let position = self.ring.verify(stamped, sig, SIGNATURE_LEN).ok_or(SigningError::BadSignature)?;
        let (value, ts) = stamped.rsplit_once(':').ok_or(SigningError::BadSignature)?;
        let timestamp = b62_decode(ts).and_then(|t| i64::try_from(t).ok()).ok_or(SigningError::BadSignature)?;
        if let Some(max_age) = max_age {
            if now.saturating_sub(timestamp) > max_age {
                return Err(SigningError::SignatureExpired);
            }
        }
        Ok(Unsigned { value, timestamp, used_fallback: position > 0 })
    }

    /// Django's `signing.dumps(obj, compress=compress)`: compact JSON with
    /// non-ASCII escaped (as Python's `json.dumps`), zlib when that is shorter,
    /// URL-safe base64, `.` prefix when compressed, then [`sign`](Self::sign).
    pub fn sign_object<T: serde::Serialize + ?Sized>(&self, value: &T, compress: bool, now: i64) -> String {
        self.sign_json(&to_python_json(value), compress, now)
    }

    /// [`sign_object`](Self::sign_object), refusing a value that could be
    /// signed but never read back: JSON larger than [`MAX_DECOMPRESSED`]
    /// compresses well (a megabyte of one letter fits in a cookie) but
    /// [`unsign_object`](Self::unsign_object) will not inflate it. The error
    /// is the size of the JSON.
    pub fn sign_object_readable<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
        compress: bool,
        now: i64,
    ) -> Result<String, usize> {
        let json = to_python_json(value);
        if json.len() > MAX_DECOMPRESSED {
            return Err(json.len());
        }
        Ok(self.sign_json(&json, compress, now))
    }

    fn sign_json(&self, json: &str, compress: bool, now: i64) -> String {
        let mut payload = String::new();
        let compressed = if compress {
            let packed = miniz_oxide::deflate::compress_to_vec_zlib(json.as_bytes(), 6);
            (packed.len() + 1 < json.len()).then_some(packed)
        } else {
            None
        };
        match compressed {
            Some(packed) => {
                payload.push('.');
                payload.push_str(&b64_encode(&packed));
            }
            None => payload.push_str(&b64_encode(json.as_bytes())),
        }
        self.sign(&payload, now)
    }

    /// Django's `signing.loads`: verifies, then decodes the payload to JSON.
    pub fn unsign_object(&self, signed: &str, max_age: Option<i64>, now: i64) -> Result<Unsigned<Value>, SigningError> {
        let unsigned = self.unsign(signed, max_age, now)?;
        let (compressed, b64) = match unsigned.value.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, unsigned.value),
        };
        let mut bytes = b64_decode(b64).ok_or(SigningError::BadPayload)?;
        if compressed {
            bytes = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&bytes, MAX_DECOMPRESSED)
                .map_err(|_| SigningError::BadPayload)?;
        }
        let value = serde_json::from_slice(&bytes).map_err(|_| SigningError::BadPayload)?;
        Ok(Unsigned { value, timestamp: unsigned.timestamp, used_fallback: unsigned.used_fallback })
    }
}

/// Serialises like Python's `json.dumps(value, separators=(",", ":"))`:
/// compact, and every character outside printable ASCII escaped as `\uXXXX`
/// (UTF-16, lowercase hex), so the signed bytes match Django's.
pub fn to_python_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, AsciiFormatter);
    // Serialising JSON values (string-keyed maps) into a Vec cannot fail.
    let _ = serde::Serialize::serialize(value, &mut ser);
    String::from_utf8(out).unwrap_or_default()
}

struct AsciiFormatter;

/// Python's `repr(float)`: the shortest round-trip digits, fixed notation for
/// exponents from -4 to 15 (with `.0` when integral), otherwise `1e-07` style.
/// The digits come from serde_json's shortest formatting (no `core::fmt`
/// float machinery, which would add ~15 KB to the wasm).
fn python_float(value: f64) -> String {
    let shortest = serde_json::Number::from_f64(value).map(|n| n.to_string()).unwrap_or_else(|| "0.0".to_owned());
    let (sign, unsigned) = match shortest.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", shortest.as_str()),
    };
    let (mantissa, exp) = unsigned.split_once(['e', 'E']).unwrap_or((unsigned, "0"));
    let exp: i32 = exp.trim_start_matches('+').parse().unwrap_or(0);
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = int.chars().chain(frac.chars()).collect();
    let leading = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_matches('0');
    let (digits, exp) =
        if digits.is_empty() { ("0", 0) } else { (digits, int.len() as i32 - 1 + exp - leading as i32) };
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                format!("{sign}{digits}{}.0", "0".repeat(int_len - digits.len()))
            } else {
                format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{fraction}e{exp_sign}{:02}", exp.unsigned_abs())
    }
}

impl serde_json::ser::Formatter for AsciiFormatter {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, writer: &mut W, value: f64) -> std::io::Result<()> {
        writer.write_all(python_float(value).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() && c != '\x7f' {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_json_escapes_like_json_dumps() {
        assert_eq!(
            to_python_json(&json!({"a": "ž🍪\u{7f}", "b": [1, 2.5]})),
            r#"{"a":"\u017e\ud83c\udf6a\u007f","b":[1,2.5]}"#
        );
    }

    #[test]
    fn floats_are_written_as_python_repr_writes_them() {
        for (v, py) in [
            (0.1, "0.1"),
            (2.5, "2.5"),
            (3.0, "3.0"),
            (-0.0, "-0.0"),
            (1e-7, "1e-07"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e100, "1e+100"),
            (-2.5e-300, "-2.5e-300"),
            (1.0 / 3.0, "0.3333333333333333"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0, "0.0"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (100.0, "100.0"),
            (0.00012, "0.00012"),
        ] {
            assert_eq!(python_float(v), py, "{v}");
        }
    }

    #[test]
    fn unsign_rejects_wrong_shapes_without_panicking() {
        let signer = TimestampSigner::new("s", &[], "salt");
        for bad in ["", ":", "a:b", "a:b:c", "::::", "a:zzzzzzzzzzzzzzzzzzzz:sig"] {
            assert_eq!(signer.unsign(bad, None, 0), Err(SigningError::BadSignature), "{bad:?}");
        }
    }

    #[test]
    fn max_age_is_enforced_from_the_timestamp() {
        let signer = TimestampSigner::new("s", &[], "salt");
        let token = signer.sign("v", 1000);
        assert!(signer.unsign(&token, Some(10), 1010).is_ok());
        assert_eq!(signer.unsign(&token, Some(10), 1011), Err(SigningError::SignatureExpired));
    }

    #[test]
    fn fallback_keys_verify_and_are_reported() {
        let old = TimestampSigner::new("old", &[], "salt");
        let token = old.sign("v", 5);
        let rotated = TimestampSigner::new("new", &["old".to_owned()], "salt");
        let got = rotated.unsign(&token, None, 5).unwrap();
        assert!(got.used_fallback);
        let without = TimestampSigner::new("new", &[], "salt");
        assert_eq!(without.unsign(&token, None, 5), Err(SigningError::BadSignature));
    }

    #[test]
    fn a_zlib_bomb_is_refused() {
        let signer = TimestampSigner::new("s", &[], "salt");
        let big = "a".repeat(MAX_DECOMPRESSED + 10);
        let token = signer.sign_object(&json!(big), true, 0);
        assert_eq!(signer.unsign_object(&token, None, 0), Err(SigningError::BadPayload));
    }
}
