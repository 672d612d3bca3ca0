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
use crate::expiry::{self, Expiry, EXPIRY_KEY, ISSUED_KEY};
use crate::key::{CookieSigner, KeySource, RandomError, SessionKey};
use crate::record::Record;
use crate::response::ErrorName;
use crate::settings::{Engine, Settings};
use crate::signing::{TimestampSigner, Unsigned};
use crate::store::{SessionStore, StoreError};
use crate::users::UserIndex;
use auth::Login;

mod auth;
mod finite;
mod merge;
pub(crate) mod messaging;
mod persist;

use merge::Changes;

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

/// Writes `: cause` for each error of the chain that starts at `next`: the
/// `{:#}` form of the crate's errors (their `Display` says only what failed
/// at their own level, and the cause is their `source()`).
pub(crate) fn write_sources(
    f: &mut fmt::Formatter<'_>,
    mut next: Option<&(dyn std::error::Error + 'static)>,
) -> fmt::Result {
    while let Some(e) = next {
        write!(f, ": {e}")?;
        next = e.source();
    }
    Ok(())
}

/// A session operation that failed.
///
/// `Display` says what failed at this level; where another error caused it
/// ([`Store`](Self::Store), [`Random`](Self::Random),
/// [`InvalidExpiry`](Self::InvalidExpiry)), that error is its
/// [`source()`](std::error::Error::source). `{:#}` prints the whole chain on
/// one line, `: `-separated (what the crate's logs and the ops endpoint's
/// messages show).
///
/// ```
/// use edge_session::prelude::*;
/// use std::error::Error;
///
/// let e = SessionError::Store(StoreError::Missing);
/// assert_eq!(e.to_string(), "the session could not be loaded");
/// assert_eq!(format!("{e:#}"), "the session could not be loaded: the session was deleted before it could be saved");
/// assert!(e.source().is_some_and(|s| s.downcast_ref::<StoreError>() == Some(&StoreError::Missing)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// A user id given to [`Session::login`] is empty, longer than
    /// [`MAX_USER_ID_BYTES`](crate::users::MAX_USER_ID_BYTES) or holds control
    /// characters, or its metadata is over
    /// [`MAX_META_BYTES`](crate::users::MAX_META_BYTES) of JSON.
    InvalidUser(String),
    /// A user's sessions were asked for (listed, revoked), but
    /// `SESSION_USER_INDEX` is off or no index is configured.
    NoUserIndex,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyError(k) => write!(f, "KeyError: {k:?}"),
            Self::ReservedKey(k) => write!(f, "session keys starting with '_' are reserved for the framework: {k:?}"),
            Self::InvalidExpiry(_) => write!(f, "invalid expiry"),
            Self::TooDeep => write!(f, "the value is nested deeper than {MAX_DEPTH} arrays and objects"),
            Self::Store(_) => write!(f, "the session could not be loaded"),
            Self::Random(_) => write!(f, "no session key could be made"),
            Self::TypeMismatch { key, expected, detail } => {
                write!(f, "the session value under {key:?} is not a valid {expected}: {detail}")
            }
            Self::NotJson { key, detail } => {
                write!(f, "the value for session key {key:?} cannot be stored as JSON: {detail}")
            }
            Self::InvalidUser(detail) => write!(f, "invalid login: {detail}"),
            Self::NoUserIndex => f.write_str(
                "a user's sessions can be listed and revoked only with SESSION_USER_INDEX=true and a user index \
                 (on Workers: the session Durable Object binding)",
            ),
        }?;
        if f.alternate() {
            write_sources(f, std::error::Error::source(self))?;
        }
        Ok(())
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidExpiry(e) => Some(e),
            Self::Store(e) => Some(e),
            Self::Random(e) => Some(e),
            _ => None,
        }
    }
}

impl SessionError {
    /// A short name for the error (`KeyError`, `ReservedKey`, ...), from
    /// [`ErrorName`]: Python's exception name where Django raises one
    /// (`KeyError`, `ValueError`, `TypeError`).
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
            Self::KeyError(_) => ErrorName::KeyError,
            Self::ReservedKey(_) => ErrorName::ReservedKey,
            Self::InvalidExpiry(_) | Self::TooDeep | Self::InvalidUser(_) => ErrorName::ValueError,
            Self::NoUserIndex => ErrorName::ConfigError,
            Self::Store(_) => ErrorName::StoreError,
            Self::Random(_) => ErrorName::RandomError,
            Self::TypeMismatch { .. } | Self::NotJson { .. } => ErrorName::TypeError,
        }
        .as_str()
    }
}

/// What every session of one configuration shares: settings, clock, key
/// source and the keyed signers (derived once, not per request).
pub(crate) struct Shared {
    pub settings: Settings,
    pub clock: Box<dyn Clock>,
    pub keys: Box<dyn KeySource>,
    pub data_signer: TimestampSigner,
    pub cookie_signer: CookieSigner,
    pub signed_cookies_signer: TimestampSigner,
}

impl Shared {
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

    /// `get_expiry_age(modification)` of `data`: Django's rule (the stored
    /// `_session_expiry`, else `SESSION_COOKIE_AGE`), ending no later than
    /// `SESSION_ABSOLUTE_AGE` after the key was issued.
    /// Data without an issue time is issued at its save (`modification`).
    pub fn age(&self, data: &Map<String, Value>, modification: i64) -> i64 {
        let age = expiry::expiry_age(data.get(EXPIRY_KEY), self.settings.cookie.age, modification);
        if self.settings.absolute_age.is_none() {
            return age;
        }
        let issued = data.get(ISSUED_KEY).cloned().unwrap_or(Value::from(modification));
        expiry::capped_age(age, Some(&issued), self.settings.absolute_age, modification)
    }

