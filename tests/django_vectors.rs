//! Django's own signing output (`tests/fixtures/django-signing.json`, made by Django 5.2's
//! `django.core.signing` and `django.contrib.sessions`) decoded, rejected and reproduced by this crate.
//!
//! The fixture's timestamps are fixed in the past, so every check passes "now" explicitly.

use edge_session::prelude::*;
use edge_session::testing::internals::{SigningError, TimestampSigner};
use edge_session::testing::internals::{SESSION_DATA_SALT, SIGNED_COOKIES_SALT};
use serde_json::{Map, Value};

const FIXTURE: &str = include_str!("fixtures/django-signing.json");

/// Django's default `SESSION_COOKIE_AGE`, the `max_age` of the `signed_cookies` engine.
const COOKIE_AGE: i64 = 1_209_600;

struct Fixture {
    secret_key: String,
    fallbacks: Vec<String>,
    signed_cookies_salt: String,
    session_data_salt: String,
    cases: Vec<Case>,
    bad_signed_cookies: Vec<(String, String)>,
}

struct Case {
    name: String,
    data: Value,
    signed_at: i64,
    signed_cookie: String,
    signed_cookie_with_fallback_key: String,
    session_data: String,
    compressed: bool,
}

fn text(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_else(|| panic!("fixture field {field:?} is not a string")).to_owned()
}

fn fixture() -> Fixture {
    let root: Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
    let strings = |field: &str| -> Vec<String> {
        root[field].as_array().expect(field).iter().map(|v| v.as_str().expect(field).to_owned()).collect()
    };
    let cases = root["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            name: text(c, "name"),
            data: c["data"].clone(),
            signed_at: c["signed_at"].as_i64().expect("signed_at"),
            signed_cookie: text(c, "signed_cookie"),
            signed_cookie_with_fallback_key: text(c, "signed_cookie_with_fallback_key"),
            session_data: text(c, "session_data"),
            compressed: c["compressed"].as_bool().expect("compressed"),
        })
        .collect::<Vec<_>>();
    let bad = root["bad_signed_cookies"]
        .as_array()
        .expect("bad_signed_cookies")
        .iter()
        .map(|b| (text(b, "why"), text(b, "token")))
        .collect::<Vec<_>>();
    let f = Fixture {
        secret_key: text(&root, "secret_key"),
        fallbacks: strings("secret_key_fallbacks"),
        signed_cookies_salt: text(&root, "signed_cookies_salt"),
        session_data_salt: text(&root, "session_data_salt"),
        cases,
        bad_signed_cookies: bad,
    };
    // Guard against a fixture that silently tests nothing.
    assert!(f.cases.len() >= 8, "fixture has only {} cases", f.cases.len());
    assert!(f.cases.iter().any(|c| c.compressed) && f.cases.iter().any(|c| !c.compressed));
    assert!(!f.bad_signed_cookies.is_empty() && !f.fallbacks.is_empty());
    f
}

impl Fixture {
    fn cookies_signer(&self) -> TimestampSigner {
        TimestampSigner::new(&self.secret_key, &[], &self.signed_cookies_salt)
    }
    fn data_signer(&self) -> TimestampSigner {
        TimestampSigner::new(&self.secret_key, &[], &self.session_data_salt)
    }
}

/// Equal as values *and* serialised identically (same key order, same number forms).
fn assert_exact(got: &Value, want: &Value, what: &str) {
    assert_eq!(got, want, "{what}: decoded value differs");
    assert_eq!(got.to_string(), want.to_string(), "{what}: decoded value differs in key order or number form");
}

#[test]
fn the_fixture_salts_are_the_crates() {
    let f = fixture();
    assert_eq!(f.signed_cookies_salt, SIGNED_COOKIES_SALT);
    assert_eq!(f.session_data_salt, SESSION_DATA_SALT);
}

#[test]
fn signed_cookies_decode_to_djangos_data() {
    let f = fixture();
    let signer = f.cookies_signer();
    for c in &f.cases {
        let got = signer
            .unsign_object(&c.signed_cookie, None, c.signed_at)
            .unwrap_or_else(|e| panic!("{}: {e} for {:?}", c.name, c.signed_cookie));
        assert_exact(&got.value, &c.data, &c.name);
        assert_eq!(got.timestamp, c.signed_at, "{}: timestamp", c.name);
        assert!(!got.used_fallback, "{}: verified by the current key", c.name);
        assert_eq!(c.compressed, c.signed_cookie.starts_with('.'), "{}: `compressed` vs '.' prefix", c.name);
    }
}

