//! Store faults, each with its stated outcome, on the host: Workers
//! KV failing (503s, and 429 for a second write to one key within a second),
//! the Durable Object unreachable, throwing, or losing its reply after it
//! committed, the `file` engine's R2 bucket failing on any operation. The
//! rules every outcome follows:
//!
//! * no cookie is sent for data that was not saved;
//! * `cached_db` never loses a write the Durable Object accepted;
//! * a read failure where data may exist is an error response, never a
//!   silently empty session (and the handler cannot overwrite the data);
//! * randomized histories over an eventually consistent KV, with reads that
//!   overlap logouts, never show a `cached_db` client data older than its own
//!   last write, and a logout reaches every location within the KV cache
//!   window (twice it, plus propagation, when a read overlapped the logout).
//!
//! The fault table, with the test for each row, is in SECURITY.md.

mod common;

use common::{ops, Files, Gate, Jar, Response, Rig, START};
use edge_session::prelude::*;
use edge_session::store::cache::{CacheEngine, CachedDbStore, REFILL_TTL};
use edge_session::store::StoreOp;
use edge_session::testing::{FakeKv, FakeObject, Fault, KvAt, KvModel, KV_MIN_TTL};
use pollster::block_on;
use proptest::prelude::*;
use serde_json::{json, Value};

type Db = FakeObject<MemoryStore>;
type CachedDb = CachedDbStore<KvAt, FakeObject<MemoryStore>>;
type Cache = CacheEngine<KvAt>;

fn db() -> Rig<Db> {
    let clock = FixedClock::new(START);
    Rig::with_store(clock.clone(), FakeObject::new(MemoryStore::new(clock)), &[("SESSION_ENGINE", "db")])
}

/// `cached_db` over a fake KV (`model`), location 0.
fn cached_db(model: KvModel) -> (Rig<CachedDb>, FakeKv) {
    let clock = FixedClock::new(START);
    let kv = FakeKv::new(clock.clone(), model, 1);
    let store = CachedDbStore::new(kv.at(0), FakeObject::new(MemoryStore::new(clock.clone())), clock.clone());
    (Rig::with_store(clock, store, &[("SESSION_ENGINE", "cached_db")]), kv)
}

fn cache(model: KvModel) -> (Rig<Cache>, FakeKv) {
    let clock = FixedClock::new(START);
    let kv = FakeKv::new(clock.clone(), model, 1);
    (Rig::with_store(clock.clone(), CacheEngine::new(kv.at(0), clock), &[("SESSION_ENGINE", "cache")]), kv)
}

fn file() -> Rig<Files> {
    Files::rig(&[])
}

/// Whether `e` is a backend failure of `op`.
fn backend(e: &Option<FinishError>, op: StoreOp) -> bool {
    matches!(e, Some(FinishError::Store(StoreError::Backend(b))) if b.op() == op)
}

fn set<S: SessionStore + Clone>(rig: &Rig<S>, jar: &Jar, key: &str, value: Value) -> Response {
    rig.request(jar.header(), async |s| {
        s.set(key, value).await.unwrap();
        200
    })
}

fn login<S: SessionStore + Clone>(rig: &Rig<S>) -> Jar {
    let mut jar = Jar::default();
    let r = set(rig, &jar, "user", json!("ada"));
    assert_eq!(r.status, 200, "{:?}", r.error);
    jar.update(&r);
    jar
}

/// What a handler that reads `key` (and answers 500 when the session fails
/// to load, as `with_session` does) got, and the response.
fn get<S: SessionStore + Clone>(rig: &Rig<S>, jar: &Jar, key: &str) -> (Result<Option<Value>, SessionError>, Response) {
    let mut got = Ok(None);
    let r = rig.request(jar.header(), async |s| {
        got = s.get(key).await;
        if got.is_err() {
            500
        } else {
            200
        }
    });
    (got, r)
}

fn user<S: SessionStore + Clone>(rig: &Rig<S>, jar: &Jar) -> Option<Value> {
    get(rig, jar, "user").0.expect("the store works again")
}

fn flush<S: SessionStore + Clone>(rig: &Rig<S>, jar: &Jar) -> Response {
    rig.request(jar.header(), async |s| {
        s.flush();
        200
    })
}

fn key_of(jar: &Jar) -> SessionKey {
    SessionKey::parse(&jar.key().unwrap()).unwrap()
}

// --- KV get failing ---

#[test]
fn cache_kv_get_failing_is_an_error_response_and_the_handler_cannot_overwrite_the_data() {
    let (rig, kv) = cache(KvModel::CONSISTENT);
    let jar = login(&rig);
    kv.fail_gets(true);
    let (got, r) = get(&rig, &jar, "user");
    assert!(matches!(got, Err(SessionError::Store(StoreError::Backend(_)))), "{got:?}");
    assert_eq!((r.status, r.set_cookie.as_deref(), r.ops.kv_put), (500, None, 0));
    // A handler that ignores the error and writes anyway gets the error again.
    let r = rig.request(jar.header(), async |s| {
        assert!(s.get::<Value>("user").await.is_err());
        assert!(s.set("user", json!("eve")).await.is_err(), "no write over data that could not be read");
        200
    });
    assert_eq!((r.set_cookie, r.ops.kv_put), (None, 0));
    kv.fail_gets(false);
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
}

