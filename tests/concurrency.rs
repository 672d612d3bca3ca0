//! Two requests on one session at once, in `db` (the memory store
//! has its semantics) and `cached_db` (over an in-memory cache and over the
//! eventually consistent fake KV), with the requests interleaved by hand:
//! both load, then they finish in a chosen order.
//!
//! The rules (README, SECURITY.md):
//! * **a logout sticks**: a request that saves after another one flushed (or
//!   cycled) the session gets Django's `SessionInterrupted` (a 400, no
//!   cookie) and the old key is never written again;
//! * **last writer wins, for the whole session**: two requests that both
//!   save each write the whole dictionary they hold; the one that saves last
//!   replaces the other's changes (Django's behaviour for every backend).
//!   Versions still increase, so every cookie stays valid and `cached_db`
//!   never serves either client a copy older than its own write.
//!
//! The `cache` engine (KV alone) cannot detect a concurrent logout: stated
//! below as what it does not defend.

mod common;

use common::{Gate, Harness, Jar, Rig, START};
use edge_session::prelude::*;
use edge_session::store::cache::{CacheEngine, CachedDbStore, RecordCache};
use edge_session::testing::{FakeKv, KvAt, KvModel};
use pollster::block_on;
use serde_json::{json, Value};

fn db() -> Harness {
    Rig::new(&[])
}

fn cached_db() -> Rig<CachedDbStore<FakeKv, MemoryStore>> {
    let clock = FixedClock::new(START);
    let store = CachedDbStore::new(FakeKv::consistent(clock.clone()), MemoryStore::new(clock.clone()), clock.clone());
    Rig::with_store(clock, store, &[("SESSION_ENGINE", "cached_db")])
}

fn cached_db_on_eventual_kv() -> Rig<CachedDbStore<KvAt, MemoryStore>> {
    let clock = FixedClock::new(START);
    let kv = FakeKv::new(clock.clone(), KvModel::EVENTUAL, 1);
    let store = CachedDbStore::new(kv.at(0), MemoryStore::new(clock.clone()), clock.clone());
    Rig::with_store(clock, store, &[("SESSION_ENGINE", "cached_db")])
}

fn login<S: SessionStore + Clone>(rig: &Rig<S>) -> Jar {
    let mut jar = Jar::default();
    jar.update(&rig.request(None, async |s| {
        s.set("user", json!("ada")).await.unwrap();
        200
    }));
    assert!(jar.header().is_some());
    jar
}

fn load<S: SessionStore + Clone>(rig: &Rig<S>, jar: &Jar) -> Session<S> {
    rig.manager.session(jar.header().map(str::as_bytes))
}

fn items<S: SessionStore + Clone>(rig: &Rig<S>, jar: &Jar) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    rig.request(jar.header(), async |s| {
        out = s.items().await.unwrap();
        200
    });
    out
}

fn jar_of(outcome: &Outcome) -> Jar {
    Jar(outcome.set_cookie.as_deref().map(|c| c.split(';').next().unwrap().to_owned()))
}

/// A loads, B logs out, A saves: SessionInterrupted, nothing resurrected.
fn save_after_logout<S: SessionStore + Clone>(rig: &Rig<S>, raw: impl Fn(&SessionKey) -> bool) {
    let jar = login(rig);
    let key = SessionKey::parse(&jar.key().unwrap()).unwrap();
    let mut a = load(rig, &jar);
    assert_eq!(block_on(a.get("user")).unwrap(), Some(json!("ada")));
    rig.clock.advance(1); // KV: one write (or delete) per key per second
    let b = rig.request(jar.header(), async |s| {
        s.flush();
        200
    });
    assert!(b.deletes_cookie());
    block_on(a.set("cart", json!([1]))).unwrap();
    let result = block_on(rig.manager.finish(a, 200));
    assert_eq!(result, Err(FinishError::Interrupted));
    assert_eq!(FinishError::Interrupted.status(), 400);
    assert!(!raw(&key), "the logged-out session is not resurrected");
    assert_eq!(items(rig, &jar), vec![], "the old cookie finds nothing");
}

#[test]
fn a_save_after_a_concurrent_logout_is_session_interrupted_in_db() {
    let rig = db();
    save_after_logout(&rig, |k| rig.store.raw(k).is_some());
}

