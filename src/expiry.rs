//! Django's expiry rules (`set_expiry`, `get_expiry_age`, `get_expiry_date`,
//! `get_expire_at_browser_close`), as pure functions of the value stored under
//! `_session_expiry`, the settings and the modification time.
//!
//! Expiry counts from the last modification: a save at time `t` stores the
//! record with `expires_at = t + get_expiry_age(t)`; reading is not activity.
//!
//! Ages are clamped once, here: whatever `set_expiry` or `SESSION_COOKIE_AGE`
//! says, `modification + age` stays within years 1 to 9999 (the range of
//! Python's `datetime`), so no sum of a time and an age can overflow and a
//! session saved with any accepted expiry loads back. (Django raises
//! `OverflowError` for such values; we keep the session until year 9999.)

use serde_json::Value;

use crate::datetime::{DateTime, DateTimeError, MAX_UNIX, MIN_UNIX};

/// The session key under which Django keeps the per-session expiry.
pub const EXPIRY_KEY: &str = "_session_expiry";
/// The session key under which the time its key was issued is kept (Unix
/// seconds), when `SESSION_ABSOLUTE_AGE` is set: written at the first save of
/// a new key (creation, `cycle_key`), never changed after.
pub const ISSUED_KEY: &str = "_session_issued";

/// `age` (seconds from `modification`) shortened so that the session ends no
/// later than `absolute_age` after it was issued (`issued`, the value under
/// [`ISSUED_KEY`]); unchanged without an absolute age or an issue time.
pub fn capped_age(age: i64, issued: Option<&Value>, absolute_age: Option<i64>, modification: i64) -> i64 {
    match (issued.and_then(Value::as_i64), absolute_age) {
        (Some(issued), Some(absolute)) => age.min(issued.saturating_add(absolute).saturating_sub(modification)),
        _ => age,
    }
}

