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
    /// R2 `get`s (the `file` engine).
    pub r2_get: u64,
    /// R2 `head`s.
    pub r2_head: u64,
    /// R2 `put`s (conditional ones that did not write too).
    pub r2_put: u64,
    /// R2 `delete`s (one per call, whatever the number of objects).
    pub r2_delete: u64,
    /// R2 `list`s.
    pub r2_list: u64,
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
            r2_get: self.r2_get - earlier.r2_get,
            r2_head: self.r2_head - earlier.r2_head,
            r2_put: self.r2_put - earlier.r2_put,
            r2_delete: self.r2_delete - earlier.r2_delete,
            r2_list: self.r2_list - earlier.r2_list,
        }
    }

    /// All storage operations (KV, Durable Object and R2).
    pub fn storage_ops(&self) -> u64 {
        self.kv_get
            + self.kv_put
            + self.kv_delete
            + self.do_call
            + self.r2_get
            + self.r2_head
            + self.r2_put
            + self.r2_delete
            + self.r2_list
    }

    /// The counters as `name=value` pairs, `,`-separated, in the order of
    /// the fields (`crypto=2,kv_get=1,...`): the `X-Edge-Session-Counters`
    /// header of the demo and test workers.
    ///
    /// ```
    /// let c = edge_session::Counters { crypto: 2, r2_get: 1, ..Default::default() };
    /// assert_eq!(
    ///     c.to_header(),
    ///     "crypto=2,kv_get=0,kv_put=0,kv_delete=0,do_call=0,r2_get=1,r2_head=0,r2_put=0,r2_delete=0,r2_list=0"
    /// );
    /// ```
    pub fn to_header(&self) -> String {
        self.fields().iter().map(|(name, n)| format!("{name}={n}")).collect::<Vec<_>>().join(",")
    }

    /// Each counter with its name (`kv_get`, ...).
    pub fn fields(&self) -> [(&'static str, u64); 10] {
        [
            ("crypto", self.crypto),
            ("kv_get", self.kv_get),
            ("kv_put", self.kv_put),
            ("kv_delete", self.kv_delete),
            ("do_call", self.do_call),
            ("r2_get", self.r2_get),
            ("r2_head", self.r2_head),
            ("r2_put", self.r2_put),
            ("r2_delete", self.r2_delete),
            ("r2_list", self.r2_list),
        ]
    }
}

thread_local! {
    static COUNTERS: Cell<Counters> = const {
        Cell::new(Counters {
            crypto: 0,
            kv_get: 0,
            kv_put: 0,
            kv_delete: 0,
            do_call: 0,
            r2_get: 0,
            r2_head: 0,
            r2_put: 0,
            r2_delete: 0,
            r2_list: 0,
        })
    };
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
