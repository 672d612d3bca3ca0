//! Settings and stores from a Worker's `env`.
//!
//! Settings are read under Django's names from vars (`[vars]`, `.dev.vars`,
//! `--var NAME:VALUE`) and secrets (`SECRET_KEY`, `SECRET_KEY_FALLBACKS`); a var
//! written as a TOML number or boolean reads as its text. Four more vars name
//! the platform pieces:
//!
//! | var | default | |
//! |---|---|---|
//! | `SESSION_KV_BINDING` | `SESSION_KV` | the KV namespace (`cache`, `cached_db`) |
//! | `SESSION_DO_BINDING` | `SESSION_DO` | the Durable Object namespace (`db`, `cached_db`) |
//! | `SESSION_KV_PREFIX` | `django.contrib.sessions.cache` | KV key prefix |
//! | `SESSION_KV_CACHE_TTL` | unset (KV's 60 s) | `cacheTtl` of KV reads, seconds, at least 60 |

use std::fmt;
use wasm_bindgen::JsValue;
use worker::Env;

use super::{AnyStore, DurableStore, KvCache};
use crate::settings::{Engine, Settings, SettingsError};
use crate::store::cache::{CacheEngine, CachedStore};

/// The default KV binding name.
pub const DEFAULT_KV_BINDING: &str = "SESSION_KV";
/// The default Durable Object binding name.
pub const DEFAULT_DO_BINDING: &str = "SESSION_DO";
const DEFAULT_KV_PREFIX: &str = "django.contrib.sessions.cache";

/// The Worker is not configured for the chosen engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A setting was refused.
    Settings(SettingsError),
    /// The engine needs a binding that `env` does not have.
    MissingBinding {
        /// The binding's name.
        binding: String,
        /// What it must be.
        kind: &'static str,
        /// The engine that needs it.
        engine: Engine,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Settings(e) => write!(f, "edge-session configuration: {e}"),
            Self::MissingBinding { binding, kind, engine } => write!(
                f,
                "edge-session configuration: SESSION_ENGINE={} needs a {kind} binding named {binding:?} in wrangler.toml (or set {})",
                engine.as_str(),
                if *kind == "KV namespace" { "SESSION_KV_BINDING" } else { "SESSION_DO_BINDING" }
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<SettingsError> for ConfigError {
    fn from(e: SettingsError) -> Self {
        Self::Settings(e)
    }
}

/// The text of an env var or secret; `None` when absent or not a scalar.
pub(crate) fn var(env: &Env, name: &str) -> Option<String> {
    let value = js_sys::Reflect::get(env.as_ref(), &JsValue::from_str(name)).ok()?;
    if let Some(s) = value.as_string() {
        Some(s)
    } else if let Some(n) = value.as_f64() {
        Some(if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { n.to_string() })
    } else {
        value.as_bool().map(|b| b.to_string())
    }
}

/// The session settings from `env`.
pub fn settings_from_env(env: &Env) -> Result<Settings, SettingsError> {
    Settings::from_lookup(|name| var(env, name))
}

fn present(env: &Env, binding: &str) -> bool {
    js_sys::Reflect::get(env.as_ref(), &JsValue::from_str(binding)).is_ok_and(|v| v.is_object())
}

/// The store of `settings.engine`, from the bindings in `env`.
pub(crate) fn store_from_env(env: &Env, settings: &Settings) -> Result<AnyStore, ConfigError> {
    let engine = settings.engine;
    let kv = || -> Result<KvCache, ConfigError> {
        let binding = var(env, "SESSION_KV_BINDING").unwrap_or_else(|| DEFAULT_KV_BINDING.to_owned());
        let missing = || ConfigError::MissingBinding { binding: binding.clone(), kind: "KV namespace", engine };
        if !present(env, &binding) {
            return Err(missing());
        }
        let store = env.kv(&binding).map_err(|_| missing())?;
        let prefix = var(env, "SESSION_KV_PREFIX").unwrap_or_else(|| DEFAULT_KV_PREFIX.to_owned());
        let cache_ttl = match var(env, "SESSION_KV_CACHE_TTL") {
            None => None,
            Some(raw) => match raw.trim().parse::<u64>() {
                Ok(n) if n >= 60 => Some(n),
                _ => {
                    return Err(ConfigError::Settings(SettingsError {
                        setting: "SESSION_KV_CACHE_TTL",
                        rule: format!("must be an integer number of seconds, at least 60 (KV's minimum), got {raw:?}"),
                    }))
                }
            },
        };
        Ok(KvCache::new(store, prefix, cache_ttl))
    };
    let durable = || -> Result<DurableStore, ConfigError> {
        let binding = var(env, "SESSION_DO_BINDING").unwrap_or_else(|| DEFAULT_DO_BINDING.to_owned());
        let missing =
            || ConfigError::MissingBinding { binding: binding.clone(), kind: "Durable Object namespace", engine };
        if !present(env, &binding) {
            return Err(missing());
        }
        env.durable_object(&binding).map(DurableStore::new).map_err(|_| missing())
    };
    Ok(match engine {
        Engine::Cache => AnyStore::Cache(CacheEngine::new(kv()?, super::WorkersClock)),
        Engine::Db => AnyStore::Db(durable()?),
        Engine::CachedDb => AnyStore::CachedDb(CachedStore::new(kv()?, durable()?, super::WorkersClock)),
        Engine::SignedCookies => AnyStore::None,
    })
}