#[test]
fn cached_db_kv_get_failing_falls_back_to_the_durable_object() {
    let (rig, kv) = cached_db(KvModel::CONSISTENT);
    let jar = login(&rig);
    kv.fail_gets(true);
    let (got, r) = get(&rig, &jar, "user");
    assert_eq!(got, Ok(Some(json!("ada"))));
    assert_eq!(r.status, 200);
    assert_eq!(r.ops.do_call, 1, "one Durable Object read");
}

// --- KV put failing (503, and 429 for a second write within a second) ---

#[test]
fn cache_kv_put_failing_sends_no_cookie_and_keeps_the_old_data() {
    let (rig, kv) = cache(KvModel::CONSISTENT);
    let jar = login(&rig);
    kv.fail_puts(true);
    let r = set(&rig, &jar, "user", json!("eve"));
    assert!(matches!(r.error, Some(FinishError::Store(StoreError::Backend(_)))), "{:?}", r.error);
    assert_eq!((r.status, r.set_cookie.as_deref()), (500, None));
    let r = set(&rig, &Jar::default(), "user", json!("new"));
    assert_eq!((r.status, r.set_cookie.as_deref()), (500, None), "a new session that was not saved gets no cookie");
    kv.fail_puts(false);
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
    assert_eq!(kv.origin_len(), 1, "nothing else was stored");
}

#[test]
fn cache_second_write_within_a_second_is_429_sends_no_cookie_and_works_a_second_later() {
    let (rig, kv) = cache(KvModel { rate_limit: true, ..KvModel::CONSISTENT });
    let jar = login(&rig);
    let r = set(&rig, &jar, "cart", json!([1]));
    assert_eq!((r.status, r.set_cookie.as_deref()), (500, None), "same second as the login: 429");
    assert_eq!(kv.rejected_429(), 1);
    assert_eq!(get(&rig, &jar, "cart").0, Ok(None), "the refused write is not there");
    rig.clock.advance(1);
    let r = set(&rig, &jar, "cart", json!([1]));
    assert_eq!(r.status, 200);
    assert!(r.set_cookie.is_some());
}

#[test]
fn cached_db_kv_put_failing_after_the_durable_object_accepted_loses_nothing() {
    let (rig, kv) = cached_db(KvModel::CONSISTENT);
    kv.fail_puts(true);
    let mut jar = login(&rig);
    assert_eq!(kv.origin_len(), 0, "KV has no copy");
    let r = set(&rig, &jar, "cart", json!([1]));
    assert_eq!(r.status, 200, "the Durable Object has the data: the write succeeded");
    jar.update(&r);
    assert_eq!(get(&rig, &jar, "cart").0, Ok(Some(json!([1]))), "read from the Durable Object on a KV miss");
    kv.fail_puts(false);
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
    assert_eq!(kv.origin_len(), 1, "and KV is refilled by the next read");
}

#[test]
fn cached_db_second_write_within_a_second_is_429_on_kv_and_the_client_still_reads_it() {
    let (rig, kv) = cached_db(KvModel { rate_limit: true, ..KvModel::CONSISTENT });
    let mut jar = login(&rig);
    let r = set(&rig, &jar, "cart", json!([1]));
    assert_eq!(r.status, 200);
    assert_eq!(kv.rejected_429(), 1, "the KV put was refused");
    jar.update(&r);
    let key = key_of(&jar);
    assert_eq!(kv.origin_latest(&key).unwrap().version, 1, "KV keeps the login's copy");
    assert_eq!(rig.store.durable().inner.raw(&key).unwrap().version, 2, "the Durable Object has the write");
    let (got, _) = get(&rig, &jar, "cart");
    assert_eq!(got, Ok(Some(json!([1]))), "the cookie's version skips the older KV copy");
}

// --- KV delete failing ---

#[test]
fn cached_db_kv_delete_failing_at_logout_is_a_500_and_a_retry_completes_it() {
    let (rig, kv) = cached_db(KvModel::CONSISTENT);
    let jar = login(&rig);
    let key = key_of(&jar);
    kv.fail_deletes(true);
    let r = flush(&rig, &jar);
    assert!(matches!(r.error, Some(FinishError::Store(_))));
    assert_eq!((r.status, r.set_cookie.as_deref()), (500, None), "the logout is reported as failed");
    assert!(rig.store.durable().inner.raw(&key).is_none(), "the Durable Object record is gone");
    // Stated outcome: the KV copy still answers the old cookie until the
    // logout is retried or the copy's TTL ends (SECURITY.md).
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
    assert_eq!(set(&rig, &jar, "x", json!(1)).status, 400, "but it cannot be written: SessionInterrupted");
    kv.fail_deletes(false);
    let r = flush(&rig, &jar);
    assert!(r.deletes_cookie());
    assert_eq!(user(&rig, &jar), None);
}

