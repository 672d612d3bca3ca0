//! The platform layer shared by both front doors (wasm32 only): Workers KV,
//! Durable Object and R2 stores over the raw JavaScript bindings (`js-sys`, no
//! `worker` crate), settings from a Worker's `env`, and the per-isolate
//! configuration. The Rust integration (`workers`) and the npm package (`js`)
//! both run on it, so they read and write the same sessions.

mod any;
mod bindings;
mod durable;
pub(crate) mod env;
mod kv;
mod promise;
mod r2;
mod users;

pub use any::AnyStore;
pub use bindings::{DurableObjectNamespace, KvNamespace};
pub use durable::DurableStore;
pub use env::{settings_from_env, ConfigError, EnvSource, DEFAULT_DO_BINDING, DEFAULT_KV_BINDING, DEFAULT_R2_BINDING};
pub use kv::{KvCache, KV_MAX_TTL, KV_MIN_TTL};
pub use r2::R2Bucket;
pub use users::DurableUsers;

use std::cell::RefCell;

use crate::clock::Clock;
use crate::key::OsKeySource;
use crate::manager::{SessionConfig, SessionManager};
use crate::store::{BackendError, StoreError, StoreOp};

/// The clock of a Worker: `Date.now()`, in whole seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkersClock;

impl Clock for WorkersClock {
    fn now(&self) -> i64 {
        (js_sys::Date::now() / 1000.0).floor() as i64
    }
}

thread_local! {
    /// The configuration, built once per isolate (per distinct settings):
    /// settings are validated and the signing keys derived on first use only.
    static CONFIG: RefCell<Option<(String, SessionConfig)>> = const { RefCell::new(None) };
    /// The last manager built from a plain `env` (no overrides), kept while
    /// requests bring the very same `env` object: workerd hands a module
    /// worker one `env` per isolate, so the vars and bindings are read once,
    /// not on every request.
    static LAST: RefCell<Option<(wasm_bindgen::JsValue, SessionManager<AnyStore>)>> = const { RefCell::new(None) };
}

/// The per-isolate configuration, built from `env` on first use. `warn`
/// receives the loud warning of the insecure development secret.
pub fn config(env: &EnvSource, warn: fn(&str)) -> Result<SessionConfig, ConfigError> {
    let fingerprint = env.fingerprint();
    let cached = CONFIG.with(|c| c.borrow().as_ref().filter(|(f, _)| *f == fingerprint).map(|(_, c)| c.clone()));
    if let Some(c) = cached {
        return Ok(c);
    }
    crate::log::set_warn_hook(warn);
    let settings = settings_from_env(env)?;
    if settings.insecure_dev_secret {
        warn(
            "NO SECRET_KEY IS SET; using the public development secret because \
             SESSION_INSECURE_DEV_SECRET=1. Anyone can forge sessions. Never deploy this.",
        );
    }
    let config = SessionConfig::new(settings, WorkersClock, OsKeySource);
    CONFIG.with(|c| *c.borrow_mut() = Some((fingerprint, config.clone())));
    Ok(config)
}

/// A manager over the configured engine's store, from a Worker's `env`.
pub fn manager_from_env(env: &EnvSource, warn: fn(&str)) -> Result<SessionManager<AnyStore>, ConfigError> {
    let reusable = env.is_plain();
    if reusable {
        let same = LAST.with(|l| {
            l.borrow().as_ref().filter(|(last, _)| js_sys::Object::is(last, env.raw())).map(|(_, m)| m.clone())
        });
        if let Some(manager) = same {
            return Ok(manager);
        }
    }
    let config = config(env, warn)?;
    let store = env::store_from_env(env, config.settings())?;
    let users = env::users_from_env(env, config.settings())?;
    let mut manager = SessionManager::from_config(config, store);
    if let Some(users) = users {
        manager = manager.with_users(users);
    }
    if reusable {
        LAST.with(|l| *l.borrow_mut() = Some((env.raw().clone(), manager.clone())));
    }
    Ok(manager)
}

/// `e` as a JavaScript `Error`, for the front doors: named `name` (from
/// [`ErrorName`](crate::session::ErrorName)), with the whole chain (`{:#}`) as its
/// message, and, when a JavaScript exception caused it (a KV or Durable
/// Object call that threw), that exception as its `cause`, the value itself.
#[cfg(any(feature = "workers", feature = "js"))]
pub(crate) fn to_js_error(e: &(dyn std::error::Error + 'static), name: &str) -> js_sys::Error {
    let error = js_sys::Error::new(&format!("{e:#}"));
    error.set_name(name);
    if let Some(cause) = crate::store::js_cause_of(e) {
        error.set_cause(cause);
    }
    error
}

/// A binding call of `op` that threw or rejected with `e`: the exception is
/// kept as the cause ([`BackendError::js_value`](crate::store::BackendError::js_value)).
fn js_error(op: StoreOp, detail: &str, e: wasm_bindgen::JsValue) -> StoreError {
    BackendError::new(op, detail).with_js_source(e).into()
}
