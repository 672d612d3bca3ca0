//! The fetch-handler integration for `worker`-crate users.
//!
//! [`with_session`] wraps a handler in one line: it loads the session from the
//! request's `Cookie` header (lazily: no store is touched until the handler
//! touches the session), hands it to the handler, then applies the response
//! plan: the store operations, `Set-Cookie` appended (never comma-folded with
//! other cookies), and `Vary: Cookie`. No cookie is sent for data that was
//! not saved: a failed save turns the response into a 500 (or Django's 400
//! for a session deleted meanwhile) without a cookie.

use worker::{console_error, Env, Request, Response};

use super::console_warn;
use crate::manager::{FinishError, Outcome, SessionManager};
use crate::platform::{manager_from_env, to_js_error, AnyStore, ConfigError, EnvSource};
use crate::response;
use crate::session::{Session, SessionError};

/// `e` as a `worker::Error`, keeping what `worker` 0.8.7 can keep.
///
/// Its `Error` cannot carry a Rust error as its `source()`: the variants that
/// wrap an error wrap particular types (`Io`, `SerdeJsonError`, ...), and
/// `RustError` is a string. It can carry a JavaScript error and that error's
/// `cause` chain (`UnknownJsError`, made from a `js_sys::Error`). So a failure
/// a JavaScript exception caused (a KV or Durable Object call that threw)
/// becomes a JS `Error` named after the failure (`StoreError`), with the whole
/// chain as its message and the exception as its `cause`: the
/// `worker::Error`'s `source()` is then that exception (`to_js_value()` gives
/// the value thrown), and a handler that returns the error hands the runtime
/// the same chain. Any other failure has no cause `worker::Error` could hold:
/// it keeps its message, the whole chain (`{:#}`), in `RustError`.
fn worker_error(e: &(dyn std::error::Error + 'static), name: &str) -> worker::Error {
    match crate::store::js_cause_of(e) {
        Some(_) => to_js_error(e, name).into(),
        None => worker::Error::RustError(format!("{e:#}")),
    }
}

impl From<SessionError> for worker::Error {
    fn from(e: SessionError) -> Self {
        worker_error(&e, e.name())
    }
}

impl From<FinishError> for worker::Error {
    fn from(e: FinishError) -> Self {
        worker_error(&e, e.name())
    }
}

impl From<ConfigError> for worker::Error {
    fn from(e: ConfigError) -> Self {
        worker_error(&e, e.name())
    }
}

/// Sessions for one request's `env`: the configured engine's store and the
/// per-isolate configuration.
pub struct Sessions {
    manager: SessionManager<AnyStore>,
}

impl Sessions {
    /// Reads the settings and bindings; a missing `SECRET_KEY`, a bad
    /// setting, or a missing binding for the engine is a [`ConfigError`].
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Self::from_source(&EnvSource::new(AsRef::<wasm_bindgen::JsValue>::as_ref(env).clone()))
    }

    /// [`from_env`](Self::from_env) with settings or bindings overridden
    /// ([`EnvSource::set`], [`EnvSource::set_kv`], ...).
    pub fn from_source(source: &EnvSource) -> Result<Self, ConfigError> {
        Ok(Self { manager: manager_from_env(source, console_warn)? })
    }

    /// The manager, for sessions outside a request: [`SessionManager::open`]
    /// by key, [`SessionManager::save`], [`SessionManager::clear_expired`],
    /// [`SessionManager::decode`].
    pub fn manager(&self) -> &SessionManager<AnyStore> {
        &self.manager
    }

    /// The request's session (no store access yet).
    pub fn session(&self, req: &Request) -> Session<AnyStore> {
        let header = req.headers().get("Cookie").ok().flatten();
        self.manager.session(header.as_deref().map(str::as_bytes))
    }

    /// Finishes `response`: executes the plan and adds the headers.
    pub async fn finish(&self, session: Session<AnyStore>, response: Response) -> worker::Result<Response> {
        match self.manager.finish(session, response.status_code()).await {
            Ok(outcome) => apply(outcome, response),
            Err(e) => {
                console_error!("edge-session: {e:#}");
                let (status, body) = response::failure(&e);
                Response::error(body, status)
            }
        }
    }

    /// Runs `handler` with the request's session and finishes its response.
    /// A handler error (such as a store that failed to load the session) is
    /// logged and answered with a 500; nothing is saved.
    pub async fn handle<F>(&self, req: Request, handler: F) -> worker::Result<Response>
    where
        F: AsyncFnOnce(Request, &mut Session<AnyStore>) -> worker::Result<Response>,
    {
        let mut session = self.session(&req);
        let response = match handler(req, &mut session).await {
            Ok(r) => r,
            Err(e) => {
                console_error!("edge-session: handler failed: {e}");
                Response::error(response::INTERNAL_ERROR_BODY, 500)?
            }
        };
        self.finish(session, response).await
    }
}

/// Wraps a fetch handler: `with_session(req, &env, async |req, session| { ... }).await`.
/// A configuration error (a missing `SECRET_KEY`, a bad setting, a missing
/// binding) is logged with its detail and answered with a plain 500
/// `Internal Server Error`: the detail names settings and bindings, which is
/// for the operator's log, not for the client. The npm package's
/// `withSessions` does the same.
pub async fn with_session<F>(req: Request, env: &Env, handler: F) -> worker::Result<Response>
where
    F: AsyncFnOnce(Request, &mut Session<AnyStore>) -> worker::Result<Response>,
{
    match Sessions::from_env(env) {
        Ok(sessions) => sessions.handle(req, handler).await,
        Err(e) => {
            console_error!("{e:#}");
            Response::error(response::INTERNAL_ERROR_BODY, 500)
        }
    }
}

/// Adds `Set-Cookie` (appended, never folded) and `Vary: Cookie`.
fn apply(outcome: Outcome, mut response: Response) -> worker::Result<Response> {
    let headers = response.headers_mut();
    if let Some(cookie) = outcome.set_cookie {
        headers.append("Set-Cookie", &cookie)?;
    }
    if outcome.vary_cookie {
        if let Some(vary) = response::vary_with_cookie(headers.get("Vary")?.as_deref()) {
            headers.set("Vary", &vary)?;
        }
    }
    Ok(response)
}
