//! Django's `auth.login()` and `auth.logout()` on the session, and the
//! session's side of its user's index (`SESSION_USER_INDEX`, [`crate::users`]):
//! a login enters the session once it is saved, a signed session is checked
//! against its entry when it loads, and the user's sessions can be listed
//! and revoked from a request.

use serde_json::{Map, Value};
use std::rc::Rc;

use super::{decode_signed_cookie, Identity, Session, SessionError, Stored};
use crate::key::SessionKey;
use crate::manager::FinishError;
use crate::settings::Engine;
use crate::store::SessionStore;
use crate::users::index::{EntryRef, IndexEntry, IndexOp};
use crate::users::{self, Current, Revoke, UserIndex, UserSession, MAX_META_BYTES, PUBLIC_ID_KEY, USER_KEY};

/// How far (seconds) a re-signed `signed_cookies` session's expiry may pass
/// what its index entry holds before the save tells the index (one more
/// call): a save within a few seconds of the cookie it replaced costs
/// nothing more, and the entry may end up to this much before the cookie.
const EXPIRY_SLACK: i64 = 5;

/// A login waiting for the session's save to be entered in the user's index.
pub(crate) struct Login {
    user: String,
    meta: Option<Map<String, Value>>,
    /// The public id of the new entry.
    id: String,
    /// The entry of this device before the login (the same user logging in again).
    replaces: Option<EntryRef>,
}

fn text<'a>(data: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str)
}

impl<S: SessionStore> Session<S> {
    /// Django's `auth.login(request, user)`, the session half: if the session
    /// holds another user it is flushed, otherwise its key is cycled (against
    /// session fixation); then the user's id is stored under `_auth_user_id`
    /// (Django's key: a Django site sharing the session sees the same user).
    ///
    /// With `SESSION_USER_INDEX`, the saved session also enters the user's
    /// index, with `meta` (a device label, say: it is kept only if given, and
    /// it is shown to the user in [`user_sessions`](Self::user_sessions)).
    ///
    /// # Errors
    ///
    /// - [`SessionError::InvalidUser`] when `user` is empty, over
    ///   [`MAX_USER_ID_BYTES`](crate::users::MAX_USER_ID_BYTES) or holds control
    ///   characters, or `meta` is over [`MAX_META_BYTES`] of JSON.
    /// - [`SessionError::Store`] when the store fails to load the session.
    /// - [`SessionError::Random`] when no random key could be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.insert("cart", [1]).await?;
    /// session.login("42", None).await?;
    /// assert_eq!(session.user_id().await?.as_deref(), Some("42"));
    /// assert_eq!(session.get::<Vec<i64>>("cart").await?, Some(vec![1]), "the same user's data stays");
    /// session.login("7", None).await?; // another user: a new, empty session
    /// assert_eq!(session.get::<Vec<i64>>("cart").await?, None);
    /// # Ok(()) }) }
    /// ```
    pub async fn login(&mut self, user: &str, meta: Option<Map<String, Value>>) -> Result<(), SessionError> {
        users::check_user_id(user)?;
        if let Some(m) = &meta {
            let bytes = Value::Object(m.clone()).to_string().len();
            if bytes > MAX_META_BYTES {
                return Err(SessionError::InvalidUser(format!(
                    "the metadata is {bytes} bytes of JSON, over {MAX_META_BYTES}"
                )));
            }
        }
        let data = self.data().await?;
        // `None`: nobody is logged in; `Some(false)`: another user is.
        let same_user = data.get(USER_KEY).map(|v| v.as_str() == Some(user));
        let old_id = text(data, PUBLIC_ID_KEY).map(str::to_owned);
        if same_user == Some(false) {
            self.flush();
        } else {
            self.cycle_key().await?;
        }
        let replaces = match (&self.identity, same_user) {
            (_, None | Some(false)) => None,
            (Identity::Server { .. }, Some(true)) => {
                self.cycled_from.last().map(|k| EntryRef::Key(k.as_str().to_owned()))
            }
            (Identity::Signed { .. }, Some(true)) => old_id.map(EntryRef::Id),
        };
        let id = self.ctx.keys.new_key().map_err(SessionError::Random)?.as_str().to_owned();
        let signed = matches!(self.identity, Identity::Signed { .. });
        let indexed = self.users.is_some();
        let data = self.data().await?;
        data.insert(USER_KEY.to_owned(), Value::from(user));
        if signed && indexed {
            data.insert(PUBLIC_ID_KEY.to_owned(), Value::from(id.as_str()));
        }
        self.changed(USER_KEY);
        if signed && indexed {
            self.changed(PUBLIC_ID_KEY);
        }
        self.modified = true;
        if indexed {
            self.login = Some(Login { user: user.to_owned(), meta, id, replaces });
        }
        Ok(())
    }

