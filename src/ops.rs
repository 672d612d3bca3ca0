//! The session ops endpoint (`POST /_session/ops`, see `docs/test-api.md`):
//! a black-box way to drive `request.session` exactly as a Django view would.
//!
//! It lives in the core so that the Rust demo worker and the npm package serve
//! the same contract from the same code. It is never enabled by the library
//! itself: the demo worker serves it only when `SESSION_TEST_API` is `"1"`.

use serde_json::{json, Map, Value};
use std::fmt;
use std::future::Future;

use crate::datetime::DateTime;
use crate::expiry::Expiry;
use crate::messages::Message;
use crate::response::ErrorName;
use crate::session::{Session, SessionError};
use crate::store::SessionStore;
use crate::users::{Revoke, UserSession};

/// The most ops one request may carry.
pub const MAX_OPS: usize = 256;

/// One validated operation.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Get {
        key: String,
        default: Option<Value>,
    },
    Set {
        key: String,
        value: Value,
    },
    Delete {
        key: String,
    },
    Contains {
        key: String,
    },
    Pop {
        key: String,
        default: Option<Value>,
    },
    SetDefault {
        key: String,
        value: Value,
    },
    Update {
        values: Map<String, Value>,
    },
    Keys,
    Values,
    Items,
    Clear,
    IsEmpty,
    Flush,
    CycleKey,
    SetTestCookie,
    TestCookieWorked,
    DeleteTestCookie,
    SetExpiry {
        value: Value,
    },
    GetExpiryAge,
    GetExpiryDate,
    GetExpireAtBrowserClose,
    SessionKey,
    MarkModified,
    /// Awaits the endpoint's timer (the core has none: see [`OpsRequest::run`]).
    Sleep {
        ms: u32,
    },
    Login {
        user: String,
        meta: Option<Map<String, Value>>,
    },
    Logout,
    UserId,
    UserSessions {
        user: Option<String>,
    },
    RevokeSession {
        id: String,
        user: Option<String>,
    },
    RevokeUserSessions {
        user: Option<String>,
        keep_current: bool,
    },
    AddMessage {
        level: i64,
        message: String,
        extra_tags: String,
    },
    GetMessages,
    /// Beyond the contract (the npm package's `messages.keep()`): keep the messages read.
    KeepMessages,
}

/// The longest `sleep` op, in milliseconds.
pub const MAX_SLEEP_MS: u32 = 5000;

/// A validated ops request.
#[derive(Debug, Clone, PartialEq)]
pub struct OpsRequest {
    ops: Vec<Op>,
    /// The status the response gets (200 by default; 200-599).
    pub status: u16,
}

/// Why an ops request was refused (a 400; the session is untouched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsError(pub String);

impl fmt::Display for OpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OpsError {}

impl OpsError {
    /// The error's name in [`ErrorName`]: `BadRequest`.
    pub fn name(&self) -> &'static str {
        ErrorName::BadRequest.as_str()
    }

    /// The JSON body of the 400 response.
    pub fn to_json(&self) -> Value {
        json!({ "error": self.name(), "message": self.0 })
    }
}

fn bad<T>(message: impl Into<String>) -> Result<T, OpsError> {
    Err(OpsError(message.into()))
}

fn key_of(op: &Map<String, Value>, i: usize) -> Result<String, OpsError> {
    match op.get("key") {
        Some(Value::String(k)) => Ok(k.clone()),
        _ => bad(format!("ops[{i}]: \"key\" must be a string")),
    }
}

/// An optional string argument: absent or null is `None`.
fn string_of(op: &Map<String, Value>, i: usize, name: &str) -> Result<Option<String>, OpsError> {
    match op.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => bad(format!("ops[{i}]: \"{name}\" must be a string")),
    }
}

fn value_of(op: &Map<String, Value>, i: usize) -> Result<Value, OpsError> {
    op.get("value").cloned().ok_or_else(|| OpsError(format!("ops[{i}]: \"value\" is required")))
}

