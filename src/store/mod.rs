//! Where server-side sessions live: one small async trait, with a memory store
//! (for host tests and programs that need no persistence), a combinator for
//! caches, and a conformance suite every store must pass. The test doubles
//! (a fake Workers KV, a fake Durable Object, fault injection) are in the
//! `testing` module (feature `testing`).
//!
//! Futures are single-threaded (no `Send`): a Worker isolate runs one thread.

use std::fmt;

use crate::key::SessionKey;
pub use crate::record::Record;
use crate::response::ErrorName;

pub mod cache;
pub mod conformance;
mod memory;
#[doc(hidden)] // The protocol between the `db` store client and the session Durable Object classes.
pub mod object;

pub use memory::MemoryStore;

/// A store operation that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// `create`: a record already exists under the key (Django's `CreateError`).
    Exists,
    /// `save`: no live record under the key, so it was deleted meanwhile
    /// (Django's `UpdateError`).
    Missing,
    /// The backend failed: a network error, a rate limit, an exception.
    Backend(String),
}

impl StoreError {
    /// The error's name in [`ErrorName`]: always `StoreError`.
    pub fn name(&self) -> &'static str {
        ErrorName::StoreError.as_str()
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exists => f.write_str("a session with this key already exists"),
            Self::Missing => f.write_str("the session was deleted before it could be saved"),
            Self::Backend(why) => write!(f, "session store failed: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// A store of session records.
///
/// Every store runs [`conformance::run`]. Records whose `expires_at` has passed
/// must read as absent.
#[allow(async_fn_in_trait)] // Workers futures are single-threaded; no `Send` bound is wanted.
pub trait SessionStore {
    /// The live record under `key`, or `None`. `min_version` is the version
    /// the client last saw written (0: no claim): a store with a cache in
    /// front uses it to skip a cached copy that is not that version; others
    /// may ignore it.
    async fn load(&self, key: &SessionKey, min_version: u64) -> Result<Option<Record>, StoreError>;

    /// Stores a new record; never overwrites a live one ([`StoreError::Exists`]).
    /// Returns the version stored.
    async fn create(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError>;

    /// Replaces a live record; [`StoreError::Missing`] when there is none.
    /// Returns the version stored: at least `record.version`, and greater than
    /// the version it replaced where the store can tell.
    async fn save(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError>;

    /// Removes the record, if any.
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError>;

    /// Whether a live record exists under `key`.
    async fn exists(&self, key: &SessionKey) -> Result<bool, StoreError>;

    /// Removes expired records; returns how many (Django's `clear_expired`).
    async fn clear_expired(&self) -> Result<u64, StoreError>;

    /// Whether `save` reports a record that is gone ([`StoreError::Missing`]).
    /// A store whose save is a blind put (a cache) answers `false`: before
    /// saving a session it never read, the manager then asks
    /// [`exists`](Self::exists), so a key whose record is gone (logged out)
    /// is never written again.
    fn save_detects_missing(&self) -> bool {
        true
    }
}
