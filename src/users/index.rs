//! The per-user index, as pure functions: the protocol between the manager
//! and a user's index object, and what the object does with each request,
//! so that the Rust class (`workers` feature), the JavaScript class of the
//! npm package and the host's [`MemoryUsers`](super::MemoryUsers) behave
//! identically.
//!
//! A user's index is one object (named `user:` + the user id in the session
//! Durable Object namespace) holding a JSON array of entries:
//! `{"id": "<public id>", "key": "<session key>" (server-side engines),
//! "prev_key": "<the key before its last cycle_key>", "created": <unix>,
//! "expires": <unix> (when known), "meta": {...}}`.
//! A request is a JSON body:
//!
//! | op | fields | reply |
//! |---|---|---|
//! | `add` | `entry`; optional `replaces_key` / `replaces_id`, `inherit` (keep the replaced entry's id, created and meta, and remember its key as `prev_key`), `require` (add only if the replaced entry is there), `overflow` (never evict: an entry put back) | `{"added": bool, "evicted": [entries]}` |
//! | `list` | none | `{"entries": [entries]}` |
//! | `check` | `key` or `id`; optional `expires` (raise the entry's expiry to it) | `{"present": bool}` |
//! | `remove` | `ids` and/or `keys` (a key matches an entry's key or its `prev_key`) | `{"entries": [the removed entries]}` |
//! | `prune` | `keys` (matching an entry's current key only: records found dead) | `{"entries": [the removed entries]}` |
//! | `remove_all` | optional `keep_key` / `keep_id` | `{"entries": [the removed entries]}` |
//!
//! A malformed request gets `{"error": "<message>"}`. Entries whose `expires`
//! has passed are dropped by every request and by the object's alarm, set at
//! the earliest `expires`. An index left empty deletes its storage.

use serde_json::{json, Map, Value};

/// The most entries one user's index holds: a login beyond it signs out the
/// session entered longest ago (a login or a `cycle_key` enters an entry
/// anew; it is returned as `evicted`, and the manager deletes its record),
/// so the index stays small and every session the user has stays revocable.
/// A list or a revocation of all costs one store call per entry, and a
/// Worker may make 1,000 subrequests per request (50 on the Free plan).
pub const MAX_ENTRIES: usize = 100;

/// One session in a user's index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    /// The public id (never the session key).
    pub id: String,
    /// The session key, on the server-side engines (never shown in a list).
    pub key: Option<String>,
    /// The key before the session's last `cycle_key`, so a logout that read
    /// the old key still finds the entry.
    pub prev_key: Option<String>,
    /// When the session entered the index (login), Unix seconds.
    pub created: i64,
    /// When the session ends at the latest, where that is known (Unix seconds).
    pub expires: Option<i64>,
    /// What the application chose to keep with the entry at login.
    pub meta: Option<Map<String, Value>>,
}

impl IndexEntry {
    /// The entry as JSON.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), Value::from(self.id.as_str()));
        if let Some(k) = &self.key {
            o.insert("key".into(), Value::from(k.as_str()));
        }
        if let Some(k) = &self.prev_key {
            o.insert("prev_key".into(), Value::from(k.as_str()));
        }
        o.insert("created".into(), Value::from(self.created));
        if let Some(e) = self.expires {
            o.insert("expires".into(), Value::from(e));
        }
        if let Some(m) = &self.meta {
            o.insert("meta".into(), Value::Object(m.clone()));
        }
        Value::Object(o)
    }

    /// An entry from its JSON; `None` when it is not one.
    pub fn from_json(v: &Value) -> Option<Self> {
        let o = v.as_object()?;
        let text = |name: &str| o.get(name).and_then(Value::as_str).map(str::to_owned);
        Some(Self {
            id: text("id").filter(|id| !id.is_empty())?,
            key: text("key"),
            prev_key: text("prev_key"),
            created: o.get("created").and_then(Value::as_i64)?,
            expires: o.get("expires").and_then(Value::as_i64),
            meta: o.get("meta").and_then(Value::as_object).cloned(),
        })
    }

    fn live(&self, now: i64) -> bool {
        self.expires.is_none_or(|e| e > now)
    }
}

/// Names an entry: by its session key (server-side engines) or its public id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryRef {
    /// The entry of this session key.
    Key(String),
    /// The entry with this public id.
    Id(String),
}

impl EntryRef {
    fn matches(&self, e: &IndexEntry) -> bool {
        match self {
            Self::Key(k) => e.key.as_deref() == Some(k),
            Self::Id(id) => &e.id == id,
        }
    }

