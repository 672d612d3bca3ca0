//! The wasm-bindgen API of the npm package (feature `js`, wasm32 only).
//!
//! This is the thin layer under `npm/core.js`: JSON text in, JSON text out.
//! A session call answers at once when it needs no store, and with a
//! `Promise` when it waits for one (`task::now_or_promise`). The JavaScript wrapper
//! turns it into the idiomatic `Sessions` / `Session` API, the fetch-handler
//! wrapper, the Hono middleware and the `SessionObject` class. It runs on the
//! same [`platform`](crate::platform) stores as the Rust integration, so both
//! read and write the same sessions.

mod task;

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

use crate::manager::SessionManager;
use crate::ops::OpsRequest;
use crate::platform::{manager_from_env, to_js_error, AnyStore, EnvSource};
use crate::response::ErrorName;
use crate::session::Session;
use crate::store::object;
use crate::users;

fn console_warn(message: &str) {
    web_sys_warn(&format!("edge-session: {message}"));
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn web_sys_warn(message: &str);
}

/// Sessions for one Worker `env` (the JavaScript `Sessions` wraps it).
#[wasm_bindgen]
pub struct WasmSessions {
    manager: SessionManager<AnyStore>,
}

type Shared = Rc<RefCell<Option<Session<AnyStore>>>>;

/// One request's session (the JavaScript `Session` wraps it).
#[wasm_bindgen]
pub struct WasmSession {
    inner: Shared,
}

