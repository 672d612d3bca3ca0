//! The protocol between the `db` store client and the session Durable Object,
//! as pure functions, so that the Rust class (`workers` feature) and the
//! JavaScript class of the npm package behave identically on one namespace.
//!
//! Each session is one object holding at most one record. A request is a JSON
//! body `{"op": "load" | "create" | "save" | "touch" | "delete" | "inspect", "record": "<record JSON>"}`
//! (`touch` with `"expires": t` instead: move the live record's expiry and alarm),
//! a `save` optionally with `"read": n` (save only if the live record is still
//! version `n`); the object answers `{"record": "<record JSON>" | null, "held": bool}`,
//! `{"version": n}`, `{"changed": "<the live record's JSON>"}` (a `save` whose
//! `read` is not the live version: nothing written), `{"deleted": true}` or
//! `{"error": "exists" | "missing" | "<message>"}`; `inspect`
//! (for tests) answers `{"held": bool, "alarm": <ms> | null}`, built by the
//! class from its storage ([`inspect_reply`]).
//!
//! A delete removes the alarm explicitly before `deleteAll()`: `deleteAll()`
//! removes alarms only from compatibility date 2026-02-24, and the worker
//! that binds the class chooses its own date.

use serde_json::{json, Value};

use super::{BackendError, StoreError, StoreOp};
use crate::record::Record;

/// An operation on a session object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectOp {
    /// Read the live record.
    Load,
    /// Store a new record unless a live one exists.
    Create(Record),
    /// Replace the live record; fails when there is none.
    Save(Record),
    /// Replace the live record if it is still the given version (the one
    /// the caller read); else answer with the live record.
    SaveIfUnchanged(Record, u64),
    /// Move the live record's expiry (and so its alarm) to this time,
    /// keeping its data and version (a refresh); fails when there is none.
    Touch(i64),
    /// Remove everything.
    Delete,
    /// Report what is stored and the pending alarm (tests).
    Inspect,
}

impl ObjectOp {
    /// The request body.
    pub fn to_body(&self) -> String {
        match self {
            Self::Load => json!({ "op": "load" }),
            Self::Create(r) => json!({ "op": "create", "record": r.to_json() }),
            Self::Save(r) => json!({ "op": "save", "record": r.to_json() }),
            Self::SaveIfUnchanged(r, read) => json!({ "op": "save", "record": r.to_json(), "read": read }),
            Self::Touch(expires) => json!({ "op": "touch", "expires": expires }),
            Self::Delete => json!({ "op": "delete" }),
            Self::Inspect => json!({ "op": "inspect" }),
        }
        .to_string()
    }

    fn from_body(body: &str) -> Result<Self, String> {
        let request: Value = serde_json::from_str(body).map_err(|e| format!("bad request: {e}"))?;
        let record = || {
            let text = request.get("record").and_then(Value::as_str).unwrap_or_default();
            Record::from_json(text).map_err(|e| format!("bad record: {e}"))
        };
        match request.get("op").and_then(Value::as_str) {
            Some("load") => Ok(Self::Load),
            Some("create") => Ok(Self::Create(record()?)),
            Some("save") => match request.get("read") {
                None | Some(Value::Null) => Ok(Self::Save(record()?)),
                Some(read) => Ok(Self::SaveIfUnchanged(record()?, read.as_u64().ok_or("bad read version")?)),
            },
            Some("touch") => match request.get("expires").and_then(Value::as_i64) {
                Some(expires) => Ok(Self::Touch(expires)),
                None => Err("bad expires".to_owned()),
            },
            Some("delete") => Ok(Self::Delete),
            Some("inspect") => Ok(Self::Inspect),
            other => Err(format!("unknown op {other:?}")),
        }
    }
}

/// What the object must do for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectStep {
    /// The reply body.
    pub reply: String,
    /// A record to store (then set the alarm at its `expires_at`).
    pub write: Option<Record>,
    /// Remove everything: the alarm (`deleteAlarm()`), then `deleteAll()`.
    pub delete_all: bool,
    /// Reply with [`inspect_reply`] instead of `reply`.
    pub inspect: bool,
}

