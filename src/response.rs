//! The response policy both front doors apply (the Rust `with_session` and
//! the npm package's `withSessions` / Hono middleware), so they cannot
//! disagree: how `Vary: Cookie` joins an existing `Vary` header, what a failed
//! finish answers, what a failing handler or a configuration error becomes,
//! and the names errors go by ([`ErrorName`], the `error` of the JSON both
//! exchange with JavaScript).

use std::fmt;

use crate::manager::FinishError;

/// Declares [`ErrorName`] from one list, so that each name is written once:
/// the variant is the name.
macro_rules! error_names {
    ($($(#[doc = $doc:literal])+ $name:ident,)+) => {
        /// The names of the crate's errors: the one table that every error's
        /// `name()` ([`SessionError::name`](crate::SessionError::name), [`FinishError::name`],
        /// [`StoreError::name`](crate::StoreError::name), ...), the ops endpoint's `{"error": name}` results
        /// and the npm package (its `SessionError.name`, through the wasm export
        /// `errorNames`) take their names from. Python's exception name where
        /// Django raises one.
        ///
        /// ```
        /// use edge_session::response::ErrorName;
        /// use edge_session::SessionError;
        ///
        /// assert_eq!(ErrorName::KeyError.as_str(), "KeyError");
        /// assert_eq!(SessionError::TooDeep.name(), ErrorName::ValueError.as_str());
        /// assert!(ErrorName::ALL.contains(&ErrorName::SessionInterrupted));
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorName {
            $($(#[doc = $doc])+ $name,)+
        }

        impl ErrorName {
            /// Every name, in the table's order.
            pub const ALL: &'static [ErrorName] = &[$(ErrorName::$name,)+];

            /// The name as text (the variant's own name).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorName::$name => stringify!($name),)+
                }
            }
        }
    };
}

error_names! {
    /// [`SessionError::KeyError`](crate::SessionError::KeyError): the key is not in the session (Python's `KeyError`).
    KeyError,
    /// [`SessionError::ReservedKey`](crate::SessionError::ReservedKey): a write to a key starting with `_`.
    ReservedKey,
    /// [`SessionError::InvalidExpiry`](crate::SessionError::InvalidExpiry) and [`SessionError::TooDeep`](crate::SessionError::TooDeep) (Python's `ValueError`).
    ValueError,
    /// [`SessionError::TypeMismatch`](crate::SessionError::TypeMismatch) and [`SessionError::NotJson`](crate::SessionError::NotJson) (Python's
    /// `TypeError`), and an op the ops layer cannot read.
    TypeError,
    /// A store failure: [`StoreError`](crate::StoreError), [`SessionError::Store`](crate::SessionError::Store),
    /// [`FinishError::Store`].
    StoreError,
    /// [`SessionError::Random`](crate::SessionError::Random): no random key could be made.
    RandomError,
    /// [`FinishError::Interrupted`]:
    /// Django's `SessionInterrupted`.
    SessionInterrupted,
    /// [`FinishError::TooLarge`].
    TooLarge,
    /// [`FinishError::CookieTooLarge`].
    CookieTooLarge,
    /// The Worker is not configured for the engine (`platform::ConfigError`).
    ConfigError,
    /// An ops request that was refused before anything ran
    /// ([`OpsError`](crate::ops::OpsError)).
    BadRequest,
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of a plain 500 (a store failure, a configuration error, a
/// failing handler): the detail goes to the log, never to the client.
pub const INTERNAL_ERROR_BODY: &str = "Internal Server Error";

/// The `Vary` header to set so that it includes `Cookie`, given the
/// response's existing one; `None` when it already varies on `Cookie` (or on
/// everything, `*`).
///
/// ```
/// use edge_session::response::vary_with_cookie;
/// assert_eq!(vary_with_cookie(None).as_deref(), Some("Cookie"));
/// assert_eq!(vary_with_cookie(Some("Accept-Encoding")).as_deref(), Some("Accept-Encoding, Cookie"));
/// assert_eq!(vary_with_cookie(Some("accept, COOKIE")), None);
/// assert_eq!(vary_with_cookie(Some("*")), None);
/// ```
pub fn vary_with_cookie(existing: Option<&str>) -> Option<String> {
    let existing = existing.unwrap_or("");
    let covered = existing.split(',').map(str::trim).any(|t| t.eq_ignore_ascii_case("cookie") || t == "*");
    match (covered, existing.trim().is_empty()) {
        (true, _) => None,
        (false, true) => Some("Cookie".to_owned()),
        (false, false) => Some(format!("{existing}, Cookie")),
    }
}

/// The status and body that replace a response whose session could not be
/// finished: Django's `SessionInterrupted` is a 400 that says what happened
/// (the user may have logged out in another tab); anything else is a plain
/// 500. No `Set-Cookie` is ever sent with either.
///
/// ```
/// use edge_session::FinishError;
/// use edge_session::response::failure;
/// assert_eq!(failure(&FinishError::Interrupted).0, 400);
/// assert_eq!(failure(&FinishError::TooLarge { bytes: 2 << 20 }), (500, "Internal Server Error".to_owned()));
/// ```
pub fn failure(e: &FinishError) -> (u16, String) {
    match e {
        FinishError::Interrupted => (e.status(), e.to_string()),
        _ => (500, INTERNAL_ERROR_BODY.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BackendError, StoreOp};

    #[test]
    fn vary_keeps_what_is_there_and_adds_cookie_once() {
        assert_eq!(vary_with_cookie(Some("")).as_deref(), Some("Cookie"));
        assert_eq!(vary_with_cookie(Some("  ")).as_deref(), Some("Cookie"));
        assert_eq!(vary_with_cookie(Some("Origin,Accept")).as_deref(), Some("Origin,Accept, Cookie"));
        assert_eq!(vary_with_cookie(Some("Cookie")), None);
        assert_eq!(vary_with_cookie(Some("origin, cookie")), None);
        assert_eq!(vary_with_cookie(Some("Cookies")).as_deref(), Some("Cookies, Cookie"), "tokens, not substrings");
    }

    #[test]
    fn only_session_interrupted_tells_the_client_why() {
        let (status, body) = failure(&FinishError::Interrupted);
        assert_eq!(status, 400);
        assert!(body.contains("logged out in a concurrent request"));
        let store = FinishError::Store(BackendError::new(StoreOp::KvPut, "503 secret-detail").into());
        assert_eq!(failure(&store), (500, INTERNAL_ERROR_BODY.to_owned()));
    }
}
