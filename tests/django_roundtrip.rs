//! Proof against a real Django (5.2.x) that tokens cross both ways:
//!
//! * tokens made here (`TimestampSigner::sign_object`, and the session engines themselves) are accepted by
//!   `django.core.signing.loads` and by Django's `signed_cookies` / cache `SessionStore`s, to exactly the same data;
//! * tokens made by Django (`signing.dumps(..., compress=True)`, `SessionStore.encode`) are accepted here;
//! * messages added at the edge (`session.messages()`) are listed by Django's `SessionStorage` from the
//!   same `signed_cookies` cookie, and the messages Django's `SessionStorage` stored are read at the edge,
//!   from text byte-identical to what the edge's encoder writes.
//!
//! The Python half is `tests/django_roundtrip.py`; it keeps a virtualenv with Django in
//! `<target dir>/django-venv` (built on the first run, reused after). Without `python3`, or when the
//! virtualenv cannot be built (offline), the test prints `SKIPPED django_roundtrip: ...` and passes;
//! once Django runs, any mismatch fails it.

use edge_session::messages::{self, Message};
use edge_session::prelude::{MemoryStore, OsKeySource, SessionKey, SessionManager, Settings};
use edge_session::testing::internals::TimestampSigner;
use edge_session::testing::internals::{self as expiry, EXPIRY_KEY};
use edge_session::testing::internals::{SESSION_DATA_SALT, SIGNED_COOKIES_SALT};
use edge_session::DateTime;
use edge_session::Expiry;
use edge_session::MAX_COOKIE_BYTES;
use edge_session::{Clock, FixedClock, SystemClock};
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const SECRET_KEY: &str = "roundtrip-secret-N2qv#8x!Lk0pZ@w4-not-used-anywhere-else";
const FALLBACK_KEY: &str = "roundtrip-old-secret-Yb7&Hq2^mT9-rotated-out";
const OTHER_KEY: &str = "a-key-django-does-not-know";
const MAX_AGE: i64 = 1_209_600;
/// The exit status of the Python script when Django cannot be made available.
const SKIP_STATUS: i32 = 77;

