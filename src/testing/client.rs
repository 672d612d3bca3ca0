//! Test helpers for the people who use edge-session (Django's test client's
//! `force_login()` and `client.session`): start a request logged in, or with
//! given data, and read the session a response left. They go through the
//! manager and its store, so the code under test reads what they wrote.

use serde_json::{Map, Value};

use crate::manager::{FinishError, SessionManager};
use crate::session::SessionError;
use crate::store::SessionStore;

/// A new session holding `data` (keys not starting with `_`), saved in the
/// manager's store; the `Cookie` header to send (`sessionid=…`).
///
/// # Errors
///
/// [`FinishError::Session`] for a reserved key or a value that cannot be
/// stored, and the save's own errors ([`SessionManager::save`]).
///
/// # Examples
///
/// ```
/// use edge_session::prelude::*;
/// use edge_session::testing::client::{read_session, session_cookie};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
/// let clock = FixedClock::new(1_765_000_000);
/// let settings = Settings::from_pairs([("SECRET_KEY", "test")])?;
/// let manager = SessionManager::new(settings, MemoryStore::new(clock.clone()), clock, OsKeySource);
/// let data = serde_json::json!({"cart": [1, 2]}).as_object().cloned().unwrap_or_default();
/// let cookie = session_cookie(&manager, data.clone()).await?;
/// assert!(cookie.starts_with("sessionid="));
/// assert_eq!(read_session(&manager, &cookie).await?, Some(data));
/// # Ok(()) }) }
/// ```
pub async fn session_cookie<S: SessionStore + Clone>(
    manager: &SessionManager<S>,
    data: Map<String, Value>,
) -> Result<String, FinishError> {
    let mut session = manager.new_session();
    session.update(data).await.map_err(FinishError::Session)?;
    saved(manager, &mut session).await
}

/// A new session logged in as `user` (Django's `force_login`: `login()`,
/// which also enters the user's index with `SESSION_USER_INDEX`), holding
/// `data` too; the `Cookie` header to send.
///
/// # Errors
///
/// As [`session_cookie`], and [`SessionError::InvalidUser`] for a bad user id.
///
/// # Examples
///
/// ```
/// use edge_session::prelude::*;
/// use edge_session::testing::client::login_cookie;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
/// # let clock = FixedClock::new(1_765_000_000);
/// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "test")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
/// let cookie = login_cookie(&manager, "42", Default::default()).await?;
/// let mut session = manager.session(Some(cookie.as_bytes())); // the request under test
/// assert_eq!(session.user_id().await?.as_deref(), Some("42"));
/// # Ok(()) }) }
/// ```
pub async fn login_cookie<S: SessionStore + Clone>(
    manager: &SessionManager<S>,
    user: &str,
    data: Map<String, Value>,
) -> Result<String, FinishError> {
    let mut session = manager.new_session();
    session.login(user, None).await.map_err(FinishError::Session)?;
    session.update(data).await.map_err(FinishError::Session)?;
    saved(manager, &mut session).await
}

async fn saved<S: SessionStore + Clone>(
    manager: &SessionManager<S>,
    session: &mut crate::Session<S>,
) -> Result<String, FinishError> {
    let value = manager.save(session).await?.unwrap_or_default();
    Ok(format!("{}={value}", manager.settings().cookie().name()))
}

/// The data of the session a `Set-Cookie` header value, or a `Cookie`
/// header, points to: `None` when it deletes the cookie (`Max-Age=0`) or
/// leads to no session (forged, expired, logged out).
///
/// # Errors
///
/// - [`SessionError::KeyError`] naming the cookie when the header carries no
///   session cookie at all, so a test cannot pass on a response that set nothing.
/// - [`SessionError::Store`] when the store fails to load it.
pub async fn read_session<S: SessionStore + Clone>(
    manager: &SessionManager<S>,
    header: &str,
) -> Result<Option<Map<String, Value>>, SessionError> {
    let name = manager.settings().cookie().name();
    let ours = |p: &&str| p.split_once('=').is_some_and(|(n, _)| n.trim() == name);
    let mut parts = header.split(';').map(str::trim);
    let pair = match parts.next().filter(ours) {
        // A Set-Cookie value (its attributes follow), or a Cookie header that starts with ours.
        Some(_) if parts.clone().any(|a| a.eq_ignore_ascii_case("max-age=0")) => return Ok(None),
        Some(first) => first,
        None => header.split(';').map(str::trim).find(ours).ok_or_else(|| SessionError::KeyError(name.to_owned()))?,
    };
    let mut session = manager.session(Some(pair.as_bytes()));
    let items: Map<String, Value> = session.items().await?.into_iter().collect();
    Ok((!items.is_empty() || session.session_key().is_some()).then_some(items))
}