    /// Matches the entry's key, or the key it had before its last cycle.
    fn matches_any_key(&self, e: &IndexEntry) -> bool {
        self.matches(e) || matches!(self, Self::Key(k) if e.prev_key.as_deref() == Some(k))
    }

    fn put(&self, o: &mut Map<String, Value>, prefix: &str) {
        let (field, value) = match self {
            Self::Key(k) => ("key", k),
            Self::Id(id) => ("id", id),
        };
        let name = if prefix.is_empty() { field.to_owned() } else { format!("{prefix}_{field}") };
        o.insert(name, Value::from(value.as_str()));
    }

    fn get(o: &Map<String, Value>, prefix: &str) -> Option<Self> {
        let name = |field: &str| if prefix.is_empty() { field.to_owned() } else { format!("{prefix}_{field}") };
        let text = |field: &str| o.get(&name(field)).and_then(Value::as_str).map(str::to_owned);
        text("key").map(Self::Key).or_else(|| text("id").map(Self::Id))
    }
}

/// A request to a user's index.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexOp {
    /// Enter a session; `replaces` is the entry it takes the place of (the
    /// key before `cycle_key`, the same device logging in again).
    Add {
        /// The new entry.
        entry: IndexEntry,
        /// The entry it replaces, if any.
        replaces: Option<EntryRef>,
        /// Keep the replaced entry's id, created time and meta (a `cycle_key`).
        inherit: bool,
        /// Add only if the replaced entry is there (it was not revoked meanwhile).
        require: bool,
        /// Never evict to make room (an entry put back after a failure).
        overflow: bool,
    },
    /// The live entries.
    List,
    /// Whether an entry is there; raise its expiry to `expires` if given.
    Check {
        /// Which entry.
        entry: EntryRef,
        /// Its new expiry, when later than the one held.
        expires: Option<i64>,
    },
    /// Remove these entries (a key matches an entry's key or its previous one).
    Remove(Vec<EntryRef>),
    /// Remove the entries of these keys (records found dead), by current key only.
    Prune(Vec<String>),
    /// Remove every entry but `keep`.
    RemoveAll(Option<EntryRef>),
}

impl IndexOp {
    /// The request body.
    pub fn to_body(&self) -> String {
        let mut o = Map::new();
        let op = match self {
            Self::Add { entry, replaces, inherit, require, overflow } => {
                o.insert("entry".into(), entry.to_json());
                if let Some(r) = replaces {
                    r.put(&mut o, "replaces");
                }
                o.insert("inherit".into(), Value::Bool(*inherit));
                o.insert("require".into(), Value::Bool(*require));
                o.insert("overflow".into(), Value::Bool(*overflow));
                "add"
            }
            Self::List => "list",
            Self::Check { entry, expires } => {
                entry.put(&mut o, "");
                if let Some(e) = expires {
                    o.insert("expires".into(), Value::from(*e));
                }
                "check"
            }
            Self::Remove(refs) => {
                let pick = |key: bool| -> Vec<&str> {
                    refs.iter()
                        .filter_map(|r| match (r, key) {
                            (EntryRef::Key(k), true) | (EntryRef::Id(k), false) => Some(k.as_str()),
                            _ => None,
                        })
                        .collect()
                };
                o.insert("ids".into(), json!(pick(false)));
                o.insert("keys".into(), json!(pick(true)));
                "remove"
            }
            Self::Prune(keys) => {
                o.insert("keys".into(), json!(keys));
                "prune"
            }
            Self::RemoveAll(keep) => {
                if let Some(k) = keep {
                    k.put(&mut o, "keep");
                }
                "remove_all"
            }
        };
        o.insert("op".into(), Value::from(op));
        Value::Object(o).to_string()
    }

    fn from_body(body: &str) -> Result<Self, String> {
        let request: Value = serde_json::from_str(body).map_err(|e| format!("bad request: {e}"))?;
        let o = request.as_object().ok_or("bad request: not an object")?;
        let flag = |name: &str| o.get(name).and_then(Value::as_bool).unwrap_or(false);
        match o.get("op").and_then(Value::as_str) {
            Some("add") => Ok(Self::Add {
                entry: o.get("entry").and_then(IndexEntry::from_json).ok_or("bad entry")?,
                replaces: EntryRef::get(o, "replaces"),
                inherit: flag("inherit"),
                require: flag("require"),
                overflow: flag("overflow"),
            }),
            Some("list") => Ok(Self::List),
            Some("check") => Ok(Self::Check {
                entry: EntryRef::get(o, "").ok_or("check needs a key or an id")?,
                expires: o.get("expires").and_then(Value::as_i64),
            }),
            Some("remove") => {
                let list = |name: &str| -> Vec<String> {
                    o.get(name)
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                        .unwrap_or_default()
                };
                let refs: Vec<EntryRef> = list("ids")
                    .into_iter()
                    .map(EntryRef::Id)
                    .chain(list("keys").into_iter().map(EntryRef::Key))
                    .collect();
                if refs.is_empty() && o.get("ids").is_none() && o.get("keys").is_none() {
                    return Err("remove needs ids or keys".to_owned());
                }
                Ok(Self::Remove(refs))
            }
            Some("prune") => {
                let keys = o.get("keys").and_then(Value::as_array).ok_or("prune needs keys")?;
                Ok(Self::Prune(keys.iter().filter_map(Value::as_str).map(str::to_owned).collect()))
            }
            Some("remove_all") => Ok(Self::RemoveAll(EntryRef::get(o, "keep"))),
            other => Err(format!("unknown op {other:?}")),
        }
    }
}

