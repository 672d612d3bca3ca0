//! The session: Django's `request.session`, with its exact dictionary
//! semantics, lazy loading and `accessed`/`modified` bookkeeping.
//!
//! Every method that reads or writes data loads the session on first use
//! (one store read, or one signature check for `signed_cookies`) and is
//! therefore `async`; methods Django implements without loading (`clear`,
//! `flush`, `is_empty`, `session_key`, the flags) are not.
//!
//! Values are JSON ([`serde_json::Value`]), as in Django's `JSONSerializer`;
//! [`Session::get`], [`Session::insert`] and [`Session::remove`] also convert
//! to and from any serde type (`session.get::<i64>("visits")`), and a stored
//! value of another shape is [`SessionError::TypeMismatch`], never a panic.
//!
//! Which operations set the flags follows Django's `SessionBase`:
//!
//! | operation | loads / `accessed` | `modified` |
//! |---|---|---|
//! | `get`, `contains`, `keys`, `values`, `items`, `test_cookie_worked`, expiry getters | yes | no |
//! | `set`, `insert`, `update`, `delete` (present key), `set_test_cookie`, `delete_test_cookie` | yes | yes |
//! | `pop`, `pop_or`, `remove` | yes | only if the key was present |
//! | `setdefault` | yes | only if the key was absent |
//! | `set_expiry(None)` | yes | only if an expiry was set |
//! | `clear` | `accessed`, without loading | yes |
//! | `flush` | `accessed`, without loading | yes; the key is dropped and its record deleted |
//! | `cycle_key` | yes | yes; a new key, the old record deleted once the new one is saved |
//!
//! Values nested deeper than [`MAX_DEPTH`] arrays and objects are refused
//! ([`SessionError::TooDeep`]): they could be saved, but not read back.
//!
//! Keys starting with `_` are reserved for the framework (Django's rule):
//! they can be read, but writes through the dictionary methods are refused
//! with [`SessionError::ReservedKey`]; use [`Session::set_expiry`] for
//! `_session_expiry`.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;
use std::rc::Rc;

use crate::clock::Clock;
use crate::datetime::{DateTime, DateTimeError};
use crate::expiry::{self, Expiry, EXPIRY_KEY};
use crate::key::{CookieSigner, KeySource, RandomError, SessionKey};
use crate::record::Record;
use crate::settings::{Engine, Settings};
use crate::signing::{TimestampSigner, Unsigned};
use crate::store::{SessionStore, StoreError};

mod finite;

/// Django's `TEST_COOKIE_NAME`.
pub const TEST_COOKIE_NAME: &str = "testcookie";
/// Django's `TEST_COOKIE_VALUE`.
pub const TEST_COOKIE_VALUE: &str = "worked";
/// The deepest nesting of arrays and objects a stored value may have (the
/// session dictionary adds one level; JSON parsers stop at 128).
pub const MAX_DEPTH: usize = 100;

/// The salt of stored `session_data` (Django's `SessionStore.key_salt`).
pub const SESSION_DATA_SALT: &str = "django.contrib.sessions.SessionStore";
/// The salt of the `signed_cookies` engine.
pub const SIGNED_COOKIES_SALT: &str = "django.contrib.sessions.backends.signed_cookies";

/// A session operation that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// The key is not in the session (Python's `KeyError`).
    KeyError(String),
    /// The key starts with `_`, which is reserved for the framework.
    ReservedKey(String),
    /// The expiry datetime is not an ISO-8601 datetime with an offset.
    InvalidExpiry(DateTimeError),
    /// The value is nested deeper than [`MAX_DEPTH`] arrays and objects: it
    /// could be saved but not read back (JSON parsers limit nesting).
    TooDeep,
    /// The store failed to load the session: the data may exist, so the
    /// request must fail rather than continue with an empty session.
    Store(StoreError),
    /// No random key could be made.
    Random(RandomError),
    /// The value stored under `key` does not deserialize into the type asked
    /// for ([`Session::get`], [`Session::remove`]); the session is unchanged.
    TypeMismatch {
        /// The session key.
        key: String,
        /// The type asked for ([`std::any::type_name`]).
        expected: &'static str,
        /// Why serde refused the stored value.
        detail: String,
    },
    /// The value given to [`Session::insert`] has no JSON form: its
    /// `Serialize` failed, it holds a non-finite float, or a map key that is
    /// not a string (or a number or bool serde_json writes as one).
    NotJson {
        /// The session key.
        key: String,
        /// Why the value could not be written as JSON.
        detail: String,
    },
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyError(k) => write!(f, "KeyError: {k:?}"),
            Self::ReservedKey(k) => write!(f, "session keys starting with '_' are reserved for the framework: {k:?}"),
            Self::InvalidExpiry(e) => write!(f, "invalid expiry: {e}"),
            Self::TooDeep => write!(f, "the value is nested deeper than {MAX_DEPTH} arrays and objects"),
            Self::Store(e) => write!(f, "{e}"),
            Self::Random(e) => write!(f, "{e}"),
            Self::TypeMismatch { key, expected, detail } => {
                write!(f, "the session value under {key:?} is not a valid {expected}: {detail}")
            }
            Self::NotJson { key, detail } => {
                write!(f, "the value for session key {key:?} cannot be stored as JSON: {detail}")
            }
        }
    }
}