    /// When the session in `data` reaches `SESSION_ABSOLUTE_AGE`, if it has one.
    pub fn absolute_end(&self, data: &Map<String, Value>) -> Option<i64> {
        let issued = data.get(ISSUED_KEY).and_then(Value::as_i64)?;
        Some(issued.saturating_add(self.settings.absolute_age?))
    }

    /// When the session in `data` ends if saved at `modification`.
    pub fn expires_at(&self, data: &Map<String, Value>, modification: i64) -> i64 {
        modification.saturating_add(self.age(data, modification))
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

impl Identity {
    /// A server-side session without a key yet (a new session).
    pub(crate) fn fresh() -> Self {
        Self::Server { key: None, stored: Stored::No }
    }

    /// A server-side key from a verified cookie (or given by the caller),
    /// whose record has not been read.
    pub(crate) fn unread(key: SessionKey) -> Self {
        Self::Server { key: Some(key), stored: Stored::Unknown }
    }

    /// A `signed_cookies` session with the request's token, if any.
    pub(crate) fn signed(token: Option<String>) -> Self {
        Self::Signed { token }
    }
}

/// One request's session (Django's `request.session`).
pub struct Session<S> {
    ctx: Rc<Shared>,
    store: S,
    identity: Identity,
    /// The record version the client's cookie claims, then the loaded record's.
    version: u64,
    /// The loaded record's [`Record::revision`], handed back with its save.
    revision: Option<String>,
    /// When the session read in this request ends (the record's `expires`,
    /// or the signed cookie's end): what a refresh would move.
    loaded_expires: Option<i64>,
    /// `None` until loaded (Django's `_session_cache`).
    cache: Option<Map<String, Value>>,
    accessed: bool,
    modified: bool,
    /// What this request changed, for a save that finds the record changed
    /// by another request since it was read: the keys it set or deleted, and
    /// whether it cleared the session first.
    changes: Changes,
    /// Records to delete whatever the response (`flush`).
    flushed: Vec<SessionKey>,
    /// Records to delete once the new key is saved (`cycle_key`).
    cycled_from: Vec<SessionKey>,
    /// The cookie or the data verified only with a fallback secret: re-sign
    /// both under the current secret (the session counts as modified).
    reissue: bool,
    /// The request carried a cookie with the session cookie's name.
    had_cookie: bool,
    /// The users' indexes (`SESSION_USER_INDEX`), if configured.
    users: Option<Rc<dyn UserIndex>>,
    /// A `login()` to enter in the user's index once the session is saved.
    login: Option<Login>,
    /// Index entries (user, entry) that a `flush` (logout) takes out.
    logged_out: Vec<(String, crate::users::index::EntryRef)>,
    /// `signed_cookies`: the expiry the index was told at load.
    told_expires: Option<i64>,
    /// This request's messages, once added or read (Django's messages framework).
    messages: Option<crate::messages::MessageState>,
    /// What the request did to the stored messages, for a merging save.
    message_delta: Option<crate::messages::MessageDelta>,
}

impl<S: SessionStore> Session<S> {
    pub(crate) fn new(ctx: Rc<Shared>, store: S, identity: Identity, version: u64) -> Self {
        Self {
            ctx,
            store,
            identity,
            version,
            revision: None,
            loaded_expires: None,
            cache: None,
            accessed: false,
            modified: false,
            changes: Changes::default(),
            flushed: Vec::new(),
            cycled_from: Vec::new(),
            reissue: false,
            had_cookie: false,
            users: None,
            login: None,
            logged_out: Vec::new(),
            told_expires: None,
            messages: None,
            message_delta: None,
        }
    }

    /// The users' indexes, when `SESSION_USER_INDEX` is on.
    pub(crate) fn with_users(mut self, users: Option<Rc<dyn UserIndex>>) -> Self {
        self.users = users.filter(|_| self.ctx.settings.user_index);
        self
    }

    /// What the request's cookie said: whether it carried one with the
    /// session cookie's name, and whether it verified only with a fallback
    /// secret (then the session is re-signed under the current one).
    pub(crate) fn with_request(mut self, had_cookie: bool, reissue: bool) -> Self {
        self.had_cookie = had_cookie;
        self.reissue = reissue;
        self
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
                let Some(t) = token.clone() else { return Ok(Map::new()) };
                let decoded = decode_signed_cookie(&self.ctx, &t, now);
                let decoded = match decoded {
                    // A logged-in session whose index entry was revoked is
                    // no session (`SESSION_USER_INDEX`).
                    Some((map, _, expires_at)) if !self.signed_entry_live(&map, expires_at).await? => None,
                    other => other,
                };
                match decoded {
                    Some((map, used_fallback, expires_at)) => {
                        self.reissue |= used_fallback;
                        self.loaded_expires = Some(expires_at);
                        Ok(map)
                    }
                    None => {
                        // A bad, expired, foreign or revoked token: a fresh
                        // session (Django would re-sign an empty one; we send
                        // nothing, and the emptied session's cookie is deleted).
                        self.identity = Identity::signed(None);
                        Ok(Map::new())
                    }
                }
            }
            Identity::Server { key: None, .. } => Ok(Map::new()),
            Identity::Server { key: Some(key), stored } => {
                let record = self.store.load(key, self.version).await.map_err(SessionError::Store)?;
                let decoded = record.filter(|r| !r.is_expired(now)).and_then(|r| {
                    self.ctx.decode(&r.data).map(|decoded| (decoded, r.version, r.revision, r.expires_at))
                });
                // A record saved before SESSION_ABSOLUTE_AGE was lowered may
                // outlive its absolute end: it ends there all the same.
                let decoded = decoded.filter(|((map, _), ..)| self.ctx.absolute_end(map).is_none_or(|end| end > now));
                match decoded {
                    Some(((map, used_fallback), version, revision, expires_at)) => {
                        *stored = Stored::Yes;
                        self.version = version;
                        self.revision = revision;
                        self.loaded_expires = Some(expires_at);
                        self.reissue |= used_fallback;
                        Ok(map)
                    }
                    None => {
                        // Unknown, expired or undecodable: never adopt the
                        // client's key; a write gets a fresh one.
                        self.identity = Identity::fresh();
                        self.version = 0;
                        Ok(Map::new())
                    }
                }
            }
        }
    }