/// What the index object must do for one request (or its alarm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexStep {
    /// The reply body.
    pub reply: String,
    /// The new stored text, when it changed and is not empty.
    pub write: Option<String>,
    /// Delete everything (the index is empty): the alarm, then the storage.
    pub delete_all: bool,
    /// Set the alarm at this time (Unix seconds): the earliest expiry.
    pub alarm_at: Option<i64>,
}

fn entries_of(stored: Option<&str>) -> Vec<IndexEntry> {
    stored
        .and_then(|t| serde_json::from_str::<Vec<Value>>(t).ok())
        .map(|a| a.iter().filter_map(IndexEntry::from_json).collect())
        .unwrap_or_default()
}

fn to_json(entries: &[IndexEntry]) -> Value {
    Value::Array(entries.iter().map(IndexEntry::to_json).collect())
}

/// The step that stores `entries` (or deletes everything when there are none).
fn store(reply: Value, entries: &[IndexEntry], changed: bool) -> IndexStep {
    let reply = reply.to_string();
    if !changed {
        return IndexStep { reply, write: None, delete_all: false, alarm_at: None };
    }
    if entries.is_empty() {
        return IndexStep { reply, write: None, delete_all: true, alarm_at: None };
    }
    IndexStep {
        reply,
        write: Some(to_json(entries).to_string()),
        delete_all: false,
        alarm_at: entries.iter().filter_map(|e| e.expires).min(),
    }
}

/// Decides one request, given the stored text (if any) and the time.
///
/// ```
/// use edge_session::users::index::{handle, IndexEntry, IndexOp};
/// let entry = IndexEntry { id: "p1".into(), key: Some("k1".into()), prev_key: None, created: 10, expires: None, meta: None };
/// let add = IndexOp::Add { entry, replaces: None, inherit: false, require: false, overflow: false };
/// let step = handle(&add.to_body(), None, 10);
/// assert_eq!(step.reply, r#"{"added":true,"evicted":[]}"#);
/// let list = handle(&IndexOp::List.to_body(), step.write.as_deref(), 11);
/// assert!(list.reply.contains(r#""id":"p1""#));
/// ```
pub fn handle(body: &str, stored: Option<&str>, now: i64) -> IndexStep {
    let all = entries_of(stored);
    let held = all.len();
    let mut entries: Vec<IndexEntry> = all.into_iter().filter(|e| e.live(now)).collect();
    let expired = entries.len() != held;
    let op = match IndexOp::from_body(body) {
        Ok(op) => op,
        Err(e) => return store(json!({ "error": e }), &entries, expired),
    };
    match op {
        IndexOp::Add { mut entry, replaces, inherit, require, overflow } => {
            let old = replaces.as_ref().and_then(|r| entries.iter().position(|e| r.matches(e)));
            if require && old.is_none() {
                return store(json!({ "added": false, "evicted": [] }), &entries, expired);
            }
            if let Some(i) = old {
                let old = entries.remove(i);
                if inherit {
                    entry.id = old.id;
                    entry.created = old.created;
                    entry.meta = old.meta;
                    entry.prev_key = old.key;
                }
            }
            // The same key or id entered twice (a retried login) is one entry.
            entries.retain(|e| e.id != entry.id && (entry.key.is_none() || e.key != entry.key));
            entries.push(entry);
            let excess = if overflow { 0 } else { entries.len().saturating_sub(MAX_ENTRIES) };
            let evicted: Vec<IndexEntry> = entries.drain(..excess).collect();
            store(json!({ "added": true, "evicted": to_json(&evicted) }), &entries, true)
        }
        IndexOp::List => store(json!({ "entries": to_json(&entries) }), &entries, expired),
        IndexOp::Check { entry, expires } => match entries.iter_mut().find(|e| entry.matches(e)) {
            None => store(json!({ "present": false }), &entries, expired),
            Some(e) => {
                let raise = matches!((e.expires, expires), (Some(held), Some(new)) if new > held);
                if raise {
                    e.expires = expires;
                }
                store(json!({ "present": true }), &entries, expired || raise)
            }
        },
        IndexOp::Remove(refs) => {
            let (removed, kept): (Vec<_>, Vec<_>) =
                entries.into_iter().partition(|e| refs.iter().any(|r| r.matches_any_key(e)));
            store(json!({ "entries": to_json(&removed) }), &kept, expired || !removed.is_empty())
        }
        IndexOp::Prune(keys) => {
            let (removed, kept): (Vec<_>, Vec<_>) =
                entries.into_iter().partition(|e| e.key.as_ref().is_some_and(|k| keys.contains(k)));
            store(json!({ "entries": to_json(&removed) }), &kept, expired || !removed.is_empty())
        }
        IndexOp::RemoveAll(keep) => {
            let (kept, removed): (Vec<_>, Vec<_>) =
                entries.into_iter().partition(|e| keep.as_ref().is_some_and(|k| k.matches(e)));
            store(json!({ "entries": to_json(&removed) }), &kept, expired || !removed.is_empty())
        }
    }
}

