//! The least a wasm module can hold and still read and write a Django session
//! record: one exported function that checks an HMAC-SHA256 tag, unpacks
//! Django's `signing.dumps` payload (base64url, zlib), parses and changes the
//! JSON (key order kept, floats exact), packs and signs it again, and draws a
//! random session key. Nothing here is edge-session's; the module exists to be
//! measured (bench/run.sh, "Size floor"), not run.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::*;

type HmacSha256 = Hmac<Sha256>;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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

fn mac(secret: &str, salt: &str, value: &str) -> HmacSha256 {
    let key = Sha256::new().chain_update(salt).chain_update(secret).finalize();
    let mut m = HmacSha256::new_from_slice(&key).expect("any key length");
    m.update(value.as_bytes());
    m
}

/// `cookie` is `value:tag` (the tag base64url), `stored` is `payload:tag`
/// (a leading `.` marks a zlib payload). Returns the changed record, signed,
/// with a new random key in front, or `None` when anything does not check.
#[wasm_bindgen]
pub fn step(cookie: &str, stored: &str, secret: &str) -> Option<String> {
    let (value, tag) = cookie.rsplit_once(':')?;
    mac(secret, "cookie", value).verify_slice(&b64_decode(tag)?).ok()?;
    let (payload, tag) = stored.rsplit_once(':')?;
    mac(secret, "session", payload).verify_slice(&b64_decode(tag)?).ok()?;
    let json = match payload.strip_prefix('.') {
        Some(z) => miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&b64_decode(z)?, 1 << 20).ok()?,
        None => b64_decode(payload)?,
    };
    let mut data: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&json).ok()?;
    data.insert("n".into(), (data.get("n").and_then(|n| n.as_f64()).unwrap_or(0.0) + 0.5).into());
    let json = serde_json::to_vec(&data).ok()?;
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(&json, 6);
    let payload = if packed.len() < json.len() { format!(".{}", b64_encode(&packed)) } else { b64_encode(&json) };
    let tag = b64_encode(&mac(secret, "session", &payload).finalize().into_bytes());
    let mut key = [0u8; 24];
    getrandom::fill(&mut key).ok()?;
    Some(format!("{}\n{payload}:{tag}", b64_encode(&key)))
}
