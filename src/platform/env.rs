//! Settings and stores from a Worker's `env`.
//!
//! Settings are read under Django's names from vars (`[vars]`, `.dev.vars`,
//! `--var NAME:VALUE`) and secrets (`SECRET_KEY`, `SECRET_KEY_FALLBACKS`); a var
//! written as a TOML number or boolean reads as its text. Only `env`'s own
//! properties count, never inherited ones (nothing on `Object.prototype`). More vars name
//! the platform pieces:
//!
//! | var | default | |
//! |---|---|---|
//! | `SESSION_KV_BINDING` | `SESSION_KV` | the KV namespace (`cache`, `cached_db`) |
//! | `SESSION_DO_BINDING` | `SESSION_DO` | the Durable Object namespace (`db`, `cached_db`, and the users' indexes of `SESSION_USER_INDEX` on every engine) |
//! | `SESSION_R2_BINDING` | `SESSION_R2` | the R2 bucket (`file`) |
//! | `SESSION_KV_PREFIX` | `django.contrib.sessions.cache` | KV key prefix |
//! | `SESSION_KV_CACHE_TTL` | unset (KV's default, 60 s) | `cacheTtl` of KV reads, seconds, 30 to 300; it lengthens the revocation window (SECURITY.md) |

use std::fmt;
use wasm_bindgen::{JsCast, JsValue};

use super::{AnyStore, DurableStore, DurableUsers, KvCache, R2Bucket, WorkersClock};
use crate::response::ErrorName;
use crate::session::write_sources;
use crate::settings::{Engine, Settings, SettingsError, SETTING_NAMES};
use crate::store::cache::{CacheEngine, CachedDbStore};
use crate::store::file::FileStore;

/// The default KV binding name.
pub const DEFAULT_KV_BINDING: &str = "SESSION_KV";
/// The default Durable Object binding name.
pub const DEFAULT_DO_BINDING: &str = "SESSION_DO";
/// The default R2 bucket binding name.
pub const DEFAULT_R2_BINDING: &str = "SESSION_R2";
const DEFAULT_KV_PREFIX: &str = "django.contrib.sessions.cache";
/// KV's smallest `cacheTtl`.
const MIN_KV_CACHE_TTL: u64 = 30;
/// The largest `SESSION_KV_CACHE_TTL`: a location serves what it cached for
/// that long, so it bounds the revocation window SECURITY.md states.
pub const MAX_KV_CACHE_TTL: u64 = 300;

/// The Worker is not configured for the chosen engine.
///
/// A refused setting is the [`source()`](std::error::Error::source) of
/// [`Settings`](Self::Settings); `{:#}` prints the whole message
/// (`edge-session configuration: SECRET_KEY: ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

impl ConfigError {
    /// The error's name in [`ErrorName`]: `ConfigError`.
    pub fn name(&self) -> &'static str {
        ErrorName::ConfigError.as_str()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Settings(_) => f.write_str("edge-session configuration")?,
            Self::MissingBinding { binding, kind, engine } => write!(
                f,
                "edge-session configuration: SESSION_ENGINE={} needs {} {kind} binding named {binding:?} in wrangler.toml (or set {})",
                engine.as_str(),
                if kind.starts_with('R') { "an" } else { "a" },
                match *kind {
                    "KV namespace" => "SESSION_KV_BINDING",
                    "R2 bucket" => "SESSION_R2_BINDING",
                    _ => "SESSION_DO_BINDING",
                }
            )?,
        }
        if f.alternate() {
            write_sources(f, std::error::Error::source(self))?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Settings(e) => Some(e),
            Self::MissingBinding { .. } => None,
        }
    }
}

impl From<SettingsError> for ConfigError {
    fn from(e: SettingsError) -> Self {
        Self::Settings(e)
    }
}

/// Where settings and bindings come from: a Worker's `env`, with optional
/// overrides (the npm package's `options`).
#[derive(Clone)]
pub struct EnvSource {
    env: JsValue,
    overrides: Vec<(String, String)>,
    kv: Option<JsValue>,
    durable: Option<JsValue>,
    r2: Option<JsValue>,
}

impl EnvSource {
    /// Settings and bindings from `env`.
    pub fn new(env: JsValue) -> Self {
        Self { env, overrides: Vec::new(), kv: None, durable: None, r2: None }
    }

    /// The `env` object itself.
    pub(crate) fn raw(&self) -> &JsValue {
        &self.env
    }

    /// No overrides and no explicit bindings: everything comes from `env`.
    pub(crate) fn is_plain(&self) -> bool {
        self.overrides.is_empty() && self.kv.is_none() && self.durable.is_none() && self.r2.is_none()
    }

    /// Overrides one setting.
    pub fn set(&mut self, name: &str, value: &str) {
        self.overrides.push((name.to_owned(), value.to_owned()));
    }

    /// Uses this KV binding instead of the one named in `env`.
    pub fn set_kv(&mut self, binding: JsValue) {
        self.kv = Some(binding);
    }

    /// Uses this Durable Object binding instead of the one named in `env`.
    pub fn set_durable_object(&mut self, binding: JsValue) {
        self.durable = Some(binding);
    }

    /// Uses this R2 bucket binding instead of the one named in `env`.
    pub fn set_r2(&mut self, binding: JsValue) {
        self.r2 = Some(binding);
    }