    /// `session.get(key)`: the value under `key` as a `T`, or `None` when absent.
    ///
    /// `T` is any type serde can deserialize: `session.get::<i64>("visits")`, a
    /// `#[derive(Deserialize)]` struct, or [`serde_json::Value`] for the stored
    /// JSON as it is. Loads the session; marks it accessed, not modified.
    ///
    /// # Errors
    ///
    /// - [`SessionError::TypeMismatch`] when the stored value does not deserialize
    ///   into `T`; the session is unchanged.
    /// - [`SessionError::Store`] when the store fails to load the session (its data
    ///   may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.insert("visits", 3).await?;
    /// assert_eq!(session.get::<i64>("visits").await?, Some(3));
    /// assert_eq!(session.get::<serde_json::Value>("visits").await?, Some(serde_json::json!(3)));
    /// assert_eq!(session.get::<i64>("missing").await?, None);
    /// let wrong = session.get::<String>("visits").await;
    /// assert!(matches!(wrong, Err(SessionError::TypeMismatch { .. })));
    /// # Ok(()) }) }
    /// ```
    pub async fn get<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, SessionError> {
        self.data().await?.get(key).map(|v| typed(key, v)).transpose()
    }

    /// The JSON text of the value under `key` (the npm package's `get`):
    /// written straight from the stored value, without an owned copy first.
    #[cfg(feature = "js")]
    pub(crate) async fn get_json_text(&mut self, key: &str) -> Result<Option<String>, SessionError> {
        Ok(self.data().await?.get(key).map(Value::to_string))
    }

    /// `session[key] = value`, with a JSON value ([`insert`](Self::insert) takes
    /// any serde type). Marks the session modified.
    ///
    /// # Errors
    ///
    /// - [`SessionError::ReservedKey`] when `key` starts with `_`.
    /// - [`SessionError::TooDeep`] when the value nests deeper than [`MAX_DEPTH`].
    /// - [`SessionError::Store`] when the store fails to load the session (its data
    ///   may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.set("cart", serde_json::json!([1, 2])).await?;
    /// assert!(session.modified());
    /// let refused = session.set("_auth_user_id", serde_json::json!(1)).await;
    /// assert_eq!(refused, Err(SessionError::ReservedKey("_auth_user_id".into())));
    /// # Ok(()) }) }
    /// ```
    pub async fn set(&mut self, key: &str, value: Value) -> Result<(), SessionError> {
        writable(key)?;
        storable(&value)?;
        self.data().await?.insert(key.to_owned(), value);
        self.changed(key);
        Ok(())
    }

    /// `session[key] = value` for any type serde can serialize: the value is
    /// stored as its JSON (a struct becomes an object, `None` becomes `null`), the
    /// form a Django view or the npm package reads. Same checks as
    /// [`set`](Self::set); marks the session modified.
    ///
    /// # Errors
    ///
    /// - [`SessionError::ReservedKey`] when `key` starts with `_`.
    /// - [`SessionError::NotJson`] when the value has no JSON form: its `Serialize`
    ///   fails, it holds a NaN or an infinity (serde_json would write `null`), or a
    ///   map key that is not a string (integer and bool keys are written as strings).
    /// - [`SessionError::TooDeep`] when the value nests deeper than [`MAX_DEPTH`].
    /// - [`SessionError::Store`] when the store fails to load the session (its data
    ///   may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    /// struct Cart {
    ///     items: Vec<u32>,
    /// }
    ///
    /// let mut session = manager.session(None);
    /// session.insert("cart", Cart { items: vec![3, 1] }).await?;
    /// assert_eq!(session.get::<Cart>("cart").await?, Some(Cart { items: vec![3, 1] }));
    /// assert_eq!(session.get::<serde_json::Value>("cart").await?, Some(serde_json::json!({"items": [3, 1]})));
    /// assert!(session.modified());
    /// assert!(matches!(session.insert("ratio", f64::NAN).await, Err(SessionError::NotJson { .. })));
    /// # Ok(()) }) }
    /// ```
    pub async fn insert(&mut self, key: &str, value: impl Serialize) -> Result<(), SessionError> {
        writable(key)?;
        let value = to_json(key, &value)?;
        self.set(key, value).await
    }

