//! Caches (Workers KV) as session stores.
//!
//! * [`RecordCache`] is what a cache offers: blind get / set / remove, with a TTL.
//! * [`CacheEngine`] makes a cache a [`SessionStore`] with Django's `cache`
//!   engine semantics (writes are blind puts, expiry is the record's plus the
//!   backend TTL). KV cannot do an atomic create or detect a concurrent delete,
//!   so `create` relies on 165-bit random keys and `save` cannot raise Missing
//!   (the manager checks that a never-read session's record exists before it
//!   saves it: correct for requests that do not overlap, not atomic).
//! * [`CachedDbStore`] is Django's `cached_db`: writes go to the durable store
//!   first, then to the cache; reads use the cache and fall back to the durable
//!   store on a miss, **or when the cached copy is not the version the
//!   client's cookie says it wrote** (older: read-your-writes on an eventually
//!   consistent cache; newer: a write the client has not seen, such as a save
//!   that raced a logout); deletes go to the durable store first.
//!
//! Every cache write names how long the entry must live. A write of the
//! session (create, save) lives as long as the record; a **refill** (the copy
//! written back after a read that had to ask the durable store) lives at most
//! [`REFILL_TTL`]: a read that overlaps a logout may refill the cache after
//! the logout deleted it, and that late copy must die within the revocation
//! window SECURITY.md states, not at the end of the session's life.

use std::rc::Rc;

use super::{Record, Saved, SessionStore, StoreError};
use crate::clock::Clock;
use crate::key::SessionKey;

/// The longest life of a cache entry written back after a read from the
/// durable store (KV's smallest `expirationTtl`).
pub const REFILL_TTL: i64 = 60;

/// Seconds from `now` until `record` expires (never negative).
fn life(record: &Record, now: i64) -> i64 {
    record.expires_at.saturating_sub(now).max(0)
}

/// A cache of records (Workers KV in production).
#[allow(async_fn_in_trait)]
pub trait RecordCache {
    /// The cached record, if the cache has one (possibly stale).
    async fn get(&self, key: &SessionKey) -> Result<Option<Record>, StoreError>;
    /// Stores `record` for `ttl` seconds (a cache may round a short TTL up to
    /// its minimum, as KV does to 60 s; the record's own `expires_at` is
    /// checked on every read whatever the cache keeps).
    async fn set(&self, key: &SessionKey, record: &Record, ttl: i64) -> Result<(), StoreError>;
    /// Removes the record.
    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError>;
}

/// Django's `cache` engine over a [`RecordCache`].
#[derive(Clone)]
pub struct CacheEngine<K> {
    cache: K,
    clock: Rc<dyn Clock>,
}

impl<K: RecordCache> CacheEngine<K> {
    /// The engine over `cache`, expiring records by `clock`.
    pub fn new(cache: K, clock: impl Clock + 'static) -> Self {
        Self { cache, clock: Rc::new(clock) }
    }

    /// The cache underneath.
    pub fn cache(&self) -> &K {
        &self.cache
    }
}

impl<K: RecordCache> SessionStore for CacheEngine<K> {
    async fn load(&self, key: &SessionKey, _min_version: u64) -> Result<Option<Record>, StoreError> {
        let now = self.clock.now();
        Ok(self.cache.get(key).await?.filter(|r| !r.is_expired(now)))
    }

    async fn create(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        self.cache.set(key, record, life(record, self.clock.now())).await?;
        Ok(record.version)
    }

    async fn save(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        self.cache.set(key, record, life(record, self.clock.now())).await?;
        Ok(record.version)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.cache.remove(key).await
    }

    async fn exists(&self, key: &SessionKey) -> Result<bool, StoreError> {
        Ok(self.load(key, 0).await?.is_some())
    }

    async fn clear_expired(&self) -> Result<u64, StoreError> {
        // KV drops entries by their expirationTtl; there is nothing to scan.
        Ok(0)
    }

    fn save_detects_missing(&self) -> bool {
        false
    }
}

/// Django's `cached_db`: a cache in front of a durable store, write-through.
#[derive(Clone)]
pub struct CachedDbStore<K, D> {
    cache: K,
    durable: D,
    clock: Rc<dyn Clock>,
}

impl<K: RecordCache, D: SessionStore> CachedDbStore<K, D> {
    /// `cache` in front of `durable`.
    pub fn new(cache: K, durable: D, clock: impl Clock + 'static) -> Self {
        Self { cache, durable, clock: Rc::new(clock) }
    }

    /// The cache.
    pub fn cache(&self) -> &K {
        &self.cache
    }

    /// The durable store.
    pub fn durable(&self) -> &D {
        &self.durable
    }