impl std::error::Error for SessionError {}

impl SessionError {
    /// A short name for the error (`KeyError`, `ReservedKey`, ...): Python's
    /// exception name where Django raises one (`KeyError`, `ValueError`,
    /// `TypeError`).
    ///
    /// # Examples
    ///
    /// ```
    /// use edge_session::prelude::*;
    ///
    /// assert_eq!(SessionError::KeyError("cart".into()).name(), "KeyError");
    /// assert_eq!(SessionError::TooDeep.name(), "ValueError");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Self::KeyError(_) => "KeyError",
            Self::ReservedKey(_) => "ReservedKey",
            Self::InvalidExpiry(_) | Self::TooDeep => "ValueError",
            Self::Store(_) => "StoreError",
            Self::Random(_) => "RandomError",
            Self::TypeMismatch { .. } | Self::NotJson { .. } => "TypeError",
        }
    }
}

/// What every session of one configuration shares: settings, clock, key
/// source and the keyed signers (derived once, not per request).
pub(crate) struct Context {
    pub settings: Settings,
    pub clock: Box<dyn Clock>,
    pub keys: Box<dyn KeySource>,
    pub data_signer: TimestampSigner,
    pub cookie_signer: CookieSigner,
    pub signed_cookies_signer: TimestampSigner,
}

impl Context {
    pub fn new(settings: Settings, clock: Box<dyn Clock>, keys: Box<dyn KeySource>) -> Self {
        let (secret, fallbacks) = (settings.secret_key(), settings.secret_key_fallbacks());
        Self {
            data_signer: TimestampSigner::new(secret, fallbacks, SESSION_DATA_SALT),
            cookie_signer: CookieSigner::new(&settings.cookie.name, secret, fallbacks),
            signed_cookies_signer: TimestampSigner::new(secret, fallbacks, SIGNED_COOKIES_SALT),
            settings,
            clock,
            keys,
        }
    }

    /// Django's `SessionStore.decode`: the dictionary in a stored
    /// `session_data`, and whether only a fallback secret verified it.
    pub fn decode(&self, session_data: &str) -> Option<(Map<String, Value>, bool)> {
        match self.data_signer.unsign_object(session_data, None, 0) {
            Ok(Unsigned { value: Value::Object(map), used_fallback, .. }) => Some((map, used_fallback)),
            _ => None,
        }
    }
}

/// Whether the key's record exists in the store.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Stored {
    /// The key came from a verified cookie and has not been loaded: a save
    /// tries an update and, if the record is gone, creates under a fresh key.
    Unknown,
    /// The record was loaded or written in this request: a save is an update,
    /// and a record deleted meanwhile is Django's `SessionInterrupted`.
    Yes,
    /// A new key (new session, `cycle_key`): a save creates.
    No,
}

/// How the session is identified.
#[derive(Clone)]
pub(crate) enum Identity {
    /// Server-side engines: the key, if any, and what is known of its record.
    Server { key: Option<SessionKey>, stored: Stored },
    /// `signed_cookies`: the token from the request's cookie, if any (Django's `session_key`).
    Signed { token: Option<String> },
}

/// One request's session (Django's `request.session`).
pub struct Session<S> {
    pub(crate) ctx: Rc<Context>,
    pub(crate) store: S,
    pub(crate) identity: Identity,
    /// The record version the client's cookie claims, then the loaded record's.
    pub(crate) version: u64,
    /// `None` until loaded (Django's `_session_cache`).
    pub(crate) cache: Option<Map<String, Value>>,
    pub(crate) accessed: bool,
    pub(crate) modified: bool,
    /// Records to delete whatever the response (`flush`).
    pub(crate) flushed: Vec<SessionKey>,
    /// Records to delete once the new key is saved (`cycle_key`).
    pub(crate) cycled_from: Vec<SessionKey>,
    /// The cookie or the data verified only with a fallback secret: re-sign
    /// both under the current secret (the session counts as modified).
    pub(crate) reissue: bool,
    /// The request carried a cookie with the session cookie's name.
    pub(crate) had_cookie: bool,
}

