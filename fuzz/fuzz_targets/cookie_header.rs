//! The `Cookie` request header reader, alone and through the manager.
//!
//! Input: a raw `Cookie` header (any bytes). Checked on every input:
//! * `cookie::pairs` yields at most `MAX_PAIRS` pairs, none containing `;`,
//!   names trimmed of space and tab, nothing at all for a header
//!   over `MAX_HEADER_BYTES`; `cookie::find` is the first pair of that name;
//! * `SessionManager::session` + `get` (engine `db`, over a memory store holding
//!   one known session): at most one store read, and one only when the
//!   `sessionid` value verifies; the known session's data when it is the
//!   known cookie; finishing writes nothing (the handler stored nothing);
//! * the same header under `signed_cookies` (Django's vectors verify there):
//!   no store operation, no error.
#![no_main]

use edge_session::testing::internals::{find, pairs, MAX_HEADER_BYTES, MAX_PAIRS};
use edge_session::{testing::internals::CookieSigner, SessionKey};
use edge_session::counters;
use edge_session::prelude::*;
use edge_session::testing::FakeObject;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const FIXTURE: &str = include_str!("../../tests/fixtures/django-signing.json");
/// Inside the fixture vectors' 14-day validity.
const NOW: i64 = 1_765_019_800;
/// The session the seed corpus's valid cookie (`scripts`: fuzz/make_seeds.mjs) names.
const KNOWN_KEY: &str = "fuzzfuzzfuzzfuzzfuzzfuzzfuzz0001";

/// The memory store as the `db` engine's Durable Object: every call to it is
/// counted (a `do_call`), as on Workers.
struct Rig {
    store: FakeObject,
    db: SessionManager<FakeObject>,
    signed: SessionManager<FakeObject>,
    signer: CookieSigner,
    record: Record,
}

fn rig() -> Rig {
    let fixture: Value = serde_json::from_str(FIXTURE).expect("fixture");
    let secret = fixture["secret_key"].as_str().expect("secret").to_owned();
    let fallback_list: Vec<String> = fixture["secret_key_fallbacks"]
        .as_array()
        .expect("fallbacks")
        .iter()
        .map(|v| v.as_str().expect("fallback").to_owned())
        .collect();
    let fallbacks = fixture["secret_key_fallbacks"].to_string();
    let clock = FixedClock::new(NOW);
    let store = FakeObject::memory(clock.clone());
    let settings = |engine: &str| {
        Settings::from_pairs([
            ("SECRET_KEY", secret.as_str()),
            ("SECRET_KEY_FALLBACKS", fallbacks.as_str()),
            ("SESSION_ENGINE", engine),
        ])
        .expect("settings")
    };
    let db = SessionManager::new(settings("db"), store.clone(), clock.clone(), OsKeySource);
    let signed = SessionManager::new(settings("signed_cookies"), store.clone(), clock, OsKeySource);
    // The known session, version 1 (written directly: the API never adopts a chosen key).
    let key = SessionKey::parse(KNOWN_KEY).expect("key");
    let mut data = serde_json::Map::new();
    data.insert("user".into(), json!("ada"));
    let record = Record::new(db.encode(&data), NOW + 1_209_600, 1);
    pollster::block_on(store.create(&key, &record)).expect("create");
    let signer = CookieSigner::new("sessionid", &secret, &fallback_list);
    assert_eq!(store.raw(&key).map(|r| r.version), Some(1));
    Rig { store, db, signed, signer, record }
}

thread_local! {
    static RIG: Rig = rig();
}

fuzz_target!(|header: &[u8]| {
    let all: Vec<(&[u8], &[u8])> = pairs(header).collect();
    assert!(all.len() <= MAX_PAIRS);
    if header.len() > MAX_HEADER_BYTES {
        assert!(all.is_empty(), "an oversized header is ignored whole");
    }
    for (name, value) in &all {
        assert!(!name.contains(&b';') && !value.contains(&b';'));
        // Names are trimmed (a value is trimmed before one pair of quotes is
        // removed, so what was inside the quotes stays).
        assert!(!name.starts_with(b" ") && !name.starts_with(b"\t"));
        assert!(!name.ends_with(b" ") && !name.ends_with(b"\t"));
    }
    let found = find(header, "sessionid");
    assert_eq!(found, all.iter().find(|(n, _)| *n == b"sessionid").map(|(_, v)| *v));

    RIG.with(|rig| {
        let verified = found.and_then(|v| rig.signer.verify(v));
        let before = counters();
        let records = rig.store.len();
        pollster::block_on(async {
            let mut s = rig.db.session(Some(header));
            let user = s.get("user").await.expect("a memory store read never fails");
            let reads = counters().since(&before).do_call;
            match &verified {
                Some(c) => {
                    assert_eq!(reads, 1, "a verified cookie costs one read");
                    if c.key.as_str() == KNOWN_KEY && c.version <= 1 {
                        assert_eq!(user, Some(json!("ada")));
                    }
                }
                None => {
                    assert_eq!(reads, 0, "an unverified cookie value never reaches the store");
                    assert_eq!(user, None);
                }
            }
            rig.db.finish(s, 200).await.expect("finishing a read-only session");
            // Every call after the read is a write or a delete.
            let written = counters().since(&before).do_call - reads;
            if verified.as_ref().is_some_and(|c| c.used_fallback) {
                // Verified by a fallback secret: re-signed under the current
                // one (one write, no delete: the records stay).
                assert!(written <= 1, "{written}");
                assert_eq!(rig.store.len(), records);
                let key = SessionKey::parse(KNOWN_KEY).expect("key");
                rig.store.delete(&key).await.expect("reset");
                rig.store.create(&key, &rig.record).await.expect("reset");
            } else {
                assert_eq!(written, 0, "a read-only request writes nothing");
            }
            assert_eq!(rig.store.len(), records);

            let before = counters();
            let mut s = rig.signed.session(Some(header));
            let _ = s.get::<serde_json::Value>("user").await.expect("signed_cookies loads never fail");
            let _ = s.keys().await.expect("keys");
            rig.signed.finish(s, 200).await.expect("finishing a read-only signed_cookies session");
            assert_eq!(counters().since(&before).storage_ops(), 0, "signed_cookies never touches the store");
        });
    });
});
