//! Settings with Django's names and defaults, built from a string map (Workers
//! vars and secrets feed it), validated once when built.
//!
//! | setting | default | accepted |
//! |---|---|---|
//! | `SESSION_ENGINE` | `db` | `cache`, `db`, `cached_db`, `file`, `signed_cookies`, or Django's dotted names |
//! | `SESSION_COOKIE_AGE` | `1209600` | non-negative integer seconds |
//! | `SESSION_COOKIE_NAME` | `sessionid` | an RFC 6265 token |
//! | `SESSION_COOKIE_DOMAIN` | none | no `;`, space, comma or control characters |
//! | `SESSION_COOKIE_PATH` | `/` | starts with `/`; no `;` or control characters |
//! | `SESSION_COOKIE_SECURE` | `false` | boolean (`true/false/1/0`) |
//! | `SESSION_COOKIE_HTTPONLY` | `true` | boolean |
//! | `SESSION_COOKIE_SAMESITE` | `Lax` | `Lax`, `Strict`, `None` (needs Secure), or `off`/`false`/empty |
//! | `SESSION_EXPIRE_AT_BROWSER_CLOSE` | `false` | boolean |
//! | `SESSION_SAVE_EVERY_REQUEST` | `false` | boolean |
//! | `SESSION_REFRESH_AFTER` | off | seconds, at least 1: a session read whose expiry would move by at least this much is saved again (its expiry counts from now) |
//! | `SESSION_ABSOLUTE_AGE` | off | seconds, at least 1: a session ends this long after its key was issued, whatever its activity |
//! | `SESSION_FILE_PATH` | empty | `file` engine: the object name prefix (Django's directory), up to 512 bytes, no control characters |
//! | `SECRET_KEY` | required | non-empty |
//! | `SECRET_KEY_FALLBACKS` | `[]` | JSON array of non-empty strings |
//!
//! Stricter than Django: `__Secure-`/`__Host-` cookie names require
//! `SESSION_COOKIE_SECURE` (and `__Host-` a `/` path and no domain), as
//! browsers would otherwise drop the cookie silently.
//!
//! **Weakening security**: `SESSION_COOKIE_HTTPONLY=false` lets page scripts
//! (and so any XSS) read the session cookie; `SESSION_COOKIE_SAMESITE=None` or
//! `off` sends it on cross-site requests (CSRF exposure); `SESSION_COOKIE_SECURE=false`
//! (the default, as in Django, so plain-HTTP local development works) lets it
//! travel over plain HTTP: set it to `true` in production.

use std::fmt;

/// Where session data lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Engine {
    /// Workers KV, with Django's cache-engine semantics.
    Cache,
    /// A Durable Object, strongly consistent (Django's database engine).
    Db,
    /// KV in front of a Durable Object, write-through (Django's `cached_db`).
    CachedDb,
    /// The data itself in a signed cookie, in Django's exact format.
    SignedCookies,
    /// An object per session in an R2 bucket (Django's file engine).
    File,
}

impl Engine {
    /// The short name (`cache`, `db`, `cached_db`, `signed_cookies`, `file`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cache => "cache",
            Self::Db => "db",
            Self::CachedDb => "cached_db",
            Self::SignedCookies => "signed_cookies",
            Self::File => "file",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        let short = text.strip_prefix("django.contrib.sessions.backends.").unwrap_or(text);
        Some(match short {
            "cache" => Self::Cache,
            "db" => Self::Db,
            "cached_db" => Self::CachedDb,
            "signed_cookies" => Self::SignedCookies,
            "file" => Self::File,
            _ => return None,
        })
    }

    /// Whether session data lives on the server (every engine but `signed_cookies`).
    pub fn is_server_side(self) -> bool {
        self != Self::SignedCookies
    }
}

