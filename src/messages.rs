//! Django's messages framework (`django.contrib.messages`) on the session:
//! one-time notices ("Added to cart", "You have been signed out") kept as
//! Django's `SessionStorage` keeps them, under `_messages`, as the JSON text
//! its `MessageEncoder` writes, so a message added at the edge is listed by a
//! Django page that shares the session, and the reverse.
//!
//! The rules are `BaseStorage`'s: a message below `MESSAGE_LEVEL` (default
//! `INFO`) or with empty text is dropped; reading the messages consumes them
//! (they are gone once the response is saved) unless the request keeps them;
//! messages added after the read are stored for the next request. A request
//! that neither adds nor reads messages never touches `_messages`.

use serde_json::Value;

pub use crate::session::messaging::Messages;

/// The session key of Django's `SessionStorage`.
pub const MESSAGES_KEY: &str = "_messages";

/// Django's `messages.DEBUG`.
pub const DEBUG: i64 = 10;
/// Django's `messages.INFO`.
pub const INFO: i64 = 20;
/// Django's `messages.SUCCESS`.
pub const SUCCESS: i64 = 25;
/// Django's `messages.WARNING`.
pub const WARNING: i64 = 30;
/// Django's `messages.ERROR`.
pub const ERROR: i64 = 40;

/// `MessageEncoder.message_key`: how an encoded message starts.
const MESSAGE_MARK: &str = "__json_message";

/// The most messages one session keeps (the oldest are dropped beyond it),
/// so a loop adding messages cannot grow the session past its limit.
pub const MAX_MESSAGES: usize = 100;

/// The level of a Django level name (`"INFO"`, any case).
pub(crate) fn level_from_name(name: &str) -> Option<i64> {
    match name.to_ascii_uppercase().as_str() {
        "DEBUG" => Some(DEBUG),
        "INFO" => Some(INFO),
        "SUCCESS" => Some(SUCCESS),
        "WARNING" => Some(WARNING),
        "ERROR" => Some(ERROR),
        _ => None,
    }
}

/// One message (Django's `Message`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// Its level: one of the constants, or any integer.
    pub level: i64,
    /// Its text.
    pub message: String,
    /// Extra tags (space-separated), `""` when none.
    pub extra_tags: String,
    /// Django marked the text safe HTML (`mark_safe`); kept as it was read.
    pub safe: bool,
}

impl Message {
    /// A message of `level` with `message` and `extra_tags`.
    ///
    /// ```
    /// use edge_session::messages::{Message, SUCCESS};
    /// let m = Message::new(SUCCESS, "Added to cart", "cart");
    /// assert_eq!((m.level_tag(), m.tags()), ("success", "cart success".to_owned()));
    /// ```
    pub fn new(level: i64, message: impl Into<String>, extra_tags: impl Into<String>) -> Self {
        Self { level, message: message.into(), extra_tags: extra_tags.into(), safe: false }
    }

    /// Django's `level_tag` (default `MESSAGE_TAGS`): `debug`, `info`,
    /// `success`, `warning`, `error`, or `""` for a custom level.
    pub fn level_tag(&self) -> &'static str {
        match self.level {
            DEBUG => "debug",
            INFO => "info",
            SUCCESS => "success",
            WARNING => "warning",
            ERROR => "error",
            _ => "",
        }
    }

    /// Django's `tags`: the extra tags, then the level tag, space-separated.
    pub fn tags(&self) -> String {
        [self.extra_tags.as_str(), self.level_tag()]
            .iter()
            .filter(|t| !t.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `{"level", "message", "extra_tags"}`, as the test endpoint shows it.
    pub fn to_json(&self) -> Value {
        serde_json::json!({ "level": self.level, "message": self.message, "extra_tags": self.extra_tags })
    }
}

/// The text `SessionStorage.serialize_messages` stores: Python's
/// `json.JSONEncoder` defaults (`", "` and `": "` separators, non-ASCII as
/// `\uXXXX`), each message as `["__json_message", safe, level, message,
/// extra_tags]` (the tags even when empty, as Django 5 writes them).
///
/// ```
/// use edge_session::messages::{decode, encode, Message, INFO};
/// let text = encode(&[Message::new(INFO, "Thé", "")]);
/// assert_eq!(text, r#"[["__json_message", 0, 20, "Th\u00e9", ""]]"#);
/// assert_eq!(decode(&text), Some(vec![Message::new(INFO, "Thé", "")]));
/// ```
pub fn encode(messages: &[Message]) -> String {
    let mut out = String::from("[");
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!("[\"{MESSAGE_MARK}\", {}, {}, ", u8::from(m.safe), m.level));
        python_string(&mut out, &m.message);
        out.push_str(", ");
        python_string(&mut out, &m.extra_tags);
        out.push(']');
    }
    out.push(']');
    out
}

