//! The stored record: one wire format for every server-side engine, read and
//! written alike by the Rust API and the npm package.
//!
//! ```json
//! {"data":"<Django session_data>","expires":1765019770,"version":3}
//! ```
//!
//! * `data` is exactly what Django keeps in `django_session.session_data`:
//!   `signing.dumps(session_dict, salt="django.contrib.sessions.SessionStore",
//!   compress=True)`, so it is signed with `SECRET_KEY` and can be decoded for
//!   inspection with [`decode_session_data`](crate::manager::SessionManager::decode).
//! * `expires` is the Unix time (seconds) after which the record is dead,
//!   whatever the backend's own TTL says.
//! * `version` increases with every save; the cookie carries the version its
//!   client last saw written, so a cache layer can tell a stale copy.

use serde_json::{Map, Value};
use std::fmt;

/// The largest record, in bytes of its JSON, that is ever written.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Django's signed `session_data`.
    pub data: String,
    /// Unix seconds after which the record no longer exists.
    pub expires_at: i64,
    /// Incremented by every save.
    pub version: u64,
    /// The store's own name for the stored copy a [`load`](crate::SessionStore::load)
    /// returned (the `file` engine: the R2 object's ETag, with the expiry of
    /// the record read), handed back with the save that follows so the store
    /// can tell whether the object it replaces is the one that was read.
    /// Opaque: only the store that made it reads it. `None` for a record
    /// built to be written, and from stores that have no such name. Not part
    /// of the wire form ([`to_json`](Self::to_json)).
    pub revision: Option<String>,
}

/// A stored record that does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptRecord;

impl fmt::Display for CorruptRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stored session record does not decode")
    }
}

impl std::error::Error for CorruptRecord {}

impl Record {
    /// A record to write: `data` (Django's signed `session_data`), dead at
    /// `expires_at` (Unix seconds), at `version`, with no revision.
    ///
    /// ```
    /// use edge_session::Record;
    /// let r = Record::new("e30:1vRqGo:sig", 10, 2);
    /// assert_eq!((r.expires_at, r.version, r.revision), (10, 2, None));
    /// ```
    pub fn new(data: impl Into<String>, expires_at: i64, version: u64) -> Self {
        Self { data: data.into(), expires_at, version, revision: None }
    }

    /// Whether the record is dead at `now`.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at <= now
    }

    /// The wire form.
    ///
    /// ```
    /// use edge_session::Record;
    /// let r = Record::new("e30:1vRqGo:sig", 10, 2);
    /// assert_eq!(r.to_json(), r#"{"data":"e30:1vRqGo:sig","expires":10,"version":2}"#);
    /// assert_eq!(Record::from_json(&r.to_json()).unwrap(), r);
    /// ```
    pub fn to_json(&self) -> String {
        let mut map = Map::new();
        map.insert("data".into(), Value::from(self.data.as_str()));
        map.insert("expires".into(), Value::from(self.expires_at));
        map.insert("version".into(), Value::from(self.version));
        Value::Object(map).to_string()
    }

    /// Reads the wire form; anything else is [`CorruptRecord`].
    pub fn from_json(text: &str) -> Result<Self, CorruptRecord> {
        if text.len() > MAX_RECORD_BYTES {
            return Err(CorruptRecord);
        }
        let value: Value = serde_json::from_str(text).map_err(|_| CorruptRecord)?;
        Ok(Self {
            data: value.get("data").and_then(Value::as_str).ok_or(CorruptRecord)?.to_owned(),
            expires_at: value.get("expires").and_then(Value::as_i64).ok_or(CorruptRecord)?,
            version: value.get("version").and_then(Value::as_u64).ok_or(CorruptRecord)?,
            revision: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_records_are_corrupt_not_panics() {
        for bad in [
            "",
            "{",
            "[]",
            "null",
            r#"{"data":1,"expires":1,"version":1}"#,
            r#"{"data":"x","expires":"1","version":1}"#,
            r#"{"data":"x","expires":1,"version":-1}"#,
        ] {
            assert_eq!(Record::from_json(bad), Err(CorruptRecord), "{bad}");
        }
        let huge = format!(r#"{{"data":"{}","expires":1,"version":1}}"#, "a".repeat(MAX_RECORD_BYTES));
        assert_eq!(Record::from_json(&huge), Err(CorruptRecord));
    }

    #[test]
    fn expiry_is_exclusive() {
        let r = Record::new("", 100, 1);
        assert!(!r.is_expired(99));
        assert!(r.is_expired(100));
    }
}