    /// The text of a setting: an override, else the env var or secret;
    /// `None` when absent or not a scalar.
    pub fn var(&self, name: &str) -> Option<String> {
        if let Some((_, v)) = self.overrides.iter().rev().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        let value = self.own(name)?;
        if let Some(s) = value.as_string() {
            Some(s)
        } else if let Some(n) = value.as_f64() {
            Some(number_text(n))
        } else {
            value.as_bool().map(|b| b.to_string())
        }
    }

    /// Every setting's text, to tell whether a cached configuration still applies.
    pub(crate) fn fingerprint(&self) -> String {
        SETTING_NAMES.iter().map(|n| format!("{n}={:?}\u{0}", self.var(n))).collect()
    }

    fn binding(&self, explicit: &Option<JsValue>, var: &str, default: &str) -> (String, Option<JsValue>) {
        if let Some(b) = explicit {
            return ("(passed in options)".to_owned(), Some(b.clone()));
        }
        let name = self.var(var).unwrap_or_else(|| default.to_owned());
        let value = self.own(&name).filter(JsValue::is_object);
        (name, value)
    }

    /// `env[name]` when it is `env`'s own property. A plain property read
    /// follows the prototype chain: a `SECRET_KEY_FALLBACKS` planted on
    /// `Object.prototype` by some other bug in the isolate would be read as
    /// a setting, and let a cookie forged under that secret load.
    /// (Most names are absent: one read answers those; only a value found is
    /// checked to be `env`'s own.)
    fn own(&self, name: &str) -> Option<JsValue> {
        let env: &js_sys::Object = self.env.dyn_ref()?;
        let key = JsValue::from_str(name);
        let value = js_sys::Reflect::get(env, &key).ok().filter(|v| !v.is_undefined())?;
        js_sys::Object::has_own(env, &key).then_some(value)
    }
}

/// The text of a number var (`600`, not `600.0`), without `core::fmt`'s float code.
pub(crate) fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        (n as i64).to_string()
    } else {
        serde_json::Number::from_f64(n).map(|n| n.to_string()).unwrap_or_default()
    }
}

/// The session settings from `env`.
pub fn settings_from_env(env: &EnvSource) -> Result<Settings, SettingsError> {
    Settings::from_lookup(|name| env.var(name))
}

/// The users' indexes (`SESSION_USER_INDEX`): in the session Durable Object
/// namespace, whatever the engine; `None` when the setting is off.
pub(crate) fn users_from_env(env: &EnvSource, settings: &Settings) -> Result<Option<DurableUsers>, ConfigError> {
    if !settings.user_index() {
        return Ok(None);
    }
    let (binding, value) = env.binding(&env.durable, "SESSION_DO_BINDING", DEFAULT_DO_BINDING);
    let value = value.ok_or(ConfigError::MissingBinding {
        binding,
        kind: "Durable Object namespace (for SESSION_USER_INDEX)",
        engine: settings.engine,
    })?;
    Ok(Some(DurableUsers::new(value)))
}

/// The store of `settings.engine`, from the bindings in `env`.
pub(crate) fn store_from_env(env: &EnvSource, settings: &Settings) -> Result<AnyStore, ConfigError> {
    let engine = settings.engine;
    let kv = || -> Result<KvCache, ConfigError> {
        let (binding, value) = env.binding(&env.kv, "SESSION_KV_BINDING", DEFAULT_KV_BINDING);
        let value = value.ok_or(ConfigError::MissingBinding { binding, kind: "KV namespace", engine })?;
        let prefix = env.var("SESSION_KV_PREFIX").unwrap_or_else(|| DEFAULT_KV_PREFIX.to_owned());
        let cache_ttl = match env.var("SESSION_KV_CACHE_TTL") {
            None => None,
            Some(raw) => match raw.trim().parse::<u64>() {
                Ok(n) if (MIN_KV_CACHE_TTL..=MAX_KV_CACHE_TTL).contains(&n) => Some(n),
                _ => {
                    return Err(ConfigError::Settings(SettingsError {
                        setting: "SESSION_KV_CACHE_TTL",
                        rule: format!(
                            "must be an integer number of seconds from {MIN_KV_CACHE_TTL} (KV's minimum) to {MAX_KV_CACHE_TTL} \
                             (it lengthens how long a logged-out session stays readable), got {raw:?}"
                        ),
                    }))
                }
            },
        };
        Ok(KvCache::new(value, prefix, cache_ttl))
    };
    let durable = || -> Result<DurableStore, ConfigError> {
        let (binding, value) = env.binding(&env.durable, "SESSION_DO_BINDING", DEFAULT_DO_BINDING);
        let value = value.ok_or(ConfigError::MissingBinding { binding, kind: "Durable Object namespace", engine })?;
        Ok(DurableStore::new(value))
    };
    let file = || -> Result<FileStore<R2Bucket>, ConfigError> {
        let (binding, value) = env.binding(&env.r2, "SESSION_R2_BINDING", DEFAULT_R2_BINDING);
        let value = value.ok_or(ConfigError::MissingBinding { binding, kind: "R2 bucket", engine })?;
        Ok(FileStore::new(R2Bucket::new(value), settings.file_path(), settings.cookie.name(), WorkersClock))
    };
    Ok(match engine {
        Engine::Cache => AnyStore::Cache(CacheEngine::new(kv()?, WorkersClock)),
        Engine::File => AnyStore::File(file()?),
        Engine::Db => AnyStore::Db(durable()?),
        Engine::CachedDb => AnyStore::CachedDb(CachedDbStore::new(kv()?, durable()?, WorkersClock)),
        Engine::SignedCookies => AnyStore::None,
    })
}
