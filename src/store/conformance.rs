//! The conformance suite every [`SessionStore`] must pass.
//!
//! It returns a report instead of panicking, so the same suite can run on the
//! host (memory store, cache combinators) and inside a Worker against real
//! bindings, reporting as JSON.

use super::{Record, SessionStore, StoreError};
use crate::clock::{Clock, FixedClock};
use crate::key::SessionKey;

/// What a store promises beyond the basics.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// `create` refuses to replace a live record (needs an atomic check).
    pub atomic_create: bool,
    /// `save` of a deleted record fails with [`StoreError::Missing`].
    pub detects_missing: bool,
    /// `clear_expired` removes expired records itself (KV lets its TTL do it).
    pub clears_expired: bool,
}

impl Capabilities {
    /// A strongly consistent store (memory, Durable Object, `cached_db`).
    pub const DURABLE: Self = Self { atomic_create: true, detects_missing: true, clears_expired: true };
    /// A cache (KV): blind writes, TTL-based expiry.
    pub const CACHE: Self = Self { atomic_create: false, detects_missing: false, clears_expired: false };
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
    Record { data: data.to_owned(), expires_at, version }
}

/// Runs every check against fresh stores from `make`, moving `clock`.
pub async fn run<S: SessionStore>(make: impl Fn() -> S, clock: &FixedClock, caps: Capabilities) -> Report {
    let mut r = Report::default();
    let now = clock.now();

    // Load, create, read back.
    let s = make();
    r.check(matches!(s.load(&key(0), 0).await, Ok(None)), "load of an unknown key is None");
    r.check(matches!(s.exists(&key(0)).await, Ok(false)), "exists of an unknown key is false");
    let first = record("one", now + 100, 1);
    r.check(s.create(&key(0), &first).await.is_ok(), "create of a new key succeeds");
    let loaded = s.load(&key(0), 1).await;
    r.check(
        matches!(&loaded, Ok(Some(rec)) if rec.data == "one" && rec.expires_at == now + 100),
        "create then load returns the record",
    );
    r.check(matches!(s.exists(&key(0)).await, Ok(true)), "exists after create is true");
    r.check(matches!(s.load(&key(1), 0).await, Ok(None)), "records are kept per key");

    // Create never overwrites.
    if caps.atomic_create {
        let again = s.create(&key(0), &record("intruder", now + 100, 1)).await;
        r.check(again == Err(StoreError::Exists), "create over a live record fails with Exists");
        let kept = s.load(&key(0), 0).await;
        r.check(matches!(&kept, Ok(Some(rec)) if rec.data == "one"), "a refused create leaves the record intact");
    }

    // Save replaces and versions increase.
    let v2 = s.save(&key(0), &record("two", now + 200, 2)).await;
    r.check(matches!(v2, Ok(v) if v >= 2), "save returns a version at least the record's");
    let v3 = s.save(&key(0), &record("three", now + 200, 2)).await;
    if caps.detects_missing {
        r.check(matches!((&v2, &v3), (Ok(a), Ok(b)) if b > a), "successive saves get increasing versions");
    }
    let loaded = s.load(&key(0), 0).await;
    r.check(matches!(&loaded, Ok(Some(rec)) if rec.data == "three"), "load after save returns the new data");

    // Save of a missing or deleted record.
    if caps.detects_missing {
        r.check(
            s.save(&key(2), &record("x", now + 10, 1)).await == Err(StoreError::Missing),
            "save of a never-created key fails with Missing",
        );
    }
    r.check(s.delete(&key(0)).await.is_ok(), "delete succeeds");
    r.check(matches!(s.load(&key(0), 0).await, Ok(None)), "load after delete is None");
    r.check(s.delete(&key(0)).await.is_ok(), "delete of a missing key succeeds");
    if caps.detects_missing {
        r.check(
            s.save(&key(0), &record("zombie", now + 10, 4)).await == Err(StoreError::Missing),
            "save after delete fails with Missing (no resurrection)",
        );
        r.check(matches!(s.load(&key(0), 0).await, Ok(None)), "a refused save writes nothing");
    }

    // Expiry by the clock.
    let s = make();
    let _ = s.create(&key(3), &record("short", now + 5, 1)).await;
    let _ = s.create(&key(4), &record("long", now + 500, 1)).await;
    clock.advance(5);
    r.check(matches!(s.load(&key(3), 0).await, Ok(None)), "a record reads as absent once expires_at is reached");
    r.check(matches!(s.exists(&key(3)).await, Ok(false)), "exists is false for an expired record");
    r.check(
        s.create(&key(3), &record("reborn", clock.now() + 5, 1)).await.is_ok(),
        "create over an expired record succeeds",
    );
    let _ = s.delete(&key(3)).await;
    let _ = s.create(&key(5), &record("dead", clock.now() + 1, 1)).await;
    clock.advance(1);
    if caps.detects_missing {
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
    r.check(matches!(s.load(&key(4), 0).await, Ok(Some(_))), "clear_expired keeps live records");
    clock.set(now);
    r
}
