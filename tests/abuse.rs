//! Abuse and key rotation: a flood of requests without a cookie, or
//! with a bad one, never makes the server store anything unless the handler
//! stores data; a session signed under a key in `SECRET_KEY_FALLBACKS` is
//! accepted and re-issued under the current key, on every engine.

mod common;

use common::{Files, Jar, Rig, SECRET, START};
use edge_session::counters;
use edge_session::prelude::*;
use edge_session::store::cache::{CacheEngine, CachedDbStore};
use edge_session::testing::{FakeKv, FakeObject};
use serde_json::{json, Value};

type Handler<S> = fn(&mut Session<S>) -> std::pin::Pin<Box<dyn std::future::Future<Output = u16> + '_>>;

/// Handlers that store no data, with the status they answer.
fn readers<S: SessionStore + 'static>() -> Vec<(&'static str, Handler<S>)> {
    vec![
        ("nothing", |_| Box::pin(async { 200 })),
        ("get", |s| Box::pin(async { s.get::<Value>("user").await.map_or(500, |_| 200) })),
        ("contains+keys+items", |s| {
            Box::pin(async {
                let _ = s.contains("x").await;
                let _ = s.keys().await;
                let _ = s.items().await;
                200
            })
        }),
        ("pop with default, delete missing", |s| {
            Box::pin(async {
                let _ = s.pop_or("x", json!(1)).await;
                let _ = s.delete("x").await;
                200
            })
        }),
        ("set then delete", |s| {
            Box::pin(async {
                s.set("x", json!(1)).await.unwrap();
                s.delete("x").await.unwrap();
                200
            })
        }),
        ("clear", |s| {
            Box::pin(async {
                s.clear();
                200
            })
        }),
        ("flush", |s| {
            Box::pin(async {
                s.flush();
                200
            })
        }),
        ("set_expiry(None), expiry getters, test cookie check", |s| {
            Box::pin(async {
                s.set_expiry(Expiry::Default).await.unwrap();
                let _ = s.get_expiry_age().await;
                let _ = s.get_expire_at_browser_close().await;
                let _ = s.test_cookie_worked().await;
                200
            })
        }),
        ("mark modified", |s| {
            Box::pin(async {
                s.set_modified(true);
                200
            })
        }),
        ("set, but a 500", |s| {
            Box::pin(async {
                s.set("x", json!(1)).await.unwrap();
                500
            })
        }),
    ]
}

/// Handlers that mark the session modified without loading it.
const UNLOADED_MODIFICATIONS: [&str; 2] = ["clear", "mark modified"];

/// Cookie headers that name no live session.
fn bad_cookies(vanished: &str) -> Vec<Option<String>> {
    vec![
        None,
        Some("sessionid=".into()),
        Some("sessionid=abcdefghijklmnopqrstuvwxyz012345.1.AAAAAAAAAAAAAAAAAAAAAA".into()),
        Some("sessionid=abcdefghijklmnopqrstuvwxyz012345".into()),
        Some("sessionid=../../etc/passwd".into()),
        Some("sessionid=eyJ4IjoxfQ:1vRqGo:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
        Some("other=1".into()),
        Some(vanished.to_owned()),
    ]
}

/// The cookie of a session that existed, then was logged out: well signed,
/// naming a record that is gone.
fn logged_out_cookie<S: SessionStore + Clone + 'static>(rig: &Rig<S>) -> String {
    let mut jar = Jar::default();
    jar.update(&rig.request(None, async |s| {
        s.set("user", json!("ada")).await.unwrap();
        200
    }));
    let vanished = jar.header().unwrap().to_owned();
    rig.request(Some(&vanished), async |s| {
        s.flush();
        200
    });
    vanished
}

