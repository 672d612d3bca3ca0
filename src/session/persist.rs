//! The session's half of finishing a response: what the pure decision needs
//! to know of it, and the store operations that carry the decision out
//! (delete what `flush` dropped, save or create the record, delete what
//! `cycle_key` left behind). The manager (`crate::manager`) only sequences
//! these; the session's state stays inside this module.
//!
//! Order of store operations:
//! 1. records dropped by `flush` are deleted (whatever the status);
//! 2. the session is saved (update, or create under a fresh key — never the
//!    client's, never over an existing record);
//! 3. records left behind by `cycle_key` are deleted, only after the save
//!    succeeded, so the data is never without a home.

use serde_json::Map;

use super::{encode_record, Identity, Session, SessionError, Stored};
use crate::decision::Facts;
use crate::expiry::{self, EXPIRY_KEY, ISSUED_KEY};
use crate::key::SessionKey;
use crate::manager::{FinishError, MAX_COOKIE_BYTES};
use crate::record::{Record, MAX_RECORD_BYTES};
use crate::store::{BackendError, Saved, SessionStore, StoreError, StoreOp};

/// How many fresh keys `create` tries before giving up (a collision of
/// 165-bit random keys does not happen; a store that always says `Exists` is
/// broken).
const CREATE_ATTEMPTS: usize = 4;

/// How many times a save applies its changes to a record another request
/// saved meanwhile before it gives up (each retry means yet another save
/// landed in between).
const MERGE_ATTEMPTS: usize = 8;

/// `record` as a new record's first version.
fn first_version(record: Record) -> Record {
    Record { version: 1, revision: None, ..record }
}

/// What saving over the session's existing record found.
enum Update {
    /// Saved: the version stored.
    Saved(u64),
    /// No live record under the key (it expired, or was deleted by a request
    /// this one did not see).
    Gone,
}

impl<S: SessionStore> Session<S> {
    /// Whether the response must load the session before it can save it: a
    /// save writes the whole session, so a session marked modified (or saved
    /// every request, or re-signed) that the handler never read is loaded
    /// first, as Django's `save()` does.
    pub(crate) fn needs_load_to_save(&self, status: u16) -> bool {
        self.cache.is_none()
            && !self.is_empty()
            && status < 500
            && (self.modified || self.ctx.settings.save_every_request || self.reissue)
    }

    /// The facts the pure decision reads. `accessed` is the flag as it was
    /// when the handler finished (Django reads it before the expiry getters
    /// load the session).
    pub(crate) fn facts(&self, accessed: bool, status: u16, now: i64) -> Facts {
        let settings = &self.ctx.settings;
        let stored_expiry = self.cache.as_ref().and_then(|d| d.get(EXPIRY_KEY));
        Facts {
            had_cookie: self.had_cookie,
            accessed,
            modified: self.modified || self.reissue || self.refresh_due(now),
            empty: self.is_empty(),
            save_every_request: settings.save_every_request,
            status,
            expire_at_browser_close: expiry::expire_at_browser_close(stored_expiry, settings.expire_at_browser_close),
            expiry_age: self.cache.as_ref().map_or(settings.cookie.age, |data| self.ctx.age(data, now)),
            now,
        }
    }

    /// Whether this request's read is due a refresh (`SESSION_REFRESH_AFTER`):
    /// the session it loaded, unmodified, would end at least the interval
    /// later if saved now (or would reach its absolute end, the last move
    /// there is). Then the response saves it again, so its expiry counts from
    /// now: at most one write per interval, whatever the traffic.
    pub(crate) fn refresh_due(&self, now: i64) -> bool {
        let (Some(interval), Some(loaded), Some(data)) =
            (self.ctx.settings.refresh_after, self.loaded_expires, self.cache.as_ref())
        else {
            return false;
        };
        if self.modified || data.is_empty() {
            return false;
        }
        let later = self.ctx.expires_at(data, now);
        let moved = later.saturating_sub(loaded);
        moved > 0 && (moved >= interval || Some(later) == self.ctx.absolute_end(data))
    }

    /// Gives data without an issue time one (`SESSION_ABSOLUTE_AGE` counts
    /// from the first save of a key); whether it did.
    fn issue(&mut self, now: i64) -> bool {
        let on = self.ctx.settings.absolute_age.is_some();
        let data = self.cache.get_or_insert_with(Map::new);
        if !on || data.contains_key(ISSUED_KEY) {
            return false;
        }
        data.insert(ISSUED_KEY.to_owned(), serde_json::Value::from(now));
        self.changed(ISSUED_KEY);
        true
    }

