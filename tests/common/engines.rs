//! The engines on the host, for tests that run on each: the store each
//! engine runs, how to make it fail, and what a request costs there.

use super::{ops, Files, Rig, START};
use edge_session::prelude::*;
use edge_session::store::cache::{CacheEngine, CachedDbStore};
use edge_session::store::StoreOp;
use edge_session::testing::{FakeKv, FakeObject, Fault};
use edge_session::Counters;

/// Which engine a rig runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Db,
    CachedDb,
    Cache,
    File,
    SignedCookies,
}

/// An engine on the host: its rig, what its store holds, how to make its
/// store fail, and what it costs.
pub trait Engine {
    type Store: SessionStore + Clone + 'static;
    const KIND: Kind;
    /// The `SESSION_ENGINE` setting.
    const NAME: &'static str;

    /// The store, whose records expire by `clock`.
    fn store(clock: &FixedClock) -> Self::Store;

    /// Records held, expired or not.
    fn records(store: &Self::Store) -> usize;

    /// Makes every read fail (a `cached_db` KV read failing alone falls back
    /// to the Durable Object, so both fail there), or work again.
    fn fail_reads(store: &Self::Store, fail: bool);

    /// Makes every write fail (for `cached_db`, the Durable Object's: a KV
    /// write failing alone is logged, not an error).
    fn fail_writes(store: &Self::Store, fail: bool);

    /// A rig with `extra` settings.
    fn rig(extra: &[(&str, &str)]) -> Rig<Self::Store> {
        let clock = FixedClock::new(START);
        let mut settings = vec![("SESSION_ENGINE", Self::NAME)];
        settings.extend_from_slice(extra);
        Rig::with_store(clock.clone(), Self::store(&clock), &settings)
    }

    /// What a request cost on this engine: `db`, `cached_db`, `cache`,
    /// `file` (as in `X-Edge-Session-Counters`); `signed_cookies` never
    /// touches a store.
    fn cost(db: &str, cached_db: &str, cache: &str, file: &str) -> Counters {
        ops(match Self::KIND {
            Kind::Db => db,
            Kind::CachedDb => cached_db,
            Kind::Cache => cache,
            Kind::File => file,
            Kind::SignedCookies => "",
        })
    }

    /// `server` on the engines that keep the data on the server, `signed` on
    /// `signed_cookies` (whose cookie is the data).
    fn pick<T>(server: T, signed: T) -> T {
        if Self::KIND == Kind::SignedCookies {
            signed
        } else {
            server
        }
    }
}

pub struct Db;
pub struct CachedDb;
pub struct Cache;
pub struct File;
pub struct SignedCookies;

impl Engine for Db {
    type Store = FakeObject;
    const KIND: Kind = Kind::Db;
    const NAME: &'static str = "db";
    fn store(clock: &FixedClock) -> FakeObject {
        FakeObject::memory(clock.clone())
    }
    fn records(store: &FakeObject) -> usize {
        store.len()
    }
    fn fail_reads(store: &FakeObject, fail: bool) {
        store.set_fault(if fail { Fault::ReadsFail } else { Fault::None });
    }
    fn fail_writes(store: &FakeObject, fail: bool) {
        store.set_fault(if fail { Fault::WritesFail } else { Fault::None });
    }
}

impl Engine for CachedDb {
    type Store = CachedDbStore<FakeKv, FakeObject>;
    const KIND: Kind = Kind::CachedDb;
    const NAME: &'static str = "cached_db";
    fn store(clock: &FixedClock) -> Self::Store {
        CachedDbStore::new(FakeKv::consistent(clock.clone()), FakeObject::memory(clock.clone()), clock.clone())
    }
    /// The Durable Object's records; KV holds a copy of each, and no other.
    fn records(store: &Self::Store) -> usize {
        let held = store.durable().len();
        assert_eq!(store.cache().origin_len(), held, "KV holds a copy of each record, and no other");
        held
    }
    fn fail_reads(store: &Self::Store, fail: bool) {
        store.cache().fail_gets(fail);
        Db::fail_reads(store.durable(), fail);
    }
    fn fail_writes(store: &Self::Store, fail: bool) {
        Db::fail_writes(store.durable(), fail);
    }
}

impl Engine for Cache {
    type Store = CacheEngine<FakeKv>;
    const KIND: Kind = Kind::Cache;
    const NAME: &'static str = "cache";
    fn store(clock: &FixedClock) -> Self::Store {
        CacheEngine::new(FakeKv::consistent(clock.clone()), clock.clone())
    }
    fn records(store: &Self::Store) -> usize {
        store.cache().origin_len()
    }
    fn fail_reads(store: &Self::Store, fail: bool) {
        store.cache().fail_gets(fail);
    }
    fn fail_writes(store: &Self::Store, fail: bool) {
        store.cache().fail_puts(fail);
        store.cache().fail_deletes(fail);
    }
}

/// One object per session in a fake R2 bucket.
impl Engine for File {
    type Store = Files;
    const KIND: Kind = Kind::File;
    const NAME: &'static str = "file";
    fn store(clock: &FixedClock) -> Files {
        Files::new(clock)
    }
    fn records(store: &Files) -> usize {
        store.bucket.len()
    }
    fn fail_reads(store: &Files, fail: bool) {
        store.bucket.fail(StoreOp::R2Get, fail);
        store.bucket.fail(StoreOp::R2Head, fail);
    }
    fn fail_writes(store: &Files, fail: bool) {
        store.bucket.fail(StoreOp::R2Put, fail);
        store.bucket.fail(StoreOp::R2Delete, fail);
    }
}

/// The data lives in the cookie; the store is there only to show it is never used.
impl Engine for SignedCookies {
    type Store = FakeObject;
    const KIND: Kind = Kind::SignedCookies;
    const NAME: &'static str = "signed_cookies";
    fn store(clock: &FixedClock) -> FakeObject {
        Db::store(clock)
    }
    fn records(store: &FakeObject) -> usize {
        store.len()
    }
    fn fail_reads(store: &FakeObject, fail: bool) {
        Db::fail_reads(store, fail);
    }
    fn fail_writes(store: &FakeObject, fail: bool) {
        Db::fail_writes(store, fail);
    }
}
