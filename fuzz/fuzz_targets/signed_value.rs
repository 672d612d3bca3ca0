//! The signed-value decoders: Django's `signing.loads`
//! (`TimestampSigner::unsign_object`) and the server-side cookie value
//! (`CookieSigner::verify`).
//!
//! Input: any bytes, read as a token (`payload:timestamp:signature`, as in
//! Django's vectors), as a cookie value (`KEY.VERSION.MAC`) and as JSON.
//! Checked on every input:
//! * `unsign_object` under Django's vectors' secret (and fallback) never
//!   panics, and what verifies re-signs and verifies to the same value;
//! * the token's payload re-signed with the current key always passes the
//!   signature check, so the base64 / zlib / JSON decoding behind it is
//!   fuzzed too: it yields a value or `BadPayload`, never anything else;
//! * `CookieSigner::verify` accepts only the canonical value it would sign;
//! * any JSON value round-trips through `sign_object` / `unsign_object`
//!   (compressed or not), so Python-style serialisation loses nothing.
#![no_main]

use edge_session::testing::internals::CookieSigner;
use edge_session::testing::internals::{SESSION_DATA_SALT, SIGNED_COOKIES_SALT};
use edge_session::testing::internals::{to_python_json, SigningError, TimestampSigner};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const FIXTURE: &str = include_str!("../../tests/fixtures/django-signing.json");
const NOW: i64 = 1_765_019_800;
const AGE: i64 = 1_209_600;

struct Rig {
    cookies: TimestampSigner,
    data: TimestampSigner,
    cookie: CookieSigner,
}

fn rig() -> Rig {
    let fixture: Value = serde_json::from_str(FIXTURE).expect("fixture");
    let secret = fixture["secret_key"].as_str().expect("secret").to_owned();
    let fallbacks: Vec<String> = fixture["secret_key_fallbacks"]
        .as_array()
        .expect("fallbacks")
        .iter()
        .map(|v| v.as_str().expect("fallback").to_owned())
        .collect();
    Rig {
        cookies: TimestampSigner::new(&secret, &fallbacks, SIGNED_COOKIES_SALT),
        data: TimestampSigner::new(&secret, &fallbacks, SESSION_DATA_SALT),
        cookie: CookieSigner::new("sessionid", &secret, &fallbacks),
    }
}

thread_local! {
    static RIG: Rig = rig();
}

/// `value` survives `sign_object` + `unsign_object` under `signer`.
fn round_trips(signer: &TimestampSigner, value: &Value, compress: bool) {
    let token = signer.sign_object(value, compress, NOW);
    let back = signer.unsign_object(&token, Some(AGE), NOW).expect("a fresh token verifies");
    assert!(back.value == *value, "token {token}: {} != {value}", back.value);
    assert!(!back.used_fallback);
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    RIG.with(|rig| {
        for signer in [&rig.cookies, &rig.data] {
            if let Ok(unsigned) = signer.unsign_object(&text, Some(AGE), NOW) {
                round_trips(signer, &unsigned.value, true);
            }
            let _ = signer.unsign(&text, None, NOW);
        }

        // The payload of a `payload:ts:sig` token (or the whole input), signed
        // for real: the decoders behind the signature check get fuzzed.
        let payload = text.rsplitn(3, ':').last().unwrap_or_default();
        let token = rig.cookies.sign(payload, NOW);
        match rig.cookies.unsign_object(&token, Some(AGE), NOW) {
            Ok(unsigned) => {
                let json = to_python_json(&unsigned.value);
                let back = serde_json::from_str::<Value>(&json).expect("what we write is JSON");
                assert!(back == unsigned.value, "{json}");
            }
            Err(e) => assert_eq!(e, SigningError::BadPayload, "{token}"),
        }

        if let Some(c) = rig.cookie.verify(data) {
            if !c.used_fallback {
                assert_eq!(rig.cookie.sign(&c.key, c.version).as_bytes(), data, "only the canonical value verifies");
            }
        }

        if let Ok(value) = serde_json::from_slice::<Value>(data) {
            round_trips(&rig.cookies, &value, true);
            round_trips(&rig.data, &value, false);
        }
    });
});