#[test]
fn signed_cookies_honour_max_age() {
    let f = fixture();
    let signer = f.cookies_signer();
    for c in &f.cases {
        let fresh = signer.unsign_object(&c.signed_cookie, Some(COOKIE_AGE), c.signed_at + 10);
        assert_exact(&fresh.unwrap_or_else(|e| panic!("{}: {e}", c.name)).value, &c.data, &c.name);
        let at_limit = signer.unsign_object(&c.signed_cookie, Some(COOKIE_AGE), c.signed_at + COOKIE_AGE);
        assert!(at_limit.is_ok(), "{}: exactly max_age old is still valid (Django: age > max_age)", c.name);
        assert_eq!(
            signer.unsign_object(&c.signed_cookie, Some(COOKIE_AGE), c.signed_at + COOKIE_AGE + 1),
            Err(SigningError::SignatureExpired),
            "{}",
            c.name
        );
    }
}

#[test]
fn fallback_key_cookies_verify_only_when_the_fallback_is_configured() {
    let f = fixture();
    let with = TimestampSigner::new(&f.secret_key, &f.fallbacks, &f.signed_cookies_salt);
    let without = f.cookies_signer();
    for c in &f.cases {
        let token = &c.signed_cookie_with_fallback_key;
        let got =
            with.unsign_object(token, Some(COOKIE_AGE), c.signed_at).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_exact(&got.value, &c.data, &c.name);
        assert!(got.used_fallback, "{}: used_fallback", c.name);
        assert_eq!(got.timestamp, c.signed_at, "{}", c.name);
        assert_eq!(without.unsign_object(token, None, c.signed_at), Err(SigningError::BadSignature), "{}", c.name);
        // A token from the current key is not reported as a fallback one.
        assert!(!with.unsign_object(&c.signed_cookie, None, c.signed_at).unwrap().used_fallback, "{}", c.name);
    }
}

#[test]
fn session_data_decodes_with_the_session_store_salt() {
    let f = fixture();
    let signer = f.data_signer();
    let settings = Settings::from_pairs([("SECRET_KEY", f.secret_key.as_str())]).unwrap();
    let clock = FixedClock::new(1_765_000_000);
    let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock, OsKeySource);
    for c in &f.cases {
        let got =
            signer.unsign_object(&c.session_data, None, c.signed_at).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_exact(&got.value, &c.data, &c.name);
        assert_eq!(got.timestamp, c.signed_at, "{}", c.name);
        assert_eq!(c.compressed, c.session_data.starts_with('.'), "{}: same payload, same zlib choice", c.name);

        let decoded = manager.decode(&c.session_data).unwrap_or_else(|| panic!("{}: SessionManager::decode", c.name));
        assert_exact(&Value::Object(decoded), &c.data, &c.name);

        // The salts keep the two formats apart.
        assert_eq!(f.cookies_signer().unsign_object(&c.session_data, None, 0), Err(SigningError::BadSignature));
        assert_eq!(signer.unsign_object(&c.signed_cookie, None, 0), Err(SigningError::BadSignature));
    }
}

#[test]
fn bad_signed_cookies_are_rejected_without_panicking() {
    let f = fixture();
    let signers = [f.cookies_signer(), TimestampSigner::new(&f.secret_key, &f.fallbacks, &f.signed_cookies_salt)];
    for (why, token) in &f.bad_signed_cookies {
        for signer in &signers {
            for (max_age, now) in [(None, 0), (Some(COOKIE_AGE), 1_765_019_800)] {
                let outcome = std::panic::catch_unwind(|| signer.unsign_object(token, max_age, now));
                let result = outcome.unwrap_or_else(|_| panic!("{why}: unsign_object panicked on {token:?}"));
                // Every entry fails the signature check in Django too (`BadSignature`).
                assert_eq!(result, Err(SigningError::BadSignature), "{why}: {token:?}");
            }
        }
    }
}

