//! The `db` engine's Durable Object on the host: any store (a
//! [`MemoryStore`] by default) behind the calls the Durable Object client
//! makes, counted as that client counts them and made to fail on demand.

use std::cell::Cell;
use std::ops::Deref;
use std::rc::Rc;

use crate::clock::Clock;
use crate::key::SessionKey;
use crate::metrics::count;
use crate::store::MemoryStore;
use crate::store::{BackendError, Record, Saved, SessionStore, StoreError, StoreOp};

/// How a [`FakeObject`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Works.
    None,
    /// Reads (`load`, `exists`) fail; writes work.
    ReadsFail,
    /// Writes and deletes fail before they are applied; reads work.
    WritesFail,
    /// Every operation throws before reaching the store (a Durable Object
    /// that is unreachable, or throws on entry).
    Unreachable,
    /// Writes and deletes are applied, then the reply is lost (the object
    /// committed, then the connection broke): the caller sees an error.
    LostReply,
    /// Only deletes throw (reads and writes work).
    DeletesFail,
}

/// Any store as the `db` engine's Durable Object, failing on demand. Clones
/// share the store and the fault; it dereferences to the store inside, for
/// inspection.
///
/// Every `load`, `create`, `save`, `delete` and `exists` is one request to
/// the object, counted in [`crate::metrics`] as a `do_call` before it is
/// sent (so a failed one counts too), as `platform::durable` counts them;
/// `clear_expired` makes no request there (each object's alarm deletes its
/// record) and is not counted.
#[derive(Clone)]
pub struct FakeObject<S = MemoryStore> {
    /// The store inside.
    pub inner: S,
    fault: Rc<Cell<Fault>>,
}

impl FakeObject<MemoryStore> {
    /// An empty memory store whose records expire by `clock`.
    pub fn memory(clock: impl Clock + 'static) -> Self {
        Self::new(MemoryStore::new(clock))
    }
}

impl<S> FakeObject<S> {
    /// `inner`, working.
    pub fn new(inner: S) -> Self {
        Self { inner, fault: Rc::new(Cell::new(Fault::None)) }
    }

    /// From now on, fails as `fault` says ([`Fault::None`]: works again).
    pub fn set_fault(&self, fault: Fault) {
        self.fault.set(fault);
    }

    // The failures are the client's (`platform::durable`): a Durable Object
    // call that failed, whatever the store operation.
    fn failed(detail: String) -> StoreError {
        BackendError::new(StoreOp::ObjectCall, detail).into()
    }

    fn before_read(&self, what: &str) -> Result<(), StoreError> {
        count(|c| c.do_call += 1);
        match self.fault.get() {
            Fault::Unreachable => Err(Self::failed(format!("unreachable ({what})"))),
            Fault::ReadsFail => Err(Self::failed(format!("{what} failed (injected)"))),
            _ => Ok(()),
        }
    }

    fn before_write(&self, what: &str) -> Result<(), StoreError> {
        count(|c| c.do_call += 1);
        match self.fault.get() {
            Fault::Unreachable => Err(Self::failed(format!("unreachable ({what})"))),
            Fault::WritesFail => Err(Self::failed(format!("{what} failed (injected)"))),
            _ => Ok(()),
        }
    }

    fn after<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match (self.fault.get(), result) {
            (Fault::LostReply, Ok(_)) => Err(Self::failed("network connection lost".into())),
            (_, r) => r,
        }
    }
}

impl<S> Deref for FakeObject<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.inner
    }
}

impl<S: SessionStore> SessionStore for FakeObject<S> {
    async fn load(&self, key: &SessionKey, min_version: u64) -> Result<Option<Record>, StoreError> {
        self.before_read("load")?;
        self.inner.load(key, min_version).await
    }

    async fn create(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        self.before_write("create")?;
        self.after(self.inner.create(key, record).await)
    }

    async fn save(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        self.before_write("save")?;
        self.after(self.inner.save(key, record).await)
    }

    async fn save_if_unchanged(&self, key: &SessionKey, record: &Record, read: u64) -> Result<Saved, StoreError> {
        self.before_write("save")?;
        self.after(self.inner.save_if_unchanged(key, record, read).await)
    }

    fn merges(&self) -> bool {
        self.inner.merges()
    }

    async fn touch(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        self.before_write("touch")?;
        self.after(self.inner.touch(key, record).await)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.before_write("delete")?;
        if self.fault.get() == Fault::DeletesFail {
            return Err(Self::failed("delete threw".into()));
        }
        self.after(self.inner.delete(key).await)
    }

    async fn exists(&self, key: &SessionKey) -> Result<bool, StoreError> {
        self.before_read("exists")?;
        self.inner.exists(key).await
    }

    async fn clear_expired(&self) -> Result<u64, StoreError> {
        match self.fault.get() {
            Fault::Unreachable | Fault::WritesFail => {
                Err(BackendError::new(StoreOp::ClearExpired, "failed (injected)").into())
            }
            _ => self.inner.clear_expired().await,
        }
    }

    fn save_detects_missing(&self) -> bool {
        self.inner.save_detects_missing()
    }
}
