//! The Rust integration for `worker`-crate users (feature `workers`): the
//! fetch-handler wrapper and the `SessionObject` Durable Object class, over the
//! shared [`platform`](crate::platform) stores.
//!
//! ```ignore
//! use worker::*;
//!
//! #[event(fetch)]
//! async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
//!     edge_session::workers::with_session(req, &env, async |_req, session| {
//!         let visits = session.get::<i64>("visits").await?.unwrap_or(0) + 1;
//!         session.insert("visits", visits).await?;
//!         Response::ok(format!("visit {visits}"))
//!     })
//!     .await
//! }
//! ```

mod handler;
// The Durable Object macro generates undocumented wasm-bindgen exports.
#[allow(missing_docs)]
mod object;

pub use crate::platform::{AnyStore, ConfigError};
pub use handler::{with_session, Sessions};
pub use object::SessionObject;

/// Routes the core's warnings to `console.warn`.
pub(crate) fn console_warn(message: &str) {
    worker::console_warn!("edge-session: {message}");
}