#[test]
fn a_save_after_a_concurrent_logout_is_session_interrupted_in_cached_db() {
    let rig = cached_db();
    let cache = rig.store.cache().clone();
    save_after_logout(&rig, |k| rig.store.durable().raw(k).is_some() || block_on(cache.get(k)).unwrap().is_some());
    let rig = cached_db_on_eventual_kv();
    save_after_logout(&rig, |k| rig.store.durable().raw(k).is_some());
}

/// A request that never loaded the data (`clear()` then `set`) and saves
/// after a concurrent logout does not write the old key either: its data
/// (only what it set after clearing) gets a fresh key.
#[test]
fn a_blind_write_after_a_concurrent_logout_gets_a_fresh_key() {
    blind_write_after_logout(&db(), |rig| rig.store.len());
}

/// The same on `cache`, whose save is a blind KV put: the manager checks
/// that the record of a never-read session still exists before it saves,
/// so a cookie sent after the logout is never adopted again. (KV has no
/// conditional write: a logout landing between the check and the put is
/// not detected; see the_cache_engine_cannot_detect_a_concurrent_logout.)
#[test]
fn a_blind_write_after_logout_on_cache_gets_a_fresh_key() {
    let clock = FixedClock::new(START);
    let rig = Rig::with_store(
        clock.clone(),
        CacheEngine::new(FakeKv::consistent(clock.clone()), clock),
        &[("SESSION_ENGINE", "cache")],
    );
    blind_write_after_logout(&rig, |rig| rig.store.cache().origin_len());
    // A well-signed cookie whose record is gone, sent after the logout:
    // `clear()` then `set()` gets a fresh key too.
    let jar = login(&rig);
    rig.request(jar.header(), async |s| {
        s.flush();
        200
    });
    let r = rig.request(jar.header(), async |s| {
        s.clear();
        s.set("message", json!("hi")).await.unwrap();
        200
    });
    let mut fresh = Jar::default();
    fresh.update(&r);
    assert!(fresh.key().is_some());
    assert_ne!(fresh.key(), jar.key(), "the logged-out key is not adopted");
    assert_eq!(items(&rig, &jar), vec![]);
}

fn blind_write_after_logout<S: SessionStore + Clone>(rig: &Rig<S>, records: impl Fn(&Rig<S>) -> usize) {
    let before = records(rig);
    let jar = login(rig);
    let mut a = load(rig, &jar);
    a.clear();
    block_on(a.set("message", json!("hi"))).unwrap();
    let b = rig.request(jar.header(), async |s| {
        s.flush();
        200
    });
    assert!(b.deletes_cookie());
    let outcome = block_on(rig.manager.finish(a, 200)).unwrap();
    let fresh = jar_of(&outcome);
    assert_ne!(fresh.key(), jar.key());
    assert_eq!(items(rig, &fresh), vec![("message".to_owned(), json!("hi"))]);
    assert_eq!(items(rig, &jar), vec![]);
    assert_eq!(records(rig), before + 1, "only the fresh record: the logged-out one is gone");
}

#[test]
fn a_save_after_a_concurrent_cycle_key_is_session_interrupted() {
    let rig = db();
    let jar = login(&rig);
    let mut a = load(&rig, &jar);
    block_on(a.get::<Value>("user")).unwrap();
    let mut cycled = Jar::default();
    cycled.update(&rig.request(jar.header(), async |s| {
        s.cycle_key().await.unwrap();
        200
    }));
    block_on(a.set("cart", json!([1]))).unwrap();
    assert_eq!(block_on(rig.manager.finish(a, 200)), Err(FinishError::Interrupted));
    assert_eq!(items(&rig, &cycled), vec![("user".to_owned(), json!("ada"))]);
    assert_eq!(rig.store.len(), 1);
}