impl OpsRequest {
    /// Parses and validates the whole body before anything runs.
    pub fn parse(body: &[u8]) -> Result<Self, OpsError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| OpsError(format!("body is not valid JSON: {e}")))?;
        let Value::Object(body) = value else { return bad("body must be a JSON object") };
        let status = match body.get("status") {
            None | Some(Value::Null) => 200,
            Some(v) => match v.as_u64() {
                Some(s @ 200..=599) => s as u16,
                _ => return bad("\"status\" must be an integer from 200 to 599"),
            },
        };
        let Some(Value::Array(raw_ops)) = body.get("ops") else { return bad("\"ops\" must be an array") };
        if raw_ops.len() > MAX_OPS {
            return bad(format!("at most {MAX_OPS} ops per request"));
        }
        let ops = raw_ops.iter().enumerate().map(|(i, raw)| parse_op(raw, i)).collect::<Result<_, _>>()?;
        Ok(Self { ops, status })
    }

    /// Runs one op given as JSON (`{"op": "get", "key": "k"}`): `{"ok": result}`,
    /// or `{"error": name, "message": ...}` (the wrapper keeps a stored value
    /// that looks like an error from being taken for one). The npm package's
    /// `Session` methods are this call, so they and the ops endpoint share one
    /// implementation.
    pub async fn run_one<S: SessionStore>(session: &mut Session<S>, op: &str) -> Value {
        let parsed =
            serde_json::from_str::<Value>(op).map_err(|e| OpsError(e.to_string())).and_then(|v| parse_op(&v, 0));
        match parsed {
            Ok(Op::Sleep { .. }) => json!({
                "error": ErrorName::TypeError.as_str(),
                "message": "sleep is an op of the test endpoint, not a session method",
            }),
            Ok(op) => match run_op(session, &op).await {
                Ok(result) => json!({ "ok": result }),
                Err(e) => error_json(&e),
            },
            Err(e) => json!({ "error": ErrorName::TypeError.as_str(), "message": e.0 }),
        }
    }

    /// `{"op": "set", "key": key, "value": value}` with the value given as
    /// JSON text, without an op to parse (the npm package's `Session.set`):
    /// `None` when set, else what [`run_one`](Self::run_one) answers for it.
    pub async fn set_one<S: SessionStore>(session: &mut Session<S>, key: &str, value: &str) -> Option<Value> {
        let value = match serde_json::from_str::<Value>(value) {
            Ok(v) => v,
            Err(e) => return Some(json!({ "error": ErrorName::TypeError.as_str(), "message": e.to_string() })),
        };
        session.set(key, value).await.err().map(|e| error_json(&e))
    }

    /// Runs the ops in order; a failing op yields `{"error", "message"}` and
    /// the next ops still run. `sleep(ms)` is the platform's timer, which a
    /// `sleep` op awaits (so black-box tests can make requests overlap).
    /// Returns the response body.
    pub async fn run<S: SessionStore, F: Future<Output = ()>>(
        &self,
        session: &mut Session<S>,
        sleep: impl Fn(u32) -> F,
    ) -> Value {
        let mut results = Vec::with_capacity(self.ops.len());
        for op in &self.ops {
            let result = match op {
                Op::Sleep { ms } => {
                    sleep(*ms).await;
                    Ok(Value::Null)
                }
                op => run_op(session, op).await,
            };
            results.push(result.unwrap_or_else(|e| error_json(&e)));
        }
        json!({
            "results": results,
            "session_key": session.session_key(),
            "modified": session.modified(),
            "accessed": session.accessed(),
        })
    }
}

/// `{"error", "message"}` for a failed session call (the npm package's methods answer it too).
pub(crate) fn error_json(e: &SessionError) -> Value {
    json!({ "error": e.name(), "message": format!("{e:#}") })
}

