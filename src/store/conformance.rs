//! The conformance suite every [`SessionStore`] must pass.
//!
//! It returns a report instead of panicking, so a run lists every failure.
//! [`Capabilities`] say what a store promises beyond the basics (a cache
//! skips the checks of what it cannot promise) and the limits the suite must
//! respect: Workers KV's one write per second per key (the suite spaces its
//! writes to a key by a second) and its stale reads (the suite waits them
//! out before reading back what it cannot claim by version). The time is a
//! [`FixedClock`] the suite moves.
//!
//! Run here (the tests below): the memory store, the fake Durable Object, the
//! `file` engine over the fake R2 bucket, and
//! `cache` and `cached_db` over a consistent KV and over the eventually
//! consistent fake KV (`crate::testing`). On wasm32, `tests/js_bindings.rs`
//! runs it on the platform stores the Workers use: `KvCache` as the `cache`
//! engine over a JavaScript KV binding, and `DurableStore` (`db`) and
//! `cached_db` over JavaScript bindings whose objects run the shared object
//! protocol.

use super::{Record, SessionStore, StoreError};
use crate::clock::{Clock, FixedClock};
use crate::key::SessionKey;

/// What a store promises beyond the basics, and the limits the suite must
/// respect to test it.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// `create` refuses to replace a live record (needs an atomic check).
    pub atomic_create: bool,
    /// `save` of a deleted record fails with [`StoreError::Missing`].
    pub detects_missing: bool,
    /// `clear_expired` removes expired records itself (KV lets its TTL do it).
    pub clears_expired: bool,
    /// Workers KV's rate limit: a second write (or delete) to one key within
    /// a second is refused with a 429. The suite then spaces its writes to
    /// one key by a second, moving the clock.
    pub one_write_per_second_per_key: bool,
    /// Seconds a read may keep answering what a write or a delete replaced
    /// (0: never). Workers KV: its cache window plus propagation. The suite
    /// waits this long before it reads back a delete, and a write it cannot
    /// claim (see `reads_own_writes`).
    pub stale_for: i64,
    /// A load that claims the version the caller last wrote sees that write
    /// at once, however stale other reads may be (`cached_db` checks the
    /// claim against its durable store; KV alone cannot).
    pub reads_own_writes: bool,
}

impl Capabilities {
    /// A strongly consistent store (memory, Durable Object, `cached_db` over
    /// a consistent cache).
    pub const DURABLE: Self = Self {
        atomic_create: true,
        detects_missing: true,
        clears_expired: true,
        one_write_per_second_per_key: false,
        stale_for: 0,
        reads_own_writes: true,
    };
    /// A cache: blind writes, TTL-based expiry (over a consistent map: add
    /// KV's limits for Workers KV).
    pub const CACHE: Self = Self {
        atomic_create: false,
        detects_missing: false,
        clears_expired: false,
        one_write_per_second_per_key: false,
        stale_for: 0,
        reads_own_writes: true,
    };
}

/// The outcome of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// Checks made.
    pub checks: usize,
    /// What failed, one line each.
    pub failures: Vec<String>,
}

impl Report {
    fn check(&mut self, ok: bool, what: &str) {
        self.checks += 1;
        if !ok {
            self.failures.push(what.to_owned());
        }
    }
}

fn key(n: u8) -> SessionKey {
    let text: String = std::iter::repeat_n(char::from(b'a' + n % 26), 31).chain(['0']).collect();
    SessionKey::parse(&text).unwrap_or_else(|| unreachable!("constant key is well-formed"))
}

fn record(data: &str, expires_at: i64, version: u64) -> Record {
    Record::new(data, expires_at, version)
}

/// How long the suite's ordinary records live: longer than every wait.
const LONG: i64 = 100_000;