/// Written straight to the process's stderr, so it shows even when the test harness captures output.
fn notice(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn skip(reason: &str) {
    notice(&format!("\n*** SKIPPED django_roundtrip: {reason} ***\n"));
}

/// Removes the scratch directory however the test ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The data sets both sides sign: scalars, unicode, nesting, a value big enough to be zlib-compressed,
/// Django's reserved keys, and numbers at the edges of JSON.
fn data_sets(now: i64) -> Vec<(&'static str, Value)> {
    let cart: Vec<Value> = (0..40).map(|i| json!({"sku": format!("SKU-{i}"), "qty": i})).collect();
    let expires = DateTime { unix: now + 86_400, micros: 250_000, offset_minutes: 120 };
    vec![
        ("empty", json!({})),
        ("member", json!({"member_id": 880_977_470})),
        ("scalars", json!({"fav_color": "blue", "has_commented": true, "n": null, "pi": 3.5, "neg": -42, "zero": 0.0})),
        (
            "unicode",
            json!({
                "unicode": "žluťoučký kůň — 日本語 — 🍪",
                "escapes": "quote \" backslash \\ slash / newline \n tab \t nul \u{0} del \u{7f} nbsp \u{a0}",
                "ключ 🔑": "key outside ASCII",
                "list": [1, "two", [3]]
            }),
        ),
        ("nested", json!({"nested": {"a": {"b": {"c": [true, false, null, [[[]]], {}, {"d": [{"e": "f"}]}]}}}})),
        ("compressed", json!({"big": "x".repeat(4000), "cart": cart})),
        (
            "auth",
            json!({
                "_auth_user_id": "84",
                "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                "_auth_user_hash": "1664d30967d7db498d06e84cd73a631730bd40daaae7d5e20e5b3c1a0a0aa5c1",
                "_session_expiry": 3600
            }),
        ),
        ("expiry_datetime", json!({"_session_expiry": expires.to_iso(), "cart": [1, 2]})),
        ("expiry_browser_close", json!({"_session_expiry": 0, "testcookie": "worked"})),
        ("integers", json!({"i64_max": i64::MAX, "i64_min": i64::MIN, "u64_max": u64::MAX})),
        ("floats", json!({"tenth": 0.1, "tiny": 1e-7, "huge": 1e100, "third": 1.0 / 3.0, "neg": -2.5e-300})),
    ]
}

/// Token spec for the Python side.
fn token(name: String, salt: &str, token: String, data: &Value, expect: &str, now: i64) -> Value {
    let stored = data.get(EXPIRY_KEY);
    json!({
        "name": name,
        "salt": salt,
        "token": token,
        "data": data,
        "expect": expect,
        "fallback_only": false,
        "has_expiry": stored.is_some(),
        "expiry_age": expiry::expiry_age(stored, MAX_AGE, now),
        "expire_at_browser_close": expiry::expire_at_browser_close(stored, false),
    })
}

/// Tokens made by this crate's session engines rather than by the signer directly.
fn engine_tokens(now: i64) -> Vec<Value> {
    let clock = FixedClock::new(now);
    let mut out = Vec::new();
    pollster::block_on(async {
        // signed_cookies: the Set-Cookie value of a finished response.
        let settings =
            Settings::from_pairs([("SESSION_ENGINE", "signed_cookies"), ("SECRET_KEY", SECRET_KEY)]).unwrap();
        let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource);
        let mut session = manager.session(None);
        session.set("unicode", json!("žluťoučký kůň 🍪")).await.unwrap();
        session.set("cart", json!([{"sku": "A", "qty": 2}])).await.unwrap();
        session.set_test_cookie().await.unwrap();
        session.set_expiry(Expiry::At(DateTime { unix: now + 7200, micros: 0, offset_minutes: -300 })).await.unwrap();
        let data = Value::Object(session.items().await.unwrap().into_iter().collect());
        let set_cookie = manager.finish(session, 200).await.unwrap().set_cookie.expect("a Set-Cookie");
        let value = set_cookie.split(';').next().unwrap().strip_prefix("sessionid=").unwrap().to_owned();
        out.push(token("engine:signed_cookies".into(), SIGNED_COOKIES_SALT, value, &data, "ok", now));

        // db: the session_data stored in the record.
        let settings = Settings::from_pairs([("SESSION_ENGINE", "db"), ("SECRET_KEY", SECRET_KEY)]).unwrap();
        let store = MemoryStore::new(clock.clone());
        let manager = SessionManager::new(settings, store.clone(), clock.clone(), OsKeySource);
        let mut session = manager.new_session();
        session.set("member_id", json!(7)).await.unwrap();
        session.set("big", json!("y".repeat(3000))).await.unwrap();
        session.set_expiry(Expiry::Seconds(600)).await.unwrap();
        let data = Value::Object(session.items().await.unwrap().into_iter().collect());
        manager.save(&mut session).await.unwrap();
        let key = SessionKey::parse(session.session_key().expect("a key after save")).unwrap();
        let record = store.raw(&key).expect("the saved record");
        out.push(token("engine:db".into(), SESSION_DATA_SALT, record.data, &data, "ok", now));
    });
    out
}

fn target_dir() -> PathBuf {
    // `<target dir>/tmp`, honouring CARGO_TARGET_DIR and build.target-dir.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"), Path::to_path_buf)
}

fn exact(got: &Value, want: &Value) -> bool {
    // Also compared as text: equal maps may still differ in key order, and 1 vs 1.0 matters to Python.
    got == want && serde_json::to_string(got).ok() == serde_json::to_string(want).ok()
}

fn signed_manager() -> SessionManager<MemoryStore> {
    let settings = Settings::from_pairs([("SESSION_ENGINE", "signed_cookies"), ("SECRET_KEY", SECRET_KEY)]).unwrap();
    let clock = SystemClock;
    SessionManager::new(settings, MemoryStore::new(clock), clock, OsKeySource)
}

/// A `signed_cookies` cookie value holding messages added at the edge, and
/// the messages as `{"level", "message", "extra_tags"}`.
fn edge_messages() -> (String, Value) {
    let manager = signed_manager();
    let mut session = manager.session(None);
    let mut m = session.messages();
    assert!(m.add(messages::SUCCESS, "Added “Earl Grey” to your cart 🍵", "cart"));
    assert!(m.warning("Only 2 left"));
    assert!(m.add(55, "A custom level", "a b"));
    assert!(!m.debug("below MESSAGE_LEVEL"));
    let set_cookie = pollster::block_on(manager.finish(session, 200)).unwrap().set_cookie.unwrap();
    let token = set_cookie.split(';').next().unwrap().strip_prefix("sessionid=").unwrap().to_owned();
    let expected = json!([
        {"level": 25, "message": "Added “Earl Grey” to your cart 🍵", "extra_tags": "cart"},
        {"level": 30, "message": "Only 2 left", "extra_tags": ""},
        {"level": 55, "message": "A custom level", "extra_tags": "a b"},
    ]);
    (token, expected)
}