/// The cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SameSite {
    /// `SameSite=Lax` (the default).
    Lax,
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=None`: sent on cross-site requests; requires `Secure`.
    None,
}

impl SameSite {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "Lax",
            Self::Strict => "Strict",
            Self::None => "None",
        }
    }
}

/// The session cookie's attributes (`SESSION_COOKIE_*`), validated: a
/// `CookieConfig` only comes from [`Settings`], so every attribute it writes
/// into `Set-Cookie` passed the checks of [`Settings::from_lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieConfig {
    pub(crate) name: String,
    pub(crate) age: i64,
    pub(crate) domain: Option<String>,
    pub(crate) path: String,
    pub(crate) secure: bool,
    pub(crate) httponly: bool,
    pub(crate) samesite: Option<SameSite>,
}

impl CookieConfig {
    /// `SESSION_COOKIE_NAME`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `SESSION_COOKIE_AGE`, seconds.
    pub fn age(&self) -> i64 {
        self.age
    }

    /// `SESSION_COOKIE_DOMAIN`.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// `SESSION_COOKIE_PATH`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `SESSION_COOKIE_SECURE`.
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// `SESSION_COOKIE_HTTPONLY`.
    pub fn httponly(&self) -> bool {
        self.httponly
    }

    /// `SESSION_COOKIE_SAMESITE`; `None` when the attribute is off.
    pub fn samesite(&self) -> Option<SameSite> {
        self.samesite
    }
}

/// A setting that was refused, with the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    /// The setting's name, e.g. `SESSION_COOKIE_AGE`.
    pub setting: &'static str,
    /// What the value must be.
    pub rule: String,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.rule)
    }
}

impl std::error::Error for SettingsError {}

fn refuse<T>(setting: &'static str, rule: impl Into<String>) -> Result<T, SettingsError> {
    Err(SettingsError { setting, rule: rule.into() })
}

/// Every name [`Settings::from_lookup`] reads.
pub const SETTING_NAMES: &[&str] = &[
    "SESSION_ENGINE",
    "SESSION_COOKIE_AGE",
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_DOMAIN",
    "SESSION_COOKIE_PATH",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    "SESSION_SAVE_EVERY_REQUEST",
    "SESSION_FILE_PATH",
    "SESSION_REFRESH_AFTER",
    "SESSION_USER_INDEX",
    "MESSAGE_LEVEL",
    "SESSION_ABSOLUTE_AGE",
    "SESSION_INSECURE_DEV_SECRET",
    "SECRET_KEY",
    "SECRET_KEY_FALLBACKS",
];

/// The longest `SESSION_FILE_PATH`: an R2 object name is at most 1024 bytes,
/// and the cookie name and the key follow the path.
const MAX_FILE_PATH: usize = 512;

/// The secret used when `SESSION_INSECURE_DEV_SECRET=1` and no `SECRET_KEY` is set.
const DEV_SECRET: &str = "edge-session-insecure-development-secret-do-not-deploy";

/// The effective session settings, validated when built: the only ways to
/// make one are [`Settings::from_pairs`] and [`Settings::from_lookup`], and
/// its fields are read-only, so no unchecked value (a cookie name with `;`,
/// `SameSite=None` without `Secure`) reaches a `Set-Cookie` header.
///
/// ```compile_fail
/// # use edge_session::Settings;
/// let mut s = Settings::from_pairs([("SECRET_KEY", "k")]).unwrap();
/// s.cookie.name = "bad name;".into(); // private: does not compile
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub(crate) engine: Engine,
    pub(crate) cookie: CookieConfig,
    pub(crate) expire_at_browser_close: bool,
    pub(crate) save_every_request: bool,
    pub(crate) file_path: String,
    pub(crate) refresh_after: Option<i64>,
    pub(crate) absolute_age: Option<i64>,
    pub(crate) user_index: bool,
    pub(crate) message_level: i64,
    pub(crate) insecure_dev_secret: bool,
    secret_key: String,
    secret_key_fallbacks: Vec<String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("engine", &self.engine)
            .field("cookie", &self.cookie)
            .field("expire_at_browser_close", &self.expire_at_browser_close)
            .field("save_every_request", &self.save_every_request)
            .field("file_path", &self.file_path)
            .field("refresh_after", &self.refresh_after)
            .field("absolute_age", &self.absolute_age)
            .field("user_index", &self.user_index)
            .field("message_level", &self.message_level)
            .field("insecure_dev_secret", &self.insecure_dev_secret)
            .field("secret_key", &"<hidden>")
            .field("secret_key_fallbacks", &self.secret_key_fallbacks.len())
            .finish()
    }
}

