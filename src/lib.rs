//! # edge-session
//!
//! Django's session framework for Cloudflare Workers.
//!
//! What is public (see `README.md`, "What is public"):
//!
//! * the session API: [`SessionManager`] (reads a request's cookie into a lazy
//!   [`Session`] and finishes the response), [`Session`] with Django's
//!   dictionary semantics, typed values and expiry ([`Expiry`]), validated
//!   [`Settings`], and their errors;
//! * for store implementers, [`store`]: the [`SessionStore`] trait, the
//!   [`Record`] every server-side engine stores, [`store::MemoryStore`], the
//!   cache combinators of `cache` and `cached_db`, the `file` engine over any
//!   object store with conditional puts, and the conformance suite;
//! * with the `workers` feature, `workers` (the `worker`-crate front door and
//!   the `SessionObject` Durable Object class); with `platform`, the KV,
//!   Durable Object and R2 stores over raw bindings;
//! * with the `testing` feature, `testing`: a fake Workers KV, a fake Durable
//!   Object, a fake R2 bucket and fault injection, for tests of code built on this crate.
//!
//! Time and randomness come in from outside ([`Clock`], [`KeySource`]), so
//! every rule is testable with a fixed clock.
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
//! let mut session = manager.session(None);
//! session.set("cart", serde_json::json!([1, 2])).await.unwrap();
//! let outcome = manager.finish(session, 200).await.unwrap();
//! let set_cookie = outcome.set_cookie.unwrap();
//! assert!(set_cookie.starts_with("sessionid="));
//!
//! // The next request sends the cookie back and reads the data.
//! let cookie = set_cookie.split(';').next().unwrap();
//! let mut session = manager.session(Some(cookie.as_bytes()));
//! assert_eq!(session.get("cart").await.unwrap(), Some(serde_json::json!([1, 2])));
//! # });
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The modules are private: what a user needs is re-exported below, and the
// rest is free to change. Public modules are the ones whose items are API
// as a group: `store` (for store implementers), the Workers front doors
// (`workers`, `platform`), and the test doubles (`testing`).
mod clock;
mod cookie;
mod datetime;
mod decision;
mod encoding;
mod expiry;
#[cfg(feature = "js")]
#[doc(hidden)] // The npm package's wasm-bindgen API: JavaScript users go through npm/index.js.
pub mod js;
mod key;
mod log;
mod manager;
pub mod messages;
mod metrics;
#[doc(hidden)] // The test endpoint's op runner (docs/test-api.md), for the demo and test workers.
pub mod ops;
#[cfg(feature = "platform")]
#[cfg_attr(docsrs, doc(cfg(feature = "platform")))]
pub mod platform;
mod record;
pub mod response;
mod session;
mod settings;
mod signing;
pub mod store;
#[cfg(any(test, feature = "testing"))]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod users;
#[cfg(feature = "workers")]
#[cfg_attr(docsrs, doc(cfg(feature = "workers")))]
pub mod workers;

#[cfg(not(target_arch = "wasm32"))]
pub use clock::SystemClock;
pub use clock::{Clock, FixedClock};
pub use cookie::Lifetime;
pub use datetime::{DateTime, DateTimeError};
pub use decision::{CookieAction, ResponsePlan};
pub use expiry::Expiry;
pub use key::{KeySource, OsKeySource, RandomError, SessionKey};
pub use manager::{FinishError, Outcome, SessionConfig, SessionManager, MAX_COOKIE_BYTES};
pub use metrics::{counters, Counters};
pub use record::{CorruptRecord, MAX_RECORD_BYTES};
pub use session::{Session, SessionError, MAX_DEPTH, TEST_COOKIE_NAME, TEST_COOKIE_VALUE};
pub use settings::{CookieConfig, Engine, SameSite, Settings, SettingsError, SETTING_NAMES};
pub use signing::MAX_DECOMPRESSED;
pub use store::{Record, Saved, SessionStore, StoreError};

/// The README's examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The names most programs need.
pub mod prelude {
    pub use crate::store::MemoryStore;
    #[cfg(not(target_arch = "wasm32"))]
    pub use crate::SystemClock;
    pub use crate::{Clock, FixedClock};
    pub use crate::{Engine, SameSite, Settings, SettingsError};
    pub use crate::{Expiry, Session, SessionError};
    pub use crate::{FinishError, Outcome, SessionConfig, SessionManager};
    pub use crate::{KeySource, OsKeySource, SessionKey};
    pub use crate::{Record, SessionStore, StoreError};
}
