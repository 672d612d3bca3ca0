//! A fake Workers KV with KV's consistency model, for host tests: the one
//! fake KV. [`KvModel::CONSISTENT`] makes it a plain map (every read fresh,
//! no rate limit); [`KvModel::EVENTUAL`] is KV as documented, at its worst.
//! The namespace itself is a [`RecordCache`] (location 0); [`FakeKv::at`]
//! gives the other locations.
//!
//! * **One origin, many locations.** Every write goes to the origin with its
//!   time; a location sees a write only `propagation` seconds after it was
//!   made (also the location that made it, unless `local_writes_visible`).
//! * **Per-location caches, cached misses.** A location that read a key keeps
//!   what it got, a value or a miss, for `cache_ttl` seconds (KV's 60 s
//!   `cacheTtl` minimum) and answers from that copy meanwhile.
//! * **Expiry.** An entry dies `max(60, ttl)` seconds after it was written
//!   (the `expirationTtl` the writer asked for, never below KV's 60 s
//!   minimum). Taken at its worst, a location that cached a copy keeps
//!   serving it for its whole `cache_ttl`, even past the entry's death.
//! * **Rate limit.** A second write to one key within a second fails with
//!   `429 Too Many Requests`, as on Workers KV; deletes count as writes when
//!   `rate_limit_deletes`.
//! * **Faults.** Gets, puts and deletes can be made to fail.
//! * **Counts.** Every get, put and delete (failed ones too) is counted in
//!   [`crate::metrics`] as `kv_get`, `kv_put`, `kv_delete`, as the
//!   platform's KV store counts them.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::clock::{Clock, FixedClock};
use crate::key::SessionKey;
use crate::metrics::count;
use crate::store::cache::RecordCache;
use crate::store::{BackendError, Record, StoreError, StoreOp};

/// KV's smallest `expirationTtl` and `cacheTtl`.
pub const KV_MIN_TTL: i64 = 60;

/// How the fake behaves.
#[derive(Debug, Clone, Copy)]
pub struct KvModel {
    /// Seconds a location keeps what it read (a value or a miss).
    pub cache_ttl: i64,
    /// Seconds before a write reaches the locations.
    pub propagation: i64,
    /// A location sees its own writes at once (KV usually does this; not guaranteed).
    pub local_writes_visible: bool,
    /// One write per key per second, else 429.
    pub rate_limit: bool,
    /// Deletes count against the rate limit.
    pub rate_limit_deletes: bool,
}

impl KvModel {
    /// The longest a location may answer with what a write (or a delete)
    /// replaced: a read just before the write reached it is kept for the
    /// whole cache window.
    pub const fn stale_for(&self) -> i64 {
        self.propagation + self.cache_ttl
    }

    /// Strict: every read is fresh, no rate limit (a plain map).
    pub const CONSISTENT: Self =
        Self { cache_ttl: 0, propagation: 0, local_writes_visible: true, rate_limit: false, rate_limit_deletes: false };
    /// KV as documented, taken at its worst: 60 s caches, cached misses,
    /// writes that take seconds to propagate even to their own location, 429s.
    pub const EVENTUAL: Self = Self {
        cache_ttl: KV_MIN_TTL,
        propagation: 5,
        local_writes_visible: false,
        rate_limit: true,
        rate_limit_deletes: true,
    };
}

/// A write at the origin: when, and the value (`None` for a delete).
#[derive(Debug, Clone)]
struct Write {
    at: i64,
    value: Option<Record>,
    /// The `expirationTtl` the writer asked for.
    ttl: i64,
    /// When the entry dies (`at + max(60, ttl)`).
    dies_at: i64,
}

/// What one location read: key -> (read at, what was read).
type LocationCache = BTreeMap<String, (i64, Option<Record>)>;

struct Inner {
    clock: FixedClock,
    model: KvModel,
    origin: RefCell<BTreeMap<String, Vec<Write>>>,
    caches: RefCell<Vec<LocationCache>>,
    last_write: RefCell<BTreeMap<String, i64>>,
    fail_gets: Cell<bool>,
    fail_puts: Cell<bool>,
    fail_deletes: Cell<bool>,
    rejected_429: Cell<u64>,
}

/// The namespace; [`FakeKv::at`] gives a location's view.
#[derive(Clone)]
pub struct FakeKv(Rc<Inner>);

/// One location's view of the namespace: a [`RecordCache`].
#[derive(Clone)]
pub struct KvAt {
    kv: FakeKv,
    location: usize,
}

impl FakeKv {
    /// A namespace seen from `locations` locations, behaving as `model`, its
    /// time told by `clock`.
    pub fn new(clock: FixedClock, model: KvModel, locations: usize) -> Self {
        Self(Rc::new(Inner {
            clock,
            model,
            origin: RefCell::default(),
            caches: RefCell::new(vec![BTreeMap::new(); locations]),
            last_write: RefCell::default(),
            fail_gets: Cell::default(),
            fail_puts: Cell::default(),
            fail_deletes: Cell::default(),
            rejected_429: Cell::default(),
        }))
    }

    /// One location over [`KvModel::CONSISTENT`]: a plain map.
    pub fn consistent(clock: FixedClock) -> Self {
        Self::new(clock, KvModel::CONSISTENT, 1)
    }

