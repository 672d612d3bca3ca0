//! The session's half of Django's messages framework ([`crate::messages`]):
//! the per-request storage state, and `update()` at the end of the request.

use serde_json::Value;

use super::{Session, SessionError};
use crate::messages::{self, Message, MessageState, MESSAGES_KEY};

use crate::store::SessionStore;

/// A request's messages: `session.messages()` (Django's
/// `messages.add_message(request, ...)`, `messages.get_messages(request)`).
pub struct Messages<'a, S> {
    session: &'a mut Session<S>,
}

impl<S: SessionStore> Messages<'_, S> {
    /// Django's `add_message(request, level, message, extra_tags)`: kept
    /// for this request's reader or the next request, unless `message` is
    /// empty or `level` is below `MESSAGE_LEVEL`; whether it was kept. No
    /// store is touched until the response is finished.
    ///
    /// # Examples
    ///
    /// ```
    /// # use edge_session::prelude::*;
    /// use edge_session::messages::{DEBUG, SUCCESS};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> { pollster::block_on(async {
    /// # let clock = FixedClock::new(1_765_000_000);
    /// # let manager = SessionManager::new(Settings::from_pairs([("SECRET_KEY", "a long random secret")])?, MemoryStore::new(clock.clone()), clock, OsKeySource);
    /// let mut session = manager.session(None);
    /// assert!(session.messages().add(SUCCESS, "Added to cart", "cart"));
    /// assert!(!session.messages().add(DEBUG, "below MESSAGE_LEVEL", ""));
    /// let set_cookie = manager.finish(session, 200).await?.set_cookie.unwrap_or_default();
    ///
    /// let cookie = set_cookie.split(';').next().unwrap_or_default();
    /// let mut next = manager.session(Some(cookie.as_bytes()));
    /// let shown = next.messages().get().await?;
    /// assert_eq!((shown[0].message.as_str(), shown[0].tags()), ("Added to cart", "cart success".to_owned()));
    /// # Ok(()) }) }
    /// ```
    pub fn add(&mut self, level: i64, message: &str, extra_tags: &str) -> bool {
        if message.is_empty() || level < self.session.ctx.settings.message_level {
            return false;
        }
        let state = self.session.messages.get_or_insert_with(MessageState::default);
        state.queued.push(Message::new(level, message, extra_tags));
        state.added_new = true;
        true
    }

    /// [`add`](Self::add) at `DEBUG` (dropped at the default `MESSAGE_LEVEL`).
    pub fn debug(&mut self, message: &str) -> bool {
        self.add(messages::DEBUG, message, "")
    }

    /// [`add`](Self::add) at `INFO`.
    pub fn info(&mut self, message: &str) -> bool {
        self.add(messages::INFO, message, "")
    }

    /// [`add`](Self::add) at `SUCCESS`.
    pub fn success(&mut self, message: &str) -> bool {
        self.add(messages::SUCCESS, message, "")
    }

    /// [`add`](Self::add) at `WARNING`.
    pub fn warning(&mut self, message: &str) -> bool {
        self.add(messages::WARNING, message, "")
    }

    /// [`add`](Self::add) at `ERROR`.
    pub fn error(&mut self, message: &str) -> bool {
        self.add(messages::ERROR, message, "")
    }

    /// Django's iteration over `get_messages(request)`: the stored messages
    /// and this request's, in order. They are consumed: gone once the
    /// response is saved, unless [`keep`](Self::keep) is called after.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails to load the session.
    pub async fn get(&mut self) -> Result<Vec<Message>, SessionError> {
        let read = match self.session.messages.as_ref().and_then(|s| s.from_store.clone()) {
            Some(known) => known,
            None => {
                let stored = self.session.stored_messages().await?;
                let state = self.session.messages.get_or_insert_with(MessageState::default);
                state.unreadable = stored.is_none();
                let list = stored.unwrap_or_default();
                state.from_store = Some(list.clone());
                list
            }
        };
        let state = self.session.messages.get_or_insert_with(MessageState::default);
        let from_store = read;
        let mut all = state.loaded.take().unwrap_or(from_store);
        all.append(&mut state.queued);
        state.loaded = Some(all.clone());
        state.used = true;
        Ok(all)
    }

    /// Django's `storage.used = False` after reading: the messages read stay
    /// for the next request.
    pub fn keep(&mut self) {
        if let Some(state) = &mut self.session.messages {
            state.used = false;
        }
    }
}