/// What a call rejects with when `e` failed it: a JS `Error` named from the
/// name table (`StoreError`, `ConfigError`, ...), with the whole chain as
/// its message, and the JavaScript exception behind it, if any, as its
/// `cause` (the value the KV or Durable Object binding threw).
fn thrown(e: &(dyn std::error::Error + 'static), name: &str) -> JsValue {
    to_js_error(e, name).into()
}

fn busy() -> JsValue {
    JsError::new("edge-session: the session is in use by another call, or already committed (await each call)").into()
}

/// Runs `f` on the session, taken out of its cell for the duration of the
/// call: its result, or a `Promise` of it ([`task::now_or_promise`]).
fn with_session<F>(inner: &Shared, f: F) -> Result<JsValue, JsValue>
where
    F: AsyncFnOnce(&mut Session<AnyStore>) -> Result<JsValue, JsValue> + 'static,
{
    let inner = inner.clone();
    task::now_or_promise(async move {
        let mut session = inner.borrow_mut().take().ok_or_else(busy)?;
        let result = f(&mut session).await;
        *inner.borrow_mut() = Some(session);
        result
    })
}

#[wasm_bindgen]
impl WasmSessions {
    /// Settings from `env` vars (Django's names), overridden by the string
    /// properties of `settings`; the KV, Durable Object and R2 bindings from
    /// `env` unless `kv` / `durable_object` / `r2` are given.
    #[wasm_bindgen(constructor)]
    pub fn new(
        env: JsValue,
        settings: JsValue,
        kv: JsValue,
        durable_object: JsValue,
        r2: JsValue,
    ) -> Result<WasmSessions, JsValue> {
        let mut source = EnvSource::new(env);
        if settings.is_object() {
            for entry in js_sys::Object::entries(settings.unchecked_ref()).iter() {
                let pair: js_sys::Array = entry.unchecked_into();
                let (k, v) = (pair.get(0).as_string().unwrap_or_default(), pair.get(1));
                let text = v
                    .as_string()
                    .or_else(|| v.as_f64().map(crate::platform::env::number_text))
                    .or_else(|| v.as_bool().map(|b| b.to_string()));
                if let Some(text) = text {
                    source.set(&k, &text);
                }
            }
        }
        if kv.is_object() {
            source.set_kv(kv);
        }
        if durable_object.is_object() {
            source.set_durable_object(durable_object);
        }
        if r2.is_object() {
            source.set_r2(r2);
        }
        let manager = manager_from_env(&source, console_warn).map_err(|e| thrown(&e, e.name()))?;
        Ok(Self { manager })
    }

    /// The request's session, from its `Cookie` header (no store access yet).
    pub fn load(&self, cookie_header: Option<String>) -> WasmSession {
        let session = self.manager.session(cookie_header.as_deref().map(str::as_bytes));
        WasmSession { inner: Rc::new(RefCell::new(Some(session))) }
    }

    /// A session opened by key, outside a request.
    pub fn open(&self, key: &str) -> WasmSession {
        WasmSession { inner: Rc::new(RefCell::new(Some(self.manager.open(key)))) }
    }

    /// A new empty session, outside a request.
    #[wasm_bindgen(js_name = newSession)]
    pub fn new_session(&self) -> WasmSession {
        WasmSession { inner: Rc::new(RefCell::new(Some(self.manager.new_session()))) }
    }

    /// Finishes the response (the policy of [`crate::response`]): `undefined`
    /// when the response needs no header, `true` when it needs only
    /// `Vary: Cookie`, the `Set-Cookie` value alone when it needs that and
    /// `Vary: Cookie` (a save's answer; it starts with the cookie name, a
    /// token, so never with `{`), else JSON `{"setCookie"?, "vary"?}`
    /// (`vary`: the `Vary` value to set, given the response's
    /// `existing_vary`), or `{"error", "message", "status", "body"}`; or a
    /// `Promise` of that when the finish must wait for a store. The session
    /// cannot be used afterwards.
    pub fn finish(
        &self,
        session: &WasmSession,
        status: u16,
        existing_vary: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let manager = self.manager.clone();
        let inner = session.inner.clone();
        task::now_or_promise(async move {
            let session = inner.borrow_mut().take().ok_or_else(busy)?;
            let out = match manager.finish(session, status).await {
                Ok(o) => {
                    let vary =
                        o.vary_cookie.then(|| crate::response::vary_with_cookie(existing_vary.as_deref())).flatten();
                    // The answers of most requests, without JSON to write and parse.
                    match (&o.set_cookie, vary.as_deref()) {
                        (None, None) => return Ok(JsValue::UNDEFINED),
                        (None, Some("Cookie")) => return Ok(JsValue::TRUE),
                        (Some(cookie), Some("Cookie")) => return Ok(JsValue::from_str(cookie)),
                        _ => {}
                    }
                    json!({ "setCookie": o.set_cookie, "vary": vary })
                }
                Err(e) => {
                    let (status, body) = crate::response::failure(&e);
                    json!({ "error": e.name(), "message": format!("{e:#}"), "status": status, "body": body })
                }
            };
            Ok(JsValue::from_str(&out.to_string()))
        })
    }

    /// [`finish`](Self::finish) for a request whose session was never used:
    /// the session is read from `cookie_header` and finished at once, in one
    /// call (its cookie is still checked: a cookie that is not a session's is
    /// deleted, as Django's middleware deletes the cookie of an empty session).
    #[wasm_bindgen(js_name = finishUnused)]
    pub fn finish_unused(
        &self,
        cookie_header: Option<String>,
        status: u16,
        existing_vary: Option<String>,
    ) -> Result<JsValue, JsValue> {
        self.finish(&self.load(cookie_header), status, existing_vary)
    }

    /// Django's `session.save()` outside a request: the cookie value, or
    /// `null` for an empty session without a record (or a `Promise` of it).
    pub fn save(&self, session: &WasmSession) -> Result<JsValue, JsValue> {
        let manager = self.manager.clone();
        with_session(&session.inner, async move |s| {
            manager
                .save(s)
                .await
                .map(|v| v.map_or(JsValue::NULL, |v| JsValue::from_str(&v)))
                .map_err(|e| thrown(&e, e.name()))
        })
    }

    /// Django's `clear_expired()`; resolves to the number removed.
    #[wasm_bindgen(js_name = clearExpired)]
    pub fn clear_expired(&self) -> Result<JsValue, JsValue> {
        let manager = self.manager.clone();
        task::now_or_promise(async move {
            manager.clear_expired().await.map(|n| JsValue::from_f64(n as f64)).map_err(|e| thrown(&e, e.name()))
        })
    }

    /// `user`'s sessions (outside a request): resolves to JSON, an array of
    /// `{"id", "created", "current", "meta"}`.
    #[wasm_bindgen(js_name = userSessions)]
    pub fn user_sessions(&self, user: String) -> Result<JsValue, JsValue> {
        let manager = self.manager.clone();
        task::now_or_promise(async move {
            let listed = manager.user_sessions(&user).await.map_err(|e| thrown(&e, e.name()))?;
            let json: Vec<Value> = listed.iter().map(users::UserSession::to_json).collect();
            Ok(JsValue::from_str(&Value::from(json).to_string()))
        })
    }

    /// Revokes `user`'s session `id` (outside a request); resolves to whether there was one.
    #[wasm_bindgen(js_name = revokeSession)]
    pub fn revoke_session(&self, user: String, id: String) -> Result<JsValue, JsValue> {
        let manager = self.manager.clone();
        task::now_or_promise(async move {
            manager.revoke_session(&user, &id).await.map(JsValue::from_bool).map_err(|e| thrown(&e, e.name()))
        })
    }

    /// Revokes every session of `user` (outside a request); with `erase`,
    /// as an account deletion. Resolves to how many.
    #[wasm_bindgen(js_name = revokeUserSessions)]
    pub fn revoke_user_sessions(&self, user: String, erase: bool) -> Result<JsValue, JsValue> {
        let manager = self.manager.clone();
        task::now_or_promise(async move {
            let n = if erase { manager.erase_user(&user).await } else { manager.revoke_user_sessions(&user).await };
            n.map(|n| JsValue::from_f64(n as f64)).map_err(|e| thrown(&e, e.name()))
        })
    }

    /// Django's `decode(session_data)`: the data as JSON, or `undefined`.
    pub fn decode(&self, session_data: &str) -> Option<String> {
        self.manager.decode(session_data).map(|m| Value::Object(m).to_string())
    }

    /// The effective settings as JSON (never the secrets).
    pub fn settings(&self) -> String {
        self.manager.settings().to_public_json().to_string()
    }
}

#[wasm_bindgen]
impl WasmSession {
    /// The value under `key` as JSON, or `undefined` when absent (or a
    /// `Promise` of it, when the session must be loaded first).
    pub fn get(&self, key: String) -> Result<JsValue, JsValue> {
        with_session(&self.inner, async move |s| match s.get_json_text(&key).await {
            Ok(Some(text)) => Ok(JsValue::from_str(&text)),
            Ok(None) => Ok(JsValue::UNDEFINED),
            Err(e) => Err(thrown(&e, e.name())),
        })
    }

    /// `session[key] = value`, the value as JSON text: `undefined`, or
    /// `{"error", "message"}` as JSON (or a `Promise` of that).
    pub fn set(&self, key: String, value: String) -> Result<JsValue, JsValue> {
        with_session(&self.inner, async move |s| {
            Ok(match OpsRequest::set_one(s, &key, &value).await {
                None => JsValue::UNDEFINED,
                Some(error) => JsValue::from_str(&error.to_string()),
            })
        })
    }

    /// `session.cycle_key()`: `undefined`, or `{"error", "message"}` as JSON
    /// (or a `Promise` of that, when the session must be loaded first). A
    /// direct call, as `set` is, instead of an op's JSON in and out.
    #[wasm_bindgen(js_name = cycleKey)]
    pub fn cycle_key(&self) -> Result<JsValue, JsValue> {
        with_session(&self.inner, async move |s| {
            Ok(match s.cycle_key().await {
                Ok(()) => JsValue::UNDEFINED,
                Err(e) => JsValue::from_str(&crate::ops::error_json(&e).to_string()),
            })
        })
    }

    /// `session.flush()` (never loads, never fails): `undefined`.
    pub fn flush(&self) -> Result<JsValue, JsValue> {
        with_session(&self.inner, async move |s| {
            s.flush();
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Runs one op of the ops contract (`{"op": ..., ...}` as JSON): its
    /// result as JSON, or `{"error", "message"}` (or a `Promise` of it).
    pub fn op(&self, op: String) -> Result<JsValue, JsValue> {
        with_session(&self.inner, async move |s| Ok(JsValue::from_str(&OpsRequest::run_one(s, &op).await.to_string())))
    }

    fn read<T>(&self, f: impl FnOnce(&Session<AnyStore>) -> T) -> Result<T, JsError> {
        self.inner
            .borrow()
            .as_ref()
            .map(f)
            .ok_or_else(|| JsError::new("edge-session: the session is in use or committed"))
    }

    /// `session.modified`.
    #[wasm_bindgen(getter)]
    pub fn modified(&self) -> Result<bool, JsError> {
        self.read(Session::modified)
    }

    /// `session.modified = value`.
    #[wasm_bindgen(setter)]
    pub fn set_modified(&self, value: bool) -> Result<(), JsError> {
        let mut cell = self.inner.borrow_mut();
        cell.as_mut()
            .map(|s| s.set_modified(value))
            .ok_or_else(|| JsError::new("edge-session: the session is in use or committed"))
    }

    /// `session.accessed`.
    #[wasm_bindgen(getter)]
    pub fn accessed(&self) -> Result<bool, JsError> {
        self.read(Session::accessed)
    }

    /// `session.session_key`.
    #[wasm_bindgen(getter, js_name = sessionKey)]
    pub fn session_key(&self) -> Result<Option<String>, JsError> {
        self.read(|s| s.session_key().map(str::to_owned))
    }

    /// `session.is_empty()` (never loads).
    #[wasm_bindgen(js_name = isEmpty)]
    pub fn is_empty(&self) -> Result<bool, JsError> {
        self.read(Session::is_empty)
    }
}

/// The Durable Object's decision for one request (see `store::object`):
/// JSON `{"reply": string, "write": string|null, "alarmAt": number|null, "deleteAll": bool, "inspect": bool}`
/// (`alarmAt`: Unix seconds, the record's expiry or the alarm horizon, whichever is sooner).
#[wasm_bindgen(js_name = objectStep)]
pub fn object_step(body: &str, stored: Option<String>, now: f64) -> String {
    let step = object::handle(body, stored.as_deref(), now as i64);
    json!({
        "reply": step.reply,
        "write": step.write.as_ref().map(|r| r.to_json()),
        "alarmAt": step.write.as_ref().map(|r| object::alarm_at(r.expires_at, now as i64)),
        "deleteAll": step.delete_all,
        "inspect": step.inspect,
    })
    .to_string()
}

/// A user index's decision for one request, or for its alarm when `body` is
/// `undefined` (see `users::index`): JSON `{"reply": string, "write":
/// string|null, "alarmAt": number|null, "deleteAll": bool}`.
#[wasm_bindgen(js_name = indexStep)]
pub fn index_step(body: Option<String>, stored: Option<String>, now: f64) -> String {
    let now = now as i64;
    let step = match body {
        Some(body) => users::index::handle(&body, stored.as_deref(), now),
        None => users::index::on_alarm(stored.as_deref(), now),
    };
    json!({
        "reply": step.reply,
        "write": step.write,
        "alarmAt": step.alarm_at.map(|t| object::alarm_at(t, now)),
        "deleteAll": step.delete_all,
    })
    .to_string()
}

/// The Durable Object alarm's decision: when to re-arm (Unix seconds), or `undefined` to delete.
#[wasm_bindgen(js_name = objectAlarm)]
pub fn object_alarm(stored: Option<String>, now: f64) -> Option<f64> {
    object::on_alarm(stored.as_deref(), now as i64).map(|t| t as f64)
}

/// The body of a plain 500 (`crate::response::INTERNAL_ERROR_BODY`), for the
/// wrapper's handler failures and configuration errors.
#[wasm_bindgen(js_name = internalErrorBody)]
pub fn internal_error_body() -> String {
    crate::response::INTERNAL_ERROR_BODY.to_owned()
}

/// The error names ([`ErrorName::ALL`], as a JSON array of strings): the
/// `error` of `{"error", "message"}` results and the `name` of the
/// wrapper's `SessionError`s is one of them. `npm/index.js` builds its
/// `errorNames` from this list instead of spelling the names itself.
#[wasm_bindgen(js_name = errorNames)]
pub fn error_names() -> String {
    Value::from(ErrorName::ALL.iter().map(|n| n.as_str()).collect::<Vec<_>>()).to_string()
}

/// HMACs and storage operations so far in this isolate (for tests and benchmarks).
#[wasm_bindgen]
pub fn counters() -> String {
    let c = crate::metrics::counters();
    Value::Object(c.fields().iter().map(|(name, n)| ((*name).to_owned(), Value::from(*n))).collect()).to_string()
}
