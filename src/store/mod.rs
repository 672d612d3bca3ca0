//! Where server-side sessions live: one small async trait, with a memory store
//! (for host tests and programs that need no persistence), a combinator for
//! caches, and a conformance suite every store must pass. The test doubles
//! (a fake Workers KV, a fake Durable Object, fault injection) are in the
//! `testing` module (feature `testing`).
//!
//! Futures are single-threaded (no `Send`): a Worker isolate runs one thread.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use crate::key::SessionKey;
pub use crate::record::Record;
use crate::response::ErrorName;
use crate::session::write_sources;

pub mod cache;
pub mod conformance;
pub mod file;
mod memory;
#[doc(hidden)] // The protocol between the `db` store client and the session Durable Object classes.
pub mod object;

pub use memory::MemoryStore;

/// A store operation that failed.
///
/// `Display` says what failed at this level; the cause of a
/// [`Backend`](Self::Backend) failure (a JavaScript exception, a reply that
/// does not parse) is its [`source()`](Error::source). `{:#}` prints the
/// whole chain on one line, `: `-separated, as the crate's logs do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// `create`: a record already exists under the key (Django's `CreateError`).
    Exists,
    /// `save`: no live record under the key, so it was deleted meanwhile
    /// (Django's `UpdateError`).
    Missing,
    /// The backend failed: a network error, a rate limit, an exception.
    Backend(BackendError),
}

impl StoreError {
    /// The error's name in [`ErrorName`]: always `StoreError`.
    pub fn name(&self) -> &'static str {
        ErrorName::StoreError.as_str()
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exists => f.write_str("a session with this key already exists"),
            Self::Missing => f.write_str("the session was deleted before it could be saved"),
            Self::Backend(b) => write!(f, "session store failed: {b}"),
        }?;
        if f.alternate() {
            write_sources(f, self.source())?;
        }
        Ok(())
    }
}

impl Error for StoreError {
    /// The cause of a backend failure, when it has one (the payload,
    /// [`BackendError`], is part of this error's own message).
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Backend(b) => b.source(),
            _ => None,
        }
    }
}

impl From<BackendError> for StoreError {
    fn from(e: BackendError) -> Self {
        Self::Backend(e)
    }
}

/// The operation a [`BackendError`] happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreOp {
    /// A Workers KV `get`.
    KvGet,
    /// A Workers KV `put`.
    KvPut,
    /// A Workers KV `delete`.
    KvDelete,
    /// A request to a session's Durable Object, or its reply.
    ObjectCall,
    /// An R2 `get` (the `file` engine).
    R2Get,
    /// An R2 `head`.
    R2Head,
    /// An R2 `put`.
    R2Put,
    /// An R2 `delete`.
    R2Delete,
    /// An R2 `list`.
    R2List,
    /// [`SessionStore::load`], where no backend call is more precise.
    Load,
    /// [`SessionStore::create`], where no backend call is more precise.
    Create,
    /// [`SessionStore::save`], where no backend call is more precise.
    Save,
    /// [`SessionStore::delete`], where no backend call is more precise.
    Delete,
    /// [`SessionStore::exists`], where no backend call is more precise.
    Exists,
    /// [`SessionStore::clear_expired`].
    ClearExpired,
}

impl StoreOp {
    /// How messages name the operation (`KV get`, `Durable Object call`, `load`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KvGet => "KV get",
            Self::KvPut => "KV put",
            Self::KvDelete => "KV delete",
            Self::ObjectCall => "Durable Object call",
            Self::R2Get => "R2 get",
            Self::R2Head => "R2 head",
            Self::R2Put => "R2 put",
            Self::R2Delete => "R2 delete",
            Self::R2List => "R2 list",
            Self::Load => "load",
            Self::Create => "create",
            Self::Save => "save",
            Self::Delete => "delete",
            Self::Exists => "exists",
            Self::ClearExpired => "clear_expired",
        }
    }
}