#[test]
fn sign_object_reproduces_djangos_tokens() {
    let f = fixture();
    let mut compressed_identical = 0;
    let mut compressed_total = 0;
    for c in &f.cases {
        for (salt, django) in [(&f.signed_cookies_salt, &c.signed_cookie), (&f.session_data_salt, &c.session_data)] {
            let signer = TimestampSigner::new(&f.secret_key, &[], salt);
            let ours = signer.sign_object(&c.data, true, c.signed_at);
            assert_eq!(ours.starts_with('.'), c.compressed, "{} ({salt}): zlib choice differs from Django's", c.name);
            if c.compressed {
                // zlib streams may legitimately differ between implementations;
                // what matters is that the token decodes to the same data.
                let back = signer.unsign_object(&ours, Some(COOKIE_AGE), c.signed_at).unwrap();
                assert_exact(&back.value, &c.data, &c.name);
                compressed_total += 1;
                compressed_identical += usize::from(&ours == django);
            } else {
                assert_eq!(&ours, django, "{} ({salt}): token differs from Django's", c.name);
            }
        }
        let fallback_signer = TimestampSigner::new(&f.fallbacks[0], &[], &f.signed_cookies_salt);
        let ours = fallback_signer.sign_object(&c.data, true, c.signed_at);
        if !c.compressed {
            assert_eq!(ours, c.signed_cookie_with_fallback_key, "{}: fallback-key token", c.name);
        }
    }
    eprintln!("compressed tokens byte-identical to Django's: {compressed_identical}/{compressed_total}");
}

#[test]
fn the_signed_cookies_engine_reads_djangos_cookies() {
    let f = fixture();
    for c in &f.cases {
        let settings =
            Settings::from_pairs([("SESSION_ENGINE", "signed_cookies"), ("SECRET_KEY", f.secret_key.as_str())])
                .unwrap();
        let clock = FixedClock::new(c.signed_at + 5);
        let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock, OsKeySource);
        let mut session = manager.session(Some(format!("sessionid={}", c.signed_cookie).as_bytes()));
        let data = c.data.as_object().expect("session data is a dict");
        pollster::block_on(async {
            for (k, v) in data {
                assert_eq!(session.get(k).await.unwrap().as_ref(), Some(v), "{}: session[{k:?}]", c.name);
            }
            let items = session.items().await.unwrap();
            let want: Vec<(String, Value)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            assert_eq!(items, want, "{}: items() in Django's order", c.name);
            assert_eq!(session.get::<Value>("no-such-key").await.unwrap(), None);
        });
        assert!(!session.modified(), "{}: reading does not modify", c.name);
    }
}

#[test]
fn the_signed_cookies_engine_reads_fallback_key_cookies_only_with_fallbacks() {
    let f = fixture();
    let fallbacks = serde_json::to_string(&f.fallbacks).unwrap();
    for c in f.cases.iter().filter(|c| !c.data.as_object().unwrap().is_empty()) {
        let cookie = format!("sessionid={}", c.signed_cookie_with_fallback_key);
        let read = |pairs: &[(&str, &str)]| -> Map<String, Value> {
            let base = [("SESSION_ENGINE", "signed_cookies"), ("SECRET_KEY", f.secret_key.as_str())];
            let settings = Settings::from_pairs(base.iter().chain(pairs).copied()).unwrap();
            let clock = FixedClock::new(c.signed_at + 5);
            let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock, OsKeySource);
            let mut session = manager.session(Some(cookie.as_bytes()));
            pollster::block_on(session.items()).unwrap().into_iter().collect()
        };
        assert_exact(&Value::Object(read(&[("SECRET_KEY_FALLBACKS", &fallbacks)])), &c.data, &c.name);
        assert!(read(&[]).is_empty(), "{}: without the fallback the cookie is ignored", c.name);
    }
}

#[test]
fn the_signed_cookies_engine_ignores_bad_and_expired_cookies() {
    let f = fixture();
    let settings =
        Settings::from_pairs([("SESSION_ENGINE", "signed_cookies"), ("SECRET_KEY", f.secret_key.as_str())]).unwrap();
    let clock = FixedClock::new(1_765_019_800);
    let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource);
    for (why, token) in &f.bad_signed_cookies {
        let mut session = manager.session(Some(format!("sessionid={token}").as_bytes()));
        assert!(pollster::block_on(session.items()).unwrap().is_empty(), "{why}");
    }
    let c = f.cases.iter().find(|c| !c.data.as_object().unwrap().is_empty()).unwrap();
    clock.set(c.signed_at + COOKIE_AGE + 1);
    let mut session = manager.session(Some(format!("sessionid={}", c.signed_cookie).as_bytes()));
    assert!(pollster::block_on(session.items()).unwrap().is_empty(), "{}: expired after SESSION_COOKIE_AGE", c.name);
}
