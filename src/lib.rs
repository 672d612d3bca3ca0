//! # edge-session
//!
//! Django's session framework for Cloudflare Workers.
//!
//! The crate is layered (see `README.md`):
//!
//! 1. a **pure core** (this crate's default build): [`settings`], [`key`] and
//!    [`cookie`] handling, Django-compatible [`signing`], the stored [`record`], the
//!    [`session`] with Django's dictionary semantics and its [`expiry`] maths, and
//!    the middleware's [`decision`] as a pure function;
//! 2. [`store`]s behind one small async trait, with a memory store and a
//!    conformance suite;
//! 3. the [`manager`] that loads a session from a request and executes the
//!    decision against a store;
//! 4. with the `testing` feature (and in the crate's own tests), `testing`:
//!    the stores' test doubles, a fake Workers KV and a fake Durable Object,
//!    with fault injection.
//!
//! Time and randomness come in from outside ([`clock::Clock`], [`key::KeySource`]),
//! so every rule is testable with a fixed clock.
//!
//! ```
//! use edge_session::prelude::*;
//! # pollster::block_on(async {
//! let settings = Settings::from_pairs([("SECRET_KEY", "a long random secret")]).unwrap();
//! let clock = FixedClock::new(1_765_000_000);
//! let store = MemoryStore::new(clock.clone());
//! let manager = SessionManager::new(settings, store, clock.clone(), OsKeySource);
//!
//! // A request without a cookie: the handler stores something.
//! let mut session = manager.load(None);
//! session.set("cart", serde_json::json!([1, 2])).await.unwrap();
//! let outcome = manager.finish(session, 200).await.unwrap();
//! let set_cookie = outcome.set_cookie.unwrap();
//! assert!(set_cookie.starts_with("sessionid="));
//!
//! // The next request sends the cookie back and reads the data.
//! let cookie = set_cookie.split(';').next().unwrap();
//! let mut session = manager.load(Some(cookie.as_bytes()));
//! assert_eq!(session.get("cart").await.unwrap(), Some(serde_json::json!([1, 2])));
//! # });
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod clock;
pub mod cookie;
pub mod datetime;
pub mod decision;
pub mod encoding;
pub mod expiry;
#[cfg(feature = "js")]
#[cfg_attr(docsrs, doc(cfg(feature = "js")))]
pub mod js;
pub mod key;
pub mod log;
pub mod manager;
pub mod metrics;
pub mod ops;
#[cfg(feature = "platform")]
#[cfg_attr(docsrs, doc(cfg(feature = "platform")))]
pub mod platform;
pub mod record;
pub mod response;
pub mod session;
pub mod settings;
pub mod signing;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(feature = "workers")]
#[cfg_attr(docsrs, doc(cfg(feature = "workers")))]
pub mod workers;

/// The README's examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The names most programs need.
pub mod prelude {
    #[cfg(not(target_arch = "wasm32"))]
    pub use crate::clock::SystemClock;
    pub use crate::clock::{Clock, FixedClock};
    pub use crate::expiry::Expiry;
    pub use crate::key::{KeySource, OsKeySource, SessionKey};
    pub use crate::manager::{FinishError, Outcome, SessionConfig, SessionManager};
    pub use crate::session::{Session, SessionError};
    pub use crate::settings::{Engine, SameSite, Settings, SettingsError};
    pub use crate::store::memory::MemoryStore;
    pub use crate::store::{Record, SessionStore, StoreError};
}