/// A JSON string as Python's `json` writes it with `ensure_ascii=True`.
fn python_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// The messages in stored text (Django's `MessageDecoder`): what is not an
/// encoded message is skipped; `None` when the text is not a JSON array
/// (then it is left as it is: never overwritten with what could be read).
pub fn decode(text: &str) -> Option<Vec<Message>> {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) else { return None };
    Some(items.iter().filter_map(message_of).collect())
}

fn message_of(v: &Value) -> Option<Message> {
    let parts = v.as_array()?;
    if parts.first()?.as_str()? != MESSAGE_MARK {
        return None;
    }
    let safe = parts.get(1).is_some_and(|f| f.as_i64().is_some_and(|n| n != 0) || f.as_bool() == Some(true));
    let level = parts.get(2)?.as_i64()?;
    let message = parts.get(3)?.as_str()?.to_owned();
    let extra_tags = parts.get(4).and_then(Value::as_str).unwrap_or_default().to_owned();
    Some(Message { level, message, extra_tags, safe })
}

/// One request's messages (Django's `BaseStorage` state).
#[derive(Debug, Default)]
pub(crate) struct MessageState {
    /// The messages the session held when they were first read.
    pub from_store: Option<Vec<Message>>,
    /// What the session held under `_messages` was not Django's list (it is left as it is).
    pub unreadable: bool,
    /// Those and this request's messages added before the read, once read.
    pub loaded: Option<Vec<Message>>,
    /// Added in this request and not read yet.
    pub queued: Vec<Message>,
    /// The messages were read (they are consumed, unless kept).
    pub used: bool,
    /// A message was added.
    pub added_new: bool,
}

/// What one request did to the stored messages, for a save that finds the
/// session changed by another request: it takes out what it consumed and
/// appends what it added to the messages it finds there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MessageDelta {
    pub consumed: Vec<Message>,
    pub added: Vec<Message>,
}

impl MessageDelta {
    /// `theirs` with this request's consumed messages out and its own in.
    pub fn apply(&self, mut theirs: Vec<Message>) -> Vec<Message> {
        for gone in &self.consumed {
            if let Some(i) = theirs.iter().position(|m| m == gone) {
                theirs.remove(i);
            }
        }
        theirs.extend(self.added.iter().cloned());
        keep_last(theirs)
    }
}

/// At most [`MAX_MESSAGES`], the newest.
pub(crate) fn keep_last(mut list: Vec<Message>) -> Vec<Message> {
    let excess = list.len().saturating_sub(MAX_MESSAGES);
    list.drain(..excess);
    list
}

