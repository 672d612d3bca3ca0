//! An in-memory store with the semantics of the durable engine (`db`), for
//! host tests: records expire by the injected clock, `create` never
//! overwrites, `save` of a deleted record fails, versions increase atomically.
//! It counts operations and can be told to fail, to test store faults.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use super::{OpCounts, Record, SessionStore, StoreError};
use crate::clock::Clock;
use crate::key::SessionKey;

#[derive(Default)]
struct Inner {
    records: RefCell<BTreeMap<String, Record>>,
    ops: Cell<OpCounts>,
    fail_reads: Cell<bool>,
    fail_writes: Cell<bool>,
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

    /// Operations served so far.
    pub fn ops(&self) -> OpCounts {
        self.inner.ops.get()
    }

    /// Makes every read fail (`true`) or work again (`false`).
    pub fn fail_reads(&self, fail: bool) {
        self.inner.fail_reads.set(fail);
    }

    /// Makes every write and delete fail (`true`) or work again (`false`).
    pub fn fail_writes(&self, fail: bool) {
        self.inner.fail_writes.set(fail);
    }

    /// The raw record under `key`, expired or not (for inspection in tests).
    pub fn raw(&self, key: &SessionKey) -> Option<Record> {
        self.inner.records.borrow().get(key.as_str()).cloned()
    }

    /// How many records are held, expired or not.
    pub fn len(&self) -> usize {
        self.inner.records.borrow().len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn count(&self, f: impl FnOnce(&mut OpCounts)) {
        let mut ops = self.inner.ops.get();
        f(&mut ops);
        self.inner.ops.set(ops);
    }

    fn read_gate(&self) -> Result<(), StoreError> {
        self.count(|o| o.reads += 1);
        if self.inner.fail_reads.get() {
            return Err(StoreError::Backend("memory store: injected read failure".into()));
        }
        Ok(())
    }

    fn write_gate(&self, delete: bool) -> Result<(), StoreError> {
        self.count(|o| if delete { o.deletes += 1 } else { o.writes += 1 });
        if self.inner.fail_writes.get() {
            return Err(StoreError::Backend("memory store: injected write failure".into()));
        }
        Ok(())
    }

    fn live(&self, key: &SessionKey) -> Option<Record> {
        let now = self.clock.now();
        self.inner.records.borrow().get(key.as_str()).filter(|r| !r.is_expired(now)).cloned()
    }
}

impl SessionStore for MemoryStore {
    async fn load(&self, key: &SessionKey, _min_version: u64) -> Result<Option<Record>, StoreError> {
        self.read_gate()?;
        Ok(self.live(key))
    }

    async fn create(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        self.write_gate(false)?;
        if self.live(key).is_some() {
            return Err(StoreError::Exists);
        }
        self.inner.records.borrow_mut().insert(key.as_str().to_owned(), record.clone());
        Ok(record.version)
    }

    async fn save(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        self.write_gate(false)?;
        let current = self.live(key).ok_or(StoreError::Missing)?;
        let version = record.version.max(current.version.saturating_add(1));
        let stored = Record { version, ..record.clone() };
        self.inner.records.borrow_mut().insert(key.as_str().to_owned(), stored);
        Ok(version)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.write_gate(true)?;
        self.inner.records.borrow_mut().remove(key.as_str());
        Ok(())
    }

    async fn exists(&self, key: &SessionKey) -> Result<bool, StoreError> {
        self.read_gate()?;
        Ok(self.live(key).is_some())
    }

    async fn clear_expired(&self) -> Result<u64, StoreError> {
        self.write_gate(true)?;
        let now = self.clock.now();
        let mut records = self.inner.records.borrow_mut();
        let before = records.len();
        records.retain(|_, r| !r.is_expired(now));
        Ok((before - records.len()) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::store::conformance;

    #[test]
    fn memory_store_passes_the_conformance_suite() {
        let clock = FixedClock::new(1_000_000);
        let report = pollster::block_on(conformance::run(
            || MemoryStore::new(clock.clone()),
            &clock,
            conformance::Capabilities::DURABLE,
        ));
        assert!(report.failures.is_empty(), "{:#?}", report.failures);
        assert!(report.checks >= 10);
    }
}
