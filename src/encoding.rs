//! The text encodings of Django's signing: URL-safe base64 without padding and
//! base62 timestamps.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// URL-safe base64 without `=` padding (Django's `b64_encode(...).rstrip(b"=")`).
///
/// ```
/// assert_eq!(edge_session::testing::internals::b64_encode(b"{}"), "e30");
/// ```
pub fn b64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn b64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// Decodes URL-safe base64 with or without padding; `None` for any character
/// outside the alphabet or an impossible length.
///
/// ```
/// assert_eq!(edge_session::testing::internals::b64_decode("e30").unwrap(), b"{}");
/// assert!(edge_session::testing::internals::b64_decode("e3!").is_none());
/// ```
pub fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.trim_end_matches('=').as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= b64_value(c)? << (18 - 6 * i);
        }
        let produced = chunk.len() - 1;
        for i in 0..produced {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

/// Django's `b62_encode` of a non-negative integer (timestamps).
///
/// ```
/// assert_eq!(edge_session::testing::internals::b62_encode(1_765_019_770), "1vRqGo");
/// ```
pub fn b62_encode(mut n: u64) -> String {
    if n == 0 {
        return "0".to_owned();
    }
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(B62[(n % 62) as usize]);
        n /= 62;
    }
    digits.iter().rev().map(|&d| char::from(d)).collect()
}

/// Django's `b62_decode`; `None` for characters outside the alphabet, an
/// empty string, or a value that does not fit in 64 bits.
pub fn b62_decode(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |acc, c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            b'a'..=b'z' => c - b'a' + 36,
            _ => return None,
        };
        acc.checked_mul(62)?.checked_add(u64::from(d))
    })
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(b64_encode(b""), "");
        assert_eq!(b64_encode(b"f"), "Zg");
        assert_eq!(b64_encode(b"fo"), "Zm8");
        assert_eq!(b64_encode(b"foo"), "Zm9v");
        assert_eq!(b64_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(b64_decode("Zg==").unwrap(), b"f");
        assert!(b64_decode("Z").is_none());
        assert!(b64_decode("Zm+v").is_none(), "standard alphabet is not URL-safe");
    }

    #[test]
    fn base62_round_trips_and_rejects_garbage() {
        assert_eq!(b62_encode(0), "0");
        assert_eq!(b62_decode("1vRqGo"), Some(1_765_019_770));
        assert_eq!(b62_decode(""), None);
        assert_eq!(b62_decode("ab-"), None);
        assert_eq!(b62_decode("zzzzzzzzzzzzzzzz"), None, "overflow is rejected");
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    proptest! {
        #[test]
        fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(b64_decode(&b64_encode(&bytes)).unwrap(), bytes);
        }
        #[test]
        fn base62_round_trips(n in any::<u64>()) {
            prop_assert_eq!(b62_decode(&b62_encode(n)), Some(n));
        }
    }
}