/// The same through KV's rate limit: a logout within a second of the last
/// write to the session (when KV counts deletes against the one-write-per-
/// second limit) is refused by KV after the Durable Object deleted the record.
#[test]
fn cached_db_logout_within_a_second_of_a_write_is_429_on_kv_and_a_retry_completes_it() {
    let (rig, kv) = cached_db(KvModel { rate_limit: true, rate_limit_deletes: true, ..KvModel::CONSISTENT });
    let jar = login(&rig);
    let r = flush(&rig, &jar);
    assert_eq!((r.status, r.set_cookie.as_deref()), (500, None));
    assert_eq!(kv.rejected_429(), 1);
    assert_eq!(set(&rig, &jar, "x", json!(1)).status, 400, "the Durable Object record is gone");
    rig.clock.advance(1);
    assert!(flush(&rig, &jar).deletes_cookie());
    assert_eq!(user(&rig, &jar), None);
}

#[test]
fn cache_kv_delete_failing_at_logout_is_a_500_and_the_session_stays_until_a_retry() {
    let (rig, kv) = cache(KvModel::CONSISTENT);
    let jar = login(&rig);
    kv.fail_deletes(true);
    let r = flush(&rig, &jar);
    assert_eq!((r.status, r.set_cookie.as_deref()), (500, None));
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
    kv.fail_deletes(false);
    assert!(flush(&rig, &jar).deletes_cookie());
    assert_eq!(user(&rig, &jar), None);
}

// --- the Durable Object unreachable, throwing, or losing its reply ---

#[test]
fn durable_object_unreachable_on_read_is_an_error_response_not_an_empty_session() {
    let rig = db();
    let jar = login(&rig);
    rig.store.set_fault(Fault::Unreachable);
    let (got, r) = get(&rig, &jar, "user");
    assert!(matches!(got, Err(SessionError::Store(_))));
    assert_eq!((r.status, r.set_cookie), (500, None));
    rig.store.set_fault(Fault::None);
    assert_eq!(user(&rig, &jar), Some(json!("ada")));

    // cached_db: a KV hit does not need the Durable Object; a miss does.
    let (rig, kv) = cached_db(KvModel::CONSISTENT);
    let jar = login(&rig);
    rig.store.durable().set_fault(Fault::Unreachable);
    assert_eq!(get(&rig, &jar, "user").0, Ok(Some(json!("ada"))), "served from KV");
    pollster::block_on(edge_session::store::cache::RecordCache::remove(&kv.at(0), &key_of(&jar))).unwrap();
    let (got, r) = get(&rig, &jar, "user");
    assert!(got.is_err(), "KV miss, Durable Object down: an error");
    assert_eq!((r.status, r.set_cookie), (500, None));
}

#[test]
fn durable_object_unreachable_on_write_sends_no_cookie_and_leaves_kv_alone() {
    let rig = db();
    let jar = login(&rig);
    rig.store.set_fault(Fault::Unreachable);
    // A modification needs a read first: the read fails, so nothing is written.
    assert_eq!(set_or_500(&rig, &jar).status, 500);
    let r = set(&rig, &Jar::default(), "user", json!("new"));
    assert_eq!((r.status, r.set_cookie.as_deref()), (500, None), "a new session that was not created gets no cookie");
    rig.store.set_fault(Fault::None);
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
    assert_eq!(rig.store.inner.len(), 1);

    let (rig, _) = cached_db(KvModel::CONSISTENT);
    let jar = login(&rig);
    rig.store.durable().set_fault(Fault::Unreachable);
    // The read comes from KV; the save to the Durable Object fails.
    let r = set(&rig, &jar, "user", json!("eve"));
    assert_eq!((r.status, r.set_cookie.as_deref()), (500, None));
    assert_eq!(r.ops.kv_put, 0, "KV is not written when the Durable Object refused");
    rig.store.durable().set_fault(Fault::None);
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
}

/// A handler that writes, answering 500 when the session fails to load.
fn set_or_500<S: SessionStore + Clone>(rig: &Rig<S>, jar: &Jar) -> Response {
    rig.request(jar.header(), async |s| match s.set("user", json!("eve")).await {
        Ok(()) => 200,
        Err(_) => 500,
    })
}

#[test]
fn durable_object_throwing_on_logout_is_a_500_and_the_session_is_unchanged() {
    for cached in [false, true] {
        let (rig, _) = cached_db(KvModel::CONSISTENT);
        let db_rig = db();
        let jar = if cached { login(&rig) } else { login(&db_rig) };
        let flaky = if cached { rig.store.durable() } else { &db_rig.store };
        flaky.set_fault(Fault::DeletesFail);
        let r = if cached { flush(&rig, &jar) } else { flush(&db_rig, &jar) };
        assert_eq!((r.status, r.set_cookie.as_deref()), (500, None), "cached_db={cached}");
        flaky.set_fault(Fault::None);
        let still = if cached { user(&rig, &jar) } else { user(&db_rig, &jar) };
        assert_eq!(still, Some(json!("ada")), "logout did not happen; the user can retry");
        if cached {
            assert_eq!(r.ops.kv_delete, 0, "KV is deleted only after the Durable Object");
        }
    }
}