/// An argument to [`Session::set_expiry`](crate::session::Session::set_expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// `None`: fall back to the global policy (`SESSION_COOKIE_AGE`,
    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE`).
    Default,
    /// `0`: the cookie ends when the browser closes; the server keeps the
    /// record for `SESSION_COOKIE_AGE`.
    BrowserClose,
    /// An integer: expire after this many seconds of inactivity.
    Seconds(i64),
    /// A datetime: expire at this moment.
    At(DateTime),
}

impl Expiry {
    /// Reads the JSON form a client sends: an integer, `0`, `null`, or an
    /// ISO-8601 datetime with an offset.
    pub fn from_json(value: &Value) -> Result<Self, DateTimeError> {
        match value {
            Value::Null => Ok(Self::Default),
            Value::Number(n) => Ok(match n.as_i64() {
                Some(0) => Self::BrowserClose,
                Some(s) => Self::Seconds(s),
                None => Self::Seconds(n.as_f64().map_or(0, |f| f.floor() as i64)),
            }),
            Value::String(s) => DateTime::parse_iso(s).map(Self::At),
            _ => Err(DateTimeError::Malformed),
        }
    }

    /// The value Django stores under `_session_expiry`; `None` removes it.
    pub fn to_stored(self) -> Option<Value> {
        match self {
            Self::Default => None,
            Self::BrowserClose => Some(Value::from(0)),
            Self::Seconds(s) => Some(Value::from(s)),
            Self::At(dt) => Some(Value::from(dt.to_iso())),
        }
    }
}

/// What a stored `_session_expiry` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoredExpiry {
    /// Absent, `null`, `0` or `false`: Python's falsy values mean the default age.
    Falsy,
    Seconds(i64),
    At(i64),
    /// Unreadable (a naive or malformed datetime, an object): treated as
    /// already expired, so a corrupt value never extends a session.
    Invalid,
}

fn stored(value: Option<&Value>) -> StoredExpiry {
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => StoredExpiry::Falsy,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(0) => StoredExpiry::Falsy,
            Some(s) => StoredExpiry::Seconds(s),
            None => match n.as_f64() {
                Some(0.0) => StoredExpiry::Falsy,
                Some(f) => StoredExpiry::Seconds(f.floor() as i64),
                None => StoredExpiry::Invalid,
            },
        },
        Some(Value::String(s)) => match DateTime::parse_iso(s) {
            Ok(dt) => StoredExpiry::At(dt.unix),
            Err(_) => StoredExpiry::Invalid,
        },
        Some(_) => StoredExpiry::Invalid,
    }
}

/// Django's `get_expiry_age(modification=modification)`: seconds from
/// `modification` until the session expires.
/// The result is clamped so that `modification + age` is a time between
/// years 1 and 9999.
pub fn expiry_age(value: Option<&Value>, cookie_age: i64, modification: i64) -> i64 {
    let age = match stored(value) {
        StoredExpiry::Falsy => cookie_age,
        StoredExpiry::Seconds(s) => s,
        StoredExpiry::At(at) => at.saturating_sub(modification),
        StoredExpiry::Invalid => 0,
    };
    let modification = modification.clamp(MIN_UNIX, MAX_UNIX);
    age.clamp(MIN_UNIX - modification, MAX_UNIX - modification)
}

/// Django's `get_expiry_date(modification=modification)`, as a datetime.
pub fn expiry_date(value: Option<&Value>, cookie_age: i64, modification: i64) -> DateTime {
    match (stored(value), value) {
        (StoredExpiry::At(_), Some(Value::String(s))) => {
            DateTime::parse_iso(s).unwrap_or(DateTime::from_unix(modification))
        }
        _ => DateTime::from_unix(modification.saturating_add(expiry_age(value, cookie_age, modification))),
    }
}

/// Django's `get_expire_at_browser_close()`.
pub fn expire_at_browser_close(value: Option<&Value>, global: bool) -> bool {
    match value {
        None | Some(Value::Null) => global,
        Some(v) => v.as_f64() == Some(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AGE: i64 = 1_209_600;

    #[test]
    fn default_age_applies_to_absent_and_falsy_values() {
        for v in [None, Some(json!(null)), Some(json!(0))] {
            assert_eq!(expiry_age(v.as_ref(), AGE, 1000), AGE);
            assert_eq!(expiry_date(v.as_ref(), AGE, 1000).unix, 1000 + AGE);
        }
    }

    #[test]
    fn integer_expiry_is_seconds_from_modification() {
        assert_eq!(expiry_age(Some(&json!(300)), AGE, 1000), 300);
        assert_eq!(expiry_date(Some(&json!(300)), AGE, 1000).unix, 1300);
    }

    #[test]
    fn datetime_expiry_counts_down_from_modification() {
        let at = json!("1970-01-01T00:20:00+00:00");
        assert_eq!(expiry_age(Some(&at), AGE, 1000), 200);
        assert_eq!(expiry_date(Some(&at), AGE, 1000).to_iso(), "1970-01-01T00:20:00+00:00");
        // Python floors: 0.5 s before expiry reads as 0 s, 0.5 s after as -1 s.
        let frac = json!("1970-01-01T00:20:00.500000+00:00");
        assert_eq!(expiry_age(Some(&frac), AGE, 1200), 0);
        assert_eq!(expiry_age(Some(&at), AGE, 1201), -1);
    }

    #[test]
    fn a_corrupt_expiry_never_extends_the_session() {
        assert_eq!(expiry_age(Some(&json!("2099-01-01T00:00:00")), AGE, 1000), 0);
        assert_eq!(expiry_age(Some(&json!({"a": 1})), AGE, 1000), 0);
    }

    #[test]
    fn expiry_ages_are_clamped_so_that_no_end_overflows() {
        let now = 1_765_000_000;
        for value in [json!(i64::MAX), json!(1e19), json!(-1e19), json!(i64::MIN + 1)] {
            let age = expiry_age(Some(&value), AGE, now);
            let end = now.checked_add(age).expect("no overflow");
            assert!((MIN_UNIX..=MAX_UNIX).contains(&end), "{value}: {end}");
        }
        assert_eq!(now + expiry_age(None, i64::MAX, now), MAX_UNIX, "a huge SESSION_COOKIE_AGE too");
        assert_eq!(expiry_date(Some(&json!(i64::MAX)), AGE, now).unix, MAX_UNIX);
        assert_eq!(expiry_age(Some(&json!(300)), AGE, now), 300, "ordinary ages are untouched");
    }

    #[test]
    fn browser_close_follows_django() {
        assert!(!expire_at_browser_close(None, false));
        assert!(expire_at_browser_close(None, true));
        assert!(expire_at_browser_close(Some(&json!(0)), false));
        assert!(!expire_at_browser_close(Some(&json!(10)), true));
        assert!(!expire_at_browser_close(Some(&json!("2026-01-01T00:00:00+00:00")), true));
    }

    #[test]
    fn expiry_arguments_map_to_djangos_stored_values() {
        assert_eq!(Expiry::from_json(&json!(null)).unwrap().to_stored(), None);
        assert_eq!(Expiry::from_json(&json!(0)).unwrap().to_stored(), Some(json!(0)));
        assert_eq!(Expiry::from_json(&json!(2)).unwrap().to_stored(), Some(json!(2)));
        assert_eq!(
            Expiry::from_json(&json!("2026-12-10T09:00:00+01:00")).unwrap().to_stored(),
            Some(json!("2026-12-10T09:00:00+01:00"))
        );
        assert!(Expiry::from_json(&json!("tomorrow")).is_err());
        assert!(Expiry::from_json(&json!([1])).is_err());
    }
}