impl<S: SessionStore> Session<S> {
    /// This request's messages (Django's messages framework, stored in the
    /// session as its `SessionStorage` does: see [`crate::messages`]).
    pub fn messages(&mut self) -> Messages<'_, S> {
        Messages { session: self }
    }

    /// The messages the session holds; `None` when `_messages` holds
    /// something that is not Django's list (then it is never overwritten).
    async fn stored_messages(&mut self) -> Result<Option<Vec<Message>>, SessionError> {
        Ok(match self.data().await?.get(MESSAGES_KEY) {
            Some(Value::String(text)) => messages::decode(text),
            Some(_) => None,
            None => Some(Vec::new()),
        })
    }

    /// Django's `MessageMiddleware.process_response` (`storage.update()`),
    /// before the session is saved: writes what the request's messages
    /// leave, and keeps what the request did to them for a save that finds
    /// the session changed by another request (`merge_messages`).
    pub(crate) async fn store_messages(&mut self) -> Result<(), SessionError> {
        let Some(state) = self.messages.take() else { return Ok(()) };
        if !state.used && !state.added_new {
            return Ok(());
        }
        // What the session holds, read once (at the first `get()`, or here).
        let from_store = match (state.from_store.clone(), state.unreadable) {
            (Some(_), true) => None,
            (Some(known), false) => Some(known),
            (None, _) => self.stored_messages().await?,
        };
        // Not Django's list: left as it is (the request's messages are dropped).
        let Some(from_store) = from_store else { return Ok(()) };
        let Some((list, delta)) = state.into_stored(from_store) else { return Ok(()) };
        let data = self.data().await?;
        if !list.is_empty() {
            data.insert(MESSAGES_KEY.to_owned(), Value::String(messages::encode(&list)));
        } else if data.shift_remove(MESSAGES_KEY).is_none() {
            return Ok(());
        }
        self.message_delta = Some(delta);
        self.changed(MESSAGES_KEY);
        self.modified = true;
        Ok(())
    }

    /// A merging save found `theirs` (another request's save): its messages,
    /// without the ones this request consumed, with the ones it added.
    pub(crate) fn merge_messages(&self, theirs: Option<&Value>, merged: &mut serde_json::Map<String, Value>) {
        let Some(delta) = &self.message_delta else { return };
        let theirs = match theirs {
            None => Some(Vec::new()),
            Some(Value::String(text)) => messages::decode(text),
            Some(_) => None,
        };
        let Some(theirs) = theirs else { return };
        let list = delta.apply(theirs);
        if list.is_empty() {
            merged.shift_remove(MESSAGES_KEY);
        } else {
            merged.insert(MESSAGES_KEY.to_owned(), Value::String(messages::encode(&list)));
        }
    }

    /// `signed_cookies`: drops the oldest stored message, to make the cookie
    /// fit (as Django's cookie storage does); whether there was one.
    pub(crate) fn drop_oldest_message(&mut self) -> bool {
        let Some(data) = self.cache.as_mut() else { return false };
        let Some(mut list) = data.get(MESSAGES_KEY).and_then(Value::as_str).and_then(messages::decode) else {
            return false;
        };
        if list.is_empty() {
            return false;
        }
        list.remove(0);
        if list.is_empty() {
            data.shift_remove(MESSAGES_KEY);
        } else {
            data.insert(MESSAGES_KEY.to_owned(), Value::String(messages::encode(&list)));
        }
        true
    }
}