#[test]
fn durable_object_losing_its_reply_after_a_commit_is_a_500_without_cookie() {
    let (rig, kv) = cached_db(KvModel::CONSISTENT);
    let jar = login(&rig);
    let key = key_of(&jar);
    rig.store.durable().set_fault(Fault::LostReply);
    let r = set(&rig, &jar, "user", json!("eve"));
    assert_eq!((r.status, r.set_cookie.as_deref()), (500, None));
    // Stated outcome: the object committed version 2, KV still has version 1,
    // and the client, told its write failed, keeps its version-1 cookie.
    assert_eq!(rig.store.durable().inner.raw(&key).unwrap().version, 2);
    assert_eq!(kv.origin_latest(&key).unwrap().version, 1);
    rig.store.durable().set_fault(Fault::None);
    assert_eq!(user(&rig, &jar), Some(json!("ada")), "the client reads what it was told is saved");
    // Its next write reads version 1 from KV, finds version 2 in the object,
    // and applies its own change to it: the committed write, which the
    // client was told failed, stays (saves merge on cached_db).
    let mut jar = jar;
    jar.update(&set(&rig, &jar, "cart", json!([1])));
    assert_eq!(jar.version(), Some(3));
    assert_eq!(user(&rig, &jar), Some(json!("eve")));

    // A new session whose create lost its reply: no cookie; the record is an
    // orphan no cookie names, deleted by its expiry alarm.
    let rig = db();
    rig.store.set_fault(Fault::LostReply);
    let r = set(&rig, &Jar::default(), "user", json!("new"));
    assert_eq!((r.status, r.set_cookie.as_deref()), (500, None));
    assert_eq!(rig.store.inner.len(), 1);
}

#[test]
fn save_every_request_with_the_store_down_is_a_500_without_cookie() {
    let clock = FixedClock::new(START);
    let rig: Rig<Db> = Rig::with_store(
        clock.clone(),
        FakeObject::new(MemoryStore::new(clock)),
        &[("SESSION_ENGINE", "db"), ("SESSION_SAVE_EVERY_REQUEST", "true")],
    );
    let jar = login(&rig);
    rig.store.set_fault(Fault::Unreachable);
    let r = rig.request(jar.header(), async |_| 200);
    assert!(matches!(r.error, Some(FinishError::Session(SessionError::Store(_)))), "{:?}", r.error);
    assert_eq!((r.status, r.set_cookie), (500, None));
}

#[test]
fn cycle_key_with_the_old_record_undeletable_keeps_the_new_session() {
    let rig = db();
    let old = login(&rig);
    rig.store.set_fault(Fault::DeletesFail);
    let mut jar = old.clone();
    let r = rig.request(old.header(), async |s| {
        s.cycle_key().await.unwrap();
        200
    });
    assert_eq!(r.status, 200, "the new record is saved; the old one is left to expire (logged)");
    jar.update(&r);
    assert_ne!(jar.key(), old.key());
    rig.store.set_fault(Fault::None);
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
    assert_eq!(rig.store.inner.len(), 2);
}

// --- the file engine's R2 bucket failing ---

#[test]
fn file_r2_get_failing_is_an_error_response_and_the_handler_cannot_overwrite_the_data() {
    let rig = file();
    let jar = login(&rig);
    rig.store.bucket.fail(StoreOp::R2Get, true);
    let (got, r) = get(&rig, &jar, "user");
    assert!(matches!(&got, Err(SessionError::Store(StoreError::Backend(b))) if b.op() == StoreOp::R2Get), "{got:?}");
    assert_eq!((r.status, r.set_cookie.as_deref(), r.ops), (500, None, ops("r2_get=1")));
    let r = rig.request(jar.header(), async |s| {
        assert!(s.get::<Value>("user").await.is_err());
        assert!(s.set("user", json!("eve")).await.is_err(), "no write over data that could not be read");
        200
    });
    assert_eq!((r.set_cookie, r.ops.r2_put), (None, 0));
    rig.store.bucket.fail(StoreOp::R2Get, false);
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
}

#[test]
fn file_r2_put_failing_is_a_store_error_sends_no_cookie_and_keeps_the_old_data() {
    let rig = file();
    let jar = login(&rig);
    let key = key_of(&jar);
    let before = rig.store.raw(&key).expect("saved");
    rig.store.bucket.fail(StoreOp::R2Put, true);
    let r = set(&rig, &jar, "user", json!("eve"));
    assert!(backend(&r.error, StoreOp::R2Put), "{:?}", r.error);
    assert_eq!((r.status, r.set_cookie.as_deref()), (500, None));
    assert_eq!(r.ops, ops("r2_get=1,r2_put=1"), "the read, and the one put that failed");
    let r = set(&rig, &Jar::default(), "user", json!("new"));
    assert!(backend(&r.error, StoreOp::R2Put), "{:?}", r.error);
    assert_eq!((r.status, r.set_cookie.as_deref()), (500, None), "a new session that was not saved gets no cookie");
    rig.store.bucket.fail(StoreOp::R2Put, false);
    assert_eq!(rig.store.raw(&key), Some(before), "the object is unchanged");
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
    assert_eq!(rig.store.bucket.len(), 1, "nothing else was stored");
}

/// A save of a session this request read is a put conditional on the ETag it
/// read: no look. Only a save of a session it never read looks first.
#[test]
fn file_r2_head_failing_fails_only_the_saves_that_must_look() {
    let rig = file();
    let mut jar = login(&rig);
    rig.store.bucket.fail(StoreOp::R2Head, true);
    let r = set(&rig, &jar, "cart", json!([1]));
    assert_eq!((r.status, r.ops), (200, ops("r2_get=1,r2_put=1")), "{:?}", r.error);
    jar.update(&r);
    let r = rig.request(jar.header(), async |s| {
        s.clear();
        s.set("user", json!("eve")).await.unwrap();
        200
    });
    assert!(backend(&r.error, StoreOp::R2Head), "{:?}", r.error);
    assert_eq!((r.status, r.set_cookie.as_deref(), r.ops), (500, None, ops("r2_head=1")), "nothing written");
    rig.store.bucket.fail(StoreOp::R2Head, false);
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
    assert_eq!(get(&rig, &jar, "cart").0, Ok(Some(json!([1]))));
}

