//! The session manager: reads the session cookie of a request into a lazy
//! [`Session`], and finishes the response by executing the pure
//! [`decision`](crate::decision) against the store. Platform glue (the
//! `worker` integration, the npm package) is a thin layer over these two
//! calls; it decides nothing itself.
//!
//! Order of store operations when a response is finished:
//! 1. records dropped by `flush` are deleted (whatever the status);
//! 2. the session is saved (update, or create under a fresh key — never the
//!    client's, never over an existing record);
//! 3. records left behind by `cycle_key` are deleted, only after the save
//!    succeeded, so the data is never without a home.

use serde_json::{Map, Value};
use std::fmt;
use std::rc::Rc;

use crate::clock::Clock;
use crate::cookie;
use crate::decision::{decide, CookieAction, Facts, ResponsePlan};
use crate::expiry::{self, EXPIRY_KEY};
use crate::key::{KeySource, SessionKey};
use crate::record::MAX_RECORD_BYTES;
use crate::session::{encode_record, Context, Identity, Session, SessionError, Stored};
use crate::settings::{Engine, Settings};
use crate::store::{SessionStore, StoreError};

/// The most bytes of `name=value` a browser keeps in one cookie (Django's
/// documented limit for `signed_cookies`).
pub const MAX_COOKIE_BYTES: usize = 4093;

/// How many fresh keys `create` tries before giving up (a collision of
/// 165-bit random keys does not happen; a store that always says `Exists` is
/// broken).
const CREATE_ATTEMPTS: usize = 4;

/// A response could not be finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishError {
    /// The session was deleted (e.g. logged out in a concurrent request)
    /// before this request saved it: Django's `SessionInterrupted`, a 400.
    Interrupted,
    /// The store failed; nothing was acknowledged to the client.
    Store(StoreError),
    /// The session data could not be read back: its JSON is larger than
    /// [`MAX_DECOMPRESSED`](crate::signing::MAX_DECOMPRESSED) (however well it
    /// compresses), or the stored record would be larger than
    /// [`MAX_RECORD_BYTES`]. Nothing was written, and no cookie sent.
    TooLarge {
        /// The size that is over the limit (of the JSON, or of the encoded data).
        bytes: usize,
    },
    /// A `signed_cookies` session would not fit in a cookie; none was sent.
    CookieTooLarge {
        /// The size of `name=value`.
        bytes: usize,
    },
    /// Loading the session (for `SESSION_SAVE_EVERY_REQUEST`) failed.
    Session(SessionError),
}

impl FinishError {
    /// A short name for the error (`SessionInterrupted`, `StoreError`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Interrupted => "SessionInterrupted",
            Self::Store(_) => "StoreError",
            Self::TooLarge { .. } => "TooLarge",
            Self::CookieTooLarge { .. } => "CookieTooLarge",
            Self::Session(e) => e.name(),
        }
    }

    /// The HTTP status the response should get instead.
    pub fn status(&self) -> u16 {
        match self {
            Self::Interrupted => 400,
            _ => 500,
        }
    }
}

impl fmt::Display for FinishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Interrupted => f.write_str("The request's session was deleted before the request completed. The user may have logged out in a concurrent request, for example."),
            Self::Store(e) => write!(f, "{e}"),
            Self::TooLarge { bytes } => write!(f, "session data is {bytes} bytes, over the limit of {MAX_RECORD_BYTES}; nothing was saved"),
            Self::CookieTooLarge { bytes } => write!(f, "signed_cookies session is {bytes} bytes, over the {MAX_COOKIE_BYTES}-byte cookie limit; the cookie was not sent (store less in the session, or use a server-side engine)"),
            Self::Session(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FinishError {}

/// What the response must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Add `Vary: Cookie`.
    pub vary_cookie: bool,
    /// A `Set-Cookie` header value to append (never folded with others).
    pub set_cookie: Option<String>,
    /// The plan that was executed.
    pub plan: ResponsePlan,
}

/// Settings, clock, key source and the signing keys derived from the secrets:
/// everything a configuration shares. Build it once per isolate and pair it
/// with each request's store ([`SessionManager::from_config`]).
#[derive(Clone)]
pub struct SessionConfig(Rc<Context>);

impl SessionConfig {
    /// Derives the signing keys (a few SHA-256 computations, once).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret")])?;
    /// # let clock = FixedClock::new(1_765_000_000);
    /// let config = SessionConfig::new(settings, clock.clone(), OsKeySource); // once per isolate
    /// // Per request, with that request's store (bindings):
    /// let manager = SessionManager::from_config(config.clone(), MemoryStore::new(clock));
    /// assert_eq!(manager.settings().cookie().name(), "sessionid");
    /// # Ok(()) }
    /// ```
    pub fn new(settings: Settings, clock: impl Clock + 'static, keys: impl KeySource + 'static) -> Self {
        Self(Rc::new(Context::new(settings, Box::new(clock), Box::new(keys))))
    }

