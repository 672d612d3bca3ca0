//! Two requests on one session at once, in `db` (the memory store
//! has its semantics), `cached_db` (over an in-memory cache and over the
//! eventually consistent fake KV) and `file` (over a fake R2 bucket, whose
//! conditional puts are what detects the other request), with the requests
//! interleaved by hand: both load, then they finish in a chosen order.
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

use common::{ops, Files, Gate, Harness, Jar, Rig, START};
use edge_session::prelude::*;
use edge_session::store::cache::{CacheEngine, CachedDbStore, RecordCache};
use edge_session::store::StoreOp;
use edge_session::testing::{cost_of, FakeKv, KvAt, KvModel};
use edge_session::Counters;
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
/// Returns what A's finish cost.
fn save_after_logout<S: SessionStore + Clone>(rig: &Rig<S>, raw: impl Fn(&SessionKey) -> bool) -> Counters {
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
    let (result, cost) = cost_of(|| block_on(rig.manager.finish(a, 200)));
    assert_eq!(result, Err(FinishError::Interrupted));
    assert_eq!(FinishError::Interrupted.status(), 400);
    assert!(!raw(&key), "the logged-out session is not resurrected");
    assert_eq!(items(rig, &jar), vec![], "the old cookie finds nothing");
    Counters { crypto: 0, ..cost }
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

/// On `file`, A's save is a put conditional on the ETag its load read: the
/// object is gone, so the put writes nothing and the look that follows finds
/// nothing. The bucket is left empty.
#[test]
fn a_save_after_a_concurrent_logout_is_session_interrupted_in_file() {
    let rig = Files::rig(&[]);
    let cost = save_after_logout(&rig, |k| rig.store.raw(k).is_some());
    assert_eq!(
        cost,
        ops("r2_put=1,r2_head=1"),
        "the refused conditional put, the look that finds nothing, no other write"
    );
    assert!(rig.store.bucket.is_empty(), "the session never comes back");
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

/// The same on `file`: the save of a session this request never read looks
/// at the object first (it holds no ETag of a read), finds none, and the data
/// gets a fresh key.
#[test]
fn a_blind_write_after_a_concurrent_logout_gets_a_fresh_key_in_file() {
    blind_write_after_logout(&Files::rig(&[]), |rig| rig.store.bucket.len());
}

/// What `cache` cannot defend, `file` does: the logout lands between the look
/// (the object is there) and the put, which is conditional on the ETag the
/// look saw, so it writes nothing; the look that follows finds nothing, and
/// the data gets a fresh key.
#[test]
fn a_logout_between_the_look_and_the_put_of_a_blind_write_in_file_gets_a_fresh_key() {
    let rig = std::rc::Rc::new(Files::rig(&[]));
    let jar = login(&rig);
    let old = SessionKey::parse(&jar.key().unwrap()).unwrap();
    let mut a = load(&rig, &jar);
    a.clear();
    block_on(a.set("message", json!("hi"))).unwrap();
    let (b, victim) = (rig.clone(), jar.clone());
    let logged_out = std::rc::Rc::new(std::cell::Cell::new(false));
    let done = logged_out.clone();
    rig.store.bucket.before_next_put(move |_| {
        let out = b.request(victim.header(), async |s| {
            s.flush();
            200
        });
        assert!(out.deletes_cookie(), "B logged out");
        done.set(true);
    });
    let (outcome, cost) = cost_of(|| block_on(rig.manager.finish(a, 200)));
    let fresh = jar_of(&outcome.unwrap());
    assert!(logged_out.get(), "the logout ran between the look and the put");
    assert_ne!(fresh.key(), jar.key(), "the logged-out key is not written again");
    assert!(rig.store.raw(&old).is_none());
    assert_eq!(rig.store.bucket.len(), 1, "only the fresh record");
    assert_eq!(items(&rig, &fresh), vec![("message".to_owned(), json!("hi"))]);
    assert_eq!(items(&rig, &jar), vec![]);
    // A: look, refused put, look, create; B (inside): its delete.
    assert_eq!(Counters { crypto: 0, ..cost }, ops("r2_head=2,r2_put=2,r2_delete=1"));
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

/// A loads, B cycles the key (a login), A saves: SessionInterrupted, and
/// only B's new record is there.
fn save_after_cycle<S: SessionStore + Clone>(rig: &Rig<S>, records: impl Fn(&Rig<S>) -> usize) {
    let jar = login(rig);
    let mut a = load(rig, &jar);
    block_on(a.get::<Value>("user")).unwrap();
    let mut cycled = Jar::default();
    cycled.update(&rig.request(jar.header(), async |s| {
        s.cycle_key().await.unwrap();
        200
    }));
    assert_ne!(cycled.key(), jar.key());
    block_on(a.set("cart", json!([1]))).unwrap();
    assert_eq!(block_on(rig.manager.finish(a, 200)), Err(FinishError::Interrupted));
    assert_eq!(items(rig, &cycled), vec![("user".to_owned(), json!("ada"))]);
    assert_eq!(items(rig, &jar), vec![], "the old key holds nothing");
    assert_eq!(records(rig), 1);
}

#[test]
fn a_save_after_a_concurrent_cycle_key_is_session_interrupted() {
    save_after_cycle(&db(), |rig| rig.store.len());
}

#[test]
fn a_save_after_a_concurrent_cycle_key_is_session_interrupted_in_file() {
    save_after_cycle(&Files::rig(&[]), |rig| rig.store.bucket.len());
}

/// A and B both load; A adds `a`, B adds `b`; A saves, then B saves.
/// Returns what the session holds then, and what B's save cost.
fn two_saves<S: SessionStore + Clone>(rig: &Rig<S>) -> (Vec<(String, Value)>, Counters) {
    let jar = login(rig);
    let mut a = load(rig, &jar);
    let mut b = load(rig, &jar);
    block_on(a.get::<Value>("user")).unwrap();
    block_on(b.get::<Value>("user")).unwrap();
    block_on(a.set("a", json!(1))).unwrap();
    block_on(b.set("b", json!(2))).unwrap();
    let first = block_on(rig.manager.finish(a, 200)).unwrap();
    let (second, cost) = cost_of(|| block_on(rig.manager.finish(b, 200)));
    let second = second.unwrap();
    let (ja, jb) = (jar_of(&first), jar_of(&second));
    assert_eq!((ja.key(), jb.key()), (jar.key(), jar.key()), "one session");
    assert!(jb.version() > ja.version(), "versions increase: {:?} then {:?}", ja.version(), jb.version());
    let held = items(rig, &jb);
    assert_eq!(items(rig, &ja), held, "A's cookie is still valid and reads the newer session");
    assert_eq!(items(rig, &jar), held);
    (held, Counters { crypto: 0, ..cost })
}

/// Where saves merge (`db`, `cached_db`), both changes stay: B's save finds
/// the record changed since it read it and applies its own change to A's.
#[test]
fn two_concurrent_saves_of_different_keys_keep_both_in_db() {
    let (held, cost) = two_saves(&db());
    assert_eq!(held, [("user".to_owned(), json!("ada")), ("a".to_owned(), json!(1)), ("b".to_owned(), json!(2))]);
    assert_eq!(cost, ops("do_call=2"), "the refused save (it carries the newer record back), then the merged one");
}

#[test]
fn two_concurrent_saves_of_different_keys_keep_both_in_cached_db() {
    let both = [("user".to_owned(), json!("ada")), ("a".to_owned(), json!(1)), ("b".to_owned(), json!(2))];
    let (held, cost) = two_saves(&cached_db());
    assert_eq!(held, both);
    // (The durable store here is the memory store, whose calls are not counted.)
    assert_eq!(cost, ops("kv_put=1"), "KV is written once, with the merged record");
    let (held, _) = two_saves(&cached_db_on_eventual_kv());
    assert_eq!(held, both);
}

/// Where they do not (`file`, `cache`), the last writer's whole session wins.
fn last_writer_wins(held: &[(String, Value)]) {
    assert_eq!(held, [("user".to_owned(), json!("ada")), ("b".to_owned(), json!(2))], "A's `a` is gone");
}

/// A and B both load a session holding `user` and `x`; `a_does` and `b_does`
/// change it; A saves, then B. Returns what the session holds then.
fn overlap<S: SessionStore + Clone>(
    rig: &Rig<S>,
    a_does: impl AsyncFnOnce(&mut Session<S>),
    b_does: impl AsyncFnOnce(&mut Session<S>),
) -> Vec<(String, Value)> {
    let mut jar = Jar::default();
    jar.update(&rig.request(None, async |s| {
        s.set("user", json!("ada")).await.unwrap();
        s.set("x", json!(0)).await.unwrap();
        200
    }));
    let mut a = load(rig, &jar);
    let mut b = load(rig, &jar);
    block_on(a.keys()).unwrap();
    block_on(b.keys()).unwrap();
    block_on(a_does(&mut a));
    block_on(b_does(&mut b));
    let ja = jar_of(&block_on(rig.manager.finish(a, 200)).unwrap());
    let jb = jar_of(&block_on(rig.manager.finish(b, 200)).unwrap());
    assert!(jb.version() > ja.version());
    items(rig, &jb)
}

fn merging_rules<S: SessionStore + Clone>(rig: impl Fn() -> Rig<S>) {
    let pairs = |v: &[(&str, Value)]| v.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect::<Vec<_>>();
    // The same key: the save that reaches the store last wins, for that key.
    let held = overlap(
        &rig(),
        async |a| a.set("x", json!("from a")).await.unwrap(),
        async |b| b.set("x", json!("from b")).await.unwrap(),
    );
    assert_eq!(held, pairs(&[("user", json!("ada")), ("x", json!("from b"))]));
    // A deletion and a set of another key both stick.
    let held = overlap(&rig(), async |a| a.delete("x").await.unwrap(), async |b| b.set("y", json!(1)).await.unwrap());
    assert_eq!(held, pairs(&[("user", json!("ada")), ("y", json!(1))]));
    let held = overlap(&rig(), async |a| a.set("y", json!(1)).await.unwrap(), async |b| b.delete("x").await.unwrap());
    assert_eq!(held, pairs(&[("user", json!("ada")), ("y", json!(1))]));
    // A save after `clear()` replaces what is stored, as Django sees it after clear().
    let held = overlap(
        &rig(),
        async |a| a.set("y", json!(1)).await.unwrap(),
        async |b| {
            b.clear();
            b.set("z", json!(2)).await.unwrap();
        },
    );
    assert_eq!(held, pairs(&[("z", json!(2))]));
    // set_expiry is a change like another: it merges with A's key.
    let held = overlap(
        &rig(),
        async |a| a.set("y", json!(1)).await.unwrap(),
        async |b| b.set_expiry(Expiry::Seconds(600)).await.unwrap(),
    );
    assert_eq!(
        held,
        pairs(&[("user", json!("ada")), ("x", json!(0)), ("y", json!(1)), ("_session_expiry", json!(600))])
    );
}

#[test]
fn overlapping_saves_merge_per_key_in_db() {
    merging_rules(db);
}

#[test]
fn overlapping_saves_merge_per_key_in_cached_db() {
    merging_rules(cached_db);
    merging_rules(cached_db_on_eventual_kv);
}

/// On `file`, B's put is conditional on the ETag B's load read, which A's
/// save replaced: refused, B looks at the object (A's, live) and saves over
/// it at a greater version, conditional on A's ETag.
#[test]
fn two_concurrent_saves_last_writer_wins_for_the_whole_session_in_file() {
    let rig = Files::rig(&[]);
    let (held, cost) = two_saves(&rig);
    last_writer_wins(&held);
    assert_eq!(cost, ops("r2_put=2,r2_head=1"), "the refused put, the look, the put");
    assert_eq!(rig.store.bucket.len(), 1);
}

/// A save that every conditional write loses (another request's save lands
/// before each one) gives up after a bounded number of tries: a store error,
/// no cookie, and the other requests' data is the session.
#[test]
fn a_save_losing_every_conditional_write_in_file_is_a_500_without_cookie() {
    type Shared = std::rc::Rc<Rig<Files>>;
    type Count = std::rc::Rc<std::cell::Cell<u64>>;
    /// More saves than a bounded retry may try: a save that kept trying
    /// would get through after the last one.
    const OTHERS: u64 = 16;
    /// Before the next put, another request saves the session (and arms
    /// itself again for the put after that), `OTHERS` times at most.
    fn meddle(rig: Shared, jar: Jar, others: Count) {
        let bucket = rig.store.bucket.clone();
        bucket.before_next_put(move |_| {
            let n = others.get() + 1;
            if n > OTHERS {
                return;
            }
            others.set(n);
            let r = rig.request(jar.header(), async |s| {
                s.set("other", json!(n)).await.unwrap();
                200
            });
            assert_eq!(r.status, 200, "{:?}", r.error);
            meddle(rig.clone(), jar.clone(), others);
        });
    }
    let rig: Shared = std::rc::Rc::new(Files::rig(&[]));
    let jar = login(&rig);
    let mut a = load(&rig, &jar);
    block_on(a.get::<Value>("user")).unwrap();
    block_on(a.set("a", json!(1))).unwrap();
    let others = Count::default();
    meddle(rig.clone(), jar.clone(), others.clone());
    let result = block_on(rig.manager.finish(a, 200));
    assert!(
        matches!(&result, Err(FinishError::Store(StoreError::Backend(b))) if b.op() == StoreOp::Save),
        "{result:?}"
    );
    assert_eq!(result.as_ref().unwrap_err().status(), 500);
    let n = others.get();
    assert!((2..OTHERS).contains(&n), "each try lost to another save, and the tries are bounded ({n})");
    assert_eq!(
        items(&rig, &jar),
        vec![("user".to_owned(), json!("ada")), ("other".to_owned(), json!(n))],
        "the last other save is the session; A's `a` was never written"
    );
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

/// A session that expires while a request holds it is not saved back by that
/// request: Django's `UpdateError` (the record is gone), on every engine that
/// can tell.
fn save_after_expiry<S: SessionStore + Clone>(rig: &Rig<S>) {
    let mut jar = Jar::default();
    jar.update(&rig.request(None, async |s| {
        s.set("user", json!("ada")).await.unwrap();
        s.set_expiry(Expiry::Seconds(10)).await.unwrap();
        200
    }));
    let mut a = load(rig, &jar);
    assert_eq!(block_on(a.get::<Value>("user")).unwrap(), Some(json!("ada")));
    rig.clock.advance(10); // expires_at is reached mid-request
    block_on(a.set("cart", json!([1]))).unwrap();
    assert_eq!(block_on(rig.manager.finish(a, 200)), Err(FinishError::Interrupted));
    assert_eq!(items(rig, &jar), vec![], "the expired session is not written back");
}

#[test]
fn a_save_of_a_session_that_expired_during_the_request_is_session_interrupted_in_db() {
    save_after_expiry(&db());
}

#[test]
fn a_save_of_a_session_that_expired_during_the_request_is_session_interrupted_in_file() {
    save_after_expiry(&Files::rig(&[]));
}