#[test]
fn file_r2_delete_failing_at_logout_is_a_500_and_the_session_stays_until_a_retry() {
    let rig = file();
    let jar = login(&rig);
    rig.store.bucket.fail(StoreOp::R2Delete, true);
    let r = flush(&rig, &jar);
    assert!(backend(&r.error, StoreOp::R2Delete), "{:?}", r.error);
    assert_eq!((r.status, r.set_cookie.as_deref()), (500, None), "the logout is reported as failed");
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
    rig.store.bucket.fail(StoreOp::R2Delete, false);
    assert!(flush(&rig, &jar).deletes_cookie());
    assert_eq!(user(&rig, &jar), None);
    assert!(rig.store.bucket.is_empty());
}

#[test]
fn file_cycle_key_with_the_old_object_undeletable_keeps_the_new_session() {
    let rig = file();
    let old = login(&rig);
    rig.store.bucket.fail(StoreOp::R2Delete, true);
    let mut jar = old.clone();
    let r = rig.request(old.header(), async |s| {
        s.cycle_key().await.unwrap();
        200
    });
    assert_eq!(r.status, 200, "the new object is saved; the old one is left to expire (logged)");
    assert_eq!(r.ops, ops("r2_get=1,r2_put=1,r2_delete=1"));
    jar.update(&r);
    assert_ne!(jar.key(), old.key());
    rig.store.bucket.fail(StoreOp::R2Delete, false);
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
    assert_eq!(rig.store.bucket.len(), 2);
}

#[test]
fn file_save_every_request_with_the_bucket_down_is_a_500_without_cookie() {
    let rig = Files::rig(&[("SESSION_SAVE_EVERY_REQUEST", "true")]);
    let jar = login(&rig);
    rig.store.bucket.fail(StoreOp::R2Get, true);
    let r = rig.request(jar.header(), async |_| 200);
    assert!(matches!(r.error, Some(FinishError::Session(SessionError::Store(_)))), "{:?}", r.error);
    assert_eq!((r.status, r.set_cookie, r.ops), (500, None, ops("r2_get=1")), "the load failed: no write");
    rig.store.bucket.fail(StoreOp::R2Get, false);
    rig.store.bucket.fail(StoreOp::R2Put, true);
    let r = rig.request(jar.header(), async |_| 200);
    assert!(backend(&r.error, StoreOp::R2Put), "{:?}", r.error);
    assert_eq!((r.status, r.set_cookie), (500, None));
    rig.store.bucket.fail(StoreOp::R2Put, false);
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
}

/// A bucket failing on `list` fails the sweep, and only the sweep: the
/// sessions are read and written as before.
#[test]
fn file_r2_list_failing_fails_clear_expired_and_nothing_else() {
    let rig = file();
    let jar = login(&rig);
    rig.store.bucket.fail(StoreOp::R2List, true);
    let swept = pollster::block_on(rig.store.clear_expired());
    assert!(matches!(&swept, Err(StoreError::Backend(b)) if b.op() == StoreOp::R2List), "{swept:?}");
    assert_eq!(set(&rig, &jar, "cart", json!([1])).status, 200);
    assert_eq!(user(&rig, &jar), Some(json!("ada")));
    rig.store.bucket.fail(StoreOp::R2List, false);
    rig.clock.advance(1_209_600);
    assert_eq!(pollster::block_on(rig.store.clear_expired()), Ok(1));
    assert!(rig.store.bucket.is_empty());
}

// --- an eventually consistent KV, randomized ---

/// How long a logout may take to reach every KV location: a location may
/// have cached the old copy just before the delete propagated.
const REVOCATION_WINDOW: i64 = KV_MIN_TTL + KvModel::EVENTUAL.propagation;
/// The same when a read overlapped the logout: its refill may land after the
/// logout's KV delete; KV keeps it `REFILL_TTL`, and a location that cached
/// it just before serves it one cache window more.
const RACING_REVOCATION_WINDOW: i64 = REFILL_TTL + KV_MIN_TTL + KvModel::EVENTUAL.propagation;

#[derive(Debug, Clone)]
enum Step {
    Read {
        client: usize,
        at: usize,
    },
    Write {
        client: usize,
        at: usize,
    },
    Logout {
        client: usize,
        at: usize,
    },
    /// `client` reads at `at`; between its Durable Object read and the rest
    /// of the read (the KV refill), `by` logs out at `logout_at`.
    ReadDuringLogout {
        client: usize,
        at: usize,
        by: usize,
        logout_at: usize,
    },
    /// `client` reads and then writes `n` at `at`; between its read and its
    /// save, `by` writes `m` at `by_at` (two tabs whose requests overlap).
    OverlappingWrites {
        client: usize,
        at: usize,
        by: usize,
        by_at: usize,
    },
    Wait(i64),
    KvPuts(bool),
    KvGets(bool),
    KvDeletes(bool),
}