    /// `session.pop(key, None)`, typed: removes the value under `key` and returns
    /// it as a `T`. An absent key gives `None` and does not mark the session
    /// modified. `remove::<serde_json::Value>` removes whatever is there; Django's
    /// `pop(key)`, which raises `KeyError` when the key is absent, is
    /// [`pop`](Self::pop).
    ///
    /// # Errors
    ///
    /// - [`SessionError::ReservedKey`] when `key` starts with `_`.
    /// - [`SessionError::TypeMismatch`] when the stored value does not deserialize
    ///   into `T`: the value stays, and the session is unchanged.
    /// - [`SessionError::Store`] when the store fails to load the session (its data
    ///   may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.insert("next", "/cart").await?;
    /// assert_eq!(session.remove::<String>("next").await?.as_deref(), Some("/cart"));
    /// assert_eq!(session.remove::<String>("next").await?, None);
    /// # Ok(()) }) }
    /// ```
    pub async fn remove<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, SessionError> {
        writable(key)?;
        let data = self.data().await?;
        let Some(stored) = data.get(key) else { return Ok(None) };
        // Converted before removing: a mismatch leaves the session unchanged.
        let value = typed(key, stored)?;
        data.shift_remove(key);
        self.changed(key);
        Ok(Some(value))
    }

    /// `del session[key]`. Marks the session modified.
    ///
    /// # Errors
    ///
    /// - [`SessionError::KeyError`] when the key is absent; nothing is modified.
    /// - [`SessionError::ReservedKey`] when `key` starts with `_`.
    /// - [`SessionError::Store`] when the store fails to load the session (its data
    ///   may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.insert("cart", [1, 2]).await?;
    /// session.delete("cart").await?;
    /// assert_eq!(session.delete("cart").await, Err(SessionError::KeyError("cart".into())));
    /// # Ok(()) }) }
    /// ```
    pub async fn delete(&mut self, key: &str) -> Result<(), SessionError> {
        writable(key)?;
        self.data().await?.shift_remove(key).ok_or_else(|| SessionError::KeyError(key.to_owned()))?;
        self.changed(key);
        Ok(())
    }

    /// `key in session`. Marks the session accessed, not modified.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to load the session (its data
    /// may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.insert("user", "ada").await?;
    /// assert!(session.contains("user").await?);
    /// assert!(!session.contains("cart").await?);
    /// # Ok(()) }) }
    /// ```
    pub async fn contains(&mut self, key: &str) -> Result<bool, SessionError> {
        Ok(self.data().await?.contains_key(key))
    }

    /// `session.pop(key)`: removes the value under `key` and returns it. Marks the
    /// session modified. [`remove`](Self::remove) is the typed form that gives
    /// `None` for an absent key.
    ///
    /// # Errors
    ///
    /// - [`SessionError::KeyError`] when the key is absent; nothing is modified.
    /// - [`SessionError::ReservedKey`] when `key` starts with `_`.
    /// - [`SessionError::Store`] when the store fails to load the session (its data
    ///   may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// use serde_json::json;
    ///
    /// let mut session = manager.session(None);
    /// session.set("next", json!("/cart")).await?;
    /// assert_eq!(session.pop("next").await?, json!("/cart"));
    /// assert!(matches!(session.pop("next").await, Err(SessionError::KeyError(_))));
    /// # Ok(()) }) }
    /// ```
    pub async fn pop(&mut self, key: &str) -> Result<Value, SessionError> {
        writable(key)?;
        let value = self.data().await?.shift_remove(key).ok_or_else(|| SessionError::KeyError(key.to_owned()))?;
        self.changed(key);
        Ok(value)
    }

    /// `session.pop(key, default)`: removes the value under `key` and returns it;
    /// an absent key returns `default` and does not mark the session modified.
    ///
    /// # Errors
    ///
    /// - [`SessionError::ReservedKey`] when `key` starts with `_`.
    /// - [`SessionError::Store`] when the store fails to load the session (its data
    ///   may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// use serde_json::json;
    ///
    /// let mut session = manager.session(None);
    /// assert_eq!(session.pop_or("next", json!("/")).await?, json!("/"));
    /// assert!(!session.modified());
    /// # Ok(()) }) }
    /// ```
    pub async fn pop_or(&mut self, key: &str, default: Value) -> Result<Value, SessionError> {
        writable(key)?;
        match self.data().await?.shift_remove(key) {
            Some(v) => {
                self.changed(key);
                Ok(v)
            }
            None => Ok(default),
        }
    }

    /// `session.setdefault(key, value)`: the value under `key` if there is one
    /// (nothing is modified); otherwise stores `value`, marks the session
    /// modified and returns it.
    ///
    /// # Errors
    ///
    /// - [`SessionError::ReservedKey`] when `key` starts with `_`.
    /// - [`SessionError::TooDeep`] when `value` nests deeper than [`MAX_DEPTH`].
    /// - [`SessionError::Store`] when the store fails to load the session (its data
    ///   may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// use serde_json::json;
    ///
    /// let mut session = manager.session(None);
    /// assert_eq!(session.setdefault("theme", json!("dark")).await?, json!("dark"));
    /// assert_eq!(session.setdefault("theme", json!("light")).await?, json!("dark"));
    /// # Ok(()) }) }
    /// ```
    pub async fn setdefault(&mut self, key: &str, value: Value) -> Result<Value, SessionError> {
        writable(key)?;
        storable(&value)?;
        let data = self.data().await?;
        if let Some(existing) = data.get(key) {
            return Ok(existing.clone());
        }
        data.insert(key.to_owned(), value.clone());
        self.changed(key);
        Ok(value)
    }

