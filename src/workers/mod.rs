//! Cloudflare Workers glue (feature `workers`): the KV cache, the Durable
//! Object store and class, settings from Workers vars and secrets, and the
//! fetch-handler integration. It executes the core's decisions; it decides
//! nothing itself.
//!
//! ```ignore
//! use edge_session::workers::Sessions;
//! use worker::*;
//!
//! #[event(fetch)]
//! async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
//!     edge_session::workers::with_session(req, &env, async |_req, session| {
//!         let visits = session.get("visits").await?.and_then(|v| v.as_i64()).unwrap_or(0) + 1;
//!         session.set("visits", visits.into()).await?;
//!         Response::ok(format!("visit {visits}"))
//!     })
//!     .await
//! }
//! ```

mod any;
pub(crate) mod env;
mod handler;
mod kv;
// The Durable Object macro generates undocumented wasm-bindgen exports.
#[allow(missing_docs)]
mod object;

pub use any::AnyStore;
pub use env::{settings_from_env, ConfigError, DEFAULT_DO_BINDING, DEFAULT_KV_BINDING};
pub use handler::{with_session, Sessions};
pub use kv::KvCache;
pub use object::{DurableStore, SessionObject};

use crate::clock::Clock;

/// The clock of a Worker: `Date.now()`, in whole seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkersClock;

impl Clock for WorkersClock {
    fn now(&self) -> i64 {
        (js_sys::Date::now() / 1000.0).floor() as i64
    }
}

/// Routes the core's warnings to `console.warn`.
pub fn install_console_warnings() {
    crate::log::set_warn_hook(|m| worker::console_warn!("edge-session: {m}"));
}

fn backend_error(what: &str, e: impl std::fmt::Display) -> crate::store::StoreError {
    crate::store::StoreError::Backend(format!("{what}: {e}"))
}
