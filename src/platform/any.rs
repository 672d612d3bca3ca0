//! The store chosen at run time by `SESSION_ENGINE`.

use super::{DurableStore, KvCache, R2Bucket};
use crate::key::SessionKey;
use crate::record::Record;
use crate::store::cache::{CacheEngine, CachedDbStore};
use crate::store::file::FileStore;
use crate::store::{BackendError, Saved, SessionStore, StoreError, StoreOp};

/// The store of the configured engine.
#[derive(Clone)]
pub enum AnyStore {
    /// `cache`: Workers KV.
    Cache(CacheEngine<KvCache>),
    /// `db`: a Durable Object per session.
    Db(DurableStore),
    /// `cached_db`: KV in front of the Durable Objects, write-through.
    CachedDb(CachedDbStore<KvCache, DurableStore>),
    /// `file`: an R2 object per session.
    File(FileStore<R2Bucket>),
    /// `signed_cookies`: no server-side store.
    None,
}

macro_rules! each {
    ($self:ident, $s:ident => $call:expr, $none:expr) => {
        match $self {
            AnyStore::Cache($s) => $call,
            AnyStore::Db($s) => $call,
            AnyStore::CachedDb($s) => $call,
            AnyStore::File($s) => $call,
            AnyStore::None => $none,
        }
    };
}

fn no_store(op: StoreOp) -> StoreError {
    BackendError::new(op, "the signed_cookies engine has no server-side store").into()
}

impl SessionStore for AnyStore {
    async fn load(&self, key: &SessionKey, min_version: u64) -> Result<Option<Record>, StoreError> {
        each!(self, s => s.load(key, min_version).await, Err(no_store(StoreOp::Load)))
    }
    async fn create(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        each!(self, s => s.create(key, record).await, Err(no_store(StoreOp::Create)))
    }
    async fn save(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        each!(self, s => s.save(key, record).await, Err(no_store(StoreOp::Save)))
    }
    async fn save_if_unchanged(&self, key: &SessionKey, record: &Record, read: u64) -> Result<Saved, StoreError> {
        each!(self, s => s.save_if_unchanged(key, record, read).await, Err(no_store(StoreOp::Save)))
    }
    fn merges(&self) -> bool {
        each!(self, s => s.merges(), false)
    }
    async fn touch(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        each!(self, s => s.touch(key, record).await, Err(no_store(StoreOp::Save)))
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        each!(self, s => s.delete(key).await, Err(no_store(StoreOp::Delete)))
    }
    async fn exists(&self, key: &SessionKey) -> Result<bool, StoreError> {
        each!(self, s => s.exists(key).await, Err(no_store(StoreOp::Exists)))
    }
    fn save_detects_missing(&self) -> bool {
        each!(self, s => s.save_detects_missing(), true)
    }
    async fn clear_expired(&self) -> Result<u64, StoreError> {
        each!(self, s => s.clear_expired().await, Ok(0))
    }
}