impl<S: SessionStore> Session<S> {
    pub(crate) fn new(ctx: Rc<Context>, store: S, identity: Identity, version: u64) -> Self {
        Self {
            ctx,
            store,
            identity,
            version,
            cache: None,
            accessed: false,
            modified: false,
            flushed: Vec::new(),
            cycled_from: Vec::new(),
            reissue: false,
            had_cookie: false,
        }
    }

    fn now(&self) -> i64 {
        self.ctx.clock.now()
    }

    /// Loads the data if needed and marks the session accessed (Django's `_get_session`).
    pub(crate) async fn data(&mut self) -> Result<&mut Map<String, Value>, SessionError> {
        self.accessed = true;
        if self.cache.is_none() {
            let loaded = self.load().await?;
            self.cache = Some(loaded);
        }
        Ok(self.cache.get_or_insert_with(Map::new))
    }

    async fn load(&mut self) -> Result<Map<String, Value>, SessionError> {
        let now = self.now();
        match &mut self.identity {
            Identity::Signed { token } => {
                let Some(t) = token.as_deref() else { return Ok(Map::new()) };
                let decoded = decode_signed_cookie(&self.ctx, t, now);
                match decoded {
                    Some((map, used_fallback)) => {
                        self.reissue |= used_fallback;
                        Ok(map)
                    }
                    None => {
                        // A bad, expired or foreign token: a fresh session
                        // (Django would re-sign an empty one; we send nothing).
                        *token = None;
                        Ok(Map::new())
                    }
                }
            }
            Identity::Server { key: None, .. } => Ok(Map::new()),
            Identity::Server { key: Some(key), stored } => {
                let record = self.store.load(key, self.version).await.map_err(SessionError::Store)?;
                let decoded = record
                    .filter(|r| !r.is_expired(now))
                    .and_then(|r| self.ctx.decode(&r.data).map(|decoded| (decoded, r.version)));
                match decoded {
                    Some(((map, used_fallback), version)) => {
                        *stored = Stored::Yes;
                        self.version = version;
                        self.reissue |= used_fallback;
                        Ok(map)
                    }
                    None => {
                        // Unknown, expired or undecodable: never adopt the
                        // client's key; a write gets a fresh one.
                        self.identity = Identity::Server { key: None, stored: Stored::No };
                        self.version = 0;
                        Ok(Map::new())
                    }
                }
            }
        }
    }

    /// `session.get(key)`: the value, or `None`.
    pub async fn get<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, SessionError> {
        self.data().await?.get(key).map(|v| typed(key, v)).transpose()
    }

    /// `session[key] = value`. Refuses keys starting with `_`.
    pub async fn set(&mut self, key: &str, value: Value) -> Result<(), SessionError> {
        writable(key)?;
        storable(&value)?;
        self.data().await?.insert(key.to_owned(), value);
        self.modified = true;
        Ok(())
    }

    /// `session[key] = value` for any serde type.
    pub async fn insert(&mut self, key: &str, value: impl Serialize) -> Result<(), SessionError> {
        writable(key)?;
        let value = to_json(key, &value)?;
        self.set(key, value).await
    }

    /// `session.pop(key, None)`, typed: removes and returns the value; an
    /// absent key gives `None` and does not modify.
    pub async fn remove<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, SessionError> {
        writable(key)?;
        let data = self.data().await?;
        let Some(stored) = data.get(key) else { return Ok(None) };
        // Converted before removing: a mismatch leaves the session unchanged.
        let value = typed(key, stored)?;
        data.shift_remove(key);
        self.modified = true;
        Ok(Some(value))
    }

    /// `del session[key]`: [`SessionError::KeyError`] when absent.
    pub async fn delete(&mut self, key: &str) -> Result<(), SessionError> {
        writable(key)?;
        self.data().await?.shift_remove(key).ok_or_else(|| SessionError::KeyError(key.to_owned()))?;
        self.modified = true;
        Ok(())
    }

    /// `key in session`.
    pub async fn contains(&mut self, key: &str) -> Result<bool, SessionError> {
        Ok(self.data().await?.contains_key(key))
    }

    /// `session.pop(key)`: [`SessionError::KeyError`] when absent.
    pub async fn pop(&mut self, key: &str) -> Result<Value, SessionError> {
        writable(key)?;
        let value = self.data().await?.shift_remove(key).ok_or_else(|| SessionError::KeyError(key.to_owned()))?;
        self.modified = true;
        Ok(value)
    }