    /// `session.update(values)`: sets every key of `values`, in order. Marks the
    /// session modified. Refused whole, before anything is set, if one key starts
    /// with `_` or one value nests too deep.
    ///
    /// # Errors
    ///
    /// - [`SessionError::ReservedKey`] when a key starts with `_`.
    /// - [`SessionError::TooDeep`] when a value nests deeper than [`MAX_DEPTH`].
    /// - [`SessionError::Store`] when the store fails to load the session (its data
    ///   may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// use serde_json::{json, Map};
    ///
    /// let mut session = manager.session(None);
    /// session.insert("a", 0).await?;
    /// session.update(Map::from_iter([("b".to_owned(), json!(2)), ("a".to_owned(), json!(1))])).await?;
    /// assert_eq!(session.keys().await?, ["a", "b"]);
    /// assert_eq!(session.get::<i64>("a").await?, Some(1));
    /// # Ok(()) }) }
    /// ```
    pub async fn update(&mut self, values: Map<String, Value>) -> Result<(), SessionError> {
        if let Some(k) = values.keys().find(|k| k.starts_with('_')) {
            return Err(SessionError::ReservedKey(k.clone()));
        }
        values.values().try_for_each(storable)?;
        let keys: Vec<String> = values.keys().cloned().collect();
        self.data().await?.extend(values);
        for key in &keys {
            self.changed(key);
        }
        Ok(())
    }

    /// `session.keys()`, in insertion order. Marks the session accessed, not
    /// modified.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to load the session (its data
    /// may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.insert("user", "ada").await?;
    /// session.insert("cart", [1, 2]).await?;
    /// assert_eq!(session.keys().await?, ["user", "cart"]);
    /// # Ok(()) }) }
    /// ```
    pub async fn keys(&mut self) -> Result<Vec<String>, SessionError> {
        Ok(self.data().await?.keys().cloned().collect())
    }

    /// `session.values()`, in insertion order. Marks the session accessed, not
    /// modified.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to load the session (its data
    /// may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.insert("user", "ada").await?;
    /// session.insert("cart", [1, 2]).await?;
    /// assert_eq!(session.values().await?, [serde_json::json!("ada"), serde_json::json!([1, 2])]);
    /// # Ok(()) }) }
    /// ```
    pub async fn values(&mut self) -> Result<Vec<Value>, SessionError> {
        Ok(self.data().await?.values().cloned().collect())
    }

