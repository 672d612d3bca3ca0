//! Hostile input, each with its stated outcome: malformed, forged
//! and oversized cookies are refused before any store is asked; oversized
//! data is a clear error with nothing half-written; non-JSON values never get
//! in. The same inputs seed the fuzz targets (`fuzz/seeds/`).

mod common;

use common::{ops, Files, Harness, Jar, Rig, START};
use edge_session::counters;
use edge_session::ops::OpsRequest;
use edge_session::prelude::*;
use edge_session::store::cache::{CacheEngine, CachedDbStore};
use edge_session::testing::internals::b64_encode;
use edge_session::testing::internals::SaltedHmac;
use edge_session::testing::internals::MAX_HEADER_BYTES;
use edge_session::testing::{cost_of, FakeKv, FakeObject};
use edge_session::MAX_DECOMPRESSED;
use edge_session::MAX_RECORD_BYTES;
use serde_json::{json, Value};

type CachedDb = CachedDbStore<FakeKv, FakeObject>;

fn cached_db() -> Rig<CachedDb> {
    let clock = FixedClock::new(START);
    let store = CachedDbStore::new(FakeKv::consistent(clock.clone()), FakeObject::memory(clock.clone()), clock.clone());
    Rig::with_store(clock, store, &[("SESSION_ENGINE", "cached_db")])
}

fn cache() -> Rig<CacheEngine<FakeKv>> {
    let clock = FixedClock::new(START);
    Rig::with_store(
        clock.clone(),
        CacheEngine::new(FakeKv::consistent(clock.clone()), clock),
        &[("SESSION_ENGINE", "cache")],
    )
}

fn login<S: SessionStore + Clone>(rig: &Rig<S>) -> Jar {
    let mut jar = Jar::default();
    let r = rig.request(None, async |s| {
        s.set("user", json!("ada")).await.unwrap();
        200
    });
    assert_eq!(r.status, 200);
    jar.update(&r);
    jar
}

/// The `KEY.VERSION.MAC` part of a jar's cookie.
fn value(jar: &Jar) -> String {
    jar.header().unwrap().strip_prefix("sessionid=").unwrap().to_owned()
}

/// What a read-only request saw: the `user`, and what it cost.
fn read_user<S: SessionStore + Clone>(rig: &Rig<S>, header: &[u8]) -> (Option<Value>, common::Response) {
    let mut user = None;
    let r = rig.request_bytes(Some(header), async |s| {
        user = s.get("user").await.unwrap();
        200
    });
    (user, r)
}

/// A correctly MACed cookie value for any `key` text, as `CookieSigner::sign`
/// would make it if it accepted any key (src/key.rs: salted_hmac over
/// `KEY.VERSION`, salted with the cookie name, the first 128 bits).
fn mac_any(key: &str, version: &str) -> String {
    let signed = format!("{key}.{version}");
    let mac = SaltedHmac::new("edge_session.cookie:sessionid", common::SECRET).mac(signed.as_bytes());
    format!("{signed}.{}", b64_encode(&mac[..16]))
}

/// A deterministic xorshift stream (no `rand` dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| char::from(alphabet[(self.next() % alphabet.len() as u64) as usize])).collect()
    }
}

const KEY_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const B64_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[test]
fn a_comma_never_separates_cookies() {
    let h = Harness::new(&[]);
    let jar = login(&h);
    let (user, r) = read_user(&h, format!("a=1, sessionid={}", value(&jar)).as_bytes());
    assert_eq!(user, None, "`sessionid=...` is part of the value of `a`");
    assert_eq!((r.ops.storage_ops(), r.crypto_calls), (0, 0));
    assert_eq!(r.set_cookie, None, "the request carried no session cookie, so none is deleted");
    // With `;` it is a cookie.
    let (user, r) = read_user(&h, format!("a=1; sessionid={}", value(&jar)).as_bytes());
    assert_eq!((user, r.ops), (Some(json!("ada")), ops("do_call=1")));
}