    /// `session.pop(key, default)`: an absent key returns `default` and does not modify.
    pub async fn pop_or(&mut self, key: &str, default: Value) -> Result<Value, SessionError> {
        writable(key)?;
        match self.data().await?.shift_remove(key) {
            Some(v) => {
                self.modified = true;
                Ok(v)
            }
            None => Ok(default),
        }
    }

    /// `session.setdefault(key, value)`: the stored value; modifies only when absent.
    pub async fn setdefault(&mut self, key: &str, value: Value) -> Result<Value, SessionError> {
        writable(key)?;
        storable(&value)?;
        let data = self.data().await?;
        if let Some(existing) = data.get(key) {
            return Ok(existing.clone());
        }
        data.insert(key.to_owned(), value.clone());
        self.modified = true;
        Ok(value)
    }

    /// `session.update(values)`; refused whole if any key starts with `_`.
    pub async fn update(&mut self, values: Map<String, Value>) -> Result<(), SessionError> {
        if let Some(k) = values.keys().find(|k| k.starts_with('_')) {
            return Err(SessionError::ReservedKey(k.clone()));
        }
        values.values().try_for_each(storable)?;
        self.data().await?.extend(values);
        self.modified = true;
        Ok(())
    }

    /// `session.keys()`, in insertion order.
    pub async fn keys(&mut self) -> Result<Vec<String>, SessionError> {
        Ok(self.data().await?.keys().cloned().collect())
    }

    /// `session.values()`.
    pub async fn values(&mut self) -> Result<Vec<Value>, SessionError> {
        Ok(self.data().await?.values().cloned().collect())
    }