    /// Whether the request carried a cookie with the session cookie's name.
    pub(crate) fn had_cookie(&self) -> bool {
        self.had_cookie
    }

    /// Deletes the records `flush` dropped.
    pub(crate) async fn delete_flushed(&mut self) -> Result<(), FinishError> {
        for key in std::mem::take(&mut self.flushed) {
            self.store.delete(&key).await.map_err(FinishError::Store)?;
        }
        self.remove_logged_out().await
    }

    /// Writes the session and returns its new cookie value; `None` when the
    /// session's record turned out to be gone and there is no data to keep.
    /// `now` is the time the cookie's lifetime was computed from, so the
    /// record and the cookie expire together.
    pub(crate) async fn persist(&mut self, now: i64) -> Result<Option<String>, FinishError> {
        match &self.identity {
            Identity::Signed { .. } => {
                let value = self.persist_signed(now)?;
                self.enter_signed(now).await?;
                Ok(Some(value))
            }
            Identity::Server { key, stored } => {
                let (key, stored) = (key.clone(), *stored);
                self.persist_server(key, stored, now).await
            }
        }
    }

    pub(crate) fn data_or_empty(&self) -> &Map<String, serde_json::Value> {
        static EMPTY: std::sync::OnceLock<Map<String, serde_json::Value>> = std::sync::OnceLock::new();
        self.cache.as_ref().unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// `signed_cookies`: the data is the cookie.
    fn persist_signed(&mut self, now: i64) -> Result<String, FinishError> {
        self.issue(now);
        let value = loop {
            let value = self
                .ctx
                .signed_cookies_signer
                .sign_object_readable(self.data_or_empty(), true, now)
                .map_err(|bytes| FinishError::TooLarge { bytes })?;
            let bytes = self.ctx.settings.cookie.name.len() + 1 + value.len();
            if bytes <= MAX_COOKIE_BYTES {
                break value;
            }
            // Messages that do not fit are dropped, oldest first, as Django's
            // cookie storage drops them; other data is never dropped.
            if !self.drop_oldest_message() {
                return Err(FinishError::CookieTooLarge { bytes });
            }
        };
        self.identity = Identity::Signed { token: Some(value.clone()) };
        Ok(value)
    }

    async fn persist_server(
        &mut self,
        key: Option<SessionKey>,
        stored: Stored,
        now: i64,
    ) -> Result<Option<String>, FinishError> {
        let cycled = self.cycled_from.first().cloned();
        let original = key.clone();
        // A read due a refresh that changes nothing else moves the expiry only.
        let refresh_only = !self.modified && !self.reissue && stored == Stored::Yes && self.refresh_due(now);
        let issued = self.issue(now);
        let mut record = self.encode(self.data_or_empty(), now, self.version.saturating_add(1))?;
        // A save over the loaded record names the copy it read (a create
        // names none: `first_version`).
        record.revision = self.revision.clone();
        let (key, version) = match (key, stored) {
            (Some(k), Stored::Yes) if refresh_only && !issued => {
                record.version = self.version;
                match self.store.touch(&k, &record).await {
                    Ok(version) => (k, version),
                    // Deleted meanwhile (a logout): nothing to refresh, and the
                    // cookie goes.
                    Err(StoreError::Missing) => {
                        self.identity = Identity::fresh();
                        return Ok(None);
                    }
                    Err(e) => return Err(FinishError::Store(e)),
                }
            }
            (Some(k), Stored::Yes) if self.store.merges() => (k.clone(), self.save_merging(&k, record, now).await?),
            (Some(k), Stored::Yes | Stored::Unknown) => match self.save_over(&k, stored, &record).await? {
                Update::Saved(version) => (k, version),
                // An unloaded key whose record is gone, with no data (e.g.
                // `clear()` on a logged-out session): nothing to keep.
                Update::Gone if self.data_or_empty().is_empty() && self.cycled_from.is_empty() => {
                    self.identity = Identity::fresh();
                    return Ok(None);
                }
                // Its data gets a fresh key: a key is never adopted.
                Update::Gone => self.create(None, &first_version(record)).await?,
            },
            // Never saved: a new key (`cycle_key`), or none yet.
            (key, _) => self.create(key, &first_version(record)).await?,
        };
        let wrote_over = stored != Stored::No && original.as_ref() == Some(&key);
        self.enter_server(&key, cycled, wrote_over, now).await?;
        self.identity = Identity::Server { key: Some(key.clone()), stored: Stored::Yes };
        self.version = version;
        // The store names no revision for what it wrote: a second save in
        // this request goes without one.
        self.revision = None;
        self.delete_cycled().await;
        Ok(Some(self.ctx.cookie_signer.sign(&key, version)))
    }

    /// `data` as the record to write at `version`, refused when it could not
    /// be read back (over the inflate limit, or over the record limit).
    fn encode(&self, data: &Map<String, serde_json::Value>, now: i64, version: u64) -> Result<Record, FinishError> {
        let record = encode_record(&self.ctx, data, now, version).map_err(|bytes| FinishError::TooLarge { bytes })?;
        if record.data.len() > MAX_RECORD_BYTES - 100 {
            return Err(FinishError::TooLarge { bytes: record.data.len() });
        }
        Ok(record)
    }

    /// Saves the session it loaded over the record under `key`, on a store
    /// that [merges](SessionStore::merges): if another request saved since
    /// this one read the record, this request's changes (the keys it set or
    /// deleted, or everything after a `clear()`) are applied to that newer
    /// record, and the result saved in its place, conditionally again.
    /// Returns the version stored.
    async fn save_merging(&mut self, key: &SessionKey, mut record: Record, now: i64) -> Result<u64, FinishError> {
        let mut read = self.version;
        for _ in 0..MERGE_ATTEMPTS {
            match self.store.save_if_unchanged(key, &record, read).await {
                Ok(Saved::Version(version)) => return Ok(version),
                Ok(Saved::Changed(current)) => {
                    // Undecodable data (another secret, say) is no data, as
                    // Django's decode makes it.
                    let theirs = self.ctx.decode(&current.data).map(|(map, _)| map).unwrap_or_default();
                    let their_messages = theirs.get(crate::messages::MESSAGES_KEY).cloned();
                    let mut merged = self.changes.apply(self.data_or_empty(), theirs);
                    // Messages merge as a list: theirs, less what this request read, plus its own.
                    self.merge_messages(their_messages.as_ref(), &mut merged);
                    record = self.encode(&merged, now, current.version.saturating_add(1))?;
                    self.cache = Some(merged);
                    read = current.version;
                }
                // Loaded in this request, deleted since: Django's SessionInterrupted.
                Err(StoreError::Missing) => return Err(FinishError::Interrupted),
                Err(e) => return Err(FinishError::Store(e)),
            }
        }
        Err(FinishError::Store(
            BackendError::new(StoreOp::Save, "the session kept changing under concurrent saves").into(),
        ))
    }

    /// Saves over the record under `key`. A blind-put store cannot say the
    /// record is gone: for a session it never read, it is asked first, so a
    /// logged-out key is never written again.
    async fn save_over(&self, key: &SessionKey, stored: Stored, record: &Record) -> Result<Update, FinishError> {
        if stored == Stored::Unknown
            && !self.store.save_detects_missing()
            && !self.store.exists(key).await.map_err(FinishError::Store)?
        {
            return Ok(Update::Gone);
        }
        match self.store.save(key, record).await {
            Ok(version) => Ok(Update::Saved(version)),
            // Loaded in this request, deleted since: Django's SessionInterrupted.
            Err(StoreError::Missing) if stored == Stored::Yes => Err(FinishError::Interrupted),
            Err(StoreError::Missing) => Ok(Update::Gone),
            Err(e) => Err(FinishError::Store(e)),
        }
    }

    /// Creates the record under `key`, or a fresh key when there is none or
    /// on collision; returns the key and the version stored.
    async fn create(&self, key: Option<SessionKey>, record: &Record) -> Result<(SessionKey, u64), FinishError> {
        let mut candidate = key;
        for _ in 0..CREATE_ATTEMPTS {
            let k = match candidate.take() {
                Some(k) => k,
                None => self.ctx.keys.new_key().map_err(|e| FinishError::Session(SessionError::Random(e)))?,
            };
            match self.store.create(&k, record).await {
                Ok(version) => return Ok((k, version)),
                Err(StoreError::Exists) => continue,
                Err(e) => return Err(FinishError::Store(e)),
            }
        }
        Err(FinishError::Store(StoreError::Exists))
    }

    /// Deletes the records `cycle_key` left behind, once the new one is saved.
    async fn delete_cycled(&mut self) {
        for old in std::mem::take(&mut self.cycled_from) {
            if let Err(e) = self.store.delete(&old).await {
                // The new record is saved; the old one holds only the
                // pre-cycle data and expires on its own.
                crate::log::warn(&format!("cycle_key: deleting the old session record failed ({e:#})"));
            }
        }
    }
}