#[test]
fn unicode_whitespace_before_the_name_makes_another_name() {
    let h = Harness::new(&[]);
    let jar = login(&h);
    for ws in ["\u{a0}", "\u{2003}", "\u{3000}", "\u{feff}", "\u{2028}", "\u{200b}", "\u{85}", "\u{b}", "\u{c}"] {
        let (user, r) = read_user(&h, format!("{ws}sessionid={}", value(&jar)).as_bytes());
        assert_eq!(user, None, "{ws:?}");
        assert_eq!((r.ops.storage_ops(), r.crypto_calls, r.set_cookie), (0, 0, None), "{ws:?}");
    }
    // Only space and tab are trimmed (RFC 6265).
    let (user, r) = read_user(&h, format!(" \t sessionid={} \t", value(&jar)).as_bytes());
    assert_eq!((user, r.ops), (Some(json!("ada")), ops("do_call=1")));
}

#[test]
fn control_characters_in_the_value_are_refused_before_any_mac_or_store() {
    let h = Harness::new(&[]);
    let jar = login(&h);
    let v = value(&jar);
    let (key_part, rest) = v.split_at(10);
    for bad in [
        format!("{v}\0"),
        format!("\0{v}"),
        format!("{key_part}\u{7f}{rest}"),
        format!("{key_part}\u{1}{rest}"),
        format!("{v}\r\n"),
        format!("{v}\u{1b}[0m"),
    ] {
        let (user, r) = read_user(&h, format!("sessionid={bad}").as_bytes());
        assert_eq!(user, None, "{bad:?}");
        assert_eq!((r.ops.storage_ops(), r.crypto_calls), (0, 0), "{bad:?}");
        assert!(r.deletes_cookie(), "a bad session cookie is deleted: {bad:?}");
    }
    // A control character before the name makes another name: nothing to delete.
    let (user, r) = read_user(&h, format!("\u{1}sessionid={v}").as_bytes());
    assert_eq!((user, r.ops.storage_ops(), r.set_cookie), (None, 0, None));
    // Control characters in another cookie do not spoil the header.
    let (user, r) = read_user(&h, format!("x=\0\u{1}\u{7f}; sessionid={v}").as_bytes());
    assert_eq!((user, r.ops), (Some(json!("ada")), ops("do_call=1")));
}

#[test]
fn invalid_utf8_in_the_value_is_refused_and_elsewhere_is_harmless() {
    let h = Harness::new(&[]);
    let jar = login(&h);
    let v = value(&jar);
    for bad in [&b"\xff\xfe"[..], b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"] {
        let mut header = b"sessionid=".to_vec();
        header.extend_from_slice(bad);
        header.extend_from_slice(v.as_bytes());
        let (user, r) = read_user(&h, &header);
        assert_eq!((user, r.ops.storage_ops(), r.crypto_calls), (None, 0, 0), "{bad:?}");
        // ...also when the bytes replace part of an otherwise valid value.
        let mut header = format!("sessionid={}", &v[..40]).into_bytes();
        header.extend_from_slice(bad);
        header.extend_from_slice(&v.as_bytes()[40 + bad.len().min(4)..]);
        let (user, r) = read_user(&h, &header);
        assert_eq!((user, r.ops.storage_ops(), r.crypto_calls), (None, 0, 0), "{bad:?}");
    }
    let mut header = b"\xff\xfe=\xc3\x28; ".to_vec();
    header.extend_from_slice(format!("sessionid={v}").as_bytes());
    let (user, r) = read_user(&h, &header);
    assert_eq!((user, r.ops), (Some(json!("ada")), ops("do_call=1")), "another cookie's bytes do not matter");
}