/// Decides one request, given the stored record text (if any) and the time.
///
/// ```
/// use edge_session::store::object::{handle, ObjectOp};
/// use edge_session::Record;
/// let r = Record::new("d", 100, 1);
/// let step = handle(&ObjectOp::Create(r.clone()).to_body(), None, 10);
/// assert_eq!(step.write, Some(r.clone()));
/// let again = handle(&ObjectOp::Create(r.clone()).to_body(), Some(&r.to_json()), 10);
/// assert_eq!(again.reply, r#"{"error":"exists"}"#);
/// ```
pub fn handle(body: &str, stored: Option<&str>, now: i64) -> ObjectStep {
    let live = stored.and_then(|t| Record::from_json(t).ok()).filter(|r| !r.is_expired(now));
    let step = |reply: Value, write: Option<Record>, delete_all: bool| ObjectStep {
        reply: reply.to_string(),
        write,
        delete_all,
        inspect: false,
    };
    match ObjectOp::from_body(body) {
        Err(e) => step(json!({ "error": e }), None, false),
        // `held` says whether any record text is stored at all, expired or
        // not: the tests use it to see the expiry alarm delete the record.
        Ok(ObjectOp::Load) => {
            step(json!({ "record": live.map(|r| r.to_json()), "held": stored.is_some() }), None, false)
        }
        Ok(ObjectOp::Create(record)) => match live {
            Some(_) => step(json!({ "error": "exists" }), None, false),
            None => step(json!({ "version": record.version }), Some(record), false),
        },
        Ok(ObjectOp::Save(mut record)) => match live {
            None => step(json!({ "error": "missing" }), None, false),
            Some(current) => {
                record.version = record.version.max(current.version.saturating_add(1));
                step(json!({ "version": record.version }), Some(record), false)
            }
        },
        Ok(ObjectOp::SaveIfUnchanged(mut record, read)) => match live {
            None => step(json!({ "error": "missing" }), None, false),
            // Changed by another save since the caller read it: the caller
            // applies its changes to this one and tries again.
            Some(current) if current.version != read => step(json!({ "changed": current.to_json() }), None, false),
            Some(current) => {
                record.version = record.version.max(current.version.saturating_add(1));
                step(json!({ "version": record.version }), Some(record), false)
            }
        },
        Ok(ObjectOp::Touch(expires_at)) => match live {
            None => step(json!({ "error": "missing" }), None, false),
            Some(current) => {
                let version = current.version;
                step(json!({ "version": version }), Some(Record { expires_at, ..current }), false)
            }
        },
        Ok(ObjectOp::Delete) => step(json!({ "deleted": true }), None, true),
        Ok(ObjectOp::Inspect) => ObjectStep { inspect: true, ..step(Value::Null, None, false) },
    }
}

/// The reply to `inspect`: whether any record text is stored, and the alarm
/// (milliseconds since the epoch) if one is set.
pub fn inspect_reply(held: bool, alarm: Option<f64>) -> String {
    json!({ "held": held, "alarm": alarm }).to_string()
}

/// The furthest ahead an alarm is set: Durable Object alarms refuse dates
/// after 2189, and an expiry may be as late as 9999. A record that lives
/// longer gets an alarm at this horizon, which re-arms ([`on_alarm`]) while
/// the record lives.
pub const MAX_ALARM_DELAY: i64 = 100 * 365 * 86_400;

/// When to set the alarm (Unix seconds) for a record that expires at
/// `expires_at`: at its expiry, or at the horizon [`MAX_ALARM_DELAY`] from `now`.
///
/// ```
/// use edge_session::store::object::{alarm_at, MAX_ALARM_DELAY};
/// assert_eq!(alarm_at(1_000, 10), 1_000);
/// assert_eq!(alarm_at(253_402_300_799, 10), 10 + MAX_ALARM_DELAY);
/// ```
pub fn alarm_at(expires_at: i64, now: i64) -> i64 {
    expires_at.min(now.saturating_add(MAX_ALARM_DELAY))
}

/// What the object's alarm must do: `Some(time)` to re-arm (at
/// [`alarm_at`]) for a record saved since or not yet expired, `None` to
/// delete everything (expired or gone).
pub fn on_alarm(stored: Option<&str>, now: i64) -> Option<i64> {
    stored.and_then(|t| Record::from_json(t).ok()).filter(|r| !r.is_expired(now)).map(|r| alarm_at(r.expires_at, now))
}

/// Reads a reply: the JSON value, or the store error it reports.
pub fn parse_reply(text: &str) -> Result<Value, StoreError> {
    let reply: Value = serde_json::from_str(text)
        .map_err(|e| BackendError::new(StoreOp::ObjectCall, "the reply is not JSON").with_source(e))?;
    match reply.get("error").and_then(Value::as_str) {
        None => Ok(reply),
        Some("exists") => Err(StoreError::Exists),
        Some("missing") => Err(StoreError::Missing),
        Some(other) => {
            Err(BackendError::new(StoreOp::ObjectCall, format!("the session object failed: {other}")).into())
        }
    }
}

/// The record in a `load` reply.
pub fn reply_record(reply: &Value) -> Result<Option<Record>, StoreError> {
    match reply.get("record").and_then(Value::as_str) {
        None => Ok(None),
        Some(text) => Record::from_json(text)
            .map(Some)
            .map_err(|e| BackendError::new(StoreOp::ObjectCall, "the reply's record").with_source(e).into()),
    }
}

/// A conditional `save` reply: the version stored, or the live record that
/// changed since the caller read it.
pub fn reply_saved(reply: &Value) -> Result<super::Saved, StoreError> {
    match reply.get("changed").and_then(Value::as_str) {
        Some(text) => Record::from_json(text)
            .map(super::Saved::Changed)
            .map_err(|e| BackendError::new(StoreOp::ObjectCall, "the reply's record").with_source(e).into()),
        None => reply_version(reply).map(super::Saved::Version),
    }
}