    /// The settings.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret")])?;
    /// # let clock = FixedClock::new(1_765_000_000);
    /// let config = SessionConfig::new(settings, clock, OsKeySource);
    /// assert_eq!(config.settings().engine(), Engine::Db);
    /// # Ok(()) }
    /// ```
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }
}

/// Loads and finishes sessions for one configuration and store.
pub struct SessionManager<S> {
    ctx: Rc<Context>,
    store: S,
}

impl<S: Clone> Clone for SessionManager<S> {
    fn clone(&self) -> Self {
        Self { ctx: self.ctx.clone(), store: self.store.clone() }
    }
}

impl<S: SessionStore + Clone> SessionManager<S> {
    /// A manager; the signing keys are derived here, once. Build it once per
    /// isolate (or keep a [`SessionConfig`] and use [`from_config`](Self::from_config)).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret")])?;
    /// let clock = FixedClock::new(1_765_000_000);
    /// let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// assert_eq!(manager.settings().engine(), Engine::Db);
    /// # Ok(()) }
    /// ```
    pub fn new(settings: Settings, store: S, clock: impl Clock + 'static, keys: impl KeySource + 'static) -> Self {
        Self::from_config(SessionConfig::new(settings, clock, keys), store)
    }

    /// A manager over `store` with an existing configuration (no key derivation).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret")])?;
    /// # let clock = FixedClock::new(1_765_000_000);
    /// let config = SessionConfig::new(settings, clock.clone(), OsKeySource);
    /// let manager = SessionManager::from_config(config, MemoryStore::new(clock));
    /// assert!(manager.store().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn from_config(config: SessionConfig, store: S) -> Self {
        Self { ctx: config.0, store }
    }

    /// The configuration, to pair with another store.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret")])?;
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource);
    /// let other = SessionManager::from_config(manager.config(), MemoryStore::new(clock));
    /// assert_eq!(other.settings().cookie().name(), manager.settings().cookie().name());
    /// # Ok(()) }
    /// ```
    pub fn config(&self) -> SessionConfig {
        SessionConfig(self.ctx.clone())
    }

    /// The settings.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret")])?;
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource);
    /// assert_eq!(manager.settings().cookie().age(), 1_209_600);
    /// # Ok(()) }
    /// ```
    pub fn settings(&self) -> &Settings {
        &self.ctx.settings
    }

    /// The store.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret")])?;
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource);
    /// assert_eq!(manager.store().len(), 0);
    /// # Ok(()) }
    /// ```
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The session of a request, from its `Cookie` header. No store is
    /// touched (loading is lazy); a server-side cookie costs one MAC check,
    /// and a malformed or forged one is dropped here.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource);
    /// let mut session = manager.load(None); // a request without a cookie
    /// session.insert("user", "ada").await?;
    /// let set_cookie = manager.finish(session, 200).await?.set_cookie.unwrap_or_default();
    ///
    /// let cookie = set_cookie.split(';').next().unwrap_or_default(); // what the browser sends back
    /// let mut session = manager.load(Some(cookie.as_bytes()));
    /// assert_eq!(session.get::<String>("user").await?.as_deref(), Some("ada"));
    ///
    /// let forged = manager.load(Some(b"sessionid=0123456789abcdefghijklmnopqrstuv.1.forged"));
    /// assert_eq!(forged.session_key(), None);
    /// # Ok(()) }) }
    /// ```
    pub fn load(&self, cookie_header: Option<&[u8]>) -> Session<S> {
        let name = &self.ctx.settings.cookie.name;
        let value = cookie_header.and_then(|h| cookie::find(h, name));
        let mut session = match self.ctx.settings.engine {
            Engine::SignedCookies => {
                let token = value
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .filter(|t| !t.is_empty() && t.len() <= MAX_COOKIE_BYTES);
                self.session(Identity::Signed { token: token.map(str::to_owned) }, 0)
            }
            _ => match value.and_then(|v| self.ctx.cookie_signer.verify(v)) {
                Some(c) => {
                    let mut s = self.session(Identity::Server { key: Some(c.key), stored: Stored::Unknown }, c.version);
                    s.reissue = c.used_fallback;
                    s
                }
                None => self.session(Identity::Server { key: None, stored: Stored::No }, 0),
            },
        };
        session.had_cookie = value.is_some();
        session
    }

    fn session(&self, identity: Identity, version: u64) -> Session<S> {
        Session::new(self.ctx.clone(), self.store.clone(), identity, version)
    }

    /// A new, empty session outside a request (Django's `SessionStore()`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource);
    /// let mut session = manager.new_session();
    /// session.insert("job", "nightly").await?;
    /// let cookie_value = manager.save(&mut session).await?;
    /// assert!(cookie_value.is_some());
    /// # Ok(()) }) }
    /// ```
    pub fn new_session(&self) -> Session<S> {
        match self.ctx.settings.engine {
            Engine::SignedCookies => self.session(Identity::Signed { token: None }, 0),
            _ => self.session(Identity::Server { key: None, stored: Stored::No }, 0),
        }
    }

    /// The session stored under `key`, outside a request (Django's
    /// `SessionStore(session_key=key)`); a malformed key gives an empty session.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource);
    /// let mut session = manager.new_session();
    /// session.insert("user", "ada").await?;
    /// manager.save(&mut session).await?;
    /// let key = session.session_key().unwrap_or_default().to_owned();
    ///
    /// let mut same = manager.open(&key); // in a scheduled job, say
    /// assert_eq!(same.get::<String>("user").await?.as_deref(), Some("ada"));
    /// assert!(manager.open("not a key").is_empty());
    /// # Ok(()) }) }
    /// ```
    pub fn open(&self, key: &str) -> Session<S> {
        match (self.ctx.settings.engine, SessionKey::parse(key)) {
            (Engine::SignedCookies, _) => self.session(Identity::Signed { token: Some(key.to_owned()) }, 0),
            (_, Some(k)) => self.session(Identity::Server { key: Some(k), stored: Stored::Unknown }, 0),
            (_, None) => self.new_session(),
        }
    }

    /// Django's `session.save()` outside a request: writes the session now,
    /// whatever its flags, and returns the cookie value that identifies it.
    /// As in Django, a new session is created even when empty, and a
    /// session opened by key ([`open`](Self::open)) whose record is gone is
    /// saved under a fresh key. `None` only when such a session was emptied
    /// with `clear()` without being read: there is nothing to keep, and the
    /// gone key is never written again.
    ///
    /// # Errors
    ///
    /// - [`FinishError::Session`] when loading the session first failed (the store
    ///   could not read it).
    /// - [`FinishError::Store`] when a store write or delete failed; nothing was
    ///   acknowledged to the client.
    /// - [`FinishError::Interrupted`] when the session was deleted (a logout in a
    ///   concurrent request) after this request loaded it: Django's
    ///   `SessionInterrupted`.
    /// - [`FinishError::TooLarge`] when the data could not be read back (over
    ///   [`MAX_RECORD_BYTES`], or JSON over the inflate limit); nothing was written.
    /// - [`FinishError::CookieTooLarge`] when a `signed_cookies` session does not fit
    ///   in [`MAX_COOKIE_BYTES`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource);
    /// let mut session = manager.new_session();
    /// session.insert("user", "ada").await?;
    /// let cookie_value = manager.save(&mut session).await?.unwrap_or_default();
    /// assert!(cookie_value.starts_with(session.session_key().unwrap_or("?")));
    /// assert_eq!(manager.store().len(), 1);
    /// # Ok(()) }) }
    /// ```
    pub async fn save(&self, session: &mut Session<S>) -> Result<Option<String>, FinishError> {
        session.data().await.map_err(FinishError::Session)?;
        self.delete_flushed(session).await?;
        self.persist(session, self.ctx.clock.now()).await
    }

    /// Django's `SessionStore.clear_expired()`: deletes expired records and
    /// returns how many: always `0` for `signed_cookies`, and on Workers KV and
    /// the Durable Objects, whose records expire on their own.
    ///
    /// # Errors
    ///
    /// The store's [`StoreError`] when it fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource);
    /// let mut session = manager.new_session();
    /// manager.save(&mut session).await?;
    /// clock.advance(1_209_600); // SESSION_COOKIE_AGE later
    /// assert_eq!(manager.clear_expired().await?, 1);
    /// assert!(manager.store().is_empty());
    /// # Ok(()) }) }
    /// ```
    pub async fn clear_expired(&self) -> Result<u64, StoreError> {
        match self.ctx.settings.engine {
            Engine::SignedCookies => Ok(0),
            _ => self.store.clear_expired().await,
        }
    }

    /// Django's `SessionStore().decode(session_data)`: the dictionary inside
    /// stored data, for inspection; `None` if it does not verify.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret")])?;
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource);
    /// let data = serde_json::Map::from_iter([("cart".to_owned(), serde_json::json!([1, 2]))]);
    /// let session_data = manager.encode(&data);
    /// assert_eq!(manager.decode(&session_data), Some(data));
    /// assert_eq!(manager.decode("forged:data"), None);
    /// # Ok(()) }
    /// ```
    pub fn decode(&self, session_data: &str) -> Option<Map<String, Value>> {
        self.ctx.decode(session_data).map(|(map, _)| map)
    }

    /// Django's `SessionStore().encode(dict)`: signed (and, when it is shorter,
    /// compressed) with `SECRET_KEY` and the salt Django uses, so Django's
    /// `decode` reads it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret")])?;
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource);
    /// let data = serde_json::Map::from_iter([("user".to_owned(), serde_json::json!("ada"))]);
    /// let session_data = manager.encode(&data);
    /// assert_eq!(manager.decode(&session_data).as_ref(), Some(&data));
    /// # Ok(()) }
    /// ```
    pub fn encode(&self, data: &Map<String, Value>) -> String {
        self.ctx.data_signer.sign_object(data, true, self.ctx.clock.now())
    }

    /// Finishes the response (Django's `SessionMiddleware.process_response`):
    /// decides, executes the store operations, and returns the headers.
    ///
    /// # Errors
    ///
    /// - [`FinishError::Session`] when loading the session first failed (the store
    ///   could not read it).
    /// - [`FinishError::Store`] when a store write or delete failed; nothing was
    ///   acknowledged to the client.
    /// - [`FinishError::Interrupted`] when the session was deleted (a logout in a
    ///   concurrent request) after this request loaded it: Django's
    ///   `SessionInterrupted`.
    /// - [`FinishError::TooLarge`] when the data could not be read back (over
    ///   [`MAX_RECORD_BYTES`], or JSON over the inflate limit); nothing was written.
    /// - [`FinishError::CookieTooLarge`] when a `signed_cookies` session does not fit
    ///   in [`MAX_COOKIE_BYTES`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource);
    /// let mut session = manager.load(None);
    /// session.insert("cart", [1, 2]).await?;
    /// let outcome = manager.finish(session, 200).await?;
    /// assert!(outcome.vary_cookie); // add `Vary: Cookie`
    /// assert!(outcome.set_cookie.is_some_and(|c| c.starts_with("sessionid="))); // append as Set-Cookie
    ///
    /// let mut session = manager.load(None);
    /// session.insert("cart", [1, 2]).await?;
    /// let outcome = manager.finish(session, 500).await?; // a 5xx saves nothing
    /// assert_eq!(outcome.set_cookie, None);
    /// # Ok(()) }) }
    /// ```
    pub async fn finish(&self, mut session: Session<S>, status: u16) -> Result<Outcome, FinishError> {
        // Django reads `accessed` before the expiry getters load the session.
        let accessed = session.accessed;
        let settings = &self.ctx.settings;
        // A save writes the whole session, so it must hold the stored data:
        // load before saving a session marked modified (or saved every
        // request, or re-signed) that the handler never read.
        let needs_load = session.cache.is_none()
            && !session.is_empty()
            && status < 500
            && (session.modified || settings.save_every_request || session.reissue);
        if needs_load {
            session.data().await.map_err(FinishError::Session)?;
        }
        let now = self.ctx.clock.now();
        let stored_expiry = session.cache.as_ref().and_then(|d| d.get(EXPIRY_KEY));
        let facts = Facts {
            had_cookie: session.had_cookie,
            accessed,
            modified: session.modified || session.reissue,
            empty: session.is_empty(),
            save_every_request: settings.save_every_request,
            status,
            expire_at_browser_close: expiry::expire_at_browser_close(stored_expiry, settings.expire_at_browser_close),
            expiry_age: expiry::expiry_age(stored_expiry, settings.cookie.age, now),
            now,
        };
        let plan = decide(&facts);

        self.delete_flushed(&mut session).await?;
        let value = if plan.save { self.persist(&mut session, now).await? } else { None };
        let config = &settings.cookie;
        let set_cookie = match (plan.cookie, value) {
            (CookieAction::Delete, _) => Some(cookie::delete_cookie(config)),
            (CookieAction::Set(lifetime), Some(v)) => Some(cookie::set_cookie(config, &v, lifetime)),
            // The session turned out to be gone and empty: nothing was saved,
            // so drop the client's stale cookie.
            (CookieAction::Set(_), None) if session.had_cookie => Some(cookie::delete_cookie(config)),
            _ => None,
        };
        Ok(Outcome { vary_cookie: plan.vary_cookie, set_cookie, plan })
    }

    async fn delete_flushed(&self, session: &mut Session<S>) -> Result<(), FinishError> {
        for key in std::mem::take(&mut session.flushed) {
            self.store.delete(&key).await.map_err(FinishError::Store)?;
        }
        Ok(())
    }

    /// Writes the session and returns its new cookie value; `None` when the
    /// session's record turned out to be gone and there is no data to keep.
    /// `now` is the time the cookie's lifetime was computed from, so the
    /// record and the cookie expire together.
    async fn persist(&self, session: &mut Session<S>, now: i64) -> Result<Option<String>, FinishError> {
        let empty = Map::new();
        let data = session.cache.as_ref().unwrap_or(&empty);
        match &mut session.identity {
            Identity::Signed { token } => {
                let value = self
                    .ctx
                    .signed_cookies_signer
                    .sign_object_readable(data, true, now)
                    .map_err(|bytes| FinishError::TooLarge { bytes })?;
                let bytes = self.ctx.settings.cookie.name.len() + 1 + value.len();
                if bytes > MAX_COOKIE_BYTES {
                    return Err(FinishError::CookieTooLarge { bytes });
                }
                *token = Some(value.clone());
                Ok(Some(value))
            }
            Identity::Server { key, stored } => {
                let mut record = encode_record(&self.ctx, data, now, session.version.saturating_add(1))
                    .map_err(|bytes| FinishError::TooLarge { bytes })?;
                let bytes = record.data.len();
                if bytes > MAX_RECORD_BYTES - 100 {
                    return Err(FinishError::TooLarge { bytes });
                }
                let update = match (&*key, *stored) {
                    // A blind-put store cannot say the record is gone: ask
                    // first, so a logged-out key is never written again.
                    (Some(k), Stored::Unknown) if !self.store.save_detects_missing() => {
                        match self.store.exists(k).await.map_err(FinishError::Store)? {
                            true => Some(self.store.save(k, &record).await),
                            false => Some(Err(StoreError::Missing)),
                        }
                    }
                    (Some(k), Stored::Yes | Stored::Unknown) => Some(self.store.save(k, &record).await),
                    _ => None,
                };
                let version = match update {
                    Some(Ok(v)) => v,
                    Some(Err(StoreError::Missing)) if *stored == Stored::Yes => return Err(FinishError::Interrupted),
                    Some(Err(e @ StoreError::Backend(_))) | Some(Err(e @ StoreError::Exists)) => {
                        return Err(FinishError::Store(e))
                    }
                    // An unloaded key whose record is gone, with no data
                    // (e.g. `clear()` on a logged-out session): nothing to keep.
                    Some(Err(StoreError::Missing)) if data.is_empty() && session.cycled_from.is_empty() => {
                        *key = None;
                        *stored = Stored::No;
                        return Ok(None);
                    }
                    // Never saved, or an unloaded key whose record is gone:
                    // create, under a fresh key when the old one is gone.
                    Some(Err(StoreError::Missing)) | None => {
                        if *stored == Stored::Unknown {
                            *key = None;
                        }
                        record.version = 1;
                        self.create(key, &record).await?
                    }
                };
                *stored = Stored::Yes;
                session.version = version;
                let key = key.as_ref().ok_or(FinishError::Store(StoreError::Missing))?;
                for old in std::mem::take(&mut session.cycled_from) {
                    if let Err(e) = self.store.delete(&old).await {
                        // The new record is saved; the old one holds only the
                        // pre-cycle data and expires on its own.
                        crate::log::warn(&format!("cycle_key: deleting the old session record failed ({e})"));
                    }
                }
                Ok(Some(self.ctx.cookie_signer.sign(key, version)))
            }
        }
    }

    /// Creates the record under `key` (a fresh key when there is none, or on collision).
    async fn create(&self, key: &mut Option<SessionKey>, record: &crate::record::Record) -> Result<u64, FinishError> {
        for _ in 0..CREATE_ATTEMPTS {
            let k = match key.take() {
                Some(k) => k,
                None => self.ctx.keys.new_key().map_err(|e| FinishError::Session(SessionError::Random(e)))?,
            };
            match self.store.create(&k, record).await {
                Ok(v) => {
                    *key = Some(k);
                    return Ok(v);
                }
                Err(StoreError::Exists) => continue,
                Err(e) => return Err(FinishError::Store(e)),
            }
        }
        Err(FinishError::Store(StoreError::Exists))
    }
}