#[test]
fn fifty_duplicate_session_cookies_cost_at_most_one_mac_and_the_first_wins() {
    let h = Harness::new(&[]);
    let jar = login(&h);
    let v = value(&jar);
    let forged = format!("{}.1.AAAAAAAAAAAAAAAAAAAAAA", &v[..32]);
    let header = |values: Vec<&str>| values.iter().map(|v| format!("sessionid={v}")).collect::<Vec<_>>().join("; ");

    let mut first_valid = vec![v.as_str()];
    first_valid.extend(std::iter::repeat_n(forged.as_str(), 49));
    let (user, r) = read_user(&h, header(first_valid).as_bytes());
    assert_eq!(user, Some(json!("ada")));
    assert_eq!((r.ops, r.crypto_calls), (ops("do_call=1"), 2), "one MAC for the cookie, one for the data");

    let mut last_valid = vec![forged.as_str(); 49];
    last_valid.push(v.as_str());
    let (user, r) = read_user(&h, header(last_valid).as_bytes());
    assert_eq!(user, None, "the first cookie wins, even when a later one is valid");
    assert_eq!((r.ops.storage_ops(), r.crypto_calls), (0, 1), "only the first value is checked");
    assert!(r.deletes_cookie());

    let mut malformed = vec!["../../etc"; 49];
    malformed.push(v.as_str());
    let (user, r) = read_user(&h, header(malformed).as_bytes());
    assert_eq!((user, r.ops.storage_ops(), r.crypto_calls), (None, 0, 0));
}

#[test]
fn a_one_mebibyte_cookie_header_is_ignored_whole() {
    let h = Harness::new(&[]);
    let jar = login(&h);
    let mut header = format!("sessionid={}; pad=", value(&jar)).into_bytes();
    header.resize(1 << 20, b'a');
    let start = std::time::Instant::now();
    for _ in 0..100 {
        let (user, r) = read_user(&h, &header);
        assert_eq!(user, None);
        assert_eq!((r.ops.storage_ops(), r.crypto_calls, r.set_cookie), (0, 0, None));
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "{:?} for 100 requests", start.elapsed());
    // The cut-off is Cloudflare's 32 KiB: a header of exactly that size is read.
    header.truncate(MAX_HEADER_BYTES);
    let (user, r) = read_user(&h, &header);
    assert_eq!((user, r.ops), (Some(json!("ada")), ops("do_call=1")));
    header.push(b'a');
    let (user, _) = read_user(&h, &header);
    assert_eq!(user, None);
}

/// 10,000 random well-shaped cookie values (`KEY.VERSION.MAC` with a random
/// key, version and MAC) and 10,000 random bare keys, on every server-side
/// engine: no storage read at all, at most one MAC each, nothing created.
#[test]
fn ten_thousand_random_keys_cost_no_storage_read() {
    fn run<S: SessionStore + Clone>(rig: &Rig<S>) {
        let _jar = login(rig);
        let before = counters();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut macs = 0;
        for i in 0..10_000 {
            let key = rng.pick(KEY_ALPHABET, 32);
            let shaped = format!("{key}.{}.{}", rng.next() % 1000, rng.pick(B64_ALPHABET, 22));
            for v in [shaped, key] {
                let (user, r) = read_user(rig, format!("sessionid={v}").as_bytes());
                assert_eq!(user, None, "{i}");
                assert_eq!(r.ops.storage_ops(), 0, "{i}: {v}");
                assert!(r.deletes_cookie());
                macs += r.crypto_calls;
            }
        }
        assert_eq!(macs, 10_000, "one MAC per well-shaped value, none for a bare key");
        assert_eq!(counters().since(&before).storage_ops(), 0, "no read, write or delete");
    }
    let h = Harness::new(&[]);
    run(&h);
    assert_eq!(h.store.len(), 1);
    let c = cached_db();
    run(&c);
    assert_eq!(c.store.durable().len(), 1);
    run(&cache());
    let f = Files::rig(&[]);
    run(&f);
    assert_eq!(f.store.bucket.len(), 1);
}