impl fmt::Display for StoreOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A backend failure: which operation, what went wrong there, and the cause
/// if there is one ([`source()`](Error::source)): a Rust error, or on wasm32
/// (feature `platform`) the JavaScript exception the binding threw, kept as
/// the value it was (`js_value()`, feature `platform`).
///
/// Equality compares the operation and the detail, not the cause (a
/// JavaScript value has no meaningful equality here).
///
/// ```
/// use edge_session::store::{BackendError, StoreError, StoreOp};
/// use std::error::Error;
///
/// let e = StoreError::from(
///     BackendError::new(StoreOp::Load, "reply is not JSON").with_source(serde_json::from_str::<u8>("?").unwrap_err()),
/// );
/// assert_eq!(e.to_string(), "session store failed: load: reply is not JSON");
/// assert!(e.source().is_some_and(|c| c.is::<serde_json::Error>()));
/// assert!(format!("{e:#}").starts_with("session store failed: load: reply is not JSON: expected value"));
/// ```
#[derive(Debug, Clone)]
pub struct BackendError {
    op: StoreOp,
    detail: String,
    cause: Option<Cause>,
}

#[derive(Debug, Clone)]
enum Cause {
    Rust(Arc<dyn Error + Send + Sync + 'static>),
    #[cfg(feature = "platform")]
    Js(JsCause),
}

impl BackendError {
    /// A failure of `op`; `detail` says what went wrong (may be empty when
    /// the cause says it all).
    pub fn new(op: StoreOp, detail: impl Into<String>) -> Self {
        Self { op, detail: detail.into(), cause: None }
    }

    /// With `cause` as its [`source()`](Error::source).
    pub fn with_source(mut self, cause: impl Into<Box<dyn Error + Send + Sync + 'static>>) -> Self {
        self.cause = Some(Cause::Rust(Arc::from(cause.into())));
        self
    }

    /// With the JavaScript exception `value` as its cause: kept as it is
    /// ([`js_value`](Self::js_value)); its `message` (or the value itself,
    /// if a string) is what [`source()`](Error::source) displays.
    #[cfg(feature = "platform")]
    #[cfg_attr(docsrs, doc(cfg(feature = "platform")))]
    pub fn with_js_source(mut self, value: wasm_bindgen::JsValue) -> Self {
        self.cause = Some(Cause::Js(JsCause::new(value)));
        self
    }

    /// The operation that failed.
    pub fn op(&self) -> StoreOp {
        self.op
    }

    /// What went wrong in it (without the cause's message).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The JavaScript exception that caused the failure, as it was thrown
    /// (an `Error` object with its stack and properties, or whatever value).
    #[cfg(feature = "platform")]
    #[cfg_attr(docsrs, doc(cfg(feature = "platform")))]
    pub fn js_value(&self) -> Option<&wasm_bindgen::JsValue> {
        match &self.cause {
            Some(Cause::Js(js)) => Some(&js.value),
            _ => None,
        }
    }
}

impl PartialEq for BackendError {
    fn eq(&self, other: &Self) -> bool {
        self.op == other.op && self.detail == other.detail
    }
}

impl Eq for BackendError {}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.as_str())?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        if f.alternate() {
            write_sources(f, self.source())?;
        }
        Ok(())
    }
}

impl Error for BackendError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.cause {
            None => None,
            Some(Cause::Rust(e)) => Some(e.as_ref()),
            #[cfg(feature = "platform")]
            Some(Cause::Js(js)) => Some(js),
        }
    }
}

/// A JavaScript exception as a Rust error: the value, and the message read
/// from it once (its `message`, or the value if it is a string).
#[cfg(feature = "platform")]
#[derive(Debug, Clone)]
struct JsCause {
    value: wasm_bindgen::JsValue,
    message: String,
}

#[cfg(feature = "platform")]
impl JsCause {
    fn new(value: wasm_bindgen::JsValue) -> Self {
        let message = js_sys::Reflect::get(&value, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .or_else(|| value.as_string())
            .unwrap_or_else(|| "JavaScript exception".to_owned());
        Self { value, message }
    }
}

#[cfg(feature = "platform")]
impl fmt::Display for JsCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(feature = "platform")]
impl Error for JsCause {}