/// The alarm: drops expired entries; the step says what to store and when
/// to wake again.
pub fn on_alarm(stored: Option<&str>, now: i64) -> IndexStep {
    let entries: Vec<IndexEntry> = entries_of(stored).into_iter().filter(|e| e.live(now)).collect();
    store(Value::Null, &entries, true)
}

/// Whether a stored text is an index (the session object class holds either
/// a session record or an index, under different storage keys).
pub const STORAGE_KEY: &str = "index";

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, key: Option<&str>, expires: Option<i64>) -> IndexEntry {
        IndexEntry { id: id.into(), key: key.map(Into::into), prev_key: None, created: 100, expires, meta: None }
    }

    fn add(stored: Option<&str>, e: IndexEntry, replaces: Option<EntryRef>, inherit: bool, require: bool) -> IndexStep {
        handle(&IndexOp::Add { entry: e, replaces, inherit, require, overflow: false }.to_body(), stored, 100)
    }

    fn ids(reply: &str, field: &str) -> Vec<String> {
        let v: Value = serde_json::from_str(reply).unwrap();
        v[field].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn requests_round_trip_through_their_bodies() {
        let ops = [
            IndexOp::Add {
                entry: IndexEntry {
                    meta: Some(Map::from_iter([("device".into(), json!("phone"))])),
                    ..entry("a", Some("k"), Some(9))
                },
                replaces: Some(EntryRef::Key("old".into())),
                inherit: true,
                require: true,
                overflow: true,
            },
            IndexOp::List,
            IndexOp::Check { entry: EntryRef::Id("a".into()), expires: Some(5) },
            IndexOp::Check { entry: EntryRef::Key("k".into()), expires: None },
            IndexOp::Remove(vec![EntryRef::Id("a".into()), EntryRef::Key("k".into())]),
            IndexOp::Prune(vec!["k".into()]),
            IndexOp::RemoveAll(Some(EntryRef::Id("a".into()))),
            IndexOp::RemoveAll(None),
        ];
        for op in ops {
            assert_eq!(IndexOp::from_body(&op.to_body()), Ok(op));
        }
    }

    #[test]
    fn a_cycled_key_keeps_its_entry_only_if_the_entry_is_still_there() {
        let first = add(None, entry("a", Some("k1"), None), None, false, false);
        let stored = first.write.unwrap();
        // cycle_key: k1 becomes k2, same public id and created time.
        let cycled = add(Some(&stored), entry("new", Some("k2"), None), Some(EntryRef::Key("k1".into())), true, true);
        let stored2 = cycled.write.unwrap();
        let list = handle(&IndexOp::List.to_body(), Some(&stored2), 100);
        let v: Value = serde_json::from_str(&list.reply).unwrap();
        assert_eq!(v["entries"][0]["id"], "a");
        assert_eq!(v["entries"][0]["key"], "k2");
        assert_eq!(v["entries"].as_array().unwrap().len(), 1);
        // Revoked meanwhile: the cycled key is not entered.
        // A prune of the old key (its record is gone) leaves the moved entry;
        // a logout that read the old key finds it.
        let pruned = handle(&IndexOp::Prune(vec!["k1".into()]).to_body(), Some(&stored2), 100);
        assert_eq!(pruned.reply, r#"{"entries":[]}"#);
        let gone = handle(&IndexOp::Remove(vec![EntryRef::Key("k1".into())]).to_body(), Some(&stored2), 100);
        assert_eq!(ids(&gone.reply, "entries"), ["a"]);
        assert!(gone.delete_all, "an empty index deletes its storage");
        let refused = add(None, entry("new", Some("k3"), None), Some(EntryRef::Key("k2".into())), true, true);
        assert_eq!(refused.reply, r#"{"added":false,"evicted":[]}"#);
        assert_eq!(refused.write, None);
    }

    #[test]
    fn expired_entries_drop_out_and_the_alarm_is_set_at_the_earliest_expiry() {
        let s1 = add(None, entry("a", None, Some(150)), None, false, false).write.unwrap();
        let step = add(Some(&s1), entry("b", None, Some(120)), None, false, false);
        assert_eq!(step.alarm_at, Some(120));
        let s2 = step.write.unwrap();
        assert_eq!(ids(&handle(&IndexOp::List.to_body(), Some(&s2), 130).reply, "entries"), ["a"]);
        let alarm = on_alarm(Some(&s2), 130);
        assert_eq!((alarm.alarm_at, alarm.write.is_some()), (Some(150), true));
        assert!(on_alarm(Some(&s2), 151).delete_all);
    }

    #[test]
    fn a_check_says_whether_the_entry_is_there_and_raises_its_expiry() {
        let s = add(None, entry("a", None, Some(150)), None, false, false).write.unwrap();
        let up =
            handle(&IndexOp::Check { entry: EntryRef::Id("a".into()), expires: Some(400) }.to_body(), Some(&s), 100);
        assert_eq!(up.reply, r#"{"present":true}"#);
        assert_eq!(up.alarm_at, Some(400));
        let same =
            handle(&IndexOp::Check { entry: EntryRef::Id("a".into()), expires: Some(140) }.to_body(), Some(&s), 100);
        assert_eq!(
            (same.reply.as_str(), same.write.is_none()),
            (r#"{"present":true}"#, true),
            "never lowered, nothing written"
        );
        let other = handle(&IndexOp::Check { entry: EntryRef::Id("z".into()), expires: None }.to_body(), Some(&s), 100);
        assert_eq!(other.reply, r#"{"present":false}"#);
    }

    #[test]
    fn remove_all_keeps_only_the_one_named_and_a_full_index_evicts_the_oldest() {
        let mut stored: Option<String> = None;
        for i in 0..MAX_ENTRIES + 2 {
            let step =
                add(stored.as_deref(), entry(&format!("p{i}"), Some(&format!("k{i}")), None), None, false, false);
            let evicted = ids(&step.reply, "evicted");
            let expected: Vec<String> = if i < MAX_ENTRIES { vec![] } else { vec![format!("p{}", i - MAX_ENTRIES)] };
            assert_eq!(evicted, expected);
            stored = step.write;
        }
        let back = IndexOp::Add {
            entry: entry("p0", Some("k0"), None),
            replaces: None,
            inherit: false,
            require: false,
            overflow: true,
        };
        let back = handle(&back.to_body(), stored.as_deref(), 100);
        assert_eq!(ids(&back.reply, "evicted"), Vec::<String>::new(), "an entry put back evicts nothing");
        assert_eq!(
            ids(&handle(&IndexOp::List.to_body(), back.write.as_deref(), 100).reply, "entries").len(),
            MAX_ENTRIES + 1
        );
        let all = handle(&IndexOp::RemoveAll(Some(EntryRef::Key("k7".into()))).to_body(), stored.as_deref(), 100);
        assert_eq!(ids(&all.reply, "entries").len(), MAX_ENTRIES - 1);
        let left = handle(&IndexOp::List.to_body(), all.write.as_deref(), 100);
        assert_eq!(ids(&left.reply, "entries"), ["p7"]);
    }

    #[test]
    fn a_malformed_request_is_an_error_and_changes_nothing() {
        for body in [
            "",
            "[]",
            r#"{"op":"add"}"#,
            r#"{"op":"check"}"#,
            r#"{"op":"drop"}"#,
            r#"{"op":"remove"}"#,
            r#"{"op":"prune"}"#,
        ] {
            let step = handle(body, None, 100);
            assert!(step.reply.starts_with(r#"{"error":"#), "{body}: {}", step.reply);
            assert_eq!((step.write, step.delete_all), (None, false));
        }
        // Stored garbage reads as no entries.
        assert_eq!(
            ids(&handle(&IndexOp::List.to_body(), Some("not json"), 100).reply, "entries"),
            Vec::<String>::new()
        );
    }
}