#[test]
fn keys_of_the_wrong_length_or_alphabet_are_refused_even_when_correctly_signed() {
    let h = Harness::new(&[]);
    let _jar = login(&h);
    let bad_keys = [
        "abcdefghijklmnopqrstuvwxyz01234",   // 31
        "abcdefghijklmnopqrstuvwxyz0123456", // 33
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
        "abcdefghijklmnopqrstuvwxyz-12345",
        "abcdefghijklmnopqrstuvwxyz_12345",
        "../../../../../../../../etc/pass", // 32 characters of path traversal
        "..",                               // `..` alone
        "/",
        "abcdefghijklmnop/rstuvwxyz012345",
        "abcdefghijklmnopqrstuvwxyz01234.", // a dot inside the key
        "%2e%2e%2fabcdefghijklmnopqrstuvw",
        "äöüäöüäöüäöüäöüä", // 32 bytes, 16 characters
        "abcdefghijklmnopqrstuvwxyz01234\u{0}",
        "",
    ];
    for key in bad_keys {
        for version in ["1", "01", "-1", "18446744073709551616", ""] {
            let v = mac_any(key, version);
            let (user, r) = read_user(&h, format!("sessionid={v}").as_bytes());
            assert_eq!(user, None, "{v:?}");
            assert_eq!((r.ops.storage_ops(), r.crypto_calls), (0, 0), "refused on shape, before the MAC: {v:?}");
        }
        // Outside a request, a bad key opens an empty session...
        let mut s = h.manager.open(key);
        assert_eq!(s.session_key(), None, "{key:?}");
        let (_, cost) = cost_of(|| {
            pollster::block_on(async {
                assert_eq!(s.get::<Value>("user").await.unwrap(), None);
                s.set("x", json!(1)).await.unwrap();
                h.manager.save(&mut s).await.unwrap();
            })
        });
        assert_eq!(cost.storage_ops(), 1, "the create alone: no read for a malformed key");
        // ...and saving it makes a fresh, well-formed key.
        let saved = s.session_key().unwrap().to_owned();
        assert!(SessionKey::parse(&saved).is_some() && saved != key);
    }
    // A well-formed key with a valid MAC but no record: one read, never adopted.
    let v = mac_any("abcdefghijklmnopqrstuvwxyz012345", "1");
    let mut jar = Jar::default();
    let r = h.request(Some(&format!("sessionid={v}")), async |s| {
        assert_eq!(s.get::<Value>("user").await.unwrap(), None);
        s.set("x", json!(1)).await.unwrap();
        200
    });
    assert_eq!(r.ops, ops("do_call=2"), "one read, then the create");
    jar.update(&r);
    assert_ne!(jar.key().as_deref(), Some("abcdefghijklmnopqrstuvwxyz012345"));
}