/// Runs every check against fresh stores from `make`, moving `clock` (and
/// setting it back at the end). Loads claim the version the suite last
/// wrote, as a client's cookie does.
pub async fn run<S: SessionStore>(make: impl Fn() -> S, clock: &FixedClock, caps: Capabilities) -> Report {
    let mut r = Report::default();
    let start = clock.now();
    // Before a write to a key written less than a second ago.
    let pace = || {
        if caps.one_write_per_second_per_key {
            clock.advance(1);
        }
    };
    // Before reading back a delete.
    let settle = || clock.advance(caps.stale_for);
    // Before reading back a write, claiming its version.
    let settle_write = || {
        if !caps.reads_own_writes {
            clock.advance(caps.stale_for);
        }
    };

    // Load, create, read back.
    let s = make();
    r.check(matches!(s.load(&key(0), 0).await, Ok(None)), "load of an unknown key is None");
    r.check(matches!(s.exists(&key(0)).await, Ok(false)), "exists of an unknown key is false");
    let first = record("one", clock.now() + LONG, 1);
    let created = s.create(&key(0), &first).await;
    r.check(created.is_ok(), "create of a new key succeeds");
    let v1 = created.unwrap_or(first.version);
    settle_write();
    let loaded = s.load(&key(0), v1).await;
    r.check(
        matches!(&loaded, Ok(Some(rec)) if rec.data == "one" && rec.expires_at == first.expires_at),
        "create then load returns the record",
    );
    r.check(matches!(s.exists(&key(0)).await, Ok(true)), "exists after create is true");
    r.check(matches!(s.load(&key(1), 0).await, Ok(None)), "records are kept per key");

    // Create never overwrites.
    if caps.atomic_create {
        pace();
        let again = s.create(&key(0), &record("intruder", clock.now() + LONG, 1)).await;
        r.check(again == Err(StoreError::Exists), "create over a live record fails with Exists");
        let kept = s.load(&key(0), v1).await;
        r.check(matches!(&kept, Ok(Some(rec)) if rec.data == "one"), "a refused create leaves the record intact");
    }

    // Save replaces and versions increase.
    pace();
    let v2 = s.save(&key(0), &record("two", clock.now() + LONG, 2)).await;
    r.check(matches!(v2, Ok(v) if v >= 2), "save returns a version at least the record's");
    pace();
    let v3 = s.save(&key(0), &record("three", clock.now() + LONG, 2)).await;
    if caps.detects_missing {
        r.check(matches!((&v2, &v3), (Ok(a), Ok(b)) if b > a), "successive saves get increasing versions");
    }
    settle_write();
    let loaded = s.load(&key(0), v3.clone().unwrap_or(2)).await;
    r.check(matches!(&loaded, Ok(Some(rec)) if rec.data == "three"), "load after save returns the new data");

    // A save hands back the revision its load returned (`Record::revision`):
    // it replaces the record; a revision that another save replaced since is
    // still saved over (last writer wins); the revision of a record deleted
    // since is no way back in.
    pace();
    let read = s.load(&key(0), v3.clone().unwrap_or(2)).await.ok().flatten();
    let revision = read.as_ref().and_then(|r| r.revision.clone());
    let with = |data: &str, version: u64, revision: Option<String>| Record {
        revision,
        ..record(data, clock.now() + LONG, version)
    };
    let base = read.as_ref().map_or(3, |r| r.version);
    let v4 = s.save(&key(0), &with("four", base + 1, revision.clone())).await;
    r.check(matches!(v4, Ok(v) if v > base), "a save naming its load's revision replaces the record");
    pace();
    let v5 = s.save(&key(0), &with("five", base + 1, revision.clone())).await;
    r.check(v5.is_ok(), "a save naming a revision another save replaced still saves (last writer wins)");
    if caps.detects_missing {
        r.check(matches!((&v4, &v5), (Ok(a), Ok(b)) if b > a), "the later save gets the greater version");
    }
    settle_write();
    let loaded = s.load(&key(0), v5.clone().unwrap_or(base + 1)).await;
    r.check(matches!(&loaded, Ok(Some(rec)) if rec.data == "five"), "the last save is what loads");

    // Save of a missing or deleted record.
    if caps.detects_missing {
        r.check(
            s.save(&key(2), &record("x", clock.now() + 10, 1)).await == Err(StoreError::Missing),
            "save of a never-created key fails with Missing",
        );
    }
    pace();
    r.check(s.delete(&key(0)).await.is_ok(), "delete succeeds");
    settle();
    r.check(matches!(s.load(&key(0), 0).await, Ok(None)), "load after delete is None");
    pace();
    r.check(s.delete(&key(0)).await.is_ok(), "delete of a missing key succeeds");
    if caps.detects_missing {
        pace();
        r.check(
            s.save(&key(0), &record("zombie", clock.now() + 10, 4)).await == Err(StoreError::Missing),
            "save after delete fails with Missing (no resurrection)",
        );
        let stale = with("zombie", 9, loaded.ok().flatten().and_then(|r| r.revision));
        r.check(
            s.save(&key(0), &stale).await == Err(StoreError::Missing),
            "save naming the revision of a deleted record fails with Missing",
        );
        r.check(matches!(s.load(&key(0), 0).await, Ok(None)), "a refused save writes nothing");
    }

    // Expiry by the clock. The short record outlives the wait for its write
    // to be seen, by 5 s.
    let s = make();
    let short = record("short", clock.now() + caps.stale_for + 5, 1);
    let long = record("long", clock.now() + LONG, 1);
    let v_short = s.create(&key(3), &short).await.unwrap_or(1);
    let v_long = s.create(&key(4), &long).await.unwrap_or(1);
    settle_write();
    r.check(matches!(s.load(&key(3), v_short).await, Ok(Some(_))), "a record reads as present before expires_at");
    clock.set(short.expires_at);
    r.check(matches!(s.load(&key(3), 0).await, Ok(None)), "a record reads as absent once expires_at is reached");
    r.check(matches!(s.exists(&key(3)).await, Ok(false)), "exists is false for an expired record");
    pace();
    r.check(
        s.create(&key(3), &record("reborn", clock.now() + 5, 1)).await.is_ok(),
        "create over an expired record succeeds",
    );
    pace();
    let _ = s.delete(&key(3)).await;
    // Read while live (its revision), expired before it is saved.
    let v_dead = s.create(&key(5), &record("dead", clock.now() + 1, 1)).await.unwrap_or(1);
    let dead = s.load(&key(5), v_dead).await.ok().flatten();
    clock.advance(1);
    if caps.detects_missing {
        r.check(
            s.save(&key(5), &with("x", 2, dead.and_then(|r| r.revision))).await == Err(StoreError::Missing),
            "save naming the revision of a record that expired since it was read fails with Missing",
        );
        r.check(
            s.save(&key(5), &record("x", clock.now() + 10, 2)).await == Err(StoreError::Missing),
            "save of an expired record fails with Missing",
        );
    }
    let cleared = s.clear_expired().await;
    if caps.clears_expired {
        r.check(matches!(cleared, Ok(n) if n >= 1), "clear_expired reports the expired records it removed");
    } else {
        r.check(cleared.is_ok(), "clear_expired succeeds");
    }
    r.check(matches!(s.load(&key(4), v_long).await, Ok(Some(_))), "clear_expired keeps live records");
    clock.set(start);
    r
}