    /// Writes `record` (as stored, at `version`) to the cache for at most
    /// `max_ttl` seconds. A failure is logged and swallowed: the durable store
    /// already has the data, and readers fall back to it because the client's
    /// cookie carries `version`.
    async fn fill(&self, key: &SessionKey, record: &Record, version: u64, max_ttl: i64) {
        let ttl = life(record, self.clock.now()).min(max_ttl);
        // The durable store usually stores the version it was given: copy the
        // record (up to a megabyte) only when it chose another.
        let written = if record.version == version {
            self.cache.set(key, record, ttl).await
        } else {
            self.cache.set(key, &Record { version, revision: None, ..record.clone() }, ttl).await
        };
        if let Err(e) = written {
            crate::log::warn(&format!("cached_db: cache write failed after the durable write succeeded ({e:#}); readers fall back to the durable store"));
        }
    }
}

impl<K: RecordCache, D: SessionStore> SessionStore for CachedDbStore<K, D> {
    async fn load(&self, key: &SessionKey, min_version: u64) -> Result<Option<Record>, StoreError> {
        let now = self.clock.now();
        let cached_version = match self.cache.get(key).await {
            // The cached copy is used only when it is exactly the version the
            // client last wrote (or the caller claims none). Older: a stale
            // location. Newer: a write the client has not seen, possibly
            // racing a logout (a save whose KV write lands after the logout's
            // KV delete); either way the Durable Object decides.
            Ok(Some(r)) if !r.is_expired(now) && (min_version == 0 || r.version == min_version) => return Ok(Some(r)),
            Ok(Some(r)) if !r.is_expired(now) => Some(r.version),
            Ok(_) => None,
            Err(e) => {
                crate::log::warn(&format!("cached_db: cache read failed ({e:#}); reading the durable store"));
                None
            }
        };
        let found = self.durable.load(key, min_version).await?;
        match &found {
            // The cache already holds the durable version (a client whose
            // cookie lags, e.g. after a save outside a request): no rewrite.
            Some(r) if cached_version == Some(r.version) => {}
            // A refill: short-lived, since this read may overlap a logout
            // that has already deleted the cached copy.
            Some(r) => self.fill(key, r, r.version, REFILL_TTL).await,
            None => {}
        }
        Ok(found)
    }

    async fn create(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        let version = self.durable.create(key, record).await?;
        self.fill(key, record, version, i64::MAX).await;
        Ok(version)
    }

    async fn save(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        let version = self.durable.save(key, record).await?;
        self.fill(key, record, version, i64::MAX).await;
        Ok(version)
    }

    async fn save_if_unchanged(&self, key: &SessionKey, record: &Record, read: u64) -> Result<Saved, StoreError> {
        let saved = self.durable.save_if_unchanged(key, record, read).await?;
        if let Saved::Version(version) = saved {
            self.fill(key, record, version, i64::MAX).await;
        }
        Ok(saved)
    }

    fn merges(&self) -> bool {
        self.durable.merges()
    }

    /// The durable record's expiry moves (its alarm with it), then the cache
    /// gets the record with the new expiry: the durable copy decides when the
    /// session ends, so a refresh of the cache alone would not last.
    async fn touch(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        let version = self.durable.touch(key, record).await?;
        self.fill(key, record, version, i64::MAX).await;
        Ok(version)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.durable.delete(key).await?;
        // A cached copy left behind would keep a logged-out session readable
        // until its TTL: report the failure rather than hide it.
        self.cache.remove(key).await
    }

    async fn exists(&self, key: &SessionKey) -> Result<bool, StoreError> {
        Ok(self.load(key, 0).await?.is_some())
    }