fn parse_bool(setting: &'static str, raw: Option<String>, default: bool) -> Result<bool, SettingsError> {
    match raw.as_deref().map(str::trim) {
        None => Ok(default),
        Some(v) if v == "1" || v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v == "0" || v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => refuse(setting, format!("must be true, false, 1 or 0, got {v:?}")),
    }
}

/// An optional number of seconds, at least 1 (unset, empty or `off`: none).
fn positive_seconds(setting: &'static str, raw: Option<String>) -> Result<Option<i64>, SettingsError> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("off") => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => refuse(setting, format!("must be an integer number of seconds, at least 1 (or off), got {v:?}")),
        },
    }
}

fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

fn has_forbidden(text: &str, extra: &[u8]) -> bool {
    text.bytes().any(|c| c < 0x20 || c == 0x7f || c == b';' || extra.contains(&c))
}

impl Settings {
    /// Builds settings from a list of `(name, value)` pairs; unknown names are ignored.
    ///
    /// ```
    /// use edge_session::{Engine, Settings};
    /// let s = Settings::from_pairs([
    ///     ("SECRET_KEY", "k"),
    ///     ("SESSION_ENGINE", "django.contrib.sessions.backends.cached_db"),
    /// ]).unwrap();
    /// assert_eq!(s.engine(), Engine::CachedDb);
    /// assert_eq!(s.cookie().age(), 1_209_600);
    /// let err = Settings::from_pairs([("SECRET_KEY", "k"), ("SESSION_COOKIE_AGE", "2w")]).unwrap_err();
    /// assert_eq!(err.setting, "SESSION_COOKIE_AGE");
    /// ```
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, SettingsError> {
        let map: Vec<(&str, &str)> = pairs.into_iter().collect();
        Self::from_lookup(|name| map.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
    }

    /// Builds settings from a lookup function (a Workers `env`, a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let engine = match get("SESSION_ENGINE") {
            None => Engine::Db,
            Some(raw) => match Engine::parse(raw.trim()) {
                Some(e) => e,
                None => {
                    return refuse(
                        "SESSION_ENGINE",
                        format!("must be cache, db, cached_db, file or signed_cookies, got {raw:?}"),
                    )
                }
            },
        };

        let age = match get("SESSION_COOKIE_AGE") {
            None => 1_209_600,
            Some(raw) => match raw.trim().parse::<i64>() {
                Ok(n) if n >= 0 => n,
                _ => {
                    return refuse(
                        "SESSION_COOKIE_AGE",
                        format!("must be a non-negative integer number of seconds, got {raw:?}"),
                    )
                }
            },
        };

        let name = get("SESSION_COOKIE_NAME").unwrap_or_else(|| "sessionid".to_owned());
        if !is_token(&name) {
            return refuse(
                "SESSION_COOKIE_NAME",
                format!("must be an RFC 6265 token (letters, digits and !#$%&'*+-.^_`|~), got {name:?}"),
            );
        }

        let domain = match get("SESSION_COOKIE_DOMAIN") {
            None => None,
            Some(d) if d.is_empty() => None,
            Some(d) if has_forbidden(&d, b" ,\"") => {
                return refuse(
                    "SESSION_COOKIE_DOMAIN",
                    format!("must not contain ';', spaces, commas, quotes or control characters, got {d:?}"),
                )
            }
            Some(d) => Some(d),
        };

        let path = get("SESSION_COOKIE_PATH").unwrap_or_else(|| "/".to_owned());
        if !path.starts_with('/') || has_forbidden(&path, b"") {
            return refuse(
                "SESSION_COOKIE_PATH",
                format!("must start with '/' and contain no ';' or control characters, got {path:?}"),
            );
        }

