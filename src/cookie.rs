//! The `Cookie` request header, read by browser rules, and the `Set-Cookie`
//! response header, written as Django writes it.
//!
//! # Reading
//! * pairs are split on `;` only (a `,` never separates cookies);
//! * name and value are split at the first `=`; a pair without `=` is a
//!   cookie with an empty name (RFC 6265bis), which no lookup by name finds;
//! * only space and tab are trimmed around names and values;
//! * one surrounding pair of double quotes is removed from a value; nothing
//!   is percent- or backslash-unescaped;
//! * names are compared byte for byte, case-sensitively;
//! * **duplicates: the first occurrence wins.** Browsers send the cookie with
//!   the longest matching path first, so the first is the most specific one;
//! * a header longer than [`MAX_HEADER_BYTES`] is ignored whole (Cloudflare
//!   refuses requests whose headers exceed 32 KiB, so this never drops a
//!   header a browser could send), and at most [`MAX_PAIRS`] pairs are read;
//! * the work is one linear pass over the bytes, and no input panics.

use crate::datetime::http_date;
use crate::settings::{CookieConfig, SameSite};

/// Headers longer than this are ignored whole.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Pairs after this many are ignored.
pub const MAX_PAIRS: usize = 256;

/// The cookie pairs of a `Cookie` header, in order.
///
/// ```
/// use edge_session::testing::internals::pairs;
/// let got: Vec<_> = pairs(b"a=1; b=\"two\"; c").collect();
/// assert_eq!(got, vec![(&b"a"[..], &b"1"[..]), (&b"b"[..], &b"two"[..]), (&b""[..], &b"c"[..])]);
/// ```
pub fn pairs(header: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let header = if header.len() > MAX_HEADER_BYTES { &[][..] } else { header };
    header
        .split(|&b| examined(b == b';'))
        .filter_map(|pair| {
            let pair = trim(pair);
            if pair.is_empty() {
                return None;
            }
            Some(match pair.iter().position(|&b| examined(b == b'=')) {
                Some(eq) => (trim(&pair[..eq]), unquote(trim(&pair[eq + 1..]))),
                None => (&[][..], unquote(pair)),
            })
        })
        .take(MAX_PAIRS)
}

/// The value of the first cookie named `name`, if any.
///
/// ```
/// use edge_session::testing::internals::find;
/// assert_eq!(find(b"a=1, sessionid=x", "sessionid"), None);
/// assert_eq!(find(b"sessionid=first; sessionid=second", "sessionid"), Some(&b"first"[..]));
/// ```
pub fn find<'h>(header: &'h [u8], name: &str) -> Option<&'h [u8]> {
    pairs(header).find(|(n, _)| *n == name.as_bytes()).map(|(_, v)| v)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = examined(rest);
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = examined(rest);
    }
    s
}

#[cfg(test)]
thread_local! {
    /// Bytes looked at by the reader, to test that it is linear.
    static EXAMINED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts one byte looked at (in tests only; compiles to nothing otherwise).
#[inline(always)]
fn examined<T>(value: T) -> T {
    #[cfg(test)]
    EXAMINED.with(|c| c.set(c.get() + 1));
    value
}

fn unquote(s: &[u8]) -> &[u8] {
    match s {
        [b'"', inner @ .., b'"'] => inner,
        _ => s,
    }
}

/// How long a cookie lives in the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lifetime {
    /// Until the browser closes: no `expires`, no `Max-Age`.
    BrowserSession,
    /// `Max-Age` seconds from `now`, with the matching `expires` date.
    MaxAge {
        /// Seconds the cookie lives.
        max_age: i64,
        /// The current time, for `expires`.
        now: i64,
    },
}

