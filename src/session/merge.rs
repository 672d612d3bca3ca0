//! What a request changed in its session, so that a save that finds the
//! record changed by another request since it was read can apply those
//! changes to the newer record instead of replacing it (`db`, `cached_db`):
//! the keys set or deleted, per key the request's last word, and whether the
//! request cleared the session first (then it replaces whatever is stored,
//! as Django would see it after `clear()`).

use serde_json::{Map, Value};

use super::Session;
use crate::store::SessionStore;

/// The keys a request set or deleted since it read the session, and
/// whether it cleared the session first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// `clear()` (or `flush()`) ran: what was stored before does not count.
    pub(crate) cleared: bool,
    /// Keys set or deleted, each once, in the order first changed.
    pub(crate) keys: Vec<String>,
}

impl Changes {
    /// `ours` (the request's data) applied to `theirs` (the newer stored
    /// data): each changed key takes the request's value, or is removed
    /// where the request removed it; every other key keeps `theirs`'s value.
    /// After a `clear()`, `ours` replaces `theirs` whole.
    pub(crate) fn apply(&self, ours: &Map<String, Value>, theirs: Map<String, Value>) -> Map<String, Value> {
        if self.cleared {
            return ours.clone();
        }
        let mut merged = theirs;
        for key in &self.keys {
            match ours.get(key) {
                Some(value) => {
                    merged.insert(key.clone(), value.clone());
                }
                None => {
                    merged.shift_remove(key);
                }
            }
        }
        merged
    }
}

impl<S: SessionStore> Session<S> {
    /// Marks the session modified, and `key` as changed by this request.
    pub(crate) fn changed(&mut self, key: &str) {
        self.modified = true;
        if !self.changes.keys.iter().any(|k| k == key) {
            self.changes.keys.push(key.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn changed_keys_take_the_requests_word_and_the_rest_stays_as_stored() {
        let changes = Changes { cleared: false, keys: vec!["a".into(), "gone".into()] };
        let ours = map(json!({"a": 1, "user": "ada"}));
        let theirs = map(json!({"user": "ada", "b": 2, "gone": true, "a": 0}));
        assert_eq!(Value::Object(changes.apply(&ours, theirs)), json!({"user": "ada", "b": 2, "a": 1}));
    }

    #[test]
    fn after_clear_the_request_replaces_what_is_stored() {
        let changes = Changes { cleared: true, keys: vec!["a".into()] };
        let ours = map(json!({"a": 1}));
        let theirs = map(json!({"b": 2}));
        assert_eq!(Value::Object(changes.apply(&ours, theirs)), json!({"a": 1}));
    }

    #[test]
    fn no_changes_keep_the_newer_record_as_it_is() {
        let theirs = map(json!({"b": 2}));
        assert_eq!(Changes::default().apply(&map(json!({"a": 1})), theirs.clone()), theirs);
    }
}
