//! The `db` engine: one Durable Object per session, SQLite-backed.
//!
//! [`SessionObject`] is the class users bind in `wrangler.toml`
//! (`new_sqlite_classes = ["SessionObject"]`). Each object holds one record
//! and is strongly consistent: `create` refuses to overwrite a live record,
//! `save` of a deleted or expired record is refused (Django's `UpdateError`),
//! versions increase atomically, and an alarm set at the record's expiry
//! deletes it, so no cleanup job is needed ([`DurableStore::clear_expired`]
//! has nothing left to do and returns 0).
//!
//! [`DurableStore`] is the client: one `fetch` to the session's object per
//! operation, with a small JSON protocol.

use serde_json::{json, Value};
use std::time::Duration;
use worker::{durable_object, DurableObject, Env, Method, ObjectNamespace, Request, RequestInit, Response, State};

use super::{backend_error, WorkersClock};
use crate::clock::Clock;
use crate::key::SessionKey;
use crate::metrics::count;
use crate::record::Record;
use crate::store::{SessionStore, StoreError};

const RECORD: &str = "record";

/// The client of the session objects behind a Durable Object namespace.
#[derive(Clone)]
pub struct DurableStore {
    namespace: ObjectNamespace,
}

impl DurableStore {
    /// Sessions in the objects of `namespace`.
    pub fn new(namespace: ObjectNamespace) -> Self {
        Self { namespace }
    }

    async fn call(&self, key: &SessionKey, body: Value) -> Result<Value, StoreError> {
        count(|c| c.do_call += 1);
        let stub = self
            .namespace
            .id_from_name(key.as_str())
            .and_then(|id| id.get_stub())
            .map_err(|e| backend_error("Durable Object stub", e))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.to_string().into()));
        let request = Request::new_with_init("https://session-object/", &init)
            .map_err(|e| backend_error("Durable Object request", e))?;
        let mut response =
            stub.fetch_with_request(request).await.map_err(|e| backend_error("Durable Object unreachable", e))?;
        let text = response.text().await.map_err(|e| backend_error("Durable Object response", e))?;
        let reply: Value = serde_json::from_str(&text)
            .map_err(|_| backend_error("Durable Object response", format!("status {}", response.status_code())))?;
        match reply.get("error").and_then(Value::as_str) {
            None => Ok(reply),
            Some("exists") => Err(StoreError::Exists),
            Some("missing") => Err(StoreError::Missing),
            Some(other) => Err(backend_error("Durable Object", other)),
        }
    }
}

fn version_of(reply: &Value) -> Result<u64, StoreError> {
    reply.get("version").and_then(Value::as_u64).ok_or_else(|| backend_error("Durable Object", "reply without version"))
}

impl SessionStore for DurableStore {
    async fn load(&self, key: &SessionKey, _min_version: u64) -> Result<Option<Record>, StoreError> {
        let reply = self.call(key, json!({ "op": "load" })).await?;
        match reply.get("record").and_then(Value::as_str) {
            None => Ok(None),
            Some(text) => Record::from_json(text).map(Some).map_err(|e| backend_error("Durable Object record", e)),
        }
    }

    async fn create(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        version_of(&self.call(key, json!({ "op": "create", "record": record.to_json() })).await?)
    }

    async fn save(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        version_of(&self.call(key, json!({ "op": "save", "record": record.to_json() })).await?)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.call(key, json!({ "op": "delete" })).await.map(drop)
    }

    async fn exists(&self, key: &SessionKey) -> Result<bool, StoreError> {
        Ok(self.load(key, 0).await?.is_some())
    }

    async fn clear_expired(&self) -> Result<u64, StoreError> {
        // Every object deletes its record with an alarm at expiry.
        Ok(0)
    }
}

/// The Durable Object class holding one session (bind it as `SessionObject`).
#[durable_object]
pub struct SessionObject {
    state: State,
}

impl SessionObject {
    async fn live(&self) -> worker::Result<Option<Record>> {
        let text: Option<String> = self.state.storage().get(RECORD).await?;
        let now = WorkersClock.now();
        Ok(text.and_then(|t| Record::from_json(&t).ok()).filter(|r| !r.is_expired(now)))
    }

    async fn write(&self, record: &Record) -> worker::Result<()> {
        self.state.storage().put(RECORD, record.to_json()).await?;
        self.schedule(record.expires_at).await
    }

    /// Sets the alarm at `expires_at` (Unix seconds).
    async fn schedule(&self, expires_at: i64) -> worker::Result<()> {
        let delay = (expires_at - WorkersClock.now()).max(0) as u64;
        self.state.storage().set_alarm(Duration::from_secs(delay)).await
    }

    async fn handle(&self, body: &str) -> worker::Result<Value> {
        let request: Value = serde_json::from_str(body).map_err(|e| worker::Error::RustError(e.to_string()))?;
        let incoming = || -> worker::Result<Record> {
            let text = request.get("record").and_then(Value::as_str).unwrap_or_default();
            Record::from_json(text).map_err(|e| worker::Error::RustError(e.to_string()))
        };
        Ok(match request.get("op").and_then(Value::as_str).unwrap_or_default() {
            "load" => json!({ "record": self.live().await?.map(|r| r.to_json()) }),
            "create" => {
                let record = incoming()?;
                if self.live().await?.is_some() {
                    json!({ "error": "exists" })
                } else {
                    self.write(&record).await?;
                    json!({ "version": record.version })
                }
            }
            "save" => match self.live().await? {
                None => json!({ "error": "missing" }),
                Some(current) => {
                    let mut record = incoming()?;
                    record.version = record.version.max(current.version + 1);
                    self.write(&record).await?;
                    json!({ "version": record.version })
                }
            },
            "delete" => {
                self.state.storage().delete_all().await?;
                json!({ "deleted": true })
            }
            other => json!({ "error": format!("unknown op {other:?}") }),
        })
    }
}

impl DurableObject for SessionObject {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let body = req.text().await?;
        match self.handle(&body).await {
            Ok(reply) => Response::from_json(&reply),
            Err(e) => Response::from_json(&json!({ "error": e.to_string() })),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        match self.live().await? {
            // Expired, or gone: drop everything, the alarm included.
            None => self.state.storage().delete_all().await?,
            // Saved again since the alarm was set: wait for the new expiry.
            Some(record) => self.schedule(record.expires_at).await?,
        }
        Response::ok("")
    }
}