    /// Django's `auth.logout(request)`, the session half: [`flush`](Self::flush).
    /// With `SESSION_USER_INDEX` the session is read first (as Django reads
    /// `request.user`), and a logged-in session leaves its user's index: on
    /// `signed_cookies` a copy of its cookie stops working; on the
    /// server-side engines its record is deleted, and so is the record of a
    /// `cycle_key` that raced the logout.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to load the session.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// session.login("42", None).await?;
    /// session.logout().await?;
    /// assert_eq!(session.user_id().await?, None);
    /// # Ok(()) }) }
    /// ```
    pub async fn logout(&mut self) -> Result<(), SessionError> {
        // Django's logout() reads the user first (`request.user`): so does
        // this, to know which entry leaves the index.
        if self.users.is_some() {
            self.data().await?;
        }
        self.flush();
        Ok(())
    }

    /// The logged-in user's id (`_auth_user_id`), if any.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to load the session.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// assert_eq!(session.user_id().await?, None);
    /// # Ok(()) }) }
    /// ```
    pub async fn user_id(&mut self) -> Result<Option<String>, SessionError> {
        Ok(text(self.data().await?, USER_KEY).map(str::to_owned))
    }

    /// The live sessions of this session's user (none when logged out), with
    /// this one marked [`current`](UserSession::current). On the server-side
    /// engines each listed session's record is looked up (one store read
    /// each), and entries whose record is gone leave the index.
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
    /// let clock = FixedClock::new(1_765_000_000);
    /// let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret"), ("SESSION_USER_INDEX", "true")])?;
    /// let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock.clone(), OsKeySource)
    ///     .with_users(MemoryUsers::new(clock));
    /// let mut phone = manager.session(None);
    /// phone.login("42", None).await?;
    /// manager.save(&mut phone).await?;
    /// let listed = phone.user_sessions().await?;
    /// assert_eq!(listed.len(), 1);
    /// assert!(listed[0].current);
    /// # Ok(()) }) }
    /// ```
    pub async fn user_sessions(&mut self) -> Result<Vec<UserSession>, SessionError> {
        let users = self.index()?;
        let Some(user) = self.user_id().await? else { return Ok(Vec::new()) };
        self.list_sessions(users.as_ref(), &user).await
    }

    /// Revokes one of this session's user's sessions by its public id (only
    /// within this user's own sessions): its cookie reads as an empty,
    /// logged-out session from the next request on (SECURITY.md states when,
    /// per engine). Revoking this very session logs it out now. Returns
    /// whether a session was revoked.
    ///
    /// # Errors
    ///
    /// - [`SessionError::NoUserIndex`] without `SESSION_USER_INDEX` and an index.
    /// - [`SessionError::Store`] when the store or the index fails (the
    ///   session is still listed: try again).
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
    /// let mut laptop = manager.session(None);
    /// laptop.login("42", None).await?;
    /// manager.save(&mut laptop).await?;
    /// let mut phone = manager.session(None);
    /// phone.login("42", None).await?;
    /// manager.save(&mut phone).await?;
    ///
    /// let other = phone.user_sessions().await?.into_iter().find(|s| !s.current).unwrap();
    /// assert!(phone.revoke_session(&other.id).await?);
    /// let key = laptop.session_key().unwrap_or_default().to_owned();
    /// assert_eq!(manager.open(&key).user_id().await?, None, "the laptop is signed out");
    /// # Ok(()) }) }
    /// ```
    pub async fn revoke_session(&mut self, id: &str) -> Result<bool, SessionError> {
        let users = self.index()?;
        let Some(user) = self.user_id().await? else { return Ok(false) };
        self.revoke_as(users.as_ref(), &user, Revoke::One(id)).await.map(|n| n > 0)
    }

