//! Counters of the work done on the request path.
//!
//! The crate counts every HMAC computation so that tests and benchmarks can
//! assert how many crypto calls a request costs. Workers run one request at a
//! time per isolate thread, so a global counter read before and after a
//! request is exact there; on the host, tests that assert counts run the
//! request under [`measure`], which reads a thread-local counter.

use std::cell::Cell;

thread_local! {
    static CRYPTO_CALLS: Cell<u64> = const { Cell::new(0) };
}

/// Records one HMAC computation.
pub(crate) fn count_crypto_call() {
    CRYPTO_CALLS.with(|c| c.set(c.get() + 1));
}

/// HMAC computations done so far on this thread.
pub fn crypto_calls() -> u64 {
    CRYPTO_CALLS.with(Cell::get)
}

/// Runs `f` and returns its result with the number of HMAC computations it did.
///
/// ```
/// let (_, calls) = edge_session::metrics::measure(|| ());
/// assert_eq!(calls, 0);
/// ```
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = crypto_calls();
    let out = f();
    (out, crypto_calls() - before)
}