/// The version in a `create`/`save` reply.
pub fn reply_version(reply: &Value) -> Result<u64, StoreError> {
    reply
        .get("version")
        .and_then(Value::as_u64)
        .ok_or_else(|| BackendError::new(StoreOp::ObjectCall, "the reply has no version").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(v: u64, exp: i64) -> Record {
        Record::new("d", exp, v)
    }

    #[test]
    fn save_of_a_missing_or_expired_record_is_refused() {
        let body = ObjectOp::Save(rec(2, 100)).to_body();
        assert_eq!(parse_reply(&handle(&body, None, 10).reply), Err(StoreError::Missing));
        let expired = rec(1, 10).to_json();
        let step = handle(&body, Some(&expired), 10);
        assert_eq!(step.write, None);
        assert_eq!(parse_reply(&step.reply), Err(StoreError::Missing));
    }

    #[test]
    fn save_increments_the_version_atomically() {
        let step = handle(&ObjectOp::Save(rec(2, 100)).to_body(), Some(&rec(5, 100).to_json()), 10);
        assert_eq!(step.write.unwrap().version, 6);
        assert_eq!(reply_version(&parse_reply(&step.reply).unwrap()), Ok(6));
    }

    #[test]
    fn a_save_that_read_an_older_version_writes_nothing_and_gets_the_live_record() {
        let live = rec(5, 100);
        let stale = handle(&ObjectOp::SaveIfUnchanged(rec(4, 100), 3).to_body(), Some(&live.to_json()), 10);
        assert_eq!(stale.write, None);
        assert_eq!(reply_saved(&parse_reply(&stale.reply).unwrap()), Ok(crate::store::Saved::Changed(live.clone())));
        let fresh = handle(&ObjectOp::SaveIfUnchanged(rec(6, 100), 5).to_body(), Some(&live.to_json()), 10);
        assert_eq!(fresh.write.as_ref().map(|r| r.version), Some(6));
        assert_eq!(reply_saved(&parse_reply(&fresh.reply).unwrap()), Ok(crate::store::Saved::Version(6)));
        let gone = handle(&ObjectOp::SaveIfUnchanged(rec(6, 100), 5).to_body(), None, 10);
        assert_eq!(parse_reply(&gone.reply), Err(StoreError::Missing));
        // A save without `read` is unconditional, as before.
        let plain = handle(&ObjectOp::Save(rec(2, 100)).to_body(), Some(&live.to_json()), 10);
        assert_eq!(plain.write.map(|r| r.version), Some(6));
    }

    #[test]
    fn a_touch_moves_only_the_expiry_of_a_live_record() {
        let live = Record::new("data", 100, 5);
        let step = handle(&ObjectOp::Touch(500).to_body(), Some(&live.to_json()), 10);
        assert_eq!(step.write, Some(Record::new("data", 500, 5)), "the same data and version; the alarm follows");
        assert_eq!(reply_version(&parse_reply(&step.reply).unwrap()), Ok(5));
        let dead = handle(&ObjectOp::Touch(500).to_body(), Some(&live.to_json()), 100);
        assert_eq!((dead.write, parse_reply(&dead.reply)), (None, Err(StoreError::Missing)));
    }

    #[test]
    fn load_returns_only_a_live_record() {
        let live = handle(&ObjectOp::Load.to_body(), Some(&rec(1, 100).to_json()), 10);
        assert_eq!(reply_record(&parse_reply(&live.reply).unwrap()), Ok(Some(rec(1, 100))));
        let dead = handle(&ObjectOp::Load.to_body(), Some(&rec(1, 100).to_json()), 100);
        assert_eq!(reply_record(&parse_reply(&dead.reply).unwrap()), Ok(None));
    }

    #[test]
    fn delete_removes_everything_and_bad_requests_are_errors() {
        assert!(handle(&ObjectOp::Delete.to_body(), None, 0).delete_all);
        for bad in ["", "{}", r#"{"op":"create","record":"nope"}"#, r#"{"op":"drop"}"#] {
            let step = handle(bad, None, 0);
            assert!(step.write.is_none() && !step.delete_all);
            assert!(matches!(parse_reply(&step.reply), Err(StoreError::Backend(_))), "{bad}");
        }
    }

    #[test]
    fn alarms_stay_within_what_durable_objects_accept_and_rearm_until_expiry() {
        let far = rec(1, 253_402_300_799); // 9999-12-31
        let now = 1_765_000_000;
        let first = on_alarm(Some(&far.to_json()), now).unwrap();
        assert_eq!(first, now + MAX_ALARM_DELAY);
        assert!(first < 6_900_000_000, "before 2189");
        assert_eq!(on_alarm(Some(&far.to_json()), first), Some(first + MAX_ALARM_DELAY), "re-armed, not deleted");
    }

    #[test]
    fn the_alarm_rearms_for_a_live_record_and_deletes_otherwise() {
        assert_eq!(on_alarm(Some(&rec(1, 100).to_json()), 50), Some(100));
        assert_eq!(on_alarm(Some(&rec(1, 100).to_json()), 100), None);
        assert_eq!(on_alarm(None, 0), None);
    }
}