        let secure = parse_bool("SESSION_COOKIE_SECURE", get("SESSION_COOKIE_SECURE"), false)?;
        let httponly = parse_bool("SESSION_COOKIE_HTTPONLY", get("SESSION_COOKIE_HTTPONLY"), true)?;
        let samesite = match get("SESSION_COOKIE_SAMESITE").as_deref().map(str::trim) {
            None => Some(SameSite::Lax),
            Some(v) if v.eq_ignore_ascii_case("lax") => Some(SameSite::Lax),
            Some(v) if v.eq_ignore_ascii_case("strict") => Some(SameSite::Strict),
            Some(v) if v.eq_ignore_ascii_case("none") => Some(SameSite::None),
            Some(v) if v.is_empty() || v.eq_ignore_ascii_case("off") || v.eq_ignore_ascii_case("false") => None,
            Some(v) => {
                return refuse("SESSION_COOKIE_SAMESITE", format!("must be Lax, Strict, None or off, got {v:?}"))
            }
        };
        if samesite == Some(SameSite::None) && !secure {
            return refuse(
                "SESSION_COOKIE_SAMESITE",
                "None requires SESSION_COOKIE_SECURE=true (browsers reject SameSite=None cookies without Secure)",
            );
        }
        if name.starts_with("__Secure-") && !secure {
            return refuse("SESSION_COOKIE_NAME", "a __Secure- name requires SESSION_COOKIE_SECURE=true");
        }
        if name.starts_with("__Host-") && (!secure || path != "/" || domain.is_some()) {
            return refuse("SESSION_COOKIE_NAME", "a __Host- name requires SESSION_COOKIE_SECURE=true, SESSION_COOKIE_PATH=/ and no SESSION_COOKIE_DOMAIN");
        }

        let expire_at_browser_close =
            parse_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", get("SESSION_EXPIRE_AT_BROWSER_CLOSE"), false)?;
        let save_every_request = parse_bool("SESSION_SAVE_EVERY_REQUEST", get("SESSION_SAVE_EVERY_REQUEST"), false)?;
        let file_path = get("SESSION_FILE_PATH").unwrap_or_default();
        if file_path.len() > MAX_FILE_PATH || file_path.chars().any(char::is_control) {
            return refuse(
                "SESSION_FILE_PATH",
                format!("must be at most {MAX_FILE_PATH} bytes with no control characters (R2 object names are at most 1024 bytes)"),
            );
        }

        let refresh_after = positive_seconds("SESSION_REFRESH_AFTER", get("SESSION_REFRESH_AFTER"))?;
        let absolute_age = positive_seconds("SESSION_ABSOLUTE_AGE", get("SESSION_ABSOLUTE_AGE"))?;
        let user_index = parse_bool("SESSION_USER_INDEX", get("SESSION_USER_INDEX"), false)?;
        let message_level = match get("MESSAGE_LEVEL").as_deref().map(str::trim) {
            None | Some("") => crate::messages::INFO,
            Some(v) => match crate::messages::level_from_name(v).or_else(|| v.parse::<i64>().ok()) {
                Some(n) => n,
                None => {
                    return refuse(
                        "MESSAGE_LEVEL",
                        format!("must be an integer level or DEBUG, INFO, SUCCESS, WARNING, ERROR, got {v:?}"),
                    )
                }
            },
        };

        let allow_dev = parse_bool("SESSION_INSECURE_DEV_SECRET", get("SESSION_INSECURE_DEV_SECRET"), false)?;
        let (secret_key, insecure_dev_secret) = match get("SECRET_KEY") {
            Some(k) if !k.is_empty() => (k, false),
            Some(_) => return refuse("SECRET_KEY", "must not be empty"),
            None if allow_dev => (DEV_SECRET.to_owned(), true),
            None => {
                return refuse(
                    "SECRET_KEY",
                    "is required: set it as a secret (`wrangler secret put SECRET_KEY`), or in .dev.vars locally",
                )
            }
        };
        let secret_key_fallbacks = match get("SECRET_KEY_FALLBACKS") {
            None => Vec::new(),
            Some(raw) if raw.trim().is_empty() => Vec::new(),
            Some(raw) => match serde_json::from_str::<Vec<String>>(&raw) {
                Ok(keys) if keys.iter().all(|k| !k.is_empty()) => keys,
                _ => {
                    return refuse(
                        "SECRET_KEY_FALLBACKS",
                        "must be a JSON array of non-empty strings, e.g. [\"old-key\"]",
                    )
                }
            },
        };

