//! A user's sessions (`SESSION_USER_INDEX`): Django's login and logout on the
//! session, and an index per user of every live session, so that a user (or
//! an admin tool, or a cron job) can list them and revoke one, all, or all
//! but the current one.
//!
//! The index of a user is one object that applies each request atomically
//! (on Workers a Durable Object, named `user:` + the user id, in the session
//! Durable Object namespace; on the host [`MemoryUsers`]), so concurrent
//! logins never lose an entry. Its protocol is [`index`].
//!
//! What an entry is, per engine:
//! - server-side engines: a random public id, the session key (kept in the
//!   index, never shown), the login time and the optional metadata. A list
//!   asks the store whether each entry's record is still live and drops the
//!   dead ones (expired, logged out): entries disappear by themselves. To
//!   revoke is to delete the record.
//! - `signed_cookies`: the public id is stored in the session itself
//!   (`_session_public_id`), and the entry carries the cookie's latest
//!   expiry. Every request that loads a logged-in signed session asks the
//!   index whether its entry is there (one call); to revoke is to remove the
//!   entry, after which the cookie reads as an empty session.

pub mod index;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::key::SessionKey;
use crate::metrics::count;
use crate::store::{BackendError, SessionStore, StoreError, StoreOp};
use index::{EntryRef, IndexEntry, IndexOp};

/// The session key under which Django's `auth.login()` stores the user's id.
pub const USER_KEY: &str = "_auth_user_id";

/// Where a `signed_cookies` session keeps its public id (server-side
/// sessions keep theirs in the index only).
pub const PUBLIC_ID_KEY: &str = "_session_public_id";

/// The longest user id, in bytes.
pub const MAX_USER_ID_BYTES: usize = 256;

/// The most bytes of metadata (as JSON) kept with an entry.
pub const MAX_META_BYTES: usize = 1024;

/// A boxed single-threaded future (Workers futures are not `Send`).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Where users' indexes live: one request, one reply, applied atomically per
/// user ([`index`] is the protocol; [`index::handle`] does what an index
/// object does with a request).
pub trait UserIndex {
    /// Sends `body` to `user`'s index and returns the reply body.
    fn call<'a>(&'a self, user: &'a str, body: String) -> LocalFuture<'a, Result<String, StoreError>>;
}

/// The indexes in memory, for host tests and programs without Workers. Each
/// call is counted as one `do_call` (it stands in for a user's Durable
/// Object) and can be made to fail ([`fail`](Self::fail)). Clones share the
/// indexes.
#[derive(Clone)]
pub struct MemoryUsers {
    indexes: Rc<RefCell<HashMap<String, String>>>,
    clock: Rc<dyn Clock>,
    failing: Rc<Cell<bool>>,
}

impl MemoryUsers {
    /// Empty indexes whose entries expire by `clock`.
    pub fn new(clock: impl Clock + 'static) -> Self {
        Self { indexes: Rc::default(), clock: Rc::new(clock), failing: Rc::default() }
    }

    /// Makes every call fail (`true`) or work again.
    pub fn fail(&self, failing: bool) {
        self.failing.set(failing);
    }

    /// The stored index text of `user`, if any (for tests).
    pub fn stored(&self, user: &str) -> Option<String> {
        self.indexes.borrow().get(user).cloned()
    }
}

impl UserIndex for MemoryUsers {
    fn call<'a>(&'a self, user: &'a str, body: String) -> LocalFuture<'a, Result<String, StoreError>> {
        Box::pin(async move {
            count(|c| c.do_call += 1);
            if self.failing.get() {
                return Err(BackendError::new(StoreOp::ObjectCall, "user index unreachable").into());
            }
            let mut indexes = self.indexes.borrow_mut();
            let step = index::handle(&body, indexes.get(user).map(String::as_str), self.clock.now());
            if let Some(text) = step.write {
                indexes.insert(user.to_owned(), text);
            }
            if step.delete_all {
                indexes.remove(user);
            }
            Ok(step.reply)
        })
    }
}

/// One of a user's sessions, as a list shows it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UserSession {
    /// Its public id: give it to [`Session::revoke_session`](crate::Session::revoke_session).
    pub id: String,
    /// When it logged in (Unix seconds).
    pub created: i64,
    /// The metadata given at login, if any.
    pub meta: Option<Map<String, Value>>,
    /// Whether it is the session of the request that asked.
    pub current: bool,
}

impl UserSession {
    /// The entry as the test endpoint shows it:
    /// `{"id", "created": ISO-8601, "current", "meta"}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "created": crate::datetime::DateTime::from_unix(self.created).to_iso(),
            "current": self.current,
            "meta": self.meta,
        })
    }
}

/// The user id a login may use: 1 to [`MAX_USER_ID_BYTES`] bytes, no control characters.
pub(crate) fn valid_user_id(user: &str) -> bool {
    !user.is_empty() && user.len() <= MAX_USER_ID_BYTES && !user.chars().any(char::is_control)
}

/// [`valid_user_id`], as the error the calls give.
pub(crate) fn check_user_id(user: &str) -> Result<(), crate::SessionError> {
    if valid_user_id(user) {
        Ok(())
    } else {
        Err(crate::SessionError::InvalidUser(format!(
            "a user id must be 1 to {MAX_USER_ID_BYTES} bytes without control characters"
        )))
    }
}