impl MessageState {
    /// Django's `update()`: the list to store and what this request did to
    /// it, given the messages the session holds (`from_store`); `None` to
    /// leave `_messages` as it is.
    pub fn into_stored(self, from_store: Vec<Message>) -> Option<(Vec<Message>, MessageDelta)> {
        if !self.used && !self.added_new {
            return None;
        }
        let before_read = self.loaded.map(|l| l.get(from_store.len()..).map(<[Message]>::to_vec).unwrap_or_default());
        let (list, delta) = if self.used {
            (self.queued.clone(), MessageDelta { consumed: from_store, added: self.queued })
        } else {
            let mut own = before_read.unwrap_or_default();
            own.extend(self.queued);
            let mut list = from_store;
            list.extend(own.iter().cloned());
            (list, MessageDelta { consumed: Vec::new(), added: own })
        };
        Some((keep_last(list), delta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_what_djangos_encoder_writes() {
        let text =
            encode(&[Message::new(SUCCESS, "Added \"tea\" to the cart\n", "cart"), Message::new(55, "😀 <b>", "")]);
        assert_eq!(
            text,
            r#"[["__json_message", 0, 25, "Added \"tea\" to the cart\n", "cart"], ["__json_message", 0, 55, "\ud83d\ude00 <b>", ""]]"#
        );
        assert_eq!(decode(&text).unwrap()[1].message, "😀 <b>");
        assert_eq!(encode(&[]), "[]");
    }

    #[test]
    fn decoding_skips_what_is_not_a_message_and_never_fails() {
        let text = r#"[["__json_message", 1, 20, "<b>safe</b>", "x"], ["other", 0, 20, "no"], 7, ["__json_message", 0, "20", "bad level"], ["__json_message", 0, 40, "e"]]"#;
        let got = decode(text).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].safe);
        assert_eq!((got[1].level, got[1].extra_tags.as_str()), (ERROR, ""));
        for bad in ["", "{}", "not json", "null", r#"[["__json_message", 0, 20, "\ud800"]]"#] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        assert_eq!(decode("[[]]"), Some(vec![]));
        assert_eq!(
            encode(&got),
            r#"[["__json_message", 1, 20, "<b>safe</b>", "x"], ["__json_message", 0, 40, "e", ""]]"#
        );
    }

    #[test]
    fn tags_are_djangos() {
        assert_eq!(Message::new(DEBUG, "m", "").tags(), "debug");
        assert_eq!(Message::new(33, "m", "a b").tags(), "a b");
        assert_eq!(Message::new(33, "m", "").tags(), "");
        assert_eq!(level_from_name("warning"), Some(WARNING));
    }

    #[test]
    fn reading_consumes_adding_after_reading_stores_and_nothing_stores_nothing() {
        let old = vec![Message::new(INFO, "old", "")];
        let new = Message::new(INFO, "new", "");
        assert_eq!(MessageState::default().into_stored(old.clone()), None, "untouched: _messages is left alone");
        let added = MessageState { added_new: true, queued: vec![new.clone()], ..Default::default() };
        let (list, delta) = added.into_stored(old.clone()).unwrap();
        assert_eq!((list.len(), delta.added), (2, vec![new.clone()]), "added: the stored ones and the new one");
        let read =
            MessageState { used: true, from_store: Some(old.clone()), loaded: Some(old.clone()), ..Default::default() };
        let (list, delta) = read.into_stored(old.clone()).unwrap();
        assert_eq!((list, delta.consumed), (vec![], old.clone()), "read: consumed");
        let many = MessageState { added_new: true, queued: vec![new.clone(); MAX_MESSAGES + 5], ..Default::default() };
        assert_eq!(many.into_stored(Vec::new()).unwrap().0.len(), MAX_MESSAGES);
    }

    #[test]
    fn a_delta_applies_to_what_another_request_stored() {
        let (a, b, c) = (Message::new(INFO, "a", ""), Message::new(INFO, "b", ""), Message::new(INFO, "c", ""));
        // This request read [a] and added c; meanwhile another added b.
        let delta = MessageDelta { consumed: vec![a.clone()], added: vec![c.clone()] };
        assert_eq!(delta.apply(vec![a.clone(), b.clone()]), vec![b.clone(), c.clone()]);
        // Two requests that each added one keep both.
        let mine = MessageDelta { consumed: vec![], added: vec![a.clone()] };
        assert_eq!(mine.apply(vec![b.clone()]), vec![b, a]);
    }
}