const CLIENTS: usize = 3;
const LOCATIONS: usize = 3;

fn step() -> impl Strategy<Value = Step> {
    let who = (0..CLIENTS, 0..LOCATIONS);
    prop_oneof![
        6 => who.clone().prop_map(|(client, at)| Step::Read { client, at }),
        6 => who.clone().prop_map(|(client, at)| Step::Write { client, at }),
        2 => who.clone().prop_map(|(client, at)| Step::Logout { client, at }),
        2 => (who.clone(), who.clone()).prop_map(|((client, at), (by, logout_at))| Step::ReadDuringLogout { client, at, by, logout_at }),
        3 => (who.clone(), who).prop_map(|((client, at), (by, by_at))| Step::OverlappingWrites { client, at, by, by_at }),
        5 => prop_oneof![Just(0i64), 1..3i64, 3..30i64, 30..100i64, REVOCATION_WINDOW..2 * REVOCATION_WINDOW].prop_map(Step::Wait),
        1 => any::<bool>().prop_map(Step::KvPuts),
        1 => any::<bool>().prop_map(Step::KvGets),
        1 => any::<bool>().prop_map(Step::KvDeletes),
    ]
}

type HistoryRig = Rig<CachedDbStore<KvAt, Gate<MemoryStore>>>;
/// Logged-out keys, with the time by which the first clean logout (if any)
/// must have reached every location.
type LoggedOut = std::collections::BTreeMap<String, Option<i64>>;

/// Records a logout of `key` at `now` (answered `r`; `raced` by a read that
/// had read the Durable Object) and updates the client's jar.
fn record_logout(
    logged_out: &mut LoggedOut,
    now: i64,
    jar: &mut Jar,
    key: Option<String>,
    r: &Response,
    raced: bool,
) -> Result<(), TestCaseError> {
    if let Some(key) = key {
        let first_clean = logged_out.entry(key).or_insert(None);
        if r.status == 200 && first_clean.is_none() {
            let window = if raced { RACING_REVOCATION_WINDOW } else { REVOCATION_WINDOW };
            *first_clean = Some(now + window);
        }
    }
    if r.status == 200 {
        prop_assert!(r.deletes_cookie() || jar.header().is_none());
        jar.update(r);
    } else {
        // Only the KV delete may fail (after the Durable Object's).
        prop_assert!(matches!(r.error, Some(FinishError::Store(_))), "{:?}", r.error);
    }
    Ok(())
}

