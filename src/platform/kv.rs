//! Workers KV as a [`RecordCache`]: the `cache` engine, and the cache half of
//! `cached_db`.
//!
//! Records live under `SESSION_KV_PREFIX + key` (Django's cache key prefix,
//! `django.contrib.sessions.cache`, by default) with the `expirationTtl` the
//! store asks for (the record's remaining life for a write, at most 60 s for a
//! refill after a Durable Object read), never below KV's 60-second minimum;
//! the record's own `expires` is checked on every read, so a session set to
//! expire in 2 s is dead after 2 s although KV keeps the entry for 60 s. Reads
//! pass `SESSION_KV_CACHE_TTL` (seconds, 30 to 300) as `cacheTtl` when set.
//!
//! KV is eventually consistent: another location may see an old copy, or a
//! cached miss, for about 60 s after a write, and entries may vanish early.

use wasm_bindgen::JsValue;

use super::bindings::{object, KvNamespace};
use super::js_error;
use super::promise::settled;
use crate::key::SessionKey;
use crate::metrics::count;
use crate::record::Record;
use crate::store::cache::RecordCache;
use crate::store::{StoreError, StoreOp};

/// KV's smallest `expirationTtl` and `cacheTtl`.
pub const KV_MIN_TTL: i64 = 60;
/// KV's largest `expirationTtl` (a 32-bit signed number of seconds, ~68
/// years): an entry of a session that lives longer is dropped by KV then,
/// which is what KV may do to any entry early.
pub const KV_MAX_TTL: i64 = i32::MAX as i64;

/// A KV namespace holding session records.
#[derive(Clone)]
pub struct KvCache {
    kv: JsValue,
    prefix: String,
    /// The options of every read (`{type: "text", cacheTtl?}`), built once:
    /// the binding does not keep or change them.
    get_options: JsValue,
}

impl KvCache {
    /// Records under `prefix + key` in the KV binding `kv`; reads cached `cache_ttl` seconds.
    pub fn new(kv: JsValue, prefix: impl Into<String>, cache_ttl: Option<u64>) -> Self {
        let mut options = vec![("type", JsValue::from_str("text"))];
        if let Some(ttl) = cache_ttl {
            options.push(("cacheTtl", JsValue::from_f64(ttl as f64)));
        }
        Self { kv, prefix: prefix.into(), get_options: object(&options) }
    }

    fn ns(&self) -> &KvNamespace {
        wasm_bindgen::JsCast::unchecked_ref(&self.kv)
    }

    fn name(&self, key: &SessionKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }
}

impl RecordCache for KvCache {
    async fn get(&self, key: &SessionKey) -> Result<Option<Record>, StoreError> {
        count(|c| c.kv_get += 1);
        let failed = |e| js_error(StoreOp::KvGet, "", e);
        let promise = self.ns().get_text(&self.name(key), &self.get_options).map_err(failed)?;
        let value = settled(&promise).await.map_err(failed)?;
        // A value that does not decode is treated as absent (and logged): it
        // can only come from another writer of the namespace.
        Ok(value.as_string().and_then(|t| match Record::from_json(&t) {
            Ok(r) => Some(r),
            Err(e) => {
                crate::log::warn(&format!("KV record for a session does not decode: {e}"));
                None
            }
        }))
    }

    async fn set(&self, key: &SessionKey, record: &Record, ttl: i64) -> Result<(), StoreError> {
        count(|c| c.kv_put += 1);
        let ttl = ttl.clamp(KV_MIN_TTL, KV_MAX_TTL);
        let options = object(&[("expirationTtl", JsValue::from_f64(ttl as f64))]);
        let failed = |e| js_error(StoreOp::KvPut, "", e);
        let promise = self.ns().put(&self.name(key), &record.to_json(), &options).map_err(failed)?;
        settled(&promise).await.map(drop).map_err(failed)
    }

    async fn remove(&self, key: &SessionKey) -> Result<(), StoreError> {
        count(|c| c.kv_delete += 1);
        let failed = |e| js_error(StoreOp::KvDelete, "", e);
        let promise = self.ns().remove(&self.name(key)).map_err(failed)?;
        settled(&promise).await.map(drop).map_err(failed)
    }
}
