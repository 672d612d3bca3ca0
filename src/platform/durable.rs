//! The `db` engine's client: one Durable Object per session (named by the
//! session key), one `fetch` per operation, speaking the protocol of
//! [`crate::store::object`]. The object classes (Rust in `workers`,
//! JavaScript in the npm package) run the same protocol code.

use wasm_bindgen::{JsCast, JsValue};

use super::bindings::{object, DurableObjectNamespace, FetchResponse};
use super::js_error;
use super::promise::settled;
use crate::key::SessionKey;
use crate::metrics::count;
use crate::record::Record;
use crate::store::object::{parse_reply, reply_record, reply_saved, reply_version, ObjectOp};
use crate::store::{Saved, SessionStore, StoreError, StoreOp};

/// The client of the session objects behind a Durable Object namespace.
#[derive(Clone)]
pub struct DurableStore {
    namespace: JsValue,
}

impl DurableStore {
    /// Sessions in the objects of the Durable Object binding `namespace`.
    pub fn new(namespace: JsValue) -> Self {
        Self { namespace }
    }

    async fn call(&self, key: &SessionKey, op: ObjectOp) -> Result<serde_json::Value, StoreError> {
        count(|c| c.do_call += 1);
        let ns: &DurableObjectNamespace = self.namespace.unchecked_ref();
        let err = |e: JsValue| js_error(StoreOp::ObjectCall, "unreachable", e);
        let stub = ns.stub(&ns.id_from_name(key.as_str()).map_err(err)?).map_err(err)?;
        let init = object(&[("method", "POST".into()), ("body", op.to_body().into())]);
        let response: FetchResponse =
            settled(&stub.fetch("https://session-object/", &init).map_err(err)?).await.map_err(err)?.unchecked_into();
        let text = settled(&response.text().map_err(err)?).await.map_err(err)?;
        parse_reply(&text.as_string().unwrap_or_default())
    }
}

impl SessionStore for DurableStore {
    async fn load(&self, key: &SessionKey, _min_version: u64) -> Result<Option<Record>, StoreError> {
        reply_record(&self.call(key, ObjectOp::Load).await?)
    }

    async fn create(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        reply_version(&self.call(key, ObjectOp::Create(record.clone())).await?)
    }

    async fn save(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        reply_version(&self.call(key, ObjectOp::Save(record.clone())).await?)
    }

    async fn save_if_unchanged(&self, key: &SessionKey, record: &Record, read: u64) -> Result<Saved, StoreError> {
        reply_saved(&self.call(key, ObjectOp::SaveIfUnchanged(record.clone(), read)).await?)
    }

    fn merges(&self) -> bool {
        true
    }

    async fn touch(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        reply_version(&self.call(key, ObjectOp::Touch(record.expires_at)).await?)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.call(key, ObjectOp::Delete).await.map(drop)
    }

    async fn exists(&self, key: &SessionKey) -> Result<bool, StoreError> {
        Ok(self.load(key, 0).await?.is_some())
    }

    async fn clear_expired(&self) -> Result<u64, StoreError> {
        // Every object deletes its record with an alarm at expiry.
        Ok(0)
    }
}