/// One history: clients (each with its own cookie jar, all starting from one
/// login, as tabs or devices that copied a cookie) read and write one counter
/// at random locations while time passes and KV fails on and off; some reads
/// overlap a logout.
fn history(steps: &[Step]) -> Result<(), TestCaseError> {
    let clock = FixedClock::new(START);
    let kv = FakeKv::new(clock.clone(), KvModel::EVENTUAL, LOCATIONS);
    let gate = Gate::new(MemoryStore::new(clock.clone()));
    let durable = gate.inner.clone();
    let rigs: std::rc::Rc<Vec<HistoryRig>> = std::rc::Rc::new(
        (0..LOCATIONS)
            .map(|l| {
                let store = CachedDbStore::new(kv.at(l), gate.clone(), clock.clone());
                Rig::with_store(clock.clone(), store, &[("SESSION_ENGINE", "cached_db")])
            })
            .collect(),
    );
    let counter = std::cell::Cell::new(0u64);
    let next = || {
        counter.set(counter.get() + 1);
        counter.get()
    };
    let write = |rig: &HistoryRig, jar: &Jar| {
        let n = next();
        (n, set(rig, jar, "n", json!(n)))
    };
    let (n0, r) = write(&rigs[0], &Jar::default());
    prop_assert_eq!(r.status, 200);
    let mut first = Jar::default();
    first.update(&r);
    let mut jars = vec![first.clone(); CLIENTS];
    // Each client's last accepted write: (key, n).
    let mut last: Vec<Option<(String, u64)>> = vec![Some((first.key().unwrap(), n0)); CLIENTS];
    let mut logged_out = LoggedOut::new();

    for (i, s) in steps.iter().enumerate() {
        match *s {
            Step::Wait(dt) => clock.advance(dt),
            Step::KvPuts(fail) => kv.fail_puts(fail),
            Step::KvGets(fail) => kv.fail_gets(fail),
            Step::KvDeletes(fail) => kv.fail_deletes(fail),
            Step::Write { client, at } => {
                let before = jars[client].clone();
                let (n, r) = write(&rigs[at], &before);
                match r.status {
                    200 => {
                        jars[client].update(&r);
                        let jar = &jars[client];
                        let key = jar.key().unwrap();
                        // No cookie without the data: the Durable Object has exactly this write.
                        let stored = durable.raw(&key_of(jar));
                        prop_assert!(stored.is_some(), "step {}: cookie for an unsaved write", i);
                        let stored = stored.unwrap();
                        prop_assert_eq!(Some(stored.version), jar.version(), "step {}", i);
                        let data = rigs[at].manager.decode(&stored.data).unwrap();
                        prop_assert_eq!(&data["n"], &json!(n), "step {}", i);
                        last[client] = Some((key, n));
                    }
                    400 => {
                        // SessionInterrupted: only for a session logged out meanwhile.
                        let key = before.key();
                        prop_assert!(
                            key.is_some_and(|k| logged_out.contains_key(&k)),
                            "step {}: 400 for a live session",
                            i
                        );
                    }
                    other => prop_assert!(false, "step {}: write answered {} ({:?})", i, other, r.error),
                }
            }
            Step::OverlappingWrites { client, at, by, by_at } => {
                // Pace the writes to one KV key (one per second).
                clock.advance(1);
                let before = jars[client].clone();
                let mut a = rigs[at].manager.session(before.header().map(str::as_bytes));
                prop_assert!(block_on(a.get::<Value>("n")).is_ok(), "step {}: the read failed", i);
                // The other request runs whole while this one holds the session.
                clock.advance(1);
                let m = next();
                let rb = set(&rigs[by_at], &jars[by], "m", json!(m));
                prop_assert!(matches!(rb.status, 200 | 400), "step {}: {:?}", i, rb.error);
                if rb.status == 200 {
                    jars[by].update(&rb);
                }
                // The session the other write landed in.
                let wrote_m_in = (rb.status == 200).then(|| jars[by].key()).flatten();
                clock.advance(1);
                let n = next();
                block_on(a.set("n", json!(n))).unwrap();
                match block_on(rigs[at].manager.finish(a, 200)) {
                    Ok(outcome) => {
                        let cookie = outcome.set_cookie.expect("a write sets the cookie");
                        jars[client] = Jar(Some(cookie.split(';').next().unwrap().to_owned()));
                        let key = jars[client].key().unwrap();
                        let stored = durable.raw(&key_of(&jars[client])).expect("a cookie for a saved write");
                        prop_assert_eq!(Some(stored.version), jars[client].version(), "step {}", i);
                        let data = rigs[at].manager.decode(&stored.data).unwrap();
                        prop_assert_eq!(&data["n"], &json!(n), "step {}", i);
                        // No acknowledged change is lost: the other request's
                        // write to the same session is still there.
                        if wrote_m_in.as_deref() == Some(key.as_str()) {
                            prop_assert_eq!(
                                data.get("m"),
                                Some(&json!(m)),
                                "step {}: the overlapping write of m was lost",
                                i
                            );
                        }
                        last[client] = Some((key, n));
                    }
                    Err(FinishError::Interrupted) => {
                        let key = before.key();
                        prop_assert!(
                            key.is_some_and(|k| logged_out.contains_key(&k)),
                            "step {}: 400 for a live session",
                            i
                        );
                    }
                    Err(e) => prop_assert!(false, "step {}: the write failed: {:?}", i, e),
                }
            }
            Step::Logout { client, at } => {
                let key = jars[client].key();
                let r = flush(&rigs[at], &jars[client]);
                record_logout(&mut logged_out, clock.now(), &mut jars[client], key, &r, false)
                    .map_err(|e| at_step(i, e))?;
            }
            Step::Read { .. } | Step::ReadDuringLogout { .. } => {
                let (client, at) = match *s {
                    Step::Read { client, at } | Step::ReadDuringLogout { client, at, .. } => (client, at),
                    _ => unreachable!(),
                };
                let jar = jars[client].clone();
                // The overlapping logout runs inside the read, right after its
                // Durable Object read; if the read never reached the Durable
                // Object (a KV hit), the logout runs after it.
                let racing = match *s {
                    Step::ReadDuringLogout { by, logout_at, .. } => {
                        let out = std::rc::Rc::new(std::cell::RefCell::new(None));
                        let (rigs, victim, slot, clock) = (rigs.clone(), jars[by].clone(), out.clone(), clock.clone());
                        gate.after_next_load(move || {
                            let logout = (clock.now(), flush(&rigs[logout_at], &victim));
                            *slot.borrow_mut() = Some(logout);
                            // The read resumes a second later (past KV's one
                            // write per second per key, so its refill lands).
                            clock.advance(1);
                        });
                        Some((by, logout_at, out))
                    }
                    _ => None,
                };
                let (got, r) = get(&rigs[at], &jar, "n");
                if let Some((by, logout_at, out)) = racing {
                    let key = jars[by].key();
                    let ((when, r), raced) = match gate.take_unfired() {
                        Some(_) => ((clock.now(), flush(&rigs[logout_at], &jars[by])), false),
                        None => (out.borrow_mut().take().expect("the logout ran"), true),
                    };
                    record_logout(&mut logged_out, when, &mut jars[by], key, &r, raced).map_err(|e| at_step(i, e))?;
                }
                prop_assert!(got.is_ok(), "step {}: a read failed: {:?}", i, got);
                let got = got.unwrap().and_then(|v| v.as_u64());
                let key = jar.key();
                if let (Some(key), Some((wrote_key, wrote_n))) = (&key, &last[client]) {
                    if key == wrote_key {
                        match (got, logged_out.get(key)) {
                            (Some(n), _) => {
                                prop_assert!(n >= *wrote_n, "step {}: read n={} after writing n={}", i, n, wrote_n)
                            }
                            (None, Some(_)) => {}
                            (None, None) => prop_assert!(false, "step {}: own write n={} vanished", i, wrote_n),
                        }
                    }
                }
                if let Some(Some(deadline)) = key.as_ref().and_then(|k| logged_out.get(k)) {
                    if clock.now() >= *deadline {
                        prop_assert_eq!(
                            got,
                            None,
                            "step {}: logged out, unreadable everywhere by {}, still readable at {}",
                            i,
                            deadline,
                            clock.now()
                        );
                    }
                }
                jars[client].update(&r);
            }
        }
    }
    Ok(())
}

