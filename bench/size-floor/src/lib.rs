//! The least a wasm module can hold and still read and write a Django session
//! record, and the least work per request such a module does: one exported
//! function that checks a cookie's HMAC-SHA256 tag, unpacks Django's
//! `signing.dumps` payload (base64url, zlib) after checking its signature,
//! parses and changes the JSON (key order kept, floats exact), packs and signs
//! it again, and draws a random session key. Nothing here is edge-session's:
//! no settings, no expiry, no timestamp in the signature, no engines, no error
//! beyond "does not check". bench/run.sh measures its size ("Size floor") and
//! runs it as the wasm of bench/workers/wasm-floor.js ("wasm floor"), whose I/O
//! is in JS.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

type HmacSha256 = Hmac<Sha256>;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// Django's session key alphabet.
const KEY_CHARS: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        acc = acc << 6 | B64.iter().position(|&b| b == c)? as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Django's `salted_hmac` key: sha256(salt + secret), as an HMAC ready to clone.
fn keyed(secret: &str, salt: &str) -> HmacSha256 {
    let key = Sha256::new().chain_update(salt).chain_update(secret).finalize();
    HmacSha256::new_from_slice(&key).expect("any key length")
}

struct Keys {
    secret: String,
    cookie: HmacSha256,
    session: HmacSha256,
}

thread_local! {
    /// The keyed HMACs, derived once per isolate (per secret).
    static KEYS: RefCell<Option<Keys>> = const { RefCell::new(None) };
}

fn macs(secret: &str) -> (HmacSha256, HmacSha256) {
    KEYS.with_borrow_mut(|keys| {
        let k = match keys {
            Some(k) if k.secret == secret => k,
            _ => keys.insert(Keys {
                secret: secret.into(),
                cookie: keyed(secret, "cookie"),
                session: keyed(secret, "session"),
            }),
        };
        (k.cookie.clone(), k.session.clone())
    })
}

fn tag(mut mac: HmacSha256, value: &str) -> String {
    mac.update(value.as_bytes());
    b64_encode(&mac.finalize().into_bytes())
}

fn verify(mut mac: HmacSha256, signed: &str) -> Option<&str> {
    let (value, tag) = signed.rsplit_once(':')?;
    mac.update(value.as_bytes());
    mac.verify_slice(&b64_decode(tag)?).ok()?;
    Some(value)
}

type Data = serde_json::Map<String, serde_json::Value>;

fn load(mac: HmacSha256, stored: &str) -> Option<Data> {
    let payload = verify(mac, stored)?;
    let json = match payload.strip_prefix('.') {
        Some(z) => miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&b64_decode(z)?, 1 << 20).ok()?,
        None => b64_decode(payload)?,
    };
    serde_json::from_slice(&json).ok()
}

/// `key:tag\npayload:tag`: the cookie value and the record to store under `key`.
fn save(data: &Data, key: &str, cookie_mac: HmacSha256, session_mac: HmacSha256) -> Option<String> {
    let json = serde_json::to_vec(data).ok()?;
    // Django's `compress=True`: zlib, kept only when shorter.
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(&json, 6);
    let payload = if packed.len() + 1 < json.len() { format!(".{}", b64_encode(&packed)) } else { b64_encode(&json) };
    let record_tag = tag(session_mac, &payload);
    Some(format!("{key}:{}\n{payload}:{record_tag}", tag(cookie_mac, key)))
}

/// A new session key: 32 characters of Django's alphabet, uniformly drawn.
fn new_key() -> Option<String> {
    let mut key = String::with_capacity(32);
    let mut bytes = [0u8; 48];
    while key.len() < 32 {
        getrandom::fill(&mut bytes).ok()?;
        // 252 = 7 × 36: rejecting the rest keeps every character equally likely.
        key.extend(
            bytes.iter().filter(|&&b| b < 252).take(32 - key.len()).map(|&b| KEY_CHARS[(b % 36) as usize] as char),
        );
    }
    Some(key)
}

/// One step of a request, `op` being
/// * 0 (check): `cookie` is `key:tag`; answers the key when the tag checks;
/// * 1 (read): `stored` is a record; answers the JSON of its `"user"` (or `null`);
/// * 2 (modify): adds 1 to the record's `"n"`; answers `key:tag\nrecord` for the
///   cookie's key;
/// * 3 (create): a new session holding `{"user": "alice"}` under a new key;
///   answers `key:tag\nrecord`.
///
/// `None` when anything does not check.
#[wasm_bindgen]
pub fn step(op: u8, cookie: &str, stored: &str, secret: &str) -> Option<String> {
    let (cookie_mac, session_mac) = macs(secret);
    match op {
        0 => verify(cookie_mac, cookie).map(str::to_owned),
        1 => Some(load(session_mac, stored)?.get("user").map_or_else(|| "null".to_owned(), |v| v.to_string())),
        2 => {
            let (key, _) = cookie.rsplit_once(':')?;
            let mut data = load(session_mac.clone(), stored)?;
            let n = data.get("n").and_then(|n| n.as_i64()).unwrap_or(0);
            data.insert("n".into(), (n + 1).into());
            save(&data, key, cookie_mac, session_mac)
        }
        3 => {
            let mut data = Data::new();
            data.insert("user".into(), "alice".into());
            save(&data, &new_key()?, cookie_mac, session_mac)
        }
        _ => None,
    }
}
