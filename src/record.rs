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

use serde_json::Value;
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
        // Written out directly, without a JSON map to build first: every save writes one.
        let data = serde_json::to_string(self.data.as_str()).unwrap_or_default();
        format!(r#"{{"data":{data},"expires":{},"version":{}}}"#, self.expires_at, self.version)
    }

    /// Reads the wire form; anything else is [`CorruptRecord`].
    pub fn from_json(text: &str) -> Result<Self, CorruptRecord> {
        if text.len() > MAX_RECORD_BYTES {
            return Err(CorruptRecord);
        }
        // Read straight into the fields, without a JSON map in between: every
        // load of a server-side session parses a record.
        let Wire(record) = serde_json::from_str(text).map_err(|_| CorruptRecord)?;
        Ok(record)
    }
}

/// The wire form as serde reads it: an object with a string `data`, an
/// integer `expires` and a non-negative integer `version`; other members are
/// ignored, and a repeated member counts as its last copy (as a JSON map
/// read would take it).
struct Wire(Record);

impl<'de> serde::Deserialize<'de> for Wire {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(WireVisitor)
    }
}

struct WireVisitor;

impl<'de> serde::de::Visitor<'de> for WireVisitor {
    type Value = Wire;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a session record")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Wire, A::Error> {
        let (mut data, mut expires_at, mut version) = (None, None, None);
        while let Some(name) = map.next_key::<String>()? {
            match &*name {
                "data" => data = Some(map.next_value::<String>()?),
                "expires" => expires_at = Some(map.next_value::<i64>()?),
                "version" => version = Some(map.next_value::<u64>()?),
                // A JSON value, as the data's own values are read (no
                // second skipping parser in the wasm).
                _ => drop(map.next_value::<Value>()?),
            }
        }
        match (data, expires_at, version) {
            (Some(data), Some(expires_at), Some(version)) => {
                Ok(Wire(Record { data, expires_at, version, revision: None }))
            }
            _ => Err(serde::de::Error::custom("a member is missing")),
        }
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
            r#"{"data":"x","expires":1}"#,
            r#"{"data":"x","expires":1.5,"version":1}"#,
            r#"{"data":"x","expires":1,"version":1} x"#,
            r#"{"data":"x","expires":1,"version":18446744073709551616}"#,
        ] {
            assert_eq!(Record::from_json(bad), Err(CorruptRecord), "{bad}");
        }
        // What a JSON map read took: other members ignored, the last copy of a repeated one.
        let r = Record::from_json(r#"{"x":[1,{"y":2}],"data":"a","expires":1,"version":1,"data":"b\u00e9"}"#).unwrap();
        assert_eq!((r.data.as_str(), r.expires_at, r.version), ("b\u{e9}", 1, 1));
        let huge = format!(r#"{{"data":"{}","expires":1,"version":1}}"#, "a".repeat(MAX_RECORD_BYTES));
        assert_eq!(Record::from_json(&huge), Err(CorruptRecord));
    }

    #[test]
    fn the_wire_form_is_a_json_object_of_the_three_members_and_reads_back() {
        for (data, expires_at, version) in
            [("e30:1vRqGo:sig", 10, 2), ("a\"b\\c\u{0}\n\u{e9}\u{1f600}", -5, u64::MAX), ("", i64::MIN, 0)]
        {
            let r = Record::new(data, expires_at, version);
            let text = r.to_json();
            let value: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(value, serde_json::json!({"data": data, "expires": expires_at, "version": version}), "{text}");
            assert!(text.starts_with(r#"{"data":"#), "members in wire order: {text}");
            assert_eq!(Record::from_json(&text), Ok(r));
        }
    }

    #[test]
    fn expiry_is_exclusive() {
        let r = Record::new("", 100, 1);
        assert!(!r.is_expired(99));
        assert!(r.is_expired(100));
    }
}