        Ok(Self {
            engine,
            cookie: CookieConfig { name, age, domain, path, secure, httponly, samesite },
            expire_at_browser_close,
            save_every_request,
            file_path,
            refresh_after,
            absolute_age,
            user_index,
            message_level,
            insecure_dev_secret,
            secret_key,
            secret_key_fallbacks,
        })
    }

    /// `SESSION_ENGINE`.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The `SESSION_COOKIE_*` settings.
    pub fn cookie(&self) -> &CookieConfig {
        &self.cookie
    }

    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE`.
    pub fn expire_at_browser_close(&self) -> bool {
        self.expire_at_browser_close
    }

    /// `SESSION_SAVE_EVERY_REQUEST`.
    pub fn save_every_request(&self) -> bool {
        self.save_every_request
    }

    /// `SESSION_FILE_PATH`: the `file` engine's object name prefix (Django's
    /// directory of session files); empty by default.
    pub fn file_path(&self) -> &str {
        &self.file_path
    }

    /// `SESSION_REFRESH_AFTER`: a session read whose expiry would move by at
    /// least this many seconds is saved again, so its expiry counts from
    /// now; `None` (the default) is Django's behaviour (reads are not activity).
    pub fn refresh_after(&self) -> Option<i64> {
        self.refresh_after
    }

    /// `SESSION_ABSOLUTE_AGE`: seconds after its key was issued (creation or
    /// `cycle_key`) at which a session ends, whatever its activity and its
    /// `set_expiry`; `None` (the default): no such end.
    pub fn absolute_age(&self) -> Option<i64> {
        self.absolute_age
    }

    /// `SESSION_USER_INDEX`: `login()` enters the session in its user's
    /// index (a Durable Object per user), so the user's sessions can be
    /// listed and revoked; on `signed_cookies` every request that loads a
    /// logged-in session then asks the index whether it was revoked (one
    /// Durable Object call). `false` (the default) is Django's behaviour:
    /// login and logout touch only the session.
    pub fn user_index(&self) -> bool {
        self.user_index
    }

    /// `MESSAGE_LEVEL`: the lowest level of message that is kept (Django's
    /// default, `INFO`, 20: `debug` messages are dropped).
    pub fn message_level(&self) -> i64 {
        self.message_level
    }

    /// True when no `SECRET_KEY` was given and `SESSION_INSECURE_DEV_SECRET=1`
    /// chose the public development secret: anyone can forge sessions.
    pub fn insecure_dev_secret(&self) -> bool {
        self.insecure_dev_secret
    }

    /// `SECRET_KEY`.
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// `SECRET_KEY_FALLBACKS`.
    pub fn secret_key_fallbacks(&self) -> &[String] {
        &self.secret_key_fallbacks
    }

    /// The effective settings as JSON, without the secrets (for diagnostics).
    pub fn to_public_json(&self) -> serde_json::Value {
        let c = &self.cookie;
        serde_json::json!({
            "engine": self.engine.as_str(),
            "SESSION_ENGINE": self.engine.as_str(),
            "SESSION_COOKIE_AGE": c.age,
            "SESSION_COOKIE_NAME": c.name,
            "SESSION_COOKIE_DOMAIN": c.domain,
            "SESSION_COOKIE_PATH": c.path,
            "SESSION_COOKIE_SECURE": c.secure,
            "SESSION_COOKIE_HTTPONLY": c.httponly,
            "SESSION_COOKIE_SAMESITE": c.samesite.map(SameSite::as_str),
            "SESSION_EXPIRE_AT_BROWSER_CLOSE": self.expire_at_browser_close,
            "SESSION_SAVE_EVERY_REQUEST": self.save_every_request,
            "SESSION_FILE_PATH": self.file_path,
            "SESSION_REFRESH_AFTER": self.refresh_after,
            "SESSION_ABSOLUTE_AGE": self.absolute_age,
            "SESSION_USER_INDEX": self.user_index,
            "MESSAGE_LEVEL": self.message_level,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_pairs(pairs.iter().copied().chain([("SECRET_KEY", "k")]).rev())
    }

    fn rejected(pairs: &[(&str, &str)]) -> SettingsError {
        build(pairs).unwrap_err()
    }

    #[test]
    fn defaults_are_djangos() {
        let s = build(&[]).unwrap();
        assert_eq!(s.engine, Engine::Db);
        assert_eq!(
            s.cookie,
            CookieConfig {
                name: "sessionid".into(),
                age: 1_209_600,
                domain: None,
                path: "/".into(),
                secure: false,
                httponly: true,
                samesite: Some(SameSite::Lax),
            }
        );
        assert!(!s.expire_at_browser_close && !s.save_every_request && !s.insecure_dev_secret);
        assert_eq!(s.file_path(), "");
        assert_eq!((s.refresh_after(), s.absolute_age()), (None, None), "Django's behaviour");
        let on = build(&[("SESSION_REFRESH_AFTER", "60"), ("SESSION_ABSOLUTE_AGE", "86400")]).unwrap();
        assert_eq!((on.refresh_after(), on.absolute_age()), (Some(60), Some(86_400)));
        assert!(s.secret_key_fallbacks().is_empty());
    }

    #[test]
    fn engines_accept_short_and_dotted_names() {
        for (raw, e) in [
            ("cache", Engine::Cache),
            ("db", Engine::Db),
            ("cached_db", Engine::CachedDb),
            ("signed_cookies", Engine::SignedCookies),
            ("django.contrib.sessions.backends.signed_cookies", Engine::SignedCookies),
            ("django.contrib.sessions.backends.cache", Engine::Cache),
            ("file", Engine::File),
            ("django.contrib.sessions.backends.file", Engine::File),
        ] {
            assert_eq!(build(&[("SESSION_ENGINE", raw)]).unwrap().engine, e);
        }
        assert_eq!(rejected(&[("SESSION_ENGINE", "files")]).setting, "SESSION_ENGINE");
        assert_eq!(
            rejected(&[("SESSION_ENGINE", "django.contrib.sessions.backends.filebased")]).setting,
            "SESSION_ENGINE"
        );
    }

    #[test]
    fn booleans_accept_true_false_1_0() {
        for (raw, v) in [("true", true), ("1", true), ("True", true), ("false", false), ("0", false)] {
            assert_eq!(build(&[("SESSION_SAVE_EVERY_REQUEST", raw)]).unwrap().save_every_request, v);
        }
        let e = rejected(&[("SESSION_COOKIE_HTTPONLY", "yes")]);
        assert_eq!(e.setting, "SESSION_COOKIE_HTTPONLY");
        assert!(e.to_string().contains("true, false, 1 or 0"));
    }

    #[test]
    fn invalid_values_name_the_setting_and_the_rule() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case] = &[
            (&[("SESSION_COOKIE_NAME", "session id")], "SESSION_COOKIE_NAME", "RFC 6265 token"),
            (&[("SESSION_COOKIE_NAME", "")], "SESSION_COOKIE_NAME", "RFC 6265 token"),
            (&[("SESSION_COOKIE_NAME", "a=b")], "SESSION_COOKIE_NAME", "RFC 6265 token"),
            (&[("SESSION_COOKIE_PATH", "/a;b")], "SESSION_COOKIE_PATH", "';'"),
            (&[("SESSION_FILE_PATH", "a\nb")], "SESSION_FILE_PATH", "control characters"),
            (&[("SESSION_REFRESH_AFTER", "0")], "SESSION_REFRESH_AFTER", "at least 1"),
            (&[("SESSION_REFRESH_AFTER", "0.5")], "SESSION_REFRESH_AFTER", "at least 1"),
            (&[("SESSION_ABSOLUTE_AGE", "-1")], "SESSION_ABSOLUTE_AGE", "at least 1"),
            (&[("SESSION_ABSOLUTE_AGE", "8h")], "SESSION_ABSOLUTE_AGE", "at least 1"),
            (&[("SESSION_COOKIE_PATH", "/a\nb")], "SESSION_COOKIE_PATH", "control"),
            (&[("SESSION_COOKIE_DOMAIN", "a.com; Secure")], "SESSION_COOKIE_DOMAIN", "';'"),
            (&[("SESSION_COOKIE_DOMAIN", "a\x01.com")], "SESSION_COOKIE_DOMAIN", "control"),
            (&[("SESSION_COOKIE_AGE", "two weeks")], "SESSION_COOKIE_AGE", "integer"),
            (&[("SESSION_COOKIE_AGE", "-1")], "SESSION_COOKIE_AGE", "non-negative"),
            (&[("SESSION_COOKIE_SAMESITE", "None")], "SESSION_COOKIE_SAMESITE", "Secure"),
            (&[("SESSION_COOKIE_SAMESITE", "loose")], "SESSION_COOKIE_SAMESITE", "Lax, Strict"),
            (&[("SESSION_COOKIE_NAME", "__Host-s")], "SESSION_COOKIE_NAME", "__Host-"),
            (&[("SESSION_COOKIE_NAME", "__Secure-s")], "SESSION_COOKIE_NAME", "__Secure-"),
            (&[("SECRET_KEY_FALLBACKS", "old")], "SECRET_KEY_FALLBACKS", "JSON array"),
            (&[("SECRET_KEY_FALLBACKS", "[\"\"]")], "SECRET_KEY_FALLBACKS", "non-empty"),
        ];
        for (pairs, setting, rule) in cases {
            let e = rejected(pairs);
            assert_eq!(e.setting, *setting, "{pairs:?}");
            assert!(e.to_string().contains(rule), "{pairs:?}: {e}");
            assert!(e.to_string().starts_with(setting));
        }
    }

    #[test]
    fn samesite_none_with_secure_and_off_are_accepted() {
        let s = build(&[("SESSION_COOKIE_SAMESITE", "None"), ("SESSION_COOKIE_SECURE", "true")]).unwrap();
        assert_eq!(s.cookie.samesite, Some(SameSite::None));
        assert_eq!(build(&[("SESSION_COOKIE_SAMESITE", "off")]).unwrap().cookie.samesite, None);
        assert_eq!(build(&[("SESSION_COOKIE_SAMESITE", "strict")]).unwrap().cookie.samesite, Some(SameSite::Strict));
    }

    #[test]
    fn secret_key_is_required_and_non_empty() {
        assert_eq!(Settings::from_pairs([]).unwrap_err().setting, "SECRET_KEY");
        assert_eq!(Settings::from_pairs([("SECRET_KEY", "")]).unwrap_err().setting, "SECRET_KEY");
        let dev = Settings::from_pairs([("SESSION_INSECURE_DEV_SECRET", "1")]).unwrap();
        assert!(dev.insecure_dev_secret);
        let fallbacks = build(&[("SECRET_KEY_FALLBACKS", "[\"a\",\"b\"]")]).unwrap();
        assert_eq!(fallbacks.secret_key_fallbacks(), ["a", "b"]);
    }

    #[test]
    fn public_json_never_contains_secrets() {
        let s = build(&[("SECRET_KEY_FALLBACKS", "[\"old-secret\"]")]).unwrap();
        let text = s.to_public_json().to_string();
        assert!(!text.contains("old-secret") && !text.contains("\"k\""));
        assert!(!format!("{s:?}").contains("old-secret"));
        assert_eq!(s.to_public_json()["SESSION_COOKIE_AGE"], 1_209_600);
    }
}