#[cfg(test)]
mod tests {
    //! The suite on every store it can run on here: the memory store, the
    //! fake Durable Object, and `cache` and `cached_db` over a consistent
    //! KV and over the eventually consistent fake KV.

    use super::*;
    use crate::store::cache::{CacheEngine, CachedDbStore};
    use crate::store::file::FileStore;
    use crate::store::MemoryStore;
    use crate::testing::{FakeBucket, FakeKv, FakeObject, KvModel};
    use pollster::block_on;

    /// Checks in a run on a durable store, and on a cache (which skips what
    /// it cannot promise): the same over an eventually consistent KV.
    const DURABLE_CHECKS: usize = 30;
    const CACHE_CHECKS: usize = 20;

    /// Workers KV's limits, on the fake KV's eventual model.
    fn on_eventual_kv(caps: Capabilities) -> Capabilities {
        Capabilities { one_write_per_second_per_key: true, stale_for: KvModel::EVENTUAL.stale_for(), ..caps }
    }

    fn passes<S: SessionStore>(make: impl Fn(&FixedClock) -> S, caps: Capabilities) -> usize {
        let clock = FixedClock::new(1_000_000);
        let report = block_on(run(|| make(&clock), &clock, caps));
        assert!(report.failures.is_empty(), "{:#?}", report.failures);
        assert_eq!(clock.now(), 1_000_000, "the clock is set back");
        report.checks
    }

    #[test]
    fn the_memory_store_passes_as_a_durable_store() {
        assert_eq!(passes(|c| MemoryStore::new(c.clone()), Capabilities::DURABLE), DURABLE_CHECKS);
    }

    #[test]
    fn the_file_engine_passes_as_a_durable_store_over_a_bucket_that_honours_conditions() {
        let make = |c: &FixedClock| FileStore::new(FakeBucket::new(), "sessions", "sessionid", c.clone());
        assert_eq!(passes(make, Capabilities::DURABLE), DURABLE_CHECKS);
    }

    #[test]
    fn the_fake_durable_object_passes_as_a_durable_store() {
        assert_eq!(passes(|c| FakeObject::memory(c.clone()), Capabilities::DURABLE), DURABLE_CHECKS);
    }

    #[test]
    fn the_cache_engine_passes_as_a_cache_over_a_consistent_kv() {
        let checks = passes(|c| CacheEngine::new(FakeKv::consistent(c.clone()), c.clone()), Capabilities::CACHE);
        assert_eq!(checks, CACHE_CHECKS);
    }

    #[test]
    fn the_cache_engine_passes_as_a_cache_over_the_eventually_consistent_kv() {
        // KV alone has nothing to check a version claim against: even its
        // own writes are seen only once they propagate and cached reads expire.
        let caps = Capabilities { reads_own_writes: false, ..on_eventual_kv(Capabilities::CACHE) };
        let checks = passes(|c| CacheEngine::new(FakeKv::new(c.clone(), KvModel::EVENTUAL, 1), c.clone()), caps);
        assert_eq!(checks, CACHE_CHECKS);
    }

    #[test]
    fn cached_db_passes_as_a_durable_store_over_a_consistent_kv() {
        let make =
            |c: &FixedClock| CachedDbStore::new(FakeKv::consistent(c.clone()), MemoryStore::new(c.clone()), c.clone());
        assert_eq!(passes(make, Capabilities::DURABLE), DURABLE_CHECKS);
    }

    #[test]
    fn cached_db_passes_as_a_durable_store_over_the_eventually_consistent_kv() {
        let make = |c: &FixedClock| {
            CachedDbStore::new(FakeKv::new(c.clone(), KvModel::EVENTUAL, 1), MemoryStore::new(c.clone()), c.clone())
        };
        assert_eq!(passes(make, on_eventual_kv(Capabilities::DURABLE)), DURABLE_CHECKS);
    }
}