    /// Revokes every session of this session's user, or every one but this
    /// one (`keep_current`: "sign out everywhere else"). Returns how many
    /// were revoked.
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
    /// for _ in 0..3 {
    ///     let mut device = manager.session(None);
    ///     device.login("42", None).await?;
    ///     manager.save(&mut device).await?;
    /// }
    /// let mut here = manager.session(None);
    /// here.login("42", None).await?;
    /// manager.save(&mut here).await?;
    /// assert_eq!(here.revoke_user_sessions(true).await?, 3);
    /// assert_eq!(here.user_sessions().await?.len(), 1);
    /// # Ok(()) }) }
    /// ```
    pub async fn revoke_user_sessions(&mut self, keep_current: bool) -> Result<u64, SessionError> {
        let users = self.index()?;
        let Some(user) = self.user_id().await? else { return Ok(0) };
        let current = self.current();
        let keep = keep_current.then_some(&current);
        self.revoke_as(users.as_ref(), &user, Revoke::All { keep }).await
    }

    /// Lists `user`'s sessions (this session marked current when it is one of them).
    pub(crate) async fn list_sessions(
        &mut self,
        users: &dyn UserIndex,
        user: &str,
    ) -> Result<Vec<UserSession>, SessionError> {
        let current = self.current();
        let server_side = self.ctx.settings.engine != Engine::SignedCookies;
        users::list(&self.store, users, user, &current, server_side).await.map_err(SessionError::Store)
    }

    /// Revokes `user`'s sessions; if this session was one of them, it is
    /// logged out here too (its record is already gone).
    pub(crate) async fn revoke_as(
        &mut self,
        users: &dyn UserIndex,
        user: &str,
        which: Revoke<'_>,
    ) -> Result<u64, SessionError> {
        let revoked = users::revoke(&self.store, users, user, which).await.map_err(SessionError::Store)?;
        let current = self.current();
        if revoked.iter().any(|e| current.is(e)) {
            self.forget();
        }
        Ok(revoked.len() as u64)
    }

    /// The index, when configured.
    pub(crate) fn index(&self) -> Result<Rc<dyn UserIndex>, SessionError> {
        self.users.clone().ok_or(SessionError::NoUserIndex)
    }

    /// What identifies this session in its user's index.
    fn current(&self) -> Current {
        match &self.identity {
            Identity::Server { key: Some(k), stored: Stored::Yes | Stored::Unknown } => {
                Current { key: Some(k.as_str().to_owned()), id: None }
            }
            // Cycled in this request: the index still has the entry under
            // the old key until the save moves it.
            Identity::Server { .. } => {
                Current { key: self.cycled_from.first().map(|k| k.as_str().to_owned()), id: None }
            }
            Identity::Signed { .. } => {
                Current { key: None, id: self.cache.as_ref().and_then(|d| text(d, PUBLIC_ID_KEY)).map(str::to_owned) }
            }
        }
    }

    /// This session was revoked: it is an empty, new session now, and the
    /// response deletes its cookie (its record and entry are already gone).
    fn forget(&mut self) {
        self.clear();
        self.identity = match self.identity {
            Identity::Server { .. } => Identity::fresh(),
            Identity::Signed { .. } => Identity::signed(None),
        };
        self.cycled_from.clear();
        self.login = None;
        self.version = 0;
        self.revision = None;
    }

