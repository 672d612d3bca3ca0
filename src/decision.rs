//! The middleware's response decision, as a pure function.
//!
//! [`decide`] is Django's `SessionMiddleware.process_response` with every
//! input made explicit, returning a [`ResponsePlan`] that the manager (or any
//! platform glue) executes. The rules, in Django's order:
//!
//! 1. The request carried the session cookie and the session is now empty:
//!    delete the cookie, add `Vary: Cookie` (the record was already dropped by
//!    `flush`, or never existed).
//! 2. Otherwise, `Vary: Cookie` when the session was accessed.
//! 3. When modified, or `SESSION_SAVE_EVERY_REQUEST`, and not empty: save and
//!    set the cookie (`Max-Age`/`expires` from the session's expiry, none for a
//!    browser-length session) — but not on a 5xx response.
//! 4. Otherwise nothing: an untouched or empty new session writes nothing and
//!    sends no cookie.
//!
//! Records named by `flush` are deleted whatever the status, as Django deletes
//! them inside `flush`; the manager does that before executing the plan. A
//! session whose cookie or data verified only with a key from
//! `SECRET_KEY_FALLBACKS` counts as modified, so it is re-signed under the
//! current key.

use crate::cookie::Lifetime;

/// What is known when the response is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The request carried a cookie with the session cookie's name (any value).
    pub had_cookie: bool,
    /// `session.accessed`.
    pub accessed: bool,
    /// `session.modified`.
    pub modified: bool,
    /// `session.is_empty()`.
    pub empty: bool,
    /// `SESSION_SAVE_EVERY_REQUEST`.
    pub save_every_request: bool,
    /// The response's HTTP status.
    pub status: u16,
    /// `session.get_expire_at_browser_close()` (only read when saving).
    pub expire_at_browser_close: bool,
    /// `session.get_expiry_age()` at `now` (only read when saving).
    pub expiry_age: i64,
    /// The current time.
    pub now: i64,
}

/// What to do with the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieAction {
    /// Send no `Set-Cookie`.
    Keep,
    /// Send the deletion cookie.
    Delete,
    /// Send the session cookie with this lifetime.
    Set(Lifetime),
}

/// The response plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponsePlan {
    /// Add `Vary: Cookie`.
    pub vary_cookie: bool,
    /// Save the session (create or update its record; re-sign a signed cookie).
    pub save: bool,
    /// What to do with the cookie (after a successful save, for `Set`).
    pub cookie: CookieAction,
}

/// Django's `process_response` as a pure function.
///
/// ```
/// use edge_session::{testing::internals::{decide, Facts}, CookieAction};
/// let untouched = Facts { had_cookie: false, accessed: false, modified: false, empty: true,
///     save_every_request: false, status: 200, expire_at_browser_close: false,
///     expiry_age: 1_209_600, now: 0 };
/// let plan = decide(&untouched);
/// assert!(!plan.save && !plan.vary_cookie && plan.cookie == CookieAction::Keep);
/// ```
pub fn decide(f: &Facts) -> ResponsePlan {
    if f.had_cookie && f.empty {
        return ResponsePlan { vary_cookie: true, save: false, cookie: CookieAction::Delete };
    }
    let mut plan = ResponsePlan { vary_cookie: f.accessed, save: false, cookie: CookieAction::Keep };
    if f.status >= 500 || f.empty {
        return plan;
    }
    if f.modified || f.save_every_request {
        plan.save = true;
        plan.cookie = CookieAction::Set(if f.expire_at_browser_close {
            Lifetime::BrowserSession
        } else {
            Lifetime::MaxAge { max_age: f.expiry_age, now: f.now }
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            had_cookie: true,
            accessed: true,
            modified: false,
            empty: false,
            save_every_request: false,
            status: 200,
            expire_at_browser_close: false,
            expiry_age: 1_209_600,
            now: 1000,
        }
    }

    #[test]
    fn vary_cookie_when_accessed() {
        assert!(decide(&facts()).vary_cookie);
        assert!(!decide(&Facts { accessed: false, ..facts() }).vary_cookie);
    }

    #[test]
    fn emptied_session_with_cookie_deletes_cookie_and_varies() {
        let plan = decide(&Facts { empty: true, accessed: false, modified: true, ..facts() });
        assert_eq!(plan, ResponsePlan { vary_cookie: true, save: false, cookie: CookieAction::Delete });
    }

    #[test]
    fn emptied_session_deletes_cookie_even_on_5xx() {
        assert_eq!(decide(&Facts { empty: true, status: 503, ..facts() }).cookie, CookieAction::Delete);
    }

    #[test]
    fn empty_session_without_cookie_writes_nothing() {
        let plan = decide(&Facts { had_cookie: false, empty: true, modified: true, ..facts() });
        assert_eq!(plan, ResponsePlan { vary_cookie: true, save: false, cookie: CookieAction::Keep });
    }

    #[test]
    fn untouched_session_writes_nothing_and_does_not_vary() {
        let plan = decide(&Facts { accessed: false, ..facts() });
        assert_eq!(plan, ResponsePlan { vary_cookie: false, save: false, cookie: CookieAction::Keep });
    }

    #[test]
    fn accessed_unmodified_session_is_not_saved() {
        let plan = decide(&facts());
        assert!(!plan.save);
        assert_eq!(plan.cookie, CookieAction::Keep);
    }

    #[test]
    fn modified_session_is_saved_with_max_age_and_expires() {
        let plan = decide(&Facts { modified: true, expiry_age: 300, ..facts() });
        assert!(plan.save);
        assert_eq!(plan.cookie, CookieAction::Set(Lifetime::MaxAge { max_age: 300, now: 1000 }));
    }

    #[test]
    fn browser_length_session_has_no_max_age() {
        let plan = decide(&Facts { modified: true, expire_at_browser_close: true, ..facts() });
        assert_eq!(plan.cookie, CookieAction::Set(Lifetime::BrowserSession));
    }

    #[test]
    fn save_every_request_saves_unmodified_sessions() {
        let plan = decide(&Facts { save_every_request: true, ..facts() });
        assert!(plan.save);
        assert!(matches!(plan.cookie, CookieAction::Set(_)));
        // ...but never an empty one.
        let plan = decide(&Facts { save_every_request: true, had_cookie: false, empty: true, ..facts() });
        assert!(!plan.save);
    }

    #[test]
    fn nothing_is_saved_on_a_5xx_response() {
        for status in [500, 502, 599] {
            let plan = decide(&Facts { modified: true, status, ..facts() });
            assert!(!plan.save, "{status}");
            assert_eq!(plan.cookie, CookieAction::Keep);
            assert!(plan.vary_cookie);
        }
        assert!(decide(&Facts { modified: true, status: 499, ..facts() }).save);
    }
}
