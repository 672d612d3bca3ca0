//! The response policy both front doors apply (the Rust `with_session` and
//! the npm package's `withSessions` / Hono middleware), so they cannot
//! disagree: how `Vary: Cookie` joins an existing `Vary` header, what a failed
//! finish answers, and what a failing handler or a configuration error becomes.

use crate::manager::FinishError;

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
    use crate::store::StoreError;

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
        let store = FinishError::Store(StoreError::Backend("KV PUT failed: 503 secret-detail".into()));
        assert_eq!(failure(&store), (500, INTERNAL_ERROR_BODY.to_owned()));
    }
}