    /// `session.items()`.
    pub async fn items(&mut self) -> Result<Vec<(String, Value)>, SessionError> {
        Ok(self.data().await?.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// `session.clear()`: empties the data without loading it.
    pub fn clear(&mut self) {
        self.cache = Some(Map::new());
        self.accessed = true;
        self.modified = true;
    }

    /// `session.is_empty()`: no key and no data. Does not load.
    pub fn is_empty(&self) -> bool {
        let no_key = match &self.identity {
            Identity::Server { key, .. } => key.is_none(),
            Identity::Signed { token } => token.is_none(),
        };
        no_key && self.cache.as_ref().is_none_or(Map::is_empty)
    }

    /// `session.flush()`: removes the data and the key; the record is deleted
    /// when the response is finished, whatever its status (logout must stick).
    pub fn flush(&mut self) {
        self.clear();
        match &mut self.identity {
            Identity::Server { key, stored } => {
                if let Some(k) = key.take() {
                    self.flushed.push(k);
                }
                *stored = Stored::No;
                self.flushed.append(&mut self.cycled_from);
            }
            Identity::Signed { token } => *token = None,
        }
        self.version = 0;
        self.reissue = false;
    }

    /// `session.cycle_key()`: keeps the data under a new key (call it at
    /// login against session fixation). The old record is deleted once the
    /// new one is saved.
    pub async fn cycle_key(&mut self) -> Result<(), SessionError> {
        self.data().await?;
        if let Identity::Server { key, stored } = &mut self.identity {
            let new_key = self.ctx.keys.new_key().map_err(SessionError::Random)?;
            if let Some(old) = key.replace(new_key) {
                if *stored != Stored::No {
                    self.cycled_from.push(old);
                }
            }
            *stored = Stored::No;
            self.version = 0;
        }
        self.modified = true;
        Ok(())
    }

    /// `session.set_test_cookie()`.
    pub async fn set_test_cookie(&mut self) -> Result<(), SessionError> {
        self.data().await?.insert(TEST_COOKIE_NAME.into(), Value::from(TEST_COOKIE_VALUE));
        self.modified = true;
        Ok(())
    }

    /// `session.test_cookie_worked()`.
    pub async fn test_cookie_worked(&mut self) -> Result<bool, SessionError> {
        Ok(self.data().await?.get(TEST_COOKIE_NAME).and_then(Value::as_str) == Some(TEST_COOKIE_VALUE))
    }

    /// `session.delete_test_cookie()`: [`SessionError::KeyError`] when absent.
    pub async fn delete_test_cookie(&mut self) -> Result<(), SessionError> {
        self.delete(TEST_COOKIE_NAME).await
    }

    /// `session.set_expiry(value)`, stored under `_session_expiry` as Django does.
    pub async fn set_expiry(&mut self, expiry: Expiry) -> Result<(), SessionError> {
        let data = self.data().await?;
        match expiry.to_stored() {
            Some(v) => {
                data.insert(EXPIRY_KEY.into(), v);
                self.modified = true;
            }
            None => {
                if data.shift_remove(EXPIRY_KEY).is_some() {
                    self.modified = true;
                }
            }
        }
        Ok(())
    }

    /// `session.get_expiry_age()`: seconds from now until expiry.
    pub async fn get_expiry_age(&mut self) -> Result<i64, SessionError> {
        let now = self.now();
        let age = self.ctx.settings.cookie.age;
        Ok(expiry::expiry_age(self.data().await?.get(EXPIRY_KEY), age, now))
    }

    /// `session.get_expiry_date()`.
    pub async fn get_expiry_date(&mut self) -> Result<DateTime, SessionError> {
        let now = self.now();
        let age = self.ctx.settings.cookie.age;
        Ok(expiry::expiry_date(self.data().await?.get(EXPIRY_KEY), age, now))
    }

    /// `session.get_expire_at_browser_close()`.
    pub async fn get_expire_at_browser_close(&mut self) -> Result<bool, SessionError> {
        let global = self.ctx.settings.expire_at_browser_close;
        Ok(expiry::expire_at_browser_close(self.data().await?.get(EXPIRY_KEY), global))
    }

    /// `session.session_key`: the key (for `signed_cookies`, the token), or `None`.
    pub fn session_key(&self) -> Option<&str> {
        match &self.identity {
            Identity::Server { key, .. } => key.as_ref().map(SessionKey::as_str),
            Identity::Signed { token } => token.as_deref(),
        }
    }

    /// `session.modified`.
    pub fn modified(&self) -> bool {
        self.modified
    }

    /// `session.modified = value` (for changes inside nested values).
    pub fn set_modified(&mut self, modified: bool) {
        self.modified = modified;
    }

    /// `session.accessed`.
    pub fn accessed(&self) -> bool {
        self.accessed
    }

    /// The engine this session uses.
    pub fn engine(&self) -> Engine {
        self.ctx.settings.engine
    }
}

fn writable(key: &str) -> Result<(), SessionError> {
    if key.starts_with('_') {
        return Err(SessionError::ReservedKey(key.to_owned()));
    }
    Ok(())
}

/// The stored `value` as a `T`.
fn typed<T: DeserializeOwned>(key: &str, value: &Value) -> Result<T, SessionError> {
    T::deserialize(value).map_err(|e| SessionError::TypeMismatch {
        key: key.to_owned(),
        expected: std::any::type_name::<T>(),
        detail: e.to_string(),
    })
}

/// `value` as JSON, refusing what JSON cannot hold (serde_json would turn a
/// non-finite float into `null`).
fn to_json(key: &str, value: &impl Serialize) -> Result<Value, SessionError> {
    serde_json::to_value(finite::Finite(value))
        .map_err(|e| SessionError::NotJson { key: key.to_owned(), detail: e.to_string() })
}

/// Refuses values nested deeper than [`MAX_DEPTH`] (iteratively: a value
/// built in Rust can be deeper than the stack).
fn storable(value: &Value) -> Result<(), SessionError> {
    let mut stack = vec![(value, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth >= MAX_DEPTH {
            return Err(SessionError::TooDeep);
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    Ok(())
}

/// Decodes a `signed_cookies` token: Django's `signing.loads` with the
/// engine's salt and `max_age=SESSION_COOKIE_AGE`, then, stricter than Django,
/// the session's own expiry (`set_expiry(2)`) counted from the signing time.
pub(crate) fn decode_signed_cookie(ctx: &Context, token: &str, now: i64) -> Option<(Map<String, Value>, bool)> {
    let age = ctx.settings.cookie.age;
    let unsigned = ctx.signed_cookies_signer.unsign_object(token, Some(age), now).ok()?;
    let Value::Object(map) = unsigned.value else { return None };
    let signed_at = unsigned.timestamp;
    let expires_at = signed_at.saturating_add(expiry::expiry_age(map.get(EXPIRY_KEY), age, signed_at));
    if expires_at <= now {
        return None;
    }
    Some((map, unsigned.used_fallback))
}

/// Encodes session data as stored: Django's `SessionStore.encode`. The error
/// is the size of data that could not be read back (see
/// [`TimestampSigner::sign_object_readable`]).
pub(crate) fn encode_record(ctx: &Context, data: &Map<String, Value>, now: i64, version: u64) -> Result<Record, usize> {
    let age = expiry::expiry_age(data.get(EXPIRY_KEY), ctx.settings.cookie.age, now);
    let signed = ctx.data_signer.sign_object_readable(data, true, now)?;
    Ok(Record { data: signed, expires_at: now.saturating_add(age), version })
}