fn parse_op(raw: &Value, i: usize) -> Result<Op, OpsError> {
    let Value::Object(op) = raw else { return bad(format!("ops[{i}] must be an object")) };
    let Some(Value::String(name)) = op.get("op") else { return bad(format!("ops[{i}]: \"op\" must be a string")) };
    Ok(match name.as_str() {
        "get" => Op::Get { key: key_of(op, i)?, default: op.get("default").cloned() },
        "set" => Op::Set { key: key_of(op, i)?, value: value_of(op, i)? },
        "delete" => Op::Delete { key: key_of(op, i)? },
        "contains" => Op::Contains { key: key_of(op, i)? },
        "pop" => Op::Pop { key: key_of(op, i)?, default: op.get("default").cloned() },
        "setdefault" => Op::SetDefault { key: key_of(op, i)?, value: value_of(op, i)? },
        "update" => match op.get("values") {
            Some(Value::Object(values)) => Op::Update { values: values.clone() },
            _ => return bad(format!("ops[{i}]: \"values\" must be an object")),
        },
        "keys" => Op::Keys,
        "values" => Op::Values,
        "items" => Op::Items,
        "clear" => Op::Clear,
        "is_empty" => Op::IsEmpty,
        "flush" => Op::Flush,
        "cycle_key" => Op::CycleKey,
        "set_test_cookie" => Op::SetTestCookie,
        "test_cookie_worked" => Op::TestCookieWorked,
        "delete_test_cookie" => Op::DeleteTestCookie,
        "set_expiry" => Op::SetExpiry { value: op.get("value").cloned().unwrap_or(Value::Null) },
        "get_expiry_age" => Op::GetExpiryAge,
        "get_expiry_date" => Op::GetExpiryDate,
        "get_expire_at_browser_close" => Op::GetExpireAtBrowserClose,
        "session_key" => Op::SessionKey,
        "mark_modified" => Op::MarkModified,
        "sleep" => match op.get("ms").and_then(Value::as_u64) {
            Some(ms) if ms <= u64::from(MAX_SLEEP_MS) => Op::Sleep { ms: ms as u32 },
            _ => return bad(format!("ops[{i}]: \"ms\" must be an integer from 0 to {MAX_SLEEP_MS}")),
        },
        "login" => Op::Login {
            user: string_of(op, i, "user")?.ok_or_else(|| OpsError(format!("ops[{i}]: \"user\" must be a string")))?,
            meta: match op.get("meta") {
                None | Some(Value::Null) => None,
                Some(Value::Object(m)) => Some(m.clone()),
                Some(_) => return bad(format!("ops[{i}]: \"meta\" must be an object")),
            },
        },
        "logout" => Op::Logout,
        "user_id" => Op::UserId,
        "user_sessions" => Op::UserSessions { user: string_of(op, i, "user")? },
        "revoke_session" => Op::RevokeSession {
            id: string_of(op, i, "id")?.ok_or_else(|| OpsError(format!("ops[{i}]: \"id\" must be a string")))?,
            user: string_of(op, i, "user")?,
        },
        "revoke_user_sessions" => Op::RevokeUserSessions {
            user: string_of(op, i, "user")?,
            keep_current: match op.get("keep_current") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return bad(format!("ops[{i}]: \"keep_current\" must be a bool")),
            },
        },
        "add_message" => Op::AddMessage {
            level: match op.get("level") {
                Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64().unwrap_or_default(),
                _ => return bad(format!("ops[{i}]: \"level\" must be an integer")),
            },
            message: string_of(op, i, "message")?
                .ok_or_else(|| OpsError(format!("ops[{i}]: \"message\" must be a string")))?,
            extra_tags: string_of(op, i, "extra_tags")?.unwrap_or_default(),
        },
        "get_messages" => Op::GetMessages,
        "keep_messages" => Op::KeepMessages,
        other => return bad(format!("ops[{i}]: unknown op {other:?}")),
    })
}