fn flood<S: SessionStore + Clone + 'static>(rig: &Rig<S>, count: impl Fn() -> usize) {
    let vanished = logged_out_cookie(rig);
    rig.clock.advance(1);
    assert_eq!(count(), 0);
    let before = counters();
    for round in 0..20 {
        for cookie in bad_cookies(&vanished) {
            for (name, handler) in readers::<S>() {
                if cookie.as_deref() == Some(vanished.as_str()) && UNLOADED_MODIFICATIONS.contains(&name) {
                    continue; // a known bug: see vanished_session_modified_without_loading_stores_nothing
                }
                let r = rig.request(cookie.as_deref(), async |s| handler(s).await);
                assert!(r.set_cookie.as_deref().is_none_or(|c| c.contains("Max-Age=0")), "{round} {cookie:?} {name}");
            }
        }
    }
    let spent = counters().since(&before);
    assert_eq!(count(), 0, "no record was created");
    // (On `db` every operation is one `do_call`: the record count above is
    // what says nothing was written there.)
    assert_eq!((spent.kv_put, spent.r2_put), (0, 0), "nothing was written");
    // The positive control: storing data creates exactly one record.
    rig.request(Some("sessionid=abcdefghijklmnopqrstuvwxyz012345.1.AAAAAAAAAAAAAAAAAAAAAA"), async |s| {
        s.set("x", json!(1)).await.unwrap();
        200
    });
    assert_eq!(count(), 1);
}

#[test]
fn requests_without_a_valid_cookie_store_nothing_unless_the_handler_stores_data_db() {
    let rig = Rig::new(&[]);
    flood(&rig, || rig.store.len());
}

#[test]
fn requests_without_a_valid_cookie_store_nothing_unless_the_handler_stores_data_cached_db() {
    let start = counters();
    let clock = FixedClock::new(START);
    let rig = Rig::with_store(
        clock.clone(),
        CachedDbStore::new(FakeKv::consistent(clock.clone()), FakeObject::memory(clock.clone()), clock.clone()),
        &[("SESSION_ENGINE", "cached_db")],
    );
    flood(&rig, || rig.store.durable().len());
    assert_eq!(counters().since(&start).kv_put, 2, "KV: the login and the control, nothing between");
}

#[test]
fn requests_without_a_valid_cookie_store_nothing_unless_the_handler_stores_data_cache() {
    let start = counters();
    let clock = FixedClock::new(START);
    let rig = Rig::with_store(
        clock.clone(),
        CacheEngine::new(FakeKv::consistent(clock.clone()), clock),
        &[("SESSION_ENGINE", "cache")],
    );
    let writes = || counters().since(&start).kv_put as usize;
    flood(&rig, || writes() - 1);
}

#[test]
fn requests_without_a_valid_cookie_store_nothing_unless_the_handler_stores_data_file() {
    let start = counters();
    let rig = Files::rig(&[]);
    flood(&rig, || rig.store.bucket.len());
    assert_eq!(counters().since(&start).r2_put, 2, "R2: the login and the control, nothing between");
}

/// A well-signed cookie whose record is gone (logged out, expired) and a
/// handler that marks the session modified without loading it (`clear()`,
/// `session.modified = True`): Django raises SessionInterrupted (its save is
/// an update of a missing row); nothing may be stored for an empty session.
#[test]
fn vanished_session_modified_without_loading_stores_nothing() {
    fn run<S: SessionStore + Clone + 'static>(rig: &Rig<S>, count: impl Fn() -> usize) {
        let vanished = logged_out_cookie(rig);
        for (name, handler) in readers::<S>() {
            if UNLOADED_MODIFICATIONS.contains(&name) {
                let r = rig.request(Some(&vanished), async |s| handler(s).await);
                assert!(r.set_cookie.as_deref().is_none_or(|c| c.contains("Max-Age=0")), "{name}: {:?}", r.set_cookie);
                assert_eq!(count(), 0, "{name}: an empty record was created");
            }
        }
    }
    let rig = Rig::new(&[]);
    run(&rig, || rig.store.len());
    // `file`: `clear()` saves without a load, so it looks at the object
    // (gone); marking modified loads first (nothing there).
    let rig = Files::rig(&[]);
    run(&rig, || rig.store.bucket.len());
}

