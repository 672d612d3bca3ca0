//! An in-memory store with the semantics of the durable engine (`db`), for
//! host tests and programs that need no persistence: records expire by the
//! injected clock, `create` never overwrites, `save` of a deleted record
//! fails, versions increase atomically. Fault injection and operation counts
//! (`testing::FakeObject`) and inspection (`raw`, `len`) are in the `testing`
//! module.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::{Record, Saved, SessionStore, StoreError};
use crate::clock::Clock;
use crate::key::SessionKey;

#[derive(Default)]
struct Inner {
    records: RefCell<BTreeMap<String, Record>>,
}

/// A shared in-memory store; clones see the same records.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Rc<Inner>,
    clock: Rc<dyn Clock>,
}

impl MemoryStore {
    /// An empty store whose records expire by `clock`.
    pub fn new(clock: impl Clock + 'static) -> Self {
        Self { inner: Rc::default(), clock: Rc::new(clock) }
    }

    /// Every record held, expired or not (for `crate::testing`'s inspection).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn records(&self) -> std::cell::Ref<'_, BTreeMap<String, Record>> {
        self.inner.records.borrow()
    }

    fn live(&self, key: &SessionKey) -> Option<Record> {
        let now = self.clock.now();
        self.inner.records.borrow().get(key.as_str()).filter(|r| !r.is_expired(now)).cloned()
    }
}

impl SessionStore for MemoryStore {
    async fn load(&self, key: &SessionKey, _min_version: u64) -> Result<Option<Record>, StoreError> {
        Ok(self.live(key))
    }

    async fn create(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        if self.live(key).is_some() {
            return Err(StoreError::Exists);
        }
        self.inner.records.borrow_mut().insert(key.as_str().to_owned(), record.clone());
        Ok(record.version)
    }

    async fn save(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        let current = self.live(key).ok_or(StoreError::Missing)?;
        let version = record.version.max(current.version.saturating_add(1));
        let stored = Record { version, revision: None, ..record.clone() };
        self.inner.records.borrow_mut().insert(key.as_str().to_owned(), stored);
        Ok(version)
    }

    async fn save_if_unchanged(&self, key: &SessionKey, record: &Record, read: u64) -> Result<Saved, StoreError> {
        let current = self.live(key).ok_or(StoreError::Missing)?;
        if current.version != read {
            return Ok(Saved::Changed(current));
        }
        self.save(key, record).await.map(Saved::Version)
    }

    fn merges(&self) -> bool {
        true
    }

    async fn touch(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        let mut records = self.inner.records.borrow_mut();
        let now = self.clock.now();
        let current = records.get_mut(key.as_str()).filter(|r| !r.is_expired(now)).ok_or(StoreError::Missing)?;
        current.expires_at = record.expires_at;
        Ok(current.version)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.inner.records.borrow_mut().remove(key.as_str());
        Ok(())
    }

    async fn exists(&self, key: &SessionKey) -> Result<bool, StoreError> {
        Ok(self.live(key).is_some())
    }

    async fn clear_expired(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let mut records = self.inner.records.borrow_mut();
        let before = records.len();
        records.retain(|_, r| !r.is_expired(now));
        Ok((before - records.len()) as u64)
    }
}