#[test]
fn django_accepts_our_tokens_and_we_accept_djangos() {
    let started = Instant::now();
    match Command::new("python3").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(s) if s.success() => {}
        Ok(s) => return skip(&format!("python3 --version failed ({s})")),
        Err(e) => return skip(&format!("python3 not found ({e})")),
    }

    let now = SystemClock.now();
    let salts = [SIGNED_COOKIES_SALT, SESSION_DATA_SALT];
    let sets = data_sets(now);
    let mut tokens = Vec::new();
    for (name, data) in &sets {
        for salt in salts {
            let signer = TimestampSigner::new(SECRET_KEY, &[], salt);
            let t = signer.sign_object(data, true, now);
            if *name == "compressed" {
                assert!(t.starts_with('.'), "the big value is zlib-compressed");
            }
            tokens.push(token(format!("{name}@{salt}"), salt, t, data, "ok", now));
        }
    }
    // Signed only with a key Django knows as SECRET_KEY_FALLBACKS[0].
    for (name, data) in sets.iter().filter(|(n, _)| ["unicode", "compressed", "auth"].contains(n)) {
        for salt in salts {
            let t = TimestampSigner::new(FALLBACK_KEY, &[], salt).sign_object(data, true, now);
            let mut spec = token(format!("fallback:{name}@{salt}"), salt, t, data, "ok", now);
            spec["fallback_only"] = json!(true);
            tokens.push(spec);
        }
    }
    tokens.extend(engine_tokens(now));
    // Negative controls: Django must refuse these, or the harness proves nothing.
    let (_, member) = &sets[1];
    let signer = TimestampSigner::new(SECRET_KEY, &[], SIGNED_COOKIES_SALT);
    let expired = signer.sign_object(member, true, now - MAX_AGE - 60);
    tokens.push(token("control:expired".into(), SIGNED_COOKIES_SALT, expired, member, "expired", now));
    let foreign = TimestampSigner::new(OTHER_KEY, &[], SIGNED_COOKIES_SALT).sign_object(member, true, now);
    tokens.push(token("control:unknown-key".into(), SIGNED_COOKIES_SALT, foreign, member, "bad_signature", now));
    let swapped = TimestampSigner::new(SECRET_KEY, &[], SESSION_DATA_SALT).sign_object(member, true, now);
    tokens.push(token("control:other-salt".into(), SIGNED_COOKIES_SALT, swapped, member, "bad_signature", now));

    let (edge_messages, expected_messages) = edge_messages();
    let spec = json!({
        "edge_messages": { "token": edge_messages, "expected": expected_messages },
        "secret_key": SECRET_KEY,
        "secret_key_fallbacks": [FALLBACK_KEY],
        "max_age": MAX_AGE,
        "now": now,
        "signed_cookies_salt": SIGNED_COOKIES_SALT,
        "session_data_salt": SESSION_DATA_SALT,
        "tokens": tokens,
        "django_inputs": sets.iter().map(|(name, data)| json!({"name": name, "data": data})).collect::<Vec<_>>(),
    });

    let scratch =
        Scratch(Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("django-roundtrip-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0).unwrap();
    let input = scratch.0.join("input.json");
    let output = scratch.0.join("output.json");
    std::fs::write(&input, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django_roundtrip.py");
    let venv = target_dir().join("django-venv");
    let status = Command::new("python3")
        .arg(&script)
        .arg("--venv")
        .arg(&venv)
        .arg(&input)
        .arg(&output)
        .stdin(Stdio::null())
        .status()
        .expect("python3 runs");
    let report: Option<Value> = std::fs::read(&output).ok().and_then(|b| serde_json::from_slice(&b).ok());
    if status.code() == Some(SKIP_STATUS) {
        let reason = report.as_ref().and_then(|r| r["reason"].as_str()).unwrap_or("Django unavailable").to_owned();
        let reason = reason.lines().last().unwrap_or_default().to_owned();
        return skip(&format!("could not set up Django in {}: {reason}", venv.display()));
    }
    assert!(status.success(), "{} failed: {status}", script.display());
    let report = report.expect("the script's JSON report");
    assert_eq!(report["status"], "ok", "{report}");

    // Python's side: every check passed.
    let results = report["results"].as_array().expect("results");
    let failed: Vec<&Value> = results.iter().filter(|r| r["ok"] != true).collect();
    for f in &failed {
        notice(&format!("FAILED in Django: {} {}", f["name"], f["detail"]));
    }
    assert!(failed.is_empty(), "{} of {} checks failed in Django", failed.len(), results.len());
    let loads = results.iter().filter(|r| r["name"].as_str().is_some_and(|n| n.starts_with("loads:"))).count();
    assert_eq!(loads, tokens.len(), "every token was checked by signing.loads");

    // Our side: every Django token verifies to exactly its data.
    let django_tokens = report["django_tokens"].as_array().expect("django_tokens");
    assert!(django_tokens.len() >= sets.len() * 4, "Django made tokens for every data set");
    let mut differing = Vec::new();
    for t in django_tokens {
        let (name, salt, tok, data) =
            (&t["name"], t["salt"].as_str().unwrap(), t["token"].as_str().unwrap(), &t["data"]);
        let fallback = t["key"] == "fallback";
        let signer = TimestampSigner::new(SECRET_KEY, &[FALLBACK_KEY.to_owned()], salt);
        let got = signer
            .unsign_object(tok, Some(MAX_AGE), SystemClock.now())
            .unwrap_or_else(|e| panic!("Django's token for {name} ({salt}) refused: {e}: {tok}"));
        assert!(exact(&got.value, data), "{name} ({salt}): got {} want {data}", got.value);
        assert_eq!(got.used_fallback, fallback, "{name} ({salt}): used_fallback");
        if fallback {
            let strict = TimestampSigner::new(SECRET_KEY, &[], salt);
            assert!(strict.unsign_object(tok, None, 0).is_err(), "{name}: needs the fallback");
        } else if !tok.starts_with('.') {
            // Uncompressed: the same JSON bytes, so the same token at the same timestamp.
            let compress = t["compress"] != false;
            let ours = TimestampSigner::new(SECRET_KEY, &[], salt).sign_object(data, compress, got.timestamp);
            if ours != tok {
                differing.push(format!("{name} ({salt}): Django {tok} / ours {ours}"));
            }
        }
        if salt == SESSION_DATA_SALT {
            let settings = Settings::from_pairs([("SECRET_KEY", SECRET_KEY)]).unwrap();
            let clock = FixedClock::new(now);
            let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock, OsKeySource);
            let decoded = manager.decode(tok).unwrap_or_else(|| panic!("SessionManager::decode({name})"));
            assert!(exact(&Value::Object(decoded), data), "{name}: SessionManager::decode");
        } else if !fallback {
            // The signed_cookies engine reads Django's cookie (a datetime expiry is a day ahead).
            let settings =
                Settings::from_pairs([("SESSION_ENGINE", "signed_cookies"), ("SECRET_KEY", SECRET_KEY)]).unwrap();
            let clock = FixedClock::new(SystemClock.now());
            let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock, OsKeySource);
            let mut session = manager.session(Some(format!("sessionid={tok}").as_bytes()));
            let items: Map<String, Value> = pollster::block_on(session.items()).unwrap().into_iter().collect();
            if tok.len() < MAX_COOKIE_BYTES - "sessionid=".len() {
                assert!(exact(&Value::Object(items), data), "{name}: the signed_cookies engine read Django's cookie");
            } else {
                assert!(items.is_empty(), "{name}: a cookie larger than a browser keeps is ignored");
            }
        }
    }
    // Python writes floats in exponent form as `1e-07` / `1e+100`, serde_json as `1e-7` / `1e100`: both
    // sides read either, but those tokens are not byte-identical. Everything else must be.
    for d in &differing {
        notice(&format!("note: not byte-identical to Django: {d}"));
    }
    assert!(differing.iter().all(|d| d.starts_with("\"floats\"")), "tokens differ from Django's: {differing:#?}");

    // Django's messages, read at the edge, and the text its encoder stored is the edge's encoder's.
    let django_messages = &report["django_messages"];
    let manager = signed_manager();
    let cookie = format!("sessionid={}", django_messages["token"].as_str().expect("Django's token"));
    let mut session = manager.session(Some(cookie.as_bytes()));
    let got: Vec<Value> = pollster::block_on(session.messages().get()).unwrap().iter().map(Message::to_json).collect();
    assert_eq!(Value::from(got.clone()), expected_messages, "the edge reads the messages Django stored");
    let ours = edge_session::messages::encode(
        &pollster::block_on(manager.session(Some(cookie.as_bytes())).messages().get()).unwrap(),
    );
    assert_eq!(django_messages["stored"].as_str(), Some(ours.as_str()), "byte for byte Django's MessageEncoder");

    notice(&format!(
        "django_roundtrip: Django {} accepted {} tokens of ours ({} checks); we accepted {} of Django's; {:.1}s",
        report["django_version"].as_str().unwrap_or("?"),
        tokens.len(),
        results.len(),
        django_tokens.len(),
        started.elapsed().as_secs_f64()
    ));
}