/// A and B both load; A adds `a`, B adds `b`; A saves, then B saves.
fn two_saves<S: SessionStore + Clone>(rig: &Rig<S>) {
    let jar = login(rig);
    let mut a = load(rig, &jar);
    let mut b = load(rig, &jar);
    block_on(a.get::<Value>("user")).unwrap();
    block_on(b.get::<Value>("user")).unwrap();
    block_on(a.set("a", json!(1))).unwrap();
    block_on(b.set("b", json!(2))).unwrap();
    let first = block_on(rig.manager.finish(a, 200)).unwrap();
    let second = block_on(rig.manager.finish(b, 200)).unwrap();
    let (ja, jb) = (jar_of(&first), jar_of(&second));
    assert_eq!((ja.key(), jb.key()), (jar.key(), jar.key()), "one session");
    assert!(jb.version() > ja.version(), "versions increase: {:?} then {:?}", ja.version(), jb.version());
    // The last writer's dictionary is the session; A's `a` is gone.
    let expected = vec![("user".to_owned(), json!("ada")), ("b".to_owned(), json!(2))];
    assert_eq!(items(rig, &jb), expected);
    assert_eq!(items(rig, &ja), expected, "A's cookie is still valid and reads the newer session");
    assert_eq!(items(rig, &jar), expected);
}

#[test]
fn two_concurrent_saves_last_writer_wins_for_the_whole_session_in_db() {
    two_saves(&db());
}

#[test]
fn two_concurrent_saves_last_writer_wins_for_the_whole_session_in_cached_db() {
    two_saves(&cached_db());
    let rig = cached_db_on_eventual_kv();
    two_saves(&rig);
}

/// Saves that do not overlap keep both changes (the rule is about overlap).
#[test]
fn sequential_saves_keep_both_changes() {
    let rig = cached_db();
    let mut jar = login(&rig);
    for (k, v) in [("a", 1), ("b", 2)] {
        jar.update(&rig.request(jar.header(), async |s| {
            s.set(k, json!(v)).await.unwrap();
            200
        }));
    }
    assert_eq!(items(&rig, &jar).len(), 3);
}

/// What the `cache` engine does not defend: KV has no conditional write, so a
/// request that saves after a concurrent logout writes the session back
/// (README: "a save cannot detect a concurrent logout"). Use `db` or
/// `cached_db` where a logout must stick.
#[test]
fn the_cache_engine_cannot_detect_a_concurrent_logout() {
    let clock = FixedClock::new(START);
    let rig = Rig::with_store(
        clock.clone(),
        CacheEngine::new(FakeKv::consistent(clock.clone()), clock),
        &[("SESSION_ENGINE", "cache")],
    );
    let jar = login(&rig);
    let mut a = load(&rig, &jar);
    block_on(a.get::<Value>("user")).unwrap();
    assert!(rig
        .request(jar.header(), async |s| {
            s.flush();
            200
        })
        .deletes_cookie());
    block_on(a.set("cart", json!([1]))).unwrap();
    let outcome = block_on(rig.manager.finish(a, 200)).unwrap();
    assert_eq!(jar_of(&outcome).key(), jar.key(), "the old key is written again");
    assert_eq!(items(&rig, &jar).len(), 2, "the logged-out session is back");
}

/// A logs in; A's save reaches the Durable Object; before A writes KV, B logs
/// out (Durable Object record and KV copy deleted); then A's KV write lands.
/// The logout must still stick: the old cookie must not read the session.
#[test]
fn a_logout_racing_a_save_in_cached_db_leaves_no_readable_copy() {
    let clock = FixedClock::new(START);
    let cache = FakeKv::consistent(clock.clone());
    let hook = Gate::new(MemoryStore::new(clock.clone()));
    let rig = std::rc::Rc::new(Rig::with_store(
        clock.clone(),
        CachedDbStore::new(cache.clone(), hook.clone(), clock.clone()),
        &[("SESSION_ENGINE", "cached_db")],
    ));
    let jar = login(&rig);
    let (r2, j2) = (rig.clone(), jar.clone());
    hook.after_next_save(move || {
        let out = r2.request(j2.header(), async |s| {
            s.flush();
            200
        });
        assert!(out.deletes_cookie(), "B logged out");
    });
    let a = rig.request(jar.header(), async |s| {
        s.set("cart", json!([1])).await.unwrap();
        200
    });
    assert_eq!(a.status, 200, "A's save was accepted before the logout");
    let key = SessionKey::parse(&jar.key().unwrap()).unwrap();
    assert!(hook.inner.raw(&key).is_none(), "the Durable Object record is gone");
    assert_eq!(items(&rig, &jar), vec![], "the old cookie reads nothing after the logout");
}