/// Django's `cycle_key()` on a new session creates it (it calls `create()`):
/// the one handler without data that does store a record. Stated here so it
/// is not mistaken for a leak.
#[test]
fn cycle_key_on_a_new_session_creates_a_record_as_in_django() {
    let rig = Rig::new(&[]);
    let r = rig.request(None, async |s| {
        s.cycle_key().await.unwrap();
        200
    });
    assert!(r.set_cookie.is_some());
    assert_eq!(rig.store.len(), 1);
}

fn settings(secret: &str, fallbacks: &[&str], engine: &str) -> Settings {
    let fallbacks = serde_json::to_string(fallbacks).unwrap();
    Settings::from_pairs([("SECRET_KEY", secret), ("SECRET_KEY_FALLBACKS", &fallbacks), ("SESSION_ENGINE", engine)])
        .unwrap()
}

/// Rotation on every engine: sign under A; read under B with fallback A (the
/// session is accepted and re-issued under B); read under B alone (the new
/// cookie works, the old one does not).
#[test]
fn a_session_signed_under_a_fallback_key_is_accepted_and_reissued_on_every_engine() {
    for engine in ["db", "cached_db", "cache", "file", "signed_cookies"] {
        let clock = FixedClock::new(START);
        let durable = MemoryStore::new(clock.clone());
        let cache = FakeKv::consistent(clock.clone());
        // One store per engine, shared by the three configurations.
        macro_rules! with_store {
            ($store:expr) => {{
                let store = $store;
                let old = SessionManager::new(settings(SECRET, &[], engine), store.clone(), clock.clone(), OsKeySource);
                let rotated = SessionManager::new(
                    settings("new-secret", &[SECRET], engine),
                    store.clone(),
                    clock.clone(),
                    OsKeySource,
                );
                let new_only =
                    SessionManager::new(settings("new-secret", &[], engine), store, clock.clone(), OsKeySource);
                rotate(&old, &rotated, &new_only, engine, &clock);
            }};
        }
        match engine {
            "db" | "signed_cookies" => with_store!(durable.clone()),
            "cached_db" => with_store!(CachedDbStore::new(cache.clone(), durable.clone(), clock.clone())),
            "file" => with_store!(Files::new(&clock)),
            _ => with_store!(CacheEngine::new(cache.clone(), clock.clone())),
        }
    }
}

fn rotate<S: SessionStore + Clone>(
    old: &SessionManager<S>,
    rotated: &SessionManager<S>,
    new_only: &SessionManager<S>,
    engine: &str,
    clock: &FixedClock,
) {
    let pair = |o: Outcome| o.set_cookie.expect("a cookie").split(';').next().unwrap().to_owned();
    pollster::block_on(async {
        let mut s = old.session(None);
        s.set("user", json!("ada")).await.unwrap();
        let under_a = pair(old.finish(s, 200).await.unwrap());
        clock.advance(1);

        // Only read: the session is accepted, and re-issued under the current key.
        let mut s = rotated.session(Some(under_a.as_bytes()));
        assert_eq!(s.get("user").await.unwrap(), Some(json!("ada")), "{engine}");
        let out = rotated.finish(s, 200).await.unwrap();
        assert!(out.plan.save, "{engine}: re-signed");
        let under_b = pair(out);
        assert_ne!(under_b, under_a, "{engine}");

        let mut s = new_only.session(Some(under_b.as_bytes()));
        assert_eq!(
            s.get("user").await.unwrap(),
            Some(json!("ada")),
            "{engine}: the re-issued cookie needs no fallback"
        );
        let mut s = new_only.session(Some(under_a.as_bytes()));
        assert_eq!(s.get::<Value>("user").await.unwrap(), None, "{engine}: the old cookie needs the fallback");

        // A re-issued session is not re-issued again.
        let s = rotated.session(Some(under_b.as_bytes()));
        assert_eq!(rotated.finish(s, 200).await.unwrap().set_cookie, None, "{engine}");
    });
}