/// The `Set-Cookie` value Django's `response.set_cookie` writes for the
/// session cookie: attributes in Python's `SimpleCookie` order (Domain,
/// expires, HttpOnly, Max-Age, Path, SameSite, Secure).
///
/// ```
/// use edge_session::{testing::internals::set_cookie, Lifetime};
/// use edge_session::Settings;
/// let s = Settings::from_pairs([("SECRET_KEY", "k")]).unwrap();
/// let header = set_cookie(s.cookie(), "VALUE", Lifetime::MaxAge { max_age: 1_209_600, now: 1_796_889_600 - 1_209_600 });
/// assert_eq!(header, "sessionid=VALUE; expires=Thu, 10 Dec 2026 08:00:00 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax");
/// ```
pub fn set_cookie(config: &CookieConfig, value: &str, lifetime: Lifetime) -> String {
    let mut out = format!("{}={value}", config.name);
    if let Some(domain) = &config.domain {
        out.push_str("; Domain=");
        out.push_str(domain);
    }
    if let Lifetime::MaxAge { max_age, now } = lifetime {
        out.push_str("; expires=");
        out.push_str(&http_date(now.saturating_add(max_age)));
    }
    if config.httponly {
        out.push_str("; HttpOnly");
    }
    if let Lifetime::MaxAge { max_age, .. } = lifetime {
        out.push_str(&format!("; Max-Age={max_age}"));
    }
    push_path_samesite_secure(&mut out, config, config.secure);
    out
}

/// The cookie Django's `response.delete_cookie` writes:
/// `sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/`,
/// with the configured Domain, Path and SameSite. `Secure` (and `HttpOnly`)
/// are added where a browser would otherwise ignore the deletion: a
/// `__Secure-`/`__Host-` name, or `SameSite=None`.
///
/// ```
/// use edge_session::testing::internals::delete_cookie;
/// use edge_session::Settings;
/// let s = Settings::from_pairs([("SECRET_KEY", "k")]).unwrap();
/// assert_eq!(delete_cookie(s.cookie()), "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax");
/// ```
pub fn delete_cookie(config: &CookieConfig) -> String {
    let prefixed = config.name.starts_with("__Secure-") || config.name.starts_with("__Host-");
    let mut out = format!("{}=\"\"", config.name);
    if let Some(domain) = &config.domain {
        out.push_str("; Domain=");
        out.push_str(domain);
    }
    out.push_str("; expires=Thu, 01 Jan 1970 00:00:00 GMT");
    if prefixed {
        out.push_str("; HttpOnly");
    }
    out.push_str("; Max-Age=0");
    let secure = prefixed || config.samesite == Some(SameSite::None);
    push_path_samesite_secure(&mut out, config, secure);
    out
}