    /// Location `location`'s view.
    pub fn at(&self, location: usize) -> KvAt {
        assert!(location < self.0.caches.borrow().len());
        KvAt { kv: self.clone(), location }
    }

    /// Makes every get fail with a 503 (`true`) or work again (`false`).
    pub fn fail_gets(&self, fail: bool) {
        self.0.fail_gets.set(fail);
    }

    /// Makes every put fail with a 503 (`true`) or work again (`false`).
    pub fn fail_puts(&self, fail: bool) {
        self.0.fail_puts.set(fail);
    }

    /// Makes every delete fail with a 503 (`true`) or work again (`false`).
    pub fn fail_deletes(&self, fail: bool) {
        self.0.fail_deletes.set(fail);
    }

    /// Writes refused with 429 so far.
    pub fn rejected_429(&self) -> u64 {
        self.0.rejected_429.get()
    }

    /// The latest value written at the origin, expired or not (for inspection).
    pub fn origin_latest(&self, key: &SessionKey) -> Option<Record> {
        self.0.origin.borrow().get(key.as_str()).and_then(|w| w.last()).and_then(|w| w.value.clone())
    }

    /// The TTL the latest write of `key` asked for (`None` after a delete).
    pub fn ttl_of(&self, key: &SessionKey) -> Option<i64> {
        let origin = self.0.origin.borrow();
        origin.get(key.as_str()).and_then(|w| w.last()).and_then(|w| w.value.as_ref().map(|_| w.ttl))
    }

    /// Keys whose latest origin write is a value.
    pub fn origin_len(&self) -> usize {
        self.0.origin.borrow().values().filter(|w| w.last().is_some_and(|w| w.value.is_some())).count()
    }

    fn now(&self) -> i64 {
        self.0.clock.now()
    }

    /// What the origin shows a location at `now`: the latest write that has
    /// propagated, unless its entry has expired.
    fn origin_view(&self, key: &str) -> Option<Record> {
        let now = self.now();
        let model = self.0.model;
        let origin = self.0.origin.borrow();
        let writes = origin.get(key)?;
        let visible = writes.iter().rev().find(|w| w.at + model.propagation <= now)?;
        let record = visible.value.clone()?;
        (now < visible.dies_at).then_some(record)
    }

    fn rate_limited(&self, key: &str, delete: bool) -> Result<(), StoreError> {
        let model = self.0.model;
        if !model.rate_limit || (delete && !model.rate_limit_deletes) {
            return Ok(());
        }
        let now = self.now();
        let mut last = self.0.last_write.borrow_mut();
        if last.get(key).is_some_and(|&t| now - t < 1) {
            self.0.rejected_429.set(self.0.rejected_429.get() + 1);
            let op = if delete { StoreOp::KvDelete } else { StoreOp::KvPut };
            return Err(BackendError::new(op, "429 Too Many Requests").into());
        }
        last.insert(key.to_owned(), now);
        Ok(())
    }

    fn write(&self, location: usize, key: &SessionKey, value: Option<Record>, ttl: i64) -> Result<(), StoreError> {
        let delete = value.is_none();
        count(|c| if delete { c.kv_delete += 1 } else { c.kv_put += 1 });
        let failing = if delete { &self.0.fail_deletes } else { &self.0.fail_puts };
        if failing.get() {
            let op = if delete { StoreOp::KvDelete } else { StoreOp::KvPut };
            return Err(BackendError::new(op, "503 Service Unavailable").into());
        }
        self.rate_limited(key.as_str(), delete)?;
        let now = self.now();
        let dies_at = now.saturating_add(ttl.max(KV_MIN_TTL));
        self.0.origin.borrow_mut().entry(key.as_str().to_owned()).or_default().push(Write {
            at: now,
            value: value.clone(),
            ttl,
            dies_at,
        });
        if self.0.model.local_writes_visible {
            self.0.caches.borrow_mut()[location].insert(key.as_str().to_owned(), (now, value));
        }
        Ok(())
    }
}

impl KvAt {
    /// The namespace this location views.
    pub fn kv(&self) -> &FakeKv {
        &self.kv
    }
}

impl RecordCache for KvAt {
    async fn get(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        let kv = &self.kv;
        count(|c| c.kv_get += 1);
        if kv.0.fail_gets.get() {
            return Err(BackendError::new(StoreOp::KvGet, "503 Service Unavailable").into());
        }
        let now = kv.now();
        let ttl = kv.0.model.cache_ttl;
        if let Some((read_at, value)) = kv.0.caches.borrow()[self.location].get(key.as_str()) {
            if now < read_at + ttl {
                return Ok(value.clone());
            }
        }
        let value = kv.origin_view(key.as_str());
        kv.0.caches.borrow_mut()[self.location].insert(key.as_str().to_owned(), (now, value.clone()));
        Ok(value)
    }

    async fn set(&self, key: &SessionKey, record: &Record, ttl: i64) -> Result<(), StoreError> {
        self.kv.write(self.location, key, Some(record.clone()), ttl)
    }

    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.kv.write(self.location, key, None, 0)
    }
}

/// Location 0.
impl RecordCache for FakeKv {
    async fn get(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        self.at(0).get(key).await
    }

    async fn set(&self, key: &SessionKey, record: &Record, ttl: i64) -> Result<(), StoreError> {
        self.at(0).set(key, record, ttl).await
    }

    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.at(0).remove(key).await
    }
}
