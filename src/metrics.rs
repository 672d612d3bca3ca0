//! Counters of the work done on the request path.
//!
//! The core counts every HMAC computation; the Workers glue counts every KV
//! and Durable Object operation, and so do the host test doubles standing in
//! for them (`crate::testing`, feature `testing`). Tests and benchmarks read
//! the counters before and after a request to assert what it cost. A Worker isolate runs
//! on one thread, so thread-local counters read around a request are exact
//! for requests that do not interleave (the tests send one at a time).

use std::cell::Cell;

/// Work done, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// HMAC-SHA256 computations.
    pub crypto: u64,
    /// KV reads.
    pub kv_get: u64,
    /// KV writes.
    pub kv_put: u64,
    /// KV deletes.
    pub kv_delete: u64,
    /// Durable Object requests.
    pub do_call: u64,
}

impl Counters {
    /// `self - earlier`, field by field.
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            crypto: self.crypto - earlier.crypto,
            kv_get: self.kv_get - earlier.kv_get,
            kv_put: self.kv_put - earlier.kv_put,
            kv_delete: self.kv_delete - earlier.kv_delete,
            do_call: self.do_call - earlier.do_call,
        }
    }

    /// All storage operations (KV and Durable Object).
    pub fn storage_ops(&self) -> u64 {
        self.kv_get + self.kv_put + self.kv_delete + self.do_call
    }
}

thread_local! {
    static COUNTERS: Cell<Counters> = const { Cell::new(Counters { crypto: 0, kv_get: 0, kv_put: 0, kv_delete: 0, do_call: 0 }) };
}

/// Adds to the counters (used by the core and the platform glue).
pub fn count(f: impl FnOnce(&mut Counters)) {
    COUNTERS.with(|c| {
        let mut v = c.get();
        f(&mut v);
        c.set(v);
    });
}

/// Records one HMAC computation.
pub(crate) fn count_crypto_call() {
    count(|c| c.crypto += 1);
}

/// The counters so far on this thread.
pub fn counters() -> Counters {
    COUNTERS.with(Cell::get)
}

/// HMAC computations done so far on this thread.
#[cfg(any(test, feature = "testing"))]
pub fn crypto_calls() -> u64 {
    counters().crypto
}

/// Runs `f` and returns its result with the number of HMAC computations it did.
///
/// ```
/// let (_, calls) = edge_session::testing::internals::measure(|| ());
/// assert_eq!(calls, 0);
/// ```
#[cfg(any(test, feature = "testing"))]
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = crypto_calls();
    let out = f();
    (out, crypto_calls() - before)
}