    /// With an index, what a `flush` (a logout) takes out of it: the entry
    /// of this logged-in session (a signed session's by its public id, from
    /// its data or its token; a server-side one's by its key, when the
    /// request read the session), and the entry a login in this request
    /// was to replace.
    pub(crate) fn leaving_entries(&self) -> Vec<(String, EntryRef)> {
        let mut out = Vec::new();
        if self.users.is_none() {
            return out;
        }
        if let Some(login) = &self.login {
            if let Some(r) = &login.replaces {
                out.push((login.user.clone(), r.clone()));
            }
        }
        match &self.identity {
            Identity::Signed { token } => {
                let decoded;
                let data = match &self.cache {
                    Some(d) => Some(d),
                    None => {
                        decoded =
                            token.as_deref().and_then(|t| decode_signed_cookie(&self.ctx, t, self.ctx.clock.now()));
                        decoded.as_ref().map(|(map, ..)| map)
                    }
                };
                if let Some((user, id)) = data.and_then(|d| Some((text(d, USER_KEY)?, text(d, PUBLIC_ID_KEY)?))) {
                    out.push((user.to_owned(), EntryRef::Id(id.to_owned())));
                }
            }
            Identity::Server { key: Some(k), stored: Stored::Yes | Stored::Unknown } => {
                if let Some(user) = self.cache.as_ref().and_then(|d| text(d, USER_KEY)) {
                    out.push((user.to_owned(), EntryRef::Key(k.as_str().to_owned())));
                }
            }
            Identity::Server { .. } => {}
        }
        out
    }

    /// `signed_cookies` with an index: whether the loaded data's session may
    /// be used. An anonymous session may; a logged-in one only while its
    /// entry is in its user's index (one call, which also tells the index
    /// the cookie's expiry); a logged-in one without a public id (logged in
    /// before the index was on, or by another site) may not.
    pub(crate) async fn signed_entry_live(
        &mut self,
        data: &Map<String, Value>,
        expires_at: i64,
    ) -> Result<bool, SessionError> {
        let (Some(users), Some(user)) = (self.users.clone(), text(data, USER_KEY)) else { return Ok(true) };
        let Some(id) = text(data, PUBLIC_ID_KEY) else { return Ok(false) };
        let check = IndexOp::Check { entry: EntryRef::Id(id.to_owned()), expires: Some(expires_at) };
        let reply = users::request(users.as_ref(), user, &check).await.map_err(SessionError::Store)?;
        self.told_expires = Some(expires_at);
        Ok(reply.get("present").and_then(Value::as_bool).unwrap_or(false))
    }

    /// Takes the entries of the sessions `flush` logged out out of their
    /// index; a server-side entry that a concurrent `cycle_key` moved to a
    /// new key is found by its old key, and that record is deleted too.
    pub(crate) async fn remove_logged_out(&mut self) -> Result<(), FinishError> {
        let Some(users) = self.users.clone() else { return Ok(()) };
        for (user, entry) in std::mem::take(&mut self.logged_out) {
            let reply = users::request(users.as_ref(), &user, &IndexOp::Remove(vec![entry.clone()]))
                .await
                .map_err(FinishError::Store)?;
            let gone = match &entry {
                EntryRef::Key(k) => Some(k.as_str()),
                EntryRef::Id(_) => None,
            };
            let moved: Vec<IndexEntry> = users::entries(&reply, "entries")
                .into_iter()
                .filter(|e| e.key.is_some() && e.key.as_deref() != gone)
                .collect();
            users::delete_records(&self.store, users.as_ref(), &user, &moved).await.map_err(FinishError::Store)?;
        }
        Ok(())
    }