    /// `session.items()`: the `(key, value)` pairs, in insertion order. Marks the
    /// session accessed, not modified.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to load the session (its data
    /// may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.insert("user", "ada").await?;
    /// assert_eq!(session.items().await?, [("user".to_owned(), serde_json::json!("ada"))]);
    /// # Ok(()) }) }
    /// ```
    pub async fn items(&mut self) -> Result<Vec<(String, Value)>, SessionError> {
        Ok(self.data().await?.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// `session.clear()`: empties the data without loading it; the key is kept,
    /// so the emptied session is saved under it. Marks the session accessed and
    /// modified.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.insert("cart", [1, 2]).await?;
    /// session.clear();
    /// assert!(session.keys().await?.is_empty());
    /// assert!(session.modified());
    /// # Ok(()) }) }
    /// ```
    pub fn clear(&mut self) {
        self.cache = Some(Map::new());
        self.accessed = true;
        self.modified = true;
        self.changes = Changes { cleared: true, keys: Vec::new() };
    }

    /// `session.is_empty()`: the session has neither a key nor data. Does not
    /// load, so a session whose cookie carried a key is not empty until it is
    /// loaded and turns out to have no record.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// assert!(session.is_empty());
    /// session.insert("user", "ada").await?;
    /// assert!(!session.is_empty());
    /// # Ok(()) }) }
    /// ```
    pub fn is_empty(&self) -> bool {
        let no_key = match &self.identity {
            Identity::Server { key, .. } => key.is_none(),
            Identity::Signed { token } => token.is_none(),
        };
        no_key && self.cache.as_ref().is_none_or(Map::is_empty)
    }

    /// `session.flush()` (Django's logout): drops the data and the key. The
    /// record is deleted when the response is finished, whatever its status, so a
    /// logout sticks even if the handler then fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.insert("user", "ada").await?;
    /// manager.save(&mut session).await?; // a stored session
    /// session.flush();
    /// assert_eq!(session.session_key(), None);
    /// assert!(session.is_empty());
    /// manager.finish(session, 200).await?; // deletes the record
    /// assert!(manager.store().is_empty());
    /// # Ok(()) }) }
    /// ```
    pub fn flush(&mut self) {
        // A logout of a logged-in session takes its entry out of the user's
        // index (on signed_cookies, so that a copy of the cookie stops working).
        let leaving = self.leaving_entries();
        self.logged_out.extend(leaving);
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
        self.login = None;
        self.version = 0;
        self.revision = None;
        self.reissue = false;
    }

    /// `session.cycle_key()`: keeps the data under a new key. Call it at login,
    /// against session fixation. The old record is deleted once the new one is
    /// saved (never on a 5xx). For `signed_cookies` it only marks the session
    /// modified, so the cookie is signed again.
    ///
    /// # Errors
    ///
    /// - [`SessionError::Random`] when no random key could be made.
    /// - [`SessionError::Store`] when the store fails to load the session (its data
    ///   may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.insert("cart", [1, 2]).await?;
    /// manager.save(&mut session).await?;
    /// let before = session.session_key().map(str::to_owned);
    /// session.cycle_key().await?;
    /// assert_ne!(session.session_key().map(str::to_owned), before);
    /// assert_eq!(session.get::<Vec<i64>>("cart").await?, Some(vec![1, 2]));
    /// # Ok(()) }) }
    /// ```
    pub async fn cycle_key(&mut self) -> Result<(), SessionError> {
        // A new key is a new issue: SESSION_ABSOLUTE_AGE counts from its save.
        self.data().await?.shift_remove(ISSUED_KEY);
        if let Identity::Server { key, stored } = &mut self.identity {
            let new_key = self.ctx.keys.new_key().map_err(SessionError::Random)?;
            if let Some(old) = key.replace(new_key) {
                if *stored != Stored::No {
                    self.cycled_from.push(old);
                }
            }
            *stored = Stored::No;
            self.version = 0;
            self.revision = None;
        }
        self.modified = true;
        Ok(())
    }

    /// `session.set_test_cookie()`: stores [`TEST_COOKIE_NAME`] =
    /// [`TEST_COOKIE_VALUE`], for [`test_cookie_worked`](Self::test_cookie_worked)
    /// to check on the next request that the browser keeps cookies. Marks the
    /// session modified.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to load the session (its data
    /// may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.set_test_cookie().await?;
    /// let set_cookie = manager.finish(session, 200).await?.set_cookie.unwrap_or_default();
    /// // The next request, from a browser that sent the cookie back:
    /// let cookie = set_cookie.split(';').next().unwrap_or_default();
    /// let mut session = manager.session(Some(cookie.as_bytes()));
    /// assert!(session.test_cookie_worked().await?);
    /// # Ok(()) }) }
    /// ```
    pub async fn set_test_cookie(&mut self) -> Result<(), SessionError> {
        self.data().await?.insert(TEST_COOKIE_NAME.into(), Value::from(TEST_COOKIE_VALUE));
        self.changed(TEST_COOKIE_NAME);
        Ok(())
    }

    /// `session.test_cookie_worked()`: whether the session holds the test cookie
    /// [`set_test_cookie`](Self::set_test_cookie) stored. Marks the session
    /// accessed, not modified.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to load the session (its data
    /// may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// assert!(!session.test_cookie_worked().await?);
    /// session.set_test_cookie().await?;
    /// assert!(session.test_cookie_worked().await?);
    /// # Ok(()) }) }
    /// ```
    pub async fn test_cookie_worked(&mut self) -> Result<bool, SessionError> {
        Ok(self.data().await?.get(TEST_COOKIE_NAME).and_then(Value::as_str) == Some(TEST_COOKIE_VALUE))
    }

    /// `session.delete_test_cookie()`: removes the test cookie. Marks the session
    /// modified.
    ///
    /// # Errors
    ///
    /// - [`SessionError::KeyError`] when there is no test cookie.
    /// - [`SessionError::Store`] when the store fails to load the session (its data
    ///   may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.set_test_cookie().await?;
    /// session.delete_test_cookie().await?;
    /// assert!(!session.test_cookie_worked().await?);
    /// assert!(matches!(session.delete_test_cookie().await, Err(SessionError::KeyError(_))));
    /// # Ok(()) }) }
    /// ```
    pub async fn delete_test_cookie(&mut self) -> Result<(), SessionError> {
        self.delete(TEST_COOKIE_NAME).await
    }

    /// `session.set_expiry(value)`: [`Expiry::Seconds`] of inactivity (Django's
    /// integer), [`Expiry::At`] a datetime, [`Expiry::BrowserClose`] (`0`) or
    /// [`Expiry::Default`] (`None`: the settings decide). Stored under
    /// `_session_expiry` as Django does; marks the session modified, except
    /// `Expiry::Default` on a session without an expiry.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to load the session (its data
    /// may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.set_expiry(Expiry::Seconds(300)).await?;
    /// assert_eq!(session.get_expiry_age().await?, 300);
    /// session.set_expiry(Expiry::BrowserClose).await?;
    /// assert!(session.get_expire_at_browser_close().await?);
    /// # Ok(()) }) }
    /// ```
    pub async fn set_expiry(&mut self, expiry: Expiry) -> Result<(), SessionError> {
        let data = self.data().await?;
        match expiry.to_stored() {
            Some(v) => {
                data.insert(EXPIRY_KEY.into(), v);
                self.changed(EXPIRY_KEY);
            }
            None => {
                if data.shift_remove(EXPIRY_KEY).is_some() {
                    self.changed(EXPIRY_KEY);
                }
            }
        }
        Ok(())
    }

    /// `session.get_expiry_age()`: seconds from now until the session expires
    /// (its own expiry, else `SESSION_COOKIE_AGE`). Marks the session accessed,
    /// not modified.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to load the session (its data
    /// may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// assert_eq!(session.get_expiry_age().await?, 1_209_600); // SESSION_COOKIE_AGE: two weeks
    /// session.set_expiry(Expiry::Seconds(60)).await?;
    /// assert_eq!(session.get_expiry_age().await?, 60);
    /// # Ok(()) }) }
    /// ```
    pub async fn get_expiry_age(&mut self) -> Result<i64, SessionError> {
        let now = self.now();
        let ctx = self.ctx.clone();
        Ok(ctx.age(self.data().await?, now))
    }

    /// `session.get_expiry_date()`: when the session expires. Marks the session
    /// accessed, not modified.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to load the session (its data
    /// may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None); // at 1_765_000_000 (2025-12-06T05:46:40Z)
    /// let expires = session.get_expiry_date().await?;
    /// assert_eq!(expires.unix, 1_765_000_000 + 1_209_600);
    /// assert_eq!(expires.to_iso(), "2025-12-20T05:46:40+00:00");
    /// # Ok(()) }) }
    /// ```
    pub async fn get_expiry_date(&mut self) -> Result<DateTime, SessionError> {
        let now = self.now();
        let ctx = self.ctx.clone();
        let data = self.data().await?;
        let date = expiry::expiry_date(data.get(EXPIRY_KEY), ctx.settings.cookie.age, now);
        // An absolute end before it is the end.
        let end = ctx.expires_at(data, now);
        Ok(if end < date.unix { DateTime::from_unix(end) } else { date })
    }

    /// `session.get_expire_at_browser_close()`: whether the cookie ends when the
    /// browser closes (the session's own expiry, else
    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE`). Marks the session accessed, not
    /// modified.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to load the session (its data
    /// may exist: fail the request rather than go on with an empty session).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// assert!(!session.get_expire_at_browser_close().await?);
    /// session.set_expiry(Expiry::BrowserClose).await?;
    /// assert!(session.get_expire_at_browser_close().await?);
    /// # Ok(()) }) }
    /// ```
    pub async fn get_expire_at_browser_close(&mut self) -> Result<bool, SessionError> {
        let global = self.ctx.settings.expire_at_browser_close;
        Ok(expiry::expire_at_browser_close(self.data().await?.get(EXPIRY_KEY), global))
    }

    /// `session.session_key`: the key (for `signed_cookies`, the cookie's token),
    /// or `None` for a session not saved yet. Does not load.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// assert_eq!(session.session_key(), None);
    /// session.insert("user", "ada").await?;
    /// manager.save(&mut session).await?;
    /// assert_eq!(session.session_key().map(str::len), Some(32));
    /// # Ok(()) }) }
    /// ```
    pub fn session_key(&self) -> Option<&str> {
        match &self.identity {
            Identity::Server { key, .. } => key.as_ref().map(SessionKey::as_str),
            Identity::Signed { token } => token.as_deref(),
        }
    }

    /// `session.modified`: whether the response will save the session.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.get::<String>("user").await?;
    /// assert!(!session.modified());
    /// session.insert("user", "ada").await?;
    /// assert!(session.modified());
    /// # Ok(()) }) }
    /// ```
    pub fn modified(&self) -> bool {
        self.modified
    }

    /// `session.modified = value`: `true` saves the session although no method
    /// changed it (restarting an `Expiry::Seconds` countdown, say); `false` drops
    /// this request's changes.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.insert("user", "ada").await?;
    /// session.set_modified(false);
    /// assert_eq!(manager.finish(session, 200).await?.set_cookie, None, "nothing saved");
    /// # Ok(()) }) }
    /// ```
    pub fn set_modified(&mut self, modified: bool) {
        self.modified = modified;
    }

    /// `session.accessed`: whether the handler used the session (the response
    /// then carries `Vary: Cookie`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// assert!(!session.accessed());
    /// session.contains("user").await?;
    /// assert!(session.accessed());
    /// # Ok(()) }) }
    /// ```
    pub fn accessed(&self) -> bool {
        self.accessed
    }

    /// The engine this session uses (`SESSION_ENGINE`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let session = manager.session(None);
    /// assert_eq!(session.engine(), Engine::Db); // the default
    /// # Ok(()) }) }
    /// ```
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
/// Also returns whether only a fallback secret verified it, and when it ends.
pub(crate) fn decode_signed_cookie(ctx: &Shared, token: &str, now: i64) -> Option<(Map<String, Value>, bool, i64)> {
    let age = ctx.settings.cookie.age;
    let unsigned = ctx.signed_cookies_signer.unsign_object(token, Some(age), now).ok()?;
    let Value::Object(map) = unsigned.value else { return None };
    let expires_at = ctx.expires_at(&map, unsigned.timestamp);
    if expires_at <= now {
        return None;
    }
    Some((map, unsigned.used_fallback, expires_at))
}

/// Encodes session data as stored: Django's `SessionStore.encode`. The error
/// is the size of data that could not be read back (see
/// [`TimestampSigner::sign_object_readable`]).
pub(crate) fn encode_record(ctx: &Shared, data: &Map<String, Value>, now: i64, version: u64) -> Result<Record, usize> {
    let signed = ctx.data_signer.sign_object_readable(data, true, now)?;
    Ok(Record::new(signed, ctx.expires_at(data, now), version))
}

#[cfg(test)]
mod error_tests {
    use super::*;
    use crate::manager::FinishError;
    use crate::ops::OpsError;

    /// One error of every variant that has a name here (`ConfigError` is
    /// wasm32-only: `tests/js_bindings.rs` checks it).
    fn one_of_each() -> Vec<(String, &'static str)> {
        let store = || StoreError::Missing;
        let session = [
            SessionError::KeyError("k".into()),
            SessionError::ReservedKey("_k".into()),
            SessionError::InvalidExpiry(DateTimeError::Malformed),
            SessionError::TooDeep,
            SessionError::Store(store()),
            SessionError::Random(RandomError),
            SessionError::TypeMismatch { key: "k".into(), expected: "i64", detail: "d".into() },
            SessionError::NotJson { key: "k".into(), detail: "d".into() },
        ];
        let finish = [
            FinishError::Interrupted,
            FinishError::Store(store()),
            FinishError::TooLarge { bytes: 1 },
            FinishError::CookieTooLarge { bytes: 1 },
            FinishError::Session(SessionError::TooDeep),
        ];
        let mut all: Vec<(String, &'static str)> = session.iter().map(|e| (format!("{e:?}"), e.name())).collect();
        all.extend(finish.iter().map(|e| (format!("{e:?}"), e.name())));
        all.extend([StoreError::Exists, StoreError::Missing].iter().map(|e| (format!("{e:?}"), e.name())));
        all.push(("OpsError".into(), OpsError("bad".into()).name()));
        all
    }

    /// The chain of `e` and its sources, as their own `Display`s.
    fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
        std::iter::successors(Some(e), |e| e.source()).map(|e| e.to_string()).collect()
    }

    #[test]
    fn wrapping_errors_give_their_cause_as_source() {
        let store = SessionError::Store(StoreError::Missing);
        let cause = std::error::Error::source(&store).and_then(|s| s.downcast_ref::<StoreError>());
        assert_eq!(cause, Some(&StoreError::Missing));
        assert_eq!(
            chain(&store),
            ["the session could not be loaded", "the session was deleted before it could be saved"]
        );

        let expiry = SessionError::InvalidExpiry(DateTimeError::MissingOffset);
        assert!(std::error::Error::source(&expiry).is_some_and(|s| s.is::<DateTimeError>()));
        assert_eq!(format!("{expiry:#}"), format!("invalid expiry: {}", DateTimeError::MissingOffset));

        let random = SessionError::Random(RandomError);
        assert!(std::error::Error::source(&random).is_some_and(|s| s.is::<RandomError>()));
        assert_eq!(format!("{random:#}"), "no session key could be made: the system's random number generator failed");

        let finish = FinishError::Session(SessionError::Store(StoreError::Exists));
        assert_eq!(
            chain(&finish),
            [
                "the session could not be saved",
                "the session could not be loaded",
                "a session with this key already exists"
            ]
        );
        assert_eq!(format!("{finish:#}"), chain(&finish).join(": "), "{{:#}} is the chain on one line");
        let finish_store = FinishError::Store(StoreError::Missing);
        assert!(std::error::Error::source(&finish_store).is_some_and(|s| s.is::<StoreError>()));
    }

    #[test]
    fn errors_without_a_cause_have_no_source_and_one_message() {
        let leaves: [&(dyn std::error::Error + 'static); 6] = [
            &SessionError::KeyError("k".into()),
            &SessionError::TooDeep,
            &SessionError::NotJson { key: "k".into(), detail: "d".into() },
            &FinishError::Interrupted,
            &FinishError::TooLarge { bytes: 9 },
            &StoreError::Exists,
        ];
        for e in leaves {
            assert!(e.source().is_none(), "{e}");
            assert_eq!(format!("{e:#}"), e.to_string());
        }
    }

    #[test]
    fn each_name_is_in_the_table_once_and_is_its_variant() {
        for n in ErrorName::ALL {
            assert_eq!(ErrorName::ALL.iter().filter(|m| m.as_str() == n.as_str()).count(), 1, "{n}");
            assert_eq!(format!("{n:?}"), n.as_str(), "the variant is the name");
            assert_eq!(n.to_string(), n.as_str());
        }
    }

    #[test]
    fn every_name_comes_from_the_table_and_every_entry_is_used() {
        let named = one_of_each();
        for (what, name) in &named {
            assert_eq!(ErrorName::ALL.iter().filter(|n| n.as_str() == *name).count(), 1, "{what}: {name}");
        }
        for n in ErrorName::ALL.iter().filter(|n| **n != ErrorName::ConfigError) {
            assert!(named.iter().any(|(_, name)| *name == n.as_str()), "{n} names no error");
        }
    }

    #[test]
    fn names_are_the_ones_the_json_contract_uses() {
        // docs/test-api.md, the black-box tests and npm/index.js depend on these texts.
        let texts: Vec<&str> = ErrorName::ALL.iter().map(|n| n.as_str()).collect();
        assert_eq!(
            texts,
            [
                "KeyError",
                "ReservedKey",
                "ValueError",
                "TypeError",
                "StoreError",
                "RandomError",
                "SessionInterrupted",
                "TooLarge",
                "CookieTooLarge",
                "ConfigError",
                "BadRequest"
            ]
        );
        assert_eq!(
            FinishError::Session(SessionError::KeyError("k".into())).name(),
            "KeyError",
            "a wrapped name is kept"
        );
        assert_eq!(OpsError("x".into()).to_json(), serde_json::json!({"error": "BadRequest", "message": "x"}));
    }
}