async fn run_op<S: SessionStore>(s: &mut Session<S>, op: &Op) -> Result<Value, SessionError> {
    Ok(match op {
        Op::Get { key, default } => s.get(key).await?.or_else(|| default.clone()).unwrap_or(Value::Null),
        Op::Set { key, value } => {
            s.set(key, value.clone()).await?;
            Value::Null
        }
        Op::Delete { key } => {
            s.delete(key).await?;
            Value::Null
        }
        Op::Contains { key } => Value::Bool(s.contains(key).await?),
        Op::Pop { key, default: None } => s.pop(key).await?,
        Op::Pop { key, default: Some(d) } => s.pop_or(key, d.clone()).await?,
        Op::SetDefault { key, value } => s.setdefault(key, value.clone()).await?,
        Op::Update { values } => {
            s.update(values.clone()).await?;
            Value::Null
        }
        Op::Keys => json!(s.keys().await?),
        Op::Values => json!(s.values().await?),
        Op::Items => Value::Array(s.items().await?.into_iter().map(|(k, v)| json!([k, v])).collect()),
        Op::Clear => {
            s.clear();
            Value::Null
        }
        Op::IsEmpty => Value::Bool(s.is_empty()),
        Op::Flush => {
            s.flush();
            Value::Null
        }
        Op::CycleKey => {
            s.cycle_key().await?;
            Value::Null
        }
        Op::SetTestCookie => {
            s.set_test_cookie().await?;
            Value::Null
        }
        Op::TestCookieWorked => Value::Bool(s.test_cookie_worked().await?),
        Op::DeleteTestCookie => {
            s.delete_test_cookie().await?;
            Value::Null
        }
        Op::SetExpiry { value } => {
            s.set_expiry(Expiry::from_json(value).map_err(SessionError::InvalidExpiry)?).await?;
            Value::Null
        }
        Op::GetExpiryAge => Value::from(s.get_expiry_age().await?),
        Op::GetExpiryDate => {
            let date = s.get_expiry_date().await?;
            Value::from(DateTime { offset_minutes: 0, ..date }.to_iso())
        }
        Op::GetExpireAtBrowserClose => Value::Bool(s.get_expire_at_browser_close().await?),
        Op::SessionKey => json!(s.session_key()),
        Op::MarkModified => {
            s.set_modified(true);
            Value::Null
        }
        // Both callers handle it before: `run` with its timer, `run_one`
        // (a session method call, which has no timer) by refusing it.
        Op::Sleep { .. } => Value::Null,
        Op::Login { user, meta } => {
            s.login(user, meta.clone()).await?;
            Value::Null
        }
        Op::Logout => {
            s.logout().await?;
            Value::Null
        }
        Op::UserId => json!(s.user_id().await?),
        Op::UserSessions { user } => {
            let listed = match user {
                None => s.user_sessions().await?,
                Some(u) => {
                    crate::users::check_user_id(u)?;
                    s.list_sessions(s.index()?.as_ref(), u).await?
                }
            };
            Value::Array(listed.iter().map(UserSession::to_json).collect())
        }
        Op::RevokeSession { id, user } => Value::Bool(match user {
            None => s.revoke_session(id).await?,
            Some(u) => {
                crate::users::check_user_id(u)?;
                s.revoke_as(s.index()?.as_ref(), u, Revoke::One(id)).await? > 0
            }
        }),
        Op::AddMessage { level, message, extra_tags } => {
            s.messages().add(*level, message, extra_tags);
            Value::Null
        }
        Op::GetMessages => Value::Array(s.messages().get().await?.iter().map(Message::to_json).collect()),
        Op::KeepMessages => {
            s.messages().keep();
            Value::Null
        }
        Op::RevokeUserSessions { user: None, keep_current } => {
            Value::from(s.revoke_user_sessions(*keep_current).await?)
        }
        Op::RevokeUserSessions { user: Some(u), keep_current } => {
            // Another user's sessions (an admin's op): "current" is this
            // session only if it is one of them.
            let own = s.user_id().await?.as_deref() == Some(u.as_str());
            if own {
                Value::from(s.revoke_user_sessions(*keep_current).await?)
            } else {
                crate::users::check_user_id(u)?;
                Value::from(s.revoke_as(s.index()?.as_ref(), u, Revoke::All { keep: None }).await?)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    fn manager() -> SessionManager<MemoryStore> {
        let clock = FixedClock::new(1_765_000_000);
        let settings = Settings::from_pairs([("SECRET_KEY", "k")]).unwrap();
        SessionManager::new(settings, MemoryStore::new(clock.clone()), clock, OsKeySource)
    }

    fn run(body: &str) -> Value {
        let m = manager();
        let req = OpsRequest::parse(body.as_bytes()).unwrap();
        pollster::block_on(async {
            let mut s = m.session(None);
            req.run(&mut s, |_| std::future::ready(())).await
        })
    }

    #[test]
    fn bad_bodies_are_refused_before_anything_runs() {
        for body in [
            "not json",
            "[]",
            r#"{"ops": 1}"#,
            r#"{"ops": [{"op": "explode"}]}"#,
            r#"{"ops": [{"op": "set", "key": "a", "value": 1}, {"op": "nope"}]}"#,
            r#"{"ops": [{"op": "get"}]}"#,
            r#"{"ops": [{"op": "set", "key": "a"}]}"#,
            r#"{"ops": [], "status": 99}"#,
            r#"{"ops": [], "status": 600}"#,
            r#"{"ops": [{"op": "update", "values": [1]}]}"#,
        ] {
            assert!(OpsRequest::parse(body.as_bytes()).is_err(), "{body}");
        }
        assert_eq!(OpsRequest::parse(br#"{"ops": [], "status": 503}"#).unwrap().status, 503);
    }

    #[test]
    fn sleep_awaits_the_endpoints_timer_between_ops_and_its_range_is_checked() {
        let m = manager();
        let req = OpsRequest::parse(
            br#"{"ops": [{"op": "set", "key": "a", "value": 1}, {"op": "sleep", "ms": 250}, {"op": "get", "key": "a"}, {"op": "sleep", "ms": 0}]}"#,
        )
        .unwrap();
        let slept = std::cell::RefCell::new(Vec::new());
        let out = pollster::block_on(async {
            let mut s = m.session(None);
            req.run(&mut s, |ms| {
                slept.borrow_mut().push(ms);
                std::future::ready(())
            })
            .await
        });
        assert_eq!(out["results"], json!([null, null, 1, null]));
        assert_eq!(*slept.borrow(), [250, 0]);
        for bad in [
            r#"{"op": "sleep"}"#,
            r#"{"op": "sleep", "ms": 5001}"#,
            r#"{"op": "sleep", "ms": -1}"#,
            r#"{"op": "sleep", "ms": 1.5}"#,
        ] {
            let body = format!(r#"{{"ops": [{bad}]}}"#);
            assert!(OpsRequest::parse(body.as_bytes()).is_err(), "{bad}");
        }
        // A session method call has no timer: refused, not skipped.
        let out = pollster::block_on(async {
            let mut s = m.session(None);
            OpsRequest::run_one(&mut s, r#"{"op": "sleep", "ms": 10}"#).await
        });
        assert_eq!(out["error"], "TypeError");
    }

    #[test]
    fn ops_run_in_order_and_errors_do_not_stop_the_rest() {
        let out = run(r#"{"ops": [
            {"op": "set", "key": "cat", "value": "dog"},
            {"op": "get", "key": "cat"},
            {"op": "delete", "key": "missing"},
            {"op": "get", "key": "missing", "default": 7},
            {"op": "pop", "key": "missing", "default": "d"},
            {"op": "setdefault", "key": "cat", "value": "x"},
            {"op": "contains", "key": "cat"},
            {"op": "items"},
            {"op": "set_expiry", "value": "2026-12-10T09:00:00+01:00"},
            {"op": "get_expiry_date"},
            {"op": "set_expiry", "value": "tomorrow"},
            {"op": "set", "key": "_private", "value": 1},
            {"op": "is_empty"},
            {"op": "get_expire_at_browser_close"}
        ]}"#);
        let r = &out["results"];
        assert_eq!(r[0], Value::Null);
        assert_eq!(r[1], "dog");
        assert_eq!(r[2]["error"], "KeyError");
        assert_eq!(r[3], 7);
        assert_eq!(r[4], "d");
        assert_eq!(r[5], "dog");
        assert_eq!(r[6], true);
        assert_eq!(r[7], json!([["cat", "dog"]]));
        assert_eq!(r[9], "2026-12-10T08:00:00+00:00");
        assert_eq!(r[10]["error"], "ValueError");
        assert_eq!(r[11]["error"], "ReservedKey");
        assert_eq!(r[12], false);
        assert_eq!(r[13], false);
        assert_eq!(out["modified"], true);
        assert_eq!(out["accessed"], true);
        assert_eq!(out["session_key"], Value::Null, "a new session gets its key when saved");
    }

    #[test]
    fn cycle_key_reports_the_new_key() {
        let out = run(r#"{"ops": [{"op": "cycle_key"}, {"op": "session_key"}, {"op": "mark_modified"}]}"#);
        let key = out["results"][1].as_str().unwrap();
        assert_eq!(key.len(), 32);
        assert_eq!(out["session_key"], key);
    }
}