    /// After a `signed_cookies` session was signed at `now`: a login enters
    /// its index; a logged-in session whose cookie now lives longer than the
    /// index was told raises its entry's expiry (a save that finds the entry
    /// revoked is Django's `SessionInterrupted`).
    pub(crate) async fn enter_signed(&mut self, now: i64) -> Result<(), FinishError> {
        let Some(users) = self.users.clone() else { return Ok(()) };
        let expires = self.ctx.expires_at(self.data_or_empty(), now);
        if let Some(login) = self.login.take() {
            let entry = IndexEntry {
                id: login.id,
                key: None,
                prev_key: None,
                created: now,
                expires: Some(expires),
                meta: login.meta,
            };
            let add = IndexOp::Add { entry, replaces: login.replaces, inherit: false, require: false, overflow: false };
            return users::add(&self.store, users.as_ref(), &login.user, add)
                .await
                .map(drop)
                .map_err(FinishError::Store);
        }
        let data = self.data_or_empty();
        let (Some(user), Some(id)) = (text(data, USER_KEY), text(data, PUBLIC_ID_KEY)) else { return Ok(()) };
        if self.told_expires.is_some_and(|told| expires <= told.saturating_add(EXPIRY_SLACK)) {
            return Ok(());
        }
        let check = IndexOp::Check { entry: EntryRef::Id(id.to_owned()), expires: Some(expires) };
        let reply = users::request(users.as_ref(), user, &check).await.map_err(FinishError::Store)?;
        self.told_expires = Some(expires);
        match reply.get("present").and_then(Value::as_bool) {
            Some(true) => Ok(()),
            _ => Err(FinishError::Interrupted),
        }
    }

    /// After a server-side session was written under `key`: a login enters
    /// the index (if that fails, the new record is deleted and the error
    /// returned); a logged-in session whose key `cycle_key` replaced
    /// (`cycled_from`) moves its entry to the new key, unless the entry was
    /// revoked meanwhile; a logged-in session written over its record by a
    /// store that cannot tell a record deleted meanwhile (`cache`: a blind
    /// put) asks the index whether it was revoked. A revoked session's
    /// write is deleted again and the save is Django's `SessionInterrupted`.
    pub(crate) async fn enter_server(
        &mut self,
        key: &SessionKey,
        cycled_from: Option<SessionKey>,
        wrote_over: bool,
        now: i64,
    ) -> Result<(), FinishError> {
        let Some(users) = self.users.clone() else { return Ok(()) };
        let expires = self.ctx.absolute_end(self.data_or_empty());
        let entry = |id: String, meta| IndexEntry {
            id,
            key: Some(key.as_str().to_owned()),
            prev_key: None,
            created: now,
            expires,
            meta,
        };
        if let Some(login) = self.login.take() {
            let add = IndexOp::Add {
                entry: entry(login.id, login.meta),
                replaces: login.replaces,
                inherit: false,
                require: false,
                overflow: false,
            };
            if let Err(e) = users::add(&self.store, users.as_ref(), &login.user, add).await {
                let _ = self.store.delete(key).await;
                return Err(FinishError::Store(e));
            }
            return Ok(());
        }
        let Some(user) = text(self.data_or_empty(), USER_KEY).map(str::to_owned) else { return Ok(()) };
        let still_there = if let Some(old) = cycled_from {
            let id = self.ctx.keys.new_key().map_err(|e| FinishError::Session(SessionError::Random(e)))?;
            let add = IndexOp::Add {
                entry: entry(id.as_str().to_owned(), None),
                replaces: Some(EntryRef::Key(old.as_str().to_owned())),
                inherit: true,
                require: true,
                overflow: false,
            };
            users::add(&self.store, users.as_ref(), &user, add).await.map_err(FinishError::Store)?
        } else if wrote_over && !self.store.save_detects_missing() {
            let check = IndexOp::Check { entry: EntryRef::Key(key.as_str().to_owned()), expires: None };
            let reply = users::request(users.as_ref(), &user, &check).await.map_err(FinishError::Store)?;
            reply.get("present").and_then(Value::as_bool).unwrap_or(false)
        } else {
            true
        };
        if !still_there {
            self.store.delete(key).await.map_err(FinishError::Store)?;
            self.identity = Identity::fresh();
            return Err(FinishError::Interrupted);
        }
        Ok(())
    }
}