    async fn clear_expired(&self) -> Result<u64, StoreError> {
        self.durable.clear_expired().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::store::MemoryStore;
    use crate::testing::{cost_of, FakeKv, FakeObject, Fault, KvModel};
    use pollster::block_on;

    /// A KV whose writes take 5 s to reach its one location, which never
    /// keeps what it read: a read right after a write sees what was there
    /// before it (an old copy, or a miss).
    const LAGGING: KvModel = KvModel { propagation: 5, ..KvModel::CONSISTENT };

    fn key() -> SessionKey {
        SessionKey::parse("abcdefghijklmnopqrstuvwxyz012345").unwrap()
    }

    fn cached_db(clock: &FixedClock, model: KvModel) -> CachedDbStore<FakeKv, FakeObject<MemoryStore>> {
        CachedDbStore::new(FakeKv::new(clock.clone(), model, 1), FakeObject::memory(clock.clone()), clock.clone())
    }

    #[test]
    fn writes_go_to_the_durable_store_first_then_the_cache() {
        let clock = FixedClock::new(1000);
        let store = cached_db(&clock, KvModel::CONSISTENT);
        let rec = Record::new("d", 2000, 1);
        store.cache().fail_puts(true);
        // The cache write fails after the durable write: nothing is lost.
        assert_eq!(block_on(store.create(&key(), &rec)), Ok(1));
        assert_eq!(store.durable().raw(&key()).unwrap().data, "d");
        store.cache().fail_puts(false);
        store.durable().set_fault(Fault::WritesFail);
        // The durable write fails: the cache is not touched and the error is reported.
        let (saved, cost) = cost_of(|| block_on(store.save(&key(), &Record { data: "e".into(), ..rec.clone() })));
        assert!(saved.is_err());
        assert_eq!((cost.do_call, cost.kv_put), (1, 0));
    }

    #[test]
    fn a_stale_cached_copy_older_than_the_cookie_is_skipped() {
        let clock = FixedClock::new(1000);
        let store = cached_db(&clock, LAGGING);
        let v1 = block_on(store.create(&key(), &Record::new("v1", 2000, 1))).unwrap();
        clock.advance(5); // v1 has reached the location
        let v2 = block_on(store.save(&key(), &Record::new("v2", 2000, v1 + 1))).unwrap();
        // v2 has not: a client with no version claim gets the cached copy:
        // one cache read, no durable read.
        let (got, cost) = cost_of(|| block_on(store.load(&key(), 0)));
        assert_eq!(got.unwrap().unwrap().data, "v1");
        assert_eq!((cost.kv_get, cost.do_call), (1, 0));
        // A client that wrote v2 never reads v1 from the stale cache.
        let (got, cost) = cost_of(|| block_on(store.load(&key(), v2)));
        assert_eq!(got.unwrap().unwrap().data, "v2");
        assert_eq!((cost.kv_get, cost.do_call), (1, 1));
    }

    #[test]
    fn a_copy_newer_than_the_cookie_is_checked_against_the_durable_store_but_not_rewritten() {
        let clock = FixedClock::new(1000);
        let store = cached_db(&clock, KvModel::CONSISTENT);
        let v1 = block_on(store.create(&key(), &Record::new("v1", 2000, 1))).unwrap();
        block_on(store.save(&key(), &Record::new("v2", 2000, v1 + 1))).unwrap();
        // A client still holding v1's cookie: the durable store decides, and
        // the cache, already at the durable version, is left alone.
        let (got, cost) = cost_of(|| block_on(store.load(&key(), v1)));
        assert_eq!(got.unwrap().unwrap().data, "v2");
        assert_eq!((cost.kv_get, cost.do_call, cost.kv_put), (1, 1, 0));
    }

    #[test]
    fn a_cached_miss_falls_back_to_the_durable_store_and_refills() {
        let clock = FixedClock::new(1000);
        let store = cached_db(&clock, LAGGING);
        let (_, created) = cost_of(|| block_on(store.create(&key(), &Record::new("v1", 2000, 1))));
        assert_eq!((created.do_call, created.kv_put), (1, 1));
        // The write has not reached the location yet: a miss.
        let (got, cost) = cost_of(|| block_on(store.load(&key(), 1)));
        assert_eq!(got.unwrap().unwrap().data, "v1");
        assert_eq!((cost.kv_get, cost.do_call), (1, 1));
        assert_eq!(cost.kv_put, 1, "the refill");
    }

    #[test]
    fn a_refill_after_a_durable_read_is_short_lived_and_a_write_lives_as_long_as_the_record() {
        let clock = FixedClock::new(1000);
        let store = cached_db(&clock, LAGGING);
        let life = 1_209_600;
        block_on(store.create(&key(), &Record::new("v1", 1000 + life, 1))).unwrap();
        assert_eq!(store.cache().ttl_of(&key()), Some(life), "a write: the record's whole life");
        // The write has not reached the location yet: a miss, so the durable store is read, and the cache refilled.
        assert_eq!(block_on(store.load(&key(), 1)).unwrap().unwrap().data, "v1");
        assert_eq!(store.cache().ttl_of(&key()), Some(REFILL_TTL), "a refill: at most REFILL_TTL, not {life}");
    }

    #[test]
    fn cache_read_failure_falls_back_and_durable_read_failure_is_an_error() {
        let clock = FixedClock::new(1000);
        let store = cached_db(&clock, KvModel::CONSISTENT);
        block_on(store.create(&key(), &Record::new("v1", 2000, 1))).unwrap();
        store.cache().fail_gets(true);
        assert_eq!(block_on(store.load(&key(), 1)).unwrap().unwrap().data, "v1");
        store.durable().set_fault(Fault::ReadsFail);
        assert!(block_on(store.load(&key(), 1)).is_err());
    }

    #[test]
    fn delete_goes_to_the_durable_store_first_and_reports_a_cache_failure() {
        let clock = FixedClock::new(1000);
        let store = cached_db(&clock, KvModel::CONSISTENT);
        block_on(store.create(&key(), &Record::new("v1", 2000, 1))).unwrap();
        store.cache().fail_deletes(true);
        assert!(block_on(store.delete(&key())).is_err());
        assert!(store.durable().raw(&key()).is_none());
    }
}
