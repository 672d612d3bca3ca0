//! The stored-record decoder (`Record::from_json`) and the session Durable
//! Object's protocol (`store::object::handle`, `on_alarm`, the reply readers).
//!
//! Input: any bytes. Without a NUL byte, the input is tried as a stored record
//! (under every request the object can get) and as a request body; with one,
//! it is split there into `body \0 stored`. Checked on every input:
//! * a record that decodes re-encodes to itself;
//! * the object's reply is always JSON the client can read (a value, or
//!   `exists` / `missing` / a backend error), never a panic;
//! * it writes only on `create` / `save`, deletes only on `delete`, never
//!   creates over a live record, never saves without one, and a saved
//!   version is greater than the live one it replaces;
//! * `load` answers exactly the live record.
//!
//! The same input goes to a user's index object (`users::index::handle`,
//! `on_alarm`), as a request body and as the stored index: its reply is
//! always JSON, what it stores reads back as the same entries, none of them
//! expired, and its alarm is never in the past.
#![no_main]

use edge_session::Record;
use edge_session::store::object::{handle, on_alarm, parse_reply, reply_record, reply_version, ObjectOp};
use edge_session::users::index::{self, EntryRef, IndexEntry, IndexOp};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const NOW: i64 = 1_765_019_800;

fn live(stored: Option<&str>) -> Option<Record> {
    stored.and_then(|t| Record::from_json(t).ok()).filter(|r| !r.is_expired(NOW))
}

fn check(body: &str, stored: Option<&str>) {
    let current = live(stored);
    let op =
        serde_json::from_str::<Value>(body).ok().and_then(|v| v.get("op").and_then(Value::as_str).map(str::to_owned));
    let step = handle(body, stored, NOW);
    let reply = parse_reply(&step.reply);
    assert!(serde_json::from_str::<Value>(&step.reply).is_ok(), "reply is JSON: {}", step.reply);
    if step.write.is_some() {
        assert!(matches!(op.as_deref(), Some("create" | "save" | "touch")), "{body}");
    }
    if step.delete_all {
        assert_eq!(op.as_deref(), Some("delete"));
        assert!(step.write.is_none());
    }
    match op.as_deref() {
        Some("create") if current.is_some() => assert!(step.write.is_none(), "never creates over a live record"),
        Some("save") => match (&current, &step.write) {
            (None, Some(_)) => panic!("saved without a live record"),
            (Some(cur), Some(w)) => {
                assert!(
                    w.version > cur.version || cur.version == u64::MAX,
                    "versions increase, saturating at u64::MAX"
                );
                assert_eq!(reply.as_ref().ok().map(reply_version), Some(Ok(w.version)));
            }
            _ => {}
        },
        Some("touch") => match (&current, &step.write) {
            (None, Some(_)) => panic!("touched without a live record"),
            (Some(cur), Some(w)) => {
                assert_eq!((&w.data, w.version), (&cur.data, cur.version), "a touch moves only the expiry")
            }
            _ => {}
        },
        Some("load") if reply.is_ok() => {
            assert_eq!(reply_record(reply.as_ref().expect("ok")), Ok(current.clone()));
        }
        _ => {}
    }
    let _ = on_alarm(stored, NOW);
}

fn check_index(step: index::IndexStep) {
    assert!(serde_json::from_str::<Value>(&step.reply).is_ok(), "index reply is JSON: {}", step.reply);
    if let Some(written) = &step.write {
        assert!(!step.delete_all);
        let array: Vec<Value> = serde_json::from_str(written).expect("the stored index is a JSON array");
        let entries: Vec<IndexEntry> = array.iter().filter_map(IndexEntry::from_json).collect();
        assert_eq!(entries.len(), array.len(), "every stored entry reads back");
        assert!(entries.iter().all(|e| e.expires.is_none_or(|t| t > NOW)), "no expired entry is kept");
        let listed = index::handle(&IndexOp::List.to_body(), Some(written), NOW);
        let v: Value = serde_json::from_str(&listed.reply).expect("list reply");
        assert_eq!(v["entries"].as_array().map(Vec::len), Some(entries.len()));
        assert!(entries.len() <= index::MAX_ENTRIES + 1, "at most one over, when an entry is put back");
    }
    if let Some(at) = step.alarm_at {
        assert!(at > NOW, "the alarm is never in the past");
    }
}

fn index_requests(text: &str) {
    let (body, stored) = match text.split_once('\0') {
        Some((b, s)) => (b, Some(s)),
        None => (text, None),
    };
    check_index(index::handle(body, stored, NOW));
    check_index(index::on_alarm(Some(text), NOW));
    let entry =
        IndexEntry { id: "p".into(), key: Some("k".into()), prev_key: None, created: NOW, expires: Some(NOW + 60), meta: None };
    for op in [
        IndexOp::List,
        IndexOp::Add { entry, replaces: Some(EntryRef::Key("k0".into())), inherit: true, require: true, overflow: false },
        IndexOp::Check { entry: EntryRef::Id("p".into()), expires: Some(NOW + 600) },
        IndexOp::Remove(vec![EntryRef::Id("p".into()), EntryRef::Key("k".into())]),
        IndexOp::Prune(vec!["k".into()]),
        IndexOp::RemoveAll(Some(EntryRef::Key("k".into()))),
    ] {
        check_index(index::handle(&op.to_body(), Some(text), NOW));
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    index_requests(&text);
    if let Ok(record) = Record::from_json(&text) {
        assert_eq!(Record::from_json(&record.to_json()), Ok(record.clone()));
    }
    if let Some((body, stored)) = text.split_once('\0') {
        check(body, Some(stored));
        return;
    }
    check(&text, None);
    let probe = Record::new("e30:1vRqGo:qnt0u7xpmvYvTyP4BI2GgvhjaqYnZI0lrOX2oyOQZYY", NOW + 60, 7);
    for op in [
        ObjectOp::Load,
        ObjectOp::Create(probe.clone()),
        ObjectOp::Save(probe.clone()),
        ObjectOp::SaveIfUnchanged(probe, 7),
        ObjectOp::Touch(NOW + 120),
        ObjectOp::Delete,
    ] {
        check(&op.to_body(), Some(&text));
    }
    // The record as a `load` reply from the object.
    let _ = parse_reply(&text).map(|v| reply_record(&v));
});