/// Random letters: zlib leaves them at about 60% of their size.
fn noise(len: usize) -> String {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    rng.pick(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", len)
}

#[test]
fn oversized_session_data_is_a_clear_error_and_nothing_is_half_written() {
    /// `read`: what reading the session costs on the rig's engine.
    fn run<S: SessionStore + Clone>(rig: &Rig<S>, read: &str, raw: impl Fn(&SessionKey) -> Option<Record>) {
        let blob = noise(2 * MAX_RECORD_BYTES);
        // An existing session keeps its record, byte for byte.
        let jar = login(rig);
        let key = SessionKey::parse(&jar.key().unwrap()).unwrap();
        let before = raw(&key).expect("saved");
        let r = rig.request(jar.header(), async |s| {
            s.set("blob", json!(blob)).await.unwrap();
            200
        });
        assert!(matches!(r.error, Some(FinishError::TooLarge { bytes }) if bytes > MAX_RECORD_BYTES), "{:?}", r.error);
        let message = r.error.as_ref().unwrap().to_string();
        assert!(message.contains("over the limit of 1048576") && message.contains("nothing was saved"), "{message}");
        assert_eq!((r.status, r.set_cookie.as_deref()), (500, None));
        assert_eq!(r.ops, ops(read), "the read, and nothing written anywhere");
        assert_eq!(raw(&key), Some(before));
        let (user, _) = read_user(rig, jar.header().unwrap().as_bytes());
        assert_eq!(user, Some(json!("ada")));
        // A new session: no record, no cookie.
        let r = rig.request(None, async |s| {
            s.set("blob", json!(blob)).await.unwrap();
            200
        });
        assert!(matches!(r.error, Some(FinishError::TooLarge { .. })));
        assert_eq!((r.set_cookie, r.ops.storage_ops()), (None, 0));
    }
    let h = Harness::new(&[]);
    run(&h, "do_call=1", |k| h.store.raw(k));
    assert_eq!(h.store.len(), 1);
    let c = cached_db();
    run(&c, "kv_get=1", |k| c.store.durable().raw(k));
    assert_eq!(c.store.durable().len(), 1);
    let k = cache();
    run(&k, "kv_get=1", |key| k.store.cache().origin_latest(key));
    let f = Files::rig(&[]);
    run(&f, "r2_get=1", |k| f.store.raw(k));
    assert_eq!(f.store.bucket.len(), 1);
}

/// Data that compresses well past the inflate limit (2 MiB of one letter is
/// a few kilobytes of zlib) used to be saved, answered 200 with a cookie, and
/// never loaded again: a silent logout and an orphaned record. It is refused
/// like any oversized data, on every engine; a `signed_cookies` session of
/// 1.5 MB of one letter (a cookie of ~2 KB) too.
#[test]
fn data_that_compresses_past_the_inflate_limit_is_refused_on_every_engine() {
    /// `read`: what reading the session costs on the rig's engine.
    fn run<S: SessionStore + Clone>(rig: &Rig<S>, what: &str, read: &str) {
        for len in [2 * MAX_RECORD_BYTES, 1_500_000] {
            let blob = "a".repeat(len);
            let jar = login(rig);
            let r = rig.request(jar.header(), async |s| {
                s.set("blob", json!(blob)).await.unwrap();
                200
            });
            assert!(matches!(r.error, Some(FinishError::TooLarge { .. })), "{what} {len}: {:?}", r.error);
            assert_eq!((r.status, r.set_cookie.as_deref()), (500, None), "{what} {len}");
            assert_eq!(r.ops, ops(read), "{what} {len}: the read, and nothing written");
            let (user, _) = read_user(rig, jar.header().unwrap().as_bytes());
            assert_eq!(user, Some(json!("ada")), "{what} {len}: the old session is intact");
        }
        // Just under the limit, compressed, saves and loads back.
        let blob = "a".repeat(MAX_DECOMPRESSED - 100);
        let mut jar = Jar::default();
        jar.update(&rig.request(None, async |s| {
            s.set("blob", json!(blob)).await.unwrap();
            200
        }));
        let mut got = None;
        rig.request(jar.header(), async |s| {
            got = s.get("blob").await.unwrap();
            200
        });
        assert_eq!(got.as_ref().and_then(Value::as_str).map(str::len), Some(MAX_DECOMPRESSED - 100), "{what}");
    }
    run(&Harness::new(&[]), "db", "do_call=1");
    run(&cached_db(), "cached_db", "kv_get=1");
    run(&cache(), "cache", "kv_get=1");
    run(&Files::rig(&[]), "file", "r2_get=1");
    run(&Harness::new(&[("SESSION_ENGINE", "signed_cookies")]), "signed_cookies", "");
}

#[test]
fn data_just_under_the_limit_is_saved() {
    let h = Harness::new(&[]);
    let mut jar = Jar::default();
    // ~600 KiB of letters: ~480 KiB compressed, ~640 KiB in base64.
    let blob = noise(600 * 1024);
    let r = h.request(None, async |s| {
        s.set("blob", json!(blob)).await.unwrap();
        200
    });
    assert_eq!((r.status, &r.error), (200, &None));
    jar.update(&r);
    let mut got = None;
    h.request(jar.header(), async |s| {
        got = s.get("blob").await.unwrap();
        200
    });
    assert_eq!(got, Some(json!(blob)));
}

/// `Session::set` takes a `serde_json::Value`, so a Rust handler can only
/// store JSON. At the ops endpoint (and in any handler that parses a body with
/// serde_json), what is not JSON is refused whole before the session is touched.
#[test]
fn non_json_values_are_refused_before_the_session_is_touched() {
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    for value in [
        "NaN",
        "Infinity",
        "-Infinity",
        "undefined",
        "'single'",
        "\"\\ud800\"", // a lone surrogate (Python's json accepts it; JSON text cannot carry it)
        "\"\\udc00x\"",
        "1e400",
        "-1e400",
        "0x10",
        "01",
        "[1,]",
        "{\"a\":1,}",
        "/* comment */ 1",
        "\"\u{1}\"", // a raw control character in a string
        &deep,       // nesting past serde_json's limit of 128: refused, no stack overflow
    ] {
        let body = format!(r#"{{"ops":[{{"op":"set","key":"x","value":{value}}}]}}"#);
        let refused = OpsRequest::parse(body.as_bytes());
        assert!(refused.is_err(), "{}", &value[..value.len().min(40)]);
        assert!(refused.unwrap_err().to_string().starts_with("body is not valid JSON"));
    }
    let mut body = br#"{"ops":[{"op":"set","key":"x","value":"#.to_vec();
    body.extend_from_slice(b"\"\xff\xfe\"}]}");
    assert!(OpsRequest::parse(&body).is_err(), "invalid UTF-8 in a string");
}

/// Integers past 64 bits are not refused: serde_json reads them as floats, as
/// JavaScript's `JSON.parse` does, so they are stored as Python floats. Pinned
/// so that a change is noticed.
#[test]
fn integers_past_64_bits_are_stored_as_floats() {
    let h = Harness::new(&[]);
    let body = br#"{"ops":[{"op":"set","key":"n","value":18446744073709551616},{"op":"get","key":"n"}]}"#;
    let ops = OpsRequest::parse(body).unwrap();
    let mut jar = Jar::default();
    let r = h.request(None, async |s| {
        // No `sleep` op in the body: the timer is never called.
        let out = ops.run(s, |_| std::future::ready(())).await;
        assert_eq!(out["results"][1], json!(18446744073709551616.0_f64));
        200
    });
    jar.update(&r);
    let key = SessionKey::parse(&jar.key().unwrap()).unwrap();
    let data = h.manager.decode(&h.store.raw(&key).unwrap().data).unwrap();
    assert_eq!(data["n"], json!(1.8446744073709552e19));
}

// --- bugs these tests found, fixed in src/ (see SECURITY.md) ---

/// `session.modified = True` without touching the data must save the data
/// the session has (Django's `save()` loads it first), not an empty dict.
#[test]
fn marking_an_unloaded_session_modified_keeps_its_data() {
    let h = Harness::new(&[]);
    let mut jar = login(&h);
    let r = h.request(jar.header(), async |s| {
        s.set_modified(true);
        200
    });
    assert_eq!(r.status, 200);
    jar.update(&r);
    let (user, _) = read_user(&h, jar.header().unwrap().as_bytes());
    assert_eq!(user, Some(json!("ada")), "the stored data survives a save of an unloaded session");
}

/// Data that saves must load: a value nested deeper than serde_json's
/// recursion limit (128) could be written but never read back, so it is
/// refused when it is set (`SessionError::TooDeep`), and the rest is kept.
#[test]
fn session_data_that_saves_also_loads() {
    let h = Harness::new(&[]);
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let mut jar = Jar::default();
    let r = h.request(None, async |s| {
        s.set("user", json!("ada")).await.unwrap();
        assert_eq!(s.set("deep", deep).await, Err(edge_session::SessionError::TooDeep));
        let mut ok = json!(1);
        for _ in 0..edge_session::MAX_DEPTH - 1 {
            ok = json!([ok]);
        }
        s.set("deep_but_fine", ok).await.unwrap();
        200
    });
    jar.update(&r);
    let (user, r2) = read_user(&h, jar.header().unwrap().as_bytes());
    assert_eq!(user, Some(json!("ada")), "readable after the refusal: {r2:?}");
}

/// A stored record at `version = u64::MAX` (only a tampered or foreign store
/// holds one) must not panic the object or the manager.
#[test]
fn a_stored_record_at_the_largest_version_is_not_a_panic() {
    use edge_session::store::object::{handle, ObjectOp};
    let stored = Record::new("x", START + 60, u64::MAX);
    let step =
        handle(&ObjectOp::Save(Record { version: 2, ..stored.clone() }).to_body(), Some(&stored.to_json()), START);
    assert!(step.write.is_none() || step.write.unwrap().version == u64::MAX);

    let h = Harness::new(&[]);
    let jar = login(&h);
    let key = SessionKey::parse(&jar.key().unwrap()).unwrap();
    let mut top = h.store.raw(&key).unwrap();
    top.version = u64::MAX;
    pollster::block_on(async {
        h.store.delete(&key).await.unwrap();
        h.store.create(&key, &top).await.unwrap();
    });
    let r = h.request(jar.header(), async |s| {
        s.set("x", json!(1)).await.unwrap();
        200
    });
    assert!(r.status == 200 || r.status == 500);
}

/// `set_expiry(n)` accepts any integer; `get_expiry_date` must not overflow.
#[test]
fn the_largest_expiry_is_not_a_panic() {
    let h = Harness::new(&[]);
    h.request(None, async |s| {
        s.set("x", json!(1)).await.unwrap();
        s.set_expiry(Expiry::Seconds(i64::MAX)).await.unwrap();
        let _ = s.get_expiry_date().await;
        200
    });
}

/// A session saved with any expiry the API accepts loads back: ages near
/// `i64::MAX` seconds (`setExpiry(1e19)` from JS), far negative ones, and a
/// huge `SESSION_COOKIE_AGE` once overflowed `signed_at + age` (a panic in
/// debug builds; in release the cookie just signed was refused).
#[test]
fn a_session_saved_with_any_accepted_expiry_loads_back() {
    fn loads_back<S: SessionStore + Clone>(rig: &Rig<S>, what: &str, expiry: Option<Expiry>) {
        let mut jar = Jar::default();
        let r = rig.request(None, async |s| {
            s.set("x", json!(1)).await.unwrap();
            if let Some(e) = expiry {
                s.set_expiry(e).await.unwrap();
            }
            assert!(s.get_expiry_age().await.unwrap() > 0);
            200
        });
        assert_eq!(r.status, 200, "{what}: {:?}", r.error);
        jar.update(&r);
        assert!(jar.header().is_some(), "{what}: a cookie");
        let mut got = None;
        rig.request(jar.header(), async |s| {
            got = s.get("x").await.unwrap();
            200
        });
        assert_eq!(got, Some(json!(1)), "{what}: loads back");
    }
    let huge_age = i64::MAX.to_string();
    for engine in ["db", "signed_cookies", "file"] {
        for (age, expiry) in [
            (None, Some(Expiry::Seconds(i64::MAX))),
            (None, Some(Expiry::from_json(&json!(1e19)).unwrap())),
            (None, Some(Expiry::Seconds(i64::MAX - 1))),
            (Some(huge_age.as_str()), None),
            (Some(huge_age.as_str()), Some(Expiry::BrowserClose)),
        ] {
            let age: Vec<_> = age.map(|a| ("SESSION_COOKIE_AGE", a)).into_iter().collect();
            let what = format!("{engine} {age:?} {expiry:?}");
            if engine == "file" {
                // The expiry is also the object's metadata, read by every look.
                loads_back(&Files::rig(&age), &what, expiry);
            } else {
                loads_back(&Harness::new(&[&[("SESSION_ENGINE", engine)], &age[..]].concat()), &what, expiry);
            }
        }
    }
}

/// A float keeps its exact value through a save and a load: Django (and this
/// crate) write `repr(float)`, the shortest text that reads back to the same
/// float, up to 17 significant digits.
#[test]
fn floats_survive_a_save_and_load_unchanged() {
    let h = Harness::new(&[]);
    for f in [1.234_567_890_123_456_7e34_f64, 0.1, 2.5e-300] {
        let mut jar = Jar::default();
        jar.update(&h.request(None, async |s| {
            s.set("f", json!(f)).await.unwrap();
            200
        }));
        let mut got = None;
        h.request(jar.header(), async |s| {
            got = s.get("f").await.unwrap();
            200
        });
        assert_eq!(
            got.as_ref().and_then(Value::as_f64).map(f64::to_bits),
            Some(f.to_bits()),
            "{f:e}: read back {got:?}"
        );
    }
}
