//! The session manager: reads the session cookie of a request into a lazy
//! [`Session`], and finishes the response by executing the pure
//! [`decision`](crate::decision) against the store. Platform glue (the
//! `worker` integration, the npm package) is a thin layer over these two
//! calls; it decides nothing itself. The store operations of a finish (and
//! their order) are the session's own (`src/session/persist.rs`); the manager
//! sequences load, decision, persistence and headers.

use serde_json::{Map, Value};
use std::fmt;
use std::rc::Rc;

use crate::clock::Clock;
use crate::cookie;
use crate::decision::{decide, CookieAction, ResponsePlan};
use crate::key::{KeySource, SessionKey};
use crate::record::MAX_RECORD_BYTES;
use crate::response::ErrorName;
use crate::session::{write_sources, Identity, Session, SessionError, Shared};
use crate::settings::{Engine, Settings};
use crate::store::{SessionStore, StoreError};
use crate::users::{Revoke, UserIndex, UserSession};

/// The most bytes of `name=value` a browser keeps in one cookie (Django's
/// documented limit for `signed_cookies`).
pub const MAX_COOKIE_BYTES: usize = 4093;

/// A response could not be finished.
///
/// `Display` says what failed at this level; a [`Store`](Self::Store) or
/// [`Session`](Self::Session) error is its
/// [`source()`](std::error::Error::source), and `{:#}` prints the whole
/// chain on one line (what the front doors log).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// A short name for the error (`SessionInterrupted`, `StoreError`, ...),
    /// from [`ErrorName`]; a [`Session`](Self::Session) error keeps its own.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Interrupted => ErrorName::SessionInterrupted.as_str(),
            Self::Store(e) => e.name(),
            Self::TooLarge { .. } => ErrorName::TooLarge.as_str(),
            Self::CookieTooLarge { .. } => ErrorName::CookieTooLarge.as_str(),
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
            Self::Store(_) => f.write_str("the session could not be saved or deleted"),
            Self::TooLarge { bytes } => write!(f, "session data is {bytes} bytes, over the limit of {MAX_RECORD_BYTES}; nothing was saved"),
            Self::CookieTooLarge { bytes } => write!(f, "signed_cookies session is {bytes} bytes, over the {MAX_COOKIE_BYTES}-byte cookie limit; the cookie was not sent (store less in the session, or use a server-side engine)"),
            Self::Session(_) => f.write_str("the session could not be saved"),
        }?;
        if f.alternate() {
            write_sources(f, std::error::Error::source(self))?;
        }
        Ok(())
    }
}

impl std::error::Error for FinishError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Store(e) => Some(e),
            Self::Session(e) => Some(e),
            _ => None,
        }
    }
}

/// What the response must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
pub struct SessionConfig(Rc<Shared>);

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
        Self(Rc::new(Shared::new(settings, Box::new(clock), Box::new(keys))))
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
    ctx: Rc<Shared>,
    store: S,
    users: Option<Rc<dyn UserIndex>>,
}

impl<S: Clone> Clone for SessionManager<S> {
    fn clone(&self) -> Self {
        Self { ctx: self.ctx.clone(), store: self.store.clone(), users: self.users.clone() }
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
        Self { ctx: config.0, store, users: None }
    }