/// The first JavaScript exception in `e`'s chain (`e` itself, then its
/// sources): what the front doors hand to JavaScript as the `cause`.
#[cfg(any(feature = "workers", feature = "js"))]
pub(crate) fn js_cause_of<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a wasm_bindgen::JsValue> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(js) = e.downcast_ref::<JsCause>() {
            return Some(&js.value);
        }
        next = e.source();
    }
    None
}

/// What [`SessionStore::save_if_unchanged`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// Saved: the version stored.
    Version(u64),
    /// Not saved: another save changed the record since it was read; this
    /// is the live record now.
    Changed(Record),
}

/// A store of session records.
///
/// Every store runs [`conformance::run`]. Records whose `expires_at` has passed
/// must read as absent.
#[allow(async_fn_in_trait)] // Workers futures are single-threaded; no `Send` bound is wanted.
pub trait SessionStore {
    /// The live record under `key`, or `None`. `min_version` is the version
    /// the client last saw written (0: no claim): a store with a cache in
    /// front uses it to skip a cached copy that is not that version; others
    /// may ignore it.
    async fn load(&self, key: &SessionKey, min_version: u64) -> Result<Option<Record>, StoreError>;

    /// Stores a new record; never overwrites a live one ([`StoreError::Exists`]).
    /// Returns the version stored.
    async fn create(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError>;

    /// Replaces a live record; [`StoreError::Missing`] when there is none.
    /// Returns the version stored: at least `record.version`, and greater than
    /// the version it replaced where the store can tell.
    async fn save(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError>;

    /// Replaces the live record if it is still the version `read` (the
    /// version the caller loaded); if another save changed it since, writes
    /// nothing and returns the live record ([`Saved::Changed`]), so the caller
    /// can apply its own changes to it and try again with its version.
    /// [`StoreError::Missing`] when there is no live record.
    ///
    /// The default saves unconditionally ([`save`](Self::save)): a store that
    /// cannot compare (a cache with blind writes) keeps the last writer's
    /// whole session, and says so with [`merges`](Self::merges).
    async fn save_if_unchanged(&self, key: &SessionKey, record: &Record, read: u64) -> Result<Saved, StoreError> {
        let _ = read;
        self.save(key, record).await.map(Saved::Version)
    }

    /// Whether [`save_if_unchanged`](Self::save_if_unchanged) compares (so
    /// overlapping saves of one session keep each other's changes).
    fn merges(&self) -> bool {
        false
    }

    /// A refresh (`SESSION_REFRESH_AFTER`): moves the live record's expiry
    /// to `record.expires_at`, keeping its data and version where the store
    /// can (a Durable Object: only the expiry and its alarm change).
    /// `record` is the whole session, re-encoded, for stores that can only
    /// write it whole (the default: [`save`](Self::save)).
    /// [`StoreError::Missing`] when there is no live record. Returns the
    /// version stored.
    async fn touch(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        self.save(key, record).await
    }

    /// Removes the record, if any.
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError>;

    /// Whether a live record exists under `key`.
    async fn exists(&self, key: &SessionKey) -> Result<bool, StoreError>;

    /// Removes expired records; returns how many (Django's `clear_expired`).
    async fn clear_expired(&self) -> Result<u64, StoreError>;

    /// Whether `save` reports a record that is gone ([`StoreError::Missing`]).
    /// A store whose save is a blind put (a cache) answers `false`: before
    /// saving a session it never read, the manager then asks
    /// [`exists`](Self::exists), so a key whose record is gone (logged out)
    /// is never written again.
    fn save_detects_missing(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, FixedClock};
    use crate::record::CorruptRecord;
    use crate::session::SessionError;
    use crate::store::cache::RecordCache;
    use crate::testing::{FakeKv, FakeObject, Fault};

    fn key() -> SessionKey {
        SessionKey::parse("abcdefghijklmnopqrstuvwxyz012345").unwrap()
    }

    #[test]
    fn a_backend_error_says_which_operation_failed_and_gives_its_cause_as_source() {
        let e =
            StoreError::from(BackendError::new(StoreOp::ObjectCall, "the reply's record").with_source(CorruptRecord));
        let StoreError::Backend(b) = &e else { panic!("{e:?}") };
        assert_eq!((b.op(), b.detail()), (StoreOp::ObjectCall, "the reply's record"));
        assert_eq!(e.to_string(), "session store failed: Durable Object call: the reply's record");
        assert!(e.source().is_some_and(|s| s.is::<CorruptRecord>()), "the payload is not the cause; its cause is");
        assert_eq!(
            format!("{e:#}"),
            "session store failed: Durable Object call: the reply's record: stored session record does not decode"
        );
        // Without a cause: no source, and an empty detail adds nothing.
        let bare = StoreError::from(BackendError::new(StoreOp::KvGet, ""));
        assert!(bare.source().is_none());
        assert_eq!(format!("{bare:#}"), "session store failed: KV get");
        assert_eq!(StoreError::Missing.source().map(|s| s.to_string()), None);
    }

    #[test]
    fn backend_errors_compare_by_operation_and_detail_not_by_cause() {
        let plain = BackendError::new(StoreOp::KvPut, "429 Too Many Requests");
        assert_eq!(plain.clone().with_source(CorruptRecord), plain);
        assert_ne!(BackendError::new(StoreOp::KvDelete, "429 Too Many Requests"), plain);
        assert_ne!(BackendError::new(StoreOp::KvPut, "503"), plain);
        assert_ne!(StoreError::from(plain), StoreError::Missing);
    }

    #[test]
    fn a_string_cause_is_a_source_too() {
        let e = BackendError::new(StoreOp::Save, "refused").with_source("quota exceeded");
        assert_eq!(e.source().map(|s| s.to_string()).as_deref(), Some("quota exceeded"));
        assert_eq!(format!("{e:#}"), "save: refused: quota exceeded");
    }

    #[test]
    fn durable_object_replies_that_do_not_parse_keep_the_parse_error() {
        let e = object::parse_reply("not json").unwrap_err();
        assert!(matches!(&e, StoreError::Backend(b) if b.op() == StoreOp::ObjectCall));
        assert!(e.source().is_some_and(|s| s.is::<serde_json::Error>()));
        let e = object::reply_record(&serde_json::json!({"record": "{}"})).unwrap_err();
        assert!(e.source().is_some_and(|s| s.is::<CorruptRecord>()));
        let e = object::parse_reply(r#"{"error":"boom"}"#).unwrap_err();
        assert_eq!(e.to_string(), "session store failed: Durable Object call: the session object failed: boom");
    }

    #[test]
    fn the_doubles_report_the_operation_that_failed() {
        let clock = FixedClock::new(1_765_000_000);
        let kv = FakeKv::consistent(clock.clone());
        let record = Record::new("d", clock.now() + 100, 1);
        pollster::block_on(async {
            kv.fail_gets(true);
            kv.fail_puts(true);
            kv.fail_deletes(true);
            let op = |e: StoreError| match e {
                StoreError::Backend(b) => b.op(),
                other => panic!("{other:?}"),
            };
            assert_eq!(kv.get(&key()).await.map_err(op), Err(StoreOp::KvGet));
            assert_eq!(kv.set(&key(), &record, 60).await.map_err(op), Err(StoreOp::KvPut));
            assert_eq!(kv.remove(&key()).await.map_err(op), Err(StoreOp::KvDelete));

            let object = FakeObject::memory(clock.clone());
            object.set_fault(Fault::Unreachable);
            let e = object.load(&key(), 0).await.unwrap_err();
            assert_eq!(e, StoreError::from(BackendError::new(StoreOp::ObjectCall, "unreachable (load)")));
            assert_eq!(object.clear_expired().await.map_err(op), Err(StoreOp::ClearExpired));

            // Through a session, the chain still leads to the store's error.
            let wrapped = SessionError::Store(e);
            let inner = wrapped.source().and_then(|s| s.downcast_ref::<StoreError>());
            assert!(matches!(inner, Some(StoreError::Backend(b)) if b.op() == StoreOp::ObjectCall));
        });
    }
}
