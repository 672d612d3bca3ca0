//! Test doubles for the stores, with fault injection: for this crate's tests
//! and for tests of code built on it. Compiled in the crate's own unit tests,
//! and elsewhere only with the `testing` feature (never in a release build).
//!
//! * [`kv::FakeKv`], the one fake Workers KV: a plain map
//!   ([`FakeKv::consistent`]) or KV's consistency model (locations,
//!   propagation delay, cached misses, the 60 s TTL floor, 429 for a second
//!   write to one key within a second), with injected 503s.
//! * [`object::FakeObject`]: any store as the `db` engine's Durable Object,
//!   failing on demand (reads, writes, unreachable, throwing on delete,
//!   losing its reply after a commit).
//! * [`bucket::FakeBucket`]: an R2 bucket for the `file` engine, honouring
//!   conditional puts as R2 does, failing on demand, and running another
//!   request's work between two operations.
//! * [`client`]: test helpers for code built on this crate (Django's test
//!   client's `force_login` and `client.session`): a `Cookie` header for a
//!   session with given data or logged in, and the session a `Set-Cookie` left.
//! * Inspection of a [`MemoryStore`](crate::store::MemoryStore)
//!   (`raw`, `len`, `is_empty`): what it holds, expired or not.
//!
//! There is one counter type, [`Counters`]: the doubles count their
//! operations in [`crate::metrics`], where the platform stores count theirs
//! (`kv_get`, `kv_put`, `kv_delete`, `do_call`, `r2_get`, ...), so a request's cost on the
//! host reads as it does on workerd (`X-Edge-Session-Counters`). [`cost_of`]
//! measures a closure.

use crate::metrics::{counters, Counters};

pub mod bucket;
pub mod client;
#[doc(hidden)]
pub mod internals;
pub mod kv;
mod memory;
pub mod object;

pub use bucket::FakeBucket;
pub use kv::{FakeKv, KvAt, KvModel, KV_MIN_TTL};
pub use object::{FakeObject, Fault};

/// Runs `f` and returns its result with what it cost: HMACs, KV and Durable
/// Object operations on this thread (the doubles count there).
pub fn cost_of<T>(f: impl FnOnce() -> T) -> (T, Counters) {
    let before = counters();
    let out = f();
    (out, counters().since(&before))
}