    /// With the users' indexes `users` (`SESSION_USER_INDEX`): logins enter
    /// them, and a user's sessions can be listed and revoked. On Workers the
    /// front doors pass the session Durable Object namespace; on the host,
    /// [`MemoryUsers`](crate::users::MemoryUsers). Without
    /// `SESSION_USER_INDEX=true` in the settings, the index is not used.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// use edge_session::users::MemoryUsers;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret"), ("SESSION_USER_INDEX", "true")])?;
    /// let clock = FixedClock::new(1_765_000_000);
    /// let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource)
    ///     .with_users(MemoryUsers::new(clock));
    /// assert!(manager.settings().user_index());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn with_users(mut self, users: impl UserIndex + 'static) -> Self {
        self.users = Some(Rc::new(users));
        self
    }

    /// The index, for `user` (a valid user id).
    fn index(&self, user: &str) -> Result<Rc<dyn UserIndex>, SessionError> {
        crate::users::check_user_id(user)?;
        self.users.clone().filter(|_| self.ctx.settings.user_index).ok_or(SessionError::NoUserIndex)
    }

    /// `user`'s live sessions, outside a request (an admin tool, an account
    /// page rendered elsewhere): none is marked current.
    ///
    /// # Errors
    ///
    /// - [`SessionError::NoUserIndex`] without `SESSION_USER_INDEX` and an index.
    /// - [`SessionError::Store`] when the store or the index fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # use edge_session::users::MemoryUsers;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret"), ("SESSION_USER_INDEX", "true")])?;
    /// # let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource)
    /// #     .with_users(MemoryUsers::new(clock));
    /// let mut session = manager.new_session();
    /// session.login("42", Some(serde_json::Map::from_iter([("device".into(), "laptop".into())]))).await?;
    /// manager.save(&mut session).await?;
    /// let listed = manager.user_sessions("42").await?;
    /// assert_eq!(listed[0].meta.as_ref().map(|m| m["device"].clone()), Some("laptop".into()));
    /// # Ok(()) }) }
    /// ```
    pub async fn user_sessions(&self, user: &str) -> Result<Vec<UserSession>, SessionError> {
        let users = self.index(user)?;
        self.new_session().list_sessions(users.as_ref(), user).await
    }

    /// Revokes `user`'s session with public id `id`, outside a request;
    /// whether there was one.
    ///
    /// # Errors
    ///
    /// - [`SessionError::NoUserIndex`] without `SESSION_USER_INDEX` and an index.
    /// - [`SessionError::Store`] when the store or the index fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # use edge_session::users::MemoryUsers;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret"), ("SESSION_USER_INDEX", "true")])?;
    /// # let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource)
    /// #     .with_users(MemoryUsers::new(clock));
    /// let mut session = manager.new_session();
    /// session.login("42", None).await?;
    /// manager.save(&mut session).await?;
    /// let id = manager.user_sessions("42").await?[0].id.clone();
    /// assert!(!manager.revoke_session("7", &id).await?, "only within the user's own sessions");
    /// assert!(manager.revoke_session("42", &id).await?);
    /// assert!(manager.store().is_empty());
    /// # Ok(()) }) }
    /// ```
    pub async fn revoke_session(&self, user: &str, id: &str) -> Result<bool, SessionError> {
        let users = self.index(user)?;
        self.new_session().revoke_as(users.as_ref(), user, Revoke::One(id)).await.map(|n| n > 0)
    }

    /// Revokes every session of `user` ("sign out everywhere", a password
    /// change); returns how many.
    ///
    /// # Errors
    ///
    /// - [`SessionError::NoUserIndex`] without `SESSION_USER_INDEX` and an index.
    /// - [`SessionError::Store`] when the store or the index fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # use edge_session::users::MemoryUsers;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret"), ("SESSION_USER_INDEX", "true")])?;
    /// # let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource)
    /// #     .with_users(MemoryUsers::new(clock));
    /// for _ in 0..2 {
    ///     let mut session = manager.new_session();
    ///     session.login("42", None).await?;
    ///     manager.save(&mut session).await?;
    /// }
    /// assert_eq!(manager.revoke_user_sessions("42").await?, 2);
    /// assert!(manager.user_sessions("42").await?.is_empty());
    /// # Ok(()) }) }
    /// ```
    pub async fn revoke_user_sessions(&self, user: &str) -> Result<u64, SessionError> {
        let users = self.index(user)?;
        self.new_session().revoke_as(users.as_ref(), user, Revoke::All { keep: None }).await
    }

    /// Erases `user` (account deletion): revokes every session and leaves
    /// no index behind (an emptied index deletes its storage). Returns how
    /// many sessions were revoked.
    ///
    /// # Errors
    ///
    /// - [`SessionError::NoUserIndex`] without `SESSION_USER_INDEX` and an index.
    /// - [`SessionError::Store`] when the store or the index fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # use edge_session::users::MemoryUsers;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret"), ("SESSION_USER_INDEX", "true")])?;
    /// let users = MemoryUsers::new(clock.clone());
    /// # let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource)
    /// #     .with_users(users.clone());
    /// let mut session = manager.new_session();
    /// session.login("42", None).await?;
    /// manager.save(&mut session).await?;
    /// assert_eq!(manager.erase_user("42").await?, 1);
    /// assert_eq!(users.stored("42"), None);
    /// # Ok(()) }) }
    /// ```
    pub async fn erase_user(&self, user: &str) -> Result<u64, SessionError> {
        self.revoke_user_sessions(user).await
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
    /// let mut session = manager.session(None); // a request without a cookie
    /// session.insert("user", "ada").await?;
    /// let set_cookie = manager.finish(session, 200).await?.set_cookie.unwrap_or_default();
    ///
    /// let cookie = set_cookie.split(';').next().unwrap_or_default(); // what the browser sends back
    /// let mut session = manager.session(Some(cookie.as_bytes()));
    /// assert_eq!(session.get::<String>("user").await?.as_deref(), Some("ada"));
    ///
    /// let forged = manager.session(Some(b"sessionid=0123456789abcdefghijklmnopqrstuv.1.forged"));
    /// assert_eq!(forged.session_key(), None);
    /// # Ok(()) }) }
    /// ```
    pub fn session(&self, cookie_header: Option<&[u8]>) -> Session<S> {
        let name = &self.ctx.settings.cookie.name;
        let value = cookie_header.and_then(|h| cookie::find(h, name));
        let had_cookie = value.is_some();
        match self.ctx.settings.engine {
            Engine::SignedCookies => {
                let token = value
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .filter(|t| !t.is_empty() && t.len() <= MAX_COOKIE_BYTES);
                self.make(Identity::signed(token.map(str::to_owned)), 0).with_request(had_cookie, false)
            }
            _ => match value.and_then(|v| self.ctx.cookie_signer.verify(v)) {
                Some(c) => self.make(Identity::unread(c.key), c.version).with_request(had_cookie, c.used_fallback),
                None => self.make(Identity::fresh(), 0).with_request(had_cookie, false),
            },
        }
    }

    fn make(&self, identity: Identity, version: u64) -> Session<S> {
        Session::new(self.ctx.clone(), self.store.clone(), identity, version).with_users(self.users.clone())
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
            Engine::SignedCookies => self.make(Identity::signed(None), 0),
            _ => self.make(Identity::fresh(), 0),
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
            (Engine::SignedCookies, _) => self.make(Identity::signed(Some(key.to_owned())), 0),
            (_, Some(k)) => self.make(Identity::unread(k), 0),
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
        session.delete_flushed().await?;
        session.persist(self.ctx.clock.now()).await
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
    /// let mut session = manager.session(None);
    /// session.insert("cart", [1, 2]).await?;
    /// let outcome = manager.finish(session, 200).await?;
    /// assert!(outcome.vary_cookie); // add `Vary: Cookie`
    /// assert!(outcome.set_cookie.is_some_and(|c| c.starts_with("sessionid="))); // append as Set-Cookie
    ///
    /// let mut session = manager.session(None);
    /// session.insert("cart", [1, 2]).await?;
    /// let outcome = manager.finish(session, 500).await?; // a 5xx saves nothing
    /// assert_eq!(outcome.set_cookie, None);
    /// # Ok(()) }) }
    /// ```
    pub async fn finish(&self, mut session: Session<S>, status: u16) -> Result<Outcome, FinishError> {
        // Django's MessageMiddleware stores the messages before SessionMiddleware saves.
        session.store_messages().await.map_err(FinishError::Session)?;
        // Django reads `accessed` before the expiry getters load the session.
        let accessed = session.accessed();
        if session.needs_load_to_save(status) {
            session.data().await.map_err(FinishError::Session)?;
        }
        let now = self.ctx.clock.now();
        let plan = decide(&session.facts(accessed, status, now));
        session.delete_flushed().await?;
        let value = if plan.save { session.persist(now).await? } else { None };
        let config = &self.ctx.settings.cookie;
        let set_cookie = match (plan.cookie, value) {
            (CookieAction::Delete, _) => Some(cookie::delete_cookie(config)),
            (CookieAction::Set(lifetime), Some(v)) => Some(cookie::set_cookie(config, &v, lifetime)),
            // The session turned out to be gone and empty: nothing was saved,
            // so drop the client's stale cookie.
            (CookieAction::Set(_), None) if session.had_cookie() => Some(cookie::delete_cookie(config)),
            _ => None,
        };
        Ok(Outcome { vary_cookie: plan.vary_cookie, set_cookie, plan })
    }
}