/// Sends `op` to `user`'s index and parses the reply.
pub(crate) async fn request(users: &dyn UserIndex, user: &str, op: &IndexOp) -> Result<Value, StoreError> {
    let reply = users.call(user, op.to_body()).await?;
    let value: Value = serde_json::from_str(&reply).map_err(|e| {
        StoreError::from(BackendError::new(StoreOp::ObjectCall, "the user index's reply").with_source(e))
    })?;
    if let Some(e) = value.get("error").and_then(Value::as_str) {
        return Err(BackendError::new(StoreOp::ObjectCall, format!("the user index failed: {e}")).into());
    }
    Ok(value)
}

pub(crate) fn entries(reply: &Value, field: &str) -> Vec<IndexEntry> {
    reply
        .get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(IndexEntry::from_json).collect())
        .unwrap_or_default()
}

/// What identifies the asking session in its user's index.
#[derive(Debug, Clone, Default)]
pub(crate) struct Current {
    pub key: Option<String>,
    pub id: Option<String>,
}

impl Current {
    /// Whether `e` is this session's entry.
    pub(crate) fn is(&self, e: &IndexEntry) -> bool {
        (self.key.is_some() && e.key == self.key) || (self.id.is_some() && Some(&e.id) == self.id.as_ref())
    }

    fn as_ref(&self) -> Option<EntryRef> {
        self.key.clone().map(EntryRef::Key).or_else(|| self.id.clone().map(EntryRef::Id))
    }
}

/// Enters a session; returns whether it was entered (`false`: `require`
/// and the replaced entry was revoked). Sessions evicted to make room are
/// revoked.
pub(crate) async fn add<S: SessionStore>(
    store: &S,
    users: &dyn UserIndex,
    user: &str,
    op: IndexOp,
) -> Result<bool, StoreError> {
    let reply = request(users, user, &op).await?;
    delete_records(store, users, user, &entries(&reply, "evicted")).await?;
    Ok(reply.get("added").and_then(Value::as_bool).unwrap_or(false))
}

/// The user's live sessions. On the server-side engines each entry's record
/// is looked up (one store read each) and the dead ones leave the index.
pub(crate) async fn list<S: SessionStore>(
    store: &S,
    users: &dyn UserIndex,
    user: &str,
    current: &Current,
    server_side: bool,
) -> Result<Vec<UserSession>, StoreError> {
    let listed = entries(&request(users, user, &IndexOp::List).await?, "entries");
    let mut live = Vec::with_capacity(listed.len());
    let mut dead = Vec::new();
    for e in listed {
        let alive = match (&e.key, server_side) {
            (Some(k), true) => match SessionKey::parse(k) {
                Some(key) => store.exists(&key).await?,
                None => false,
            },
            (None, false) => true,
            _ => false,
        };
        match (alive, e.key.clone()) {
            (true, _) => live.push(e),
            (false, Some(key)) => dead.push(key),
            (false, None) => {}
        }
    }
    if !dead.is_empty() {
        // By key, and only where the key is still the entry's: a `cycle_key`
        // that moved an entry meanwhile keeps it.
        request(users, user, &IndexOp::Prune(dead)).await?;
    }
    Ok(live
        .into_iter()
        .map(|e| UserSession { current: current.is(&e), id: e.id, created: e.created, meta: e.meta })
        .collect())
}

/// Which of a user's sessions to revoke.
pub(crate) enum Revoke<'a> {
    /// The one with this public id.
    One(&'a str),
    /// All of them, but the current one if given.
    All { keep: Option<&'a Current> },
}

/// Revokes sessions of `user`: their entries leave the index first (so a
/// concurrent save that checks the index sees them gone), then their
/// records are deleted. Returns the revoked entries. If a delete fails, the
/// entries whose records may remain are entered again and the error
/// returned, so a retry finds them.
pub(crate) async fn revoke<S: SessionStore>(
    store: &S,
    users: &dyn UserIndex,
    user: &str,
    which: Revoke<'_>,
) -> Result<Vec<IndexEntry>, StoreError> {
    let op = match which {
        Revoke::One(id) => IndexOp::Remove(vec![EntryRef::Id(id.to_owned())]),
        Revoke::All { keep } => IndexOp::RemoveAll(keep.and_then(Current::as_ref)),
    };
    let removed = entries(&request(users, user, &op).await?, "entries");
    delete_records(store, users, user, &removed).await?;
    Ok(removed)
}

/// Deletes the records of entries taken out of `user`'s index. If a delete
/// fails, the entries not deleted yet are put back (without evicting
/// anything) and the error returned, so the sessions stay listed and a
/// retry finds them.
pub(crate) async fn delete_records<S: SessionStore>(
    store: &S,
    users: &dyn UserIndex,
    user: &str,
    entries: &[IndexEntry],
) -> Result<(), StoreError> {
    for (i, entry) in entries.iter().enumerate() {
        let Some(key) = entry.key.as_deref().and_then(SessionKey::parse) else { continue };
        if let Err(e) = store.delete(&key).await {
            for left in entries[i..].iter().filter(|e| e.key.is_some()) {
                let back = IndexOp::Add {
                    entry: left.clone(),
                    replaces: None,
                    inherit: false,
                    require: false,
                    overflow: true,
                };
                let _ = request(users, user, &back).await;
            }
            return Err(e);
        }
    }
    Ok(())
}