fn push_path_samesite_secure(out: &mut String, config: &CookieConfig, secure: bool) {
    out.push_str("; Path=");
    out.push_str(&config.path);
    if let Some(samesite) = config.samesite {
        out.push_str("; SameSite=");
        out.push_str(samesite.as_str());
    }
    if secure {
        out.push_str("; Secure");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use proptest::prelude::*;

    fn names_values(h: &[u8]) -> Vec<(String, String)> {
        pairs(h).map(|(n, v)| (String::from_utf8_lossy(n).into(), String::from_utf8_lossy(v).into())).collect()
    }

    #[test]
    fn splits_on_semicolon_only_and_at_the_first_equals() {
        assert_eq!(
            names_values(b"a=1, sessionid=x;b=c=d"),
            vec![("a".into(), "1, sessionid=x".into()), ("b".into(), "c=d".into())]
        );
    }

    #[test]
    fn trims_only_space_and_tab() {
        assert_eq!(names_values(b" \ta\t= 1 ;"), vec![("a".into(), "1".into())]);
        // U+00A0 (no-break space) is part of the name, so `sessionid` is not found.
        assert_eq!(find("\u{a0}sessionid=x".as_bytes(), "sessionid"), None);
        assert_eq!(find(b"\nsessionid=x", "sessionid"), None);
    }

    #[test]
    fn removes_one_pair_of_quotes_and_nothing_else() {
        assert_eq!(find(b"a=\"\"x\"\"", "a"), Some(&b"\"x\""[..]));
        assert_eq!(find(b"a=\"", "a"), Some(&b"\""[..]));
        assert_eq!(find(b"a=%41\\x", "a"), Some(&b"%41\\x"[..]));
    }

    #[test]
    fn names_are_case_sensitive_and_first_duplicate_wins() {
        assert_eq!(find(b"SESSIONID=a; sessionid=b; sessionid=c", "sessionid"), Some(&b"b"[..]));
    }

    #[test]
    fn oversized_headers_and_excess_pairs_are_ignored() {
        let mut big = b"sessionid=x; ".to_vec();
        big.resize(MAX_HEADER_BYTES + 1, b'a');
        assert_eq!(find(&big, "sessionid"), None);
        let many: String = (0..MAX_PAIRS).map(|i| format!("c{i}=v; ")).collect::<String>() + "late=1";
        assert_eq!(find(many.as_bytes(), "late"), None);
        assert_eq!(find(many.as_bytes(), "c255"), Some(&b"v"[..]));
    }

    #[test]
    fn set_cookie_has_domain_and_secure_when_configured() {
        let s = Settings::from_pairs([
            ("SECRET_KEY", "k"),
            ("SESSION_COOKIE_DOMAIN", ".example.com"),
            ("SESSION_COOKIE_SECURE", "true"),
        ])
        .unwrap();
        assert_eq!(
            set_cookie(&s.cookie, "V", Lifetime::MaxAge { max_age: 60, now: 0 }),
            "sessionid=V; Domain=.example.com; expires=Thu, 01 Jan 1970 00:01:00 GMT; HttpOnly; Max-Age=60; Path=/; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn browser_session_cookie_has_no_expiry() {
        let s = Settings::from_pairs([("SECRET_KEY", "k"), ("SESSION_COOKIE_SAMESITE", "off")]).unwrap();
        assert_eq!(set_cookie(&s.cookie, "V", Lifetime::BrowserSession), "sessionid=V; HttpOnly; Path=/");
    }

    #[test]
    fn deletion_of_prefixed_or_samesite_none_cookies_is_secure() {
        let s = Settings::from_pairs([
            ("SECRET_KEY", "k"),
            ("SESSION_COOKIE_NAME", "__Host-sid"),
            ("SESSION_COOKIE_SECURE", "1"),
            ("SESSION_COOKIE_SAMESITE", "Strict"),
        ])
        .unwrap();
        assert_eq!(
            delete_cookie(&s.cookie),
            "__Host-sid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Max-Age=0; Path=/; SameSite=Strict; Secure"
        );
        let none = Settings::from_pairs([
            ("SECRET_KEY", "k"),
            ("SESSION_COOKIE_DOMAIN", "example.com"),
            ("SESSION_COOKIE_PATH", "/app"),
            ("SESSION_COOKIE_SECURE", "1"),
            ("SESSION_COOKIE_SAMESITE", "None"),
        ])
        .unwrap();
        assert_eq!(
            delete_cookie(&none.cookie),
            "sessionid=\"\"; Domain=example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/app; SameSite=None; Secure"
        );
    }

    proptest! {
        #[test]
        fn reader_time_is_linear_in_input(bytes in proptest::collection::vec(prop_oneof![Just(b' '), Just(b'\t'), Just(b';'), Just(b'='), Just(b'"'), any::<u8>()], 0..1024)) {
            prop_assert!(bytes_examined(&bytes) <= 3 * bytes.len() + 2);
        }

        #[test]
        fn reader_never_panics_and_yields_trimmed_names(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            for (name, value) in pairs(&bytes) {
                prop_assert!(!name.contains(&b';') && !value.contains(&b';'));
                prop_assert!(!name.starts_with(b" ") && !name.ends_with(b"\t"));
            }
        }

        #[test]
        fn reader_finds_what_a_browser_sent(name in "[a-zA-Z0-9_-]{1,20}", value in "[!#-+\\--:<-\\[\\]-~]{0,50}") {
            let header = format!("x=1; {name}={value}; y=2");
            let found = find(header.as_bytes(), &name);
            let expected = if name == "x" { "1".to_owned() } else { value.clone() };
            prop_assert_eq!(found, Some(expected.as_bytes()));
        }
    }

    fn bytes_examined(header: &[u8]) -> usize {
        EXAMINED.with(|c| c.set(0));
        let _ = pairs(header).map(|(n, v)| n.len() + v.len()).sum::<usize>();
        EXAMINED.with(|c| c.get())
    }

    /// Linear time, counted rather than timed: each byte is looked at a
    /// bounded number of times (by the split, the trims and the `=` search).
    #[test]
    fn reader_is_linear_on_worst_case_shapes() {
        for shape in [&b" ;\t"[..], b"a", b"=", b" ", b"a= \"\" ;", b";"] {
            let header: Vec<u8> = shape.iter().copied().cycle().take(MAX_HEADER_BYTES).collect();
            let n = header.len();
            assert!(bytes_examined(&header) <= 3 * n + 2, "{:?}: {} for {n} bytes", shape, bytes_examined(&header));
        }
    }
}