fn at_step(i: usize, e: TestCaseError) -> TestCaseError {
    TestCaseError::fail(format!("step {i}: {e}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Read-your-writes for `cached_db` on an eventually consistent KV.
    #[test]
    fn cached_db_reads_its_own_writes_on_an_eventually_consistent_kv(steps in proptest::collection::vec(step(), 1..80)) {
        history(&steps)?;
    }
}

/// The revocation delay of `cached_db` (and `cache`), as a stated outcome: a
/// logout deletes the Durable Object record at once (a replayed cookie cannot
/// write: SessionInterrupted), but KV locations that cached the record keep
/// serving it for reads until their copy ages out: at most the KV cache window
/// (60 s) plus propagation after the logout.
#[test]
fn a_logout_reaches_every_kv_location_within_the_cache_window() {
    let clock = FixedClock::new(START);
    let kv = FakeKv::new(clock.clone(), KvModel::EVENTUAL, LOCATIONS);
    let durable = MemoryStore::new(clock.clone());
    let rigs: Vec<_> = (0..LOCATIONS)
        .map(|l| Rig::with_store(clock.clone(), CachedDbStore::new(kv.at(l), durable.clone(), clock.clone()), &[]))
        .collect();
    let jar = login(&rigs[0]);
    clock.advance(KvModel::EVENTUAL.propagation);
    // Every location reads, and caches, the record.
    for rig in &rigs {
        assert_eq!(user(rig, &jar), Some(json!("ada")));
    }
    let stolen = jar.clone();
    assert!(flush(&rigs[0], &jar).deletes_cookie());
    let logout = clock.now();
    assert_eq!(set(&rigs[1], &stolen, "x", json!(1)).status, 400, "a replayed cookie cannot write");
    assert_eq!(user(&rigs[2], &stolen), Some(json!("ada")), "a location's cached copy still answers reads");
    clock.set(logout + REVOCATION_WINDOW);
    for rig in &rigs {
        assert_eq!(user(rig, &stolen), None, "gone everywhere after the window");
    }
}

/// A read whose KV copy is missing reads the Durable Object and refills KV.
/// When a logout (Durable Object delete, then KV delete) lands between that
/// read and its refill, the refill puts back a copy of the logged-out session
/// at the version the old cookie names. Refills live at most `REFILL_TTL`,
/// so the copy is gone everywhere within the racing window, not after the
/// session's whole life (14 days).
#[test]
fn a_read_racing_a_logout_in_cached_db_refills_kv_only_briefly() {
    let clock = FixedClock::new(START);
    let kv = FakeKv::new(clock.clone(), KvModel::EVENTUAL, LOCATIONS);
    let gate = Gate::new(MemoryStore::new(clock.clone()));
    let rigs: std::rc::Rc<Vec<HistoryRig>> = std::rc::Rc::new(
        (0..LOCATIONS)
            .map(|l| Rig::with_store(clock.clone(), CachedDbStore::new(kv.at(l), gate.clone(), clock.clone()), &[]))
            .collect(),
    );
    let jar = login(&rigs[0]);
    // Location 1 reads before the login's KV write reached it, and caches
    // that miss: its next read goes to the Durable Object.
    assert_eq!(user(&rigs[1], &jar), Some(json!("ada")));
    clock.advance(2);
    // That read's refill lands after a logout at location 0.
    let (victim, inner_rigs, inner_clock) = (jar.clone(), rigs.clone(), clock.clone());
    gate.after_next_load(move || {
        assert!(flush(&inner_rigs[0], &victim).deletes_cookie());
        inner_clock.advance(1);
    });
    let logout = clock.now();
    assert_eq!(user(&rigs[1], &jar), Some(json!("ada")), "the read saw the session before the logout");
    assert!(gate.take_unfired().is_none(), "the logout ran inside the read");
    assert!(kv.origin_latest(&key_of(&jar)).is_some(), "the refill landed after the logout's KV delete");
    clock.set(logout + RACING_REVOCATION_WINDOW);
    for rig in rigs.iter() {
        assert_eq!(user(rig, &jar), None, "gone everywhere within the racing window");
    }
}

/// The contrast, as a stated outcome: the `cache` engine (KV alone) does not
/// read its own writes on an eventually consistent KV (README, SECURITY.md).
#[test]
fn cache_engine_may_read_an_older_copy_than_its_own_write() {
    let (rig, _kv) = cache(KvModel::EVENTUAL);
    let mut jar = login(&rig);
    rig.clock.advance(KV_MIN_TTL);
    assert_eq!(user(&rig, &jar), Some(json!("ada")), "propagated");
    rig.clock.advance(1);
    jar.update(&set(&rig, &jar, "user", json!("eve")));
    assert_eq!(user(&rig, &jar), Some(json!("ada")), "this location still serves its cached copy");
    rig.clock.advance(KV_MIN_TTL);
    assert_eq!(user(&rig, &jar), Some(json!("eve")), "after the cache window");
}
