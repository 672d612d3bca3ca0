//! Django's `file` engine over an object store: one object per session, named
//! as Django names its files (`SESSION_COOKIE_NAME + key`, under the
//! directory `SESSION_FILE_PATH`), holding the [`Record`] every server-side
//! engine stores. On Workers the bucket is R2 (`platform::R2Bucket`); on the
//! host, `testing::FakeBucket`.
//!
//! The object store's conditional writes give Django's file-backend
//! guarantees (`O_EXCL` on create, a re-read before an update):
//!
//! * `create` is a put that fails when an object exists (R2's
//!   `etagDoesNotMatch: "*"`); a dead record in the way (expired) is replaced
//!   only by a put conditional on its ETag, so a live one is never overwritten.
//! * `save` is a put conditional on the ETag the load read ([`Record::revision`]),
//!   while the record it read has not expired; when that fails (or the record
//!   expired since), the object is read again (`head`): gone or expired, the
//!   save is [`StoreError::Missing`] (Django's `UpdateError`, so
//!   `SessionInterrupted` for a session loaded in the request); replaced by a
//!   concurrent save, it is saved over that one (last writer wins, for the
//!   whole session, as every engine but a merging one does), again
//!   conditionally. A deleted session never comes back through a save.
//! * The record's `expires` and `version` are also the object's custom
//!   metadata, so `head` and `list` tell a live object without reading it;
//!   every read checks the expiry (the object store has no TTL of its own).
//! * `clear_expired` lists the objects under the prefix, a page at a time,
//!   and deletes the expired ones of each page in one call; one call looks at
//!   [`SWEEP_PAGES`] pages at most and the next call goes on from there. An
//!   R2 lifecycle rule does the same without a job (`README.md`).
//!
//! Storage operations: a read is one `get`; a create one `put`; a save of a
//! loaded session one `put` (plus a `head` and a second `put` when a
//! concurrent save got there first); a save of a session this request did
//! not read one `head` and one `put`; a delete one `delete`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use super::{BackendError, Record, SessionStore, StoreError, StoreOp};
use crate::clock::Clock;
use crate::key::SessionKey;

/// The most list pages one [`clear_expired`](SessionStore::clear_expired)
/// call reads (each one list and at most one bulk delete): a bounded number of
/// storage operations per call, whatever the bucket holds.
pub const SWEEP_PAGES: usize = 10;
/// Objects per list page (R2's largest page, and its largest bulk delete).
pub const PAGE_SIZE: u32 = 1000;
/// How many conditional writes a `create` or `save` tries before it gives up
/// (each failed one means another request changed the object meanwhile).
const ATTEMPTS: usize = 4;

/// What the engine keeps in an object's custom metadata: the record's
/// `expires` and `version`, so a `head` or a `list` can tell a live record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// [`Record::expires_at`].
    pub expires_at: i64,
    /// [`Record::version`].
    pub version: u64,
}

impl Meta {
    /// The metadata of `record`.
    pub fn of(record: &Record) -> Self {
        Self { expires_at: record.expires_at, version: record.version }
    }

    /// From the custom metadata's `expires` and `version` texts; `None` when
    /// either is missing or not a number (not an object this engine wrote).
    pub fn parse(expires: Option<&str>, version: Option<&str>) -> Option<Self> {
        Some(Self { expires_at: expires?.parse().ok()?, version: version?.parse().ok()? })
    }
}

/// An object read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its content.
    pub body: String,
    /// Its ETag.
    pub etag: String,
}

/// An object's ETag and metadata, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Its ETag.
    pub etag: String,
    /// The engine's metadata; `None` when the object has none (not written by this engine).
    pub meta: Option<Meta>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The objects' names and metadata.
    pub objects: Vec<(String, Option<Meta>)>,
    /// Where the next page starts; `None` on the last page.
    pub cursor: Option<String>,
}

/// When a put may happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition<'a> {
    /// Only if no object has the name (R2: `etagDoesNotMatch: "*"`).
    Absent,
    /// Only if the object under the name has this ETag (R2: `etagMatches`).
    Matches(&'a str),
}

/// The object store operations the engine needs (R2's binding has them all).
///
/// A failed condition is `Ok(false)` from [`put`](Self::put), not an error;
/// errors are the store failing ([`StoreError::Backend`]).
#[allow(async_fn_in_trait)] // Workers futures are single-threaded.
pub trait Bucket {
    /// The object under `name`, or `None`.
    async fn get(&self, name: &str) -> Result<Option<Object>, StoreError>;
    /// The ETag and metadata of the object under `name`, or `None`.
    async fn head(&self, name: &str) -> Result<Option<Head>, StoreError>;
    /// Writes `body` with `meta` under `name` if `condition` holds; whether it did.
    async fn put(&self, name: &str, body: &str, meta: Meta, condition: Condition<'_>) -> Result<bool, StoreError>;
    /// Deletes the objects under `names` (at most [`PAGE_SIZE`]); absent ones are no error.
    async fn delete(&self, names: &[String]) -> Result<(), StoreError>;
    /// The objects whose names start with `prefix`, at most `limit`, from `cursor`.
    async fn list(&self, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Page, StoreError>;
}

/// The `file` engine's store: sessions as objects of a [`Bucket`].
pub struct FileStore<B> {
    bucket: B,
    prefix: String,
    clock: Rc<dyn Clock>,
    /// Where the next `clear_expired` goes on listing.
    sweep: Rc<RefCell<Option<String>>>,
}

impl<B: Clone> Clone for FileStore<B> {
    fn clone(&self) -> Self {
        Self {
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            clock: self.clock.clone(),
            sweep: self.sweep.clone(),
        }
    }
}

/// The name prefix of the session objects: Django's
/// `os.path.join(SESSION_FILE_PATH, SESSION_COOKIE_NAME)`.
///
/// ```
/// use edge_session::store::file::object_prefix;
/// assert_eq!(object_prefix("", "sessionid"), "sessionid");
/// assert_eq!(object_prefix("sessions", "sessionid"), "sessions/sessionid");
/// assert_eq!(object_prefix("sessions/", "sessionid"), "sessions/sessionid");
/// ```
pub fn object_prefix(path: &str, cookie_name: &str) -> String {
    if path.is_empty() || path.ends_with('/') {
        format!("{path}{cookie_name}")
    } else {
        format!("{path}/{cookie_name}")
    }
}

impl<B: Bucket> FileStore<B> {
    /// Sessions in `bucket`, named `object_prefix(path, cookie_name) + key`,
    /// expiring by `clock`.
    pub fn new(bucket: B, path: &str, cookie_name: &str, clock: impl Clock + 'static) -> Self {
        Self { bucket, prefix: object_prefix(path, cookie_name), clock: Rc::new(clock), sweep: Rc::default() }
    }

    /// The object name of `key`'s session.
    pub fn name(&self, key: &SessionKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    fn live(&self, head: &Head) -> Option<Meta> {
        let now = self.clock.now();
        head.meta.filter(|m| m.expires_at > now)
    }

    async fn put(&self, name: &str, record: &Record, condition: Condition<'_>) -> Result<bool, StoreError> {
        // The wire form leaves the revision out.
        self.bucket.put(name, &record.to_json(), Meta::of(record), condition).await
    }
}

/// What a load hands the save in [`Record::revision`]: the object's ETag,
/// and the expiry of the record it read (`EXPIRES/ETAG`), so a save can tell
/// that the copy it read has expired since without reading it again.
struct Revision {
    expires_at: i64,
    etag: String,
}

impl Revision {
    fn parse(text: &str) -> Option<Self> {
        let (expires, etag) = text.split_once('/')?;
        Some(Self { expires_at: expires.parse().ok()?, etag: etag.to_owned() })
    }
}

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.expires_at, self.etag)
    }
}

fn contended(op: StoreOp) -> StoreError {
    BackendError::new(op, "the session object changed under every conditional write (too many concurrent writers)")
        .into()
}

impl<B: Bucket> SessionStore for FileStore<B> {
    async fn load(&self, key: &SessionKey, _min_version: u64) -> Result<Option<Record>, StoreError> {
        let Some(object) = self.bucket.get(&self.name(key)).await? else { return Ok(None) };
        match Record::from_json(&object.body) {
            Ok(record) if !record.is_expired(self.clock.now()) => {
                let revision = Revision { expires_at: record.expires_at, etag: object.etag }.to_string();
                Ok(Some(Record { revision: Some(revision), ..record }))
            }
            Ok(_) => Ok(None),
            Err(e) => {
                // Only another writer of the bucket makes such an object.
                crate::log::warn(&format!("the session object does not decode: {e}"));
                Ok(None)
            }
        }
    }

    async fn create(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        let name = self.name(key);
        for _ in 0..ATTEMPTS {
            if self.put(&name, record, Condition::Absent).await? {
                return Ok(record.version);
            }
            match self.bucket.head(&name).await? {
                // Not this engine's metadata: not ours to replace.
                Some(head) if head.meta.is_none() || self.live(&head).is_some() => return Err(StoreError::Exists),
                // A dead record: replaced only if it is still the one seen.
                Some(head) if self.put(&name, record, Condition::Matches(&head.etag)).await? => {
                    return Ok(record.version)
                }
                // Replaced or deleted since it was seen: try again.
                _ => {}
            }
        }
        Err(contended(StoreOp::Create))
    }

    async fn save(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        let name = self.name(key);
        // The ETag the load read, while the copy it read is still live: a
        // copy that expired since is not saved over without a look.
        let now = self.clock.now();
        let mut expected =
            record.revision.as_deref().and_then(Revision::parse).filter(|r| r.expires_at > now).map(|r| r.etag);
        let wanted = record.version;
        let mut record = Cow::Borrowed(record);
        for _ in 0..ATTEMPTS {
            if let Some(etag) = &expected {
                if self.put(&name, &record, Condition::Matches(etag)).await? {
                    return Ok(record.version);
                }
            }
            // Not the object the request read (or none was named): what is there now?
            let head = self.bucket.head(&name).await?;
            let Some((head, meta)) = head.and_then(|h| self.live(&h).map(|m| (h, m))) else {
                return Err(StoreError::Missing);
            };
            record.to_mut().version = wanted.max(meta.version.saturating_add(1));
            expected = Some(head.etag);
        }
        Err(contended(StoreOp::Save))
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.bucket.delete(&[self.name(key)]).await
    }

    async fn exists(&self, key: &SessionKey) -> Result<bool, StoreError> {
        Ok(self.bucket.head(&self.name(key)).await?.is_some_and(|h| self.live(&h).is_some()))
    }

    async fn clear_expired(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let mut cursor = self.sweep.borrow_mut().take();
        let mut removed = 0;
        for _ in 0..SWEEP_PAGES {
            let page = self.bucket.list(&self.prefix, cursor.as_deref(), PAGE_SIZE).await?;
            let dead: Vec<String> = page
                .objects
                .into_iter()
                .filter(|(_, meta)| meta.is_some_and(|m| m.expires_at <= now))
                .map(|(name, _)| name)
                .collect();
            if !dead.is_empty() {
                self.bucket.delete(&dead).await?;
                removed += dead.len() as u64;
            }
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
        *self.sweep.borrow_mut() = cursor;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::testing::{cost_of, FakeBucket};
    use pollster::block_on;

    const NOW: i64 = 1_765_000_000;

    fn key() -> SessionKey {
        SessionKey::parse("abcdefghijklmnopqrstuvwxyz012345").unwrap()
    }

    fn setup() -> (FakeBucket, FileStore<FakeBucket>, FixedClock) {
        let clock = FixedClock::new(NOW);
        let bucket = FakeBucket::new();
        (bucket.clone(), FileStore::new(bucket, "", "sessionid", clock.clone()), clock)
    }

    fn rec(data: &str, version: u64) -> Record {
        Record::new(data, NOW + 100, version)
    }

    #[test]
    fn objects_are_named_as_django_names_its_files_and_hold_the_record_with_its_metadata() {
        let clock = FixedClock::new(NOW);
        let bucket = FakeBucket::new();
        let store = FileStore::new(bucket.clone(), "tenant-a/sessions", "sid", clock);
        block_on(store.create(&key(), &rec("d", 1))).unwrap();
        let name = "tenant-a/sessions/sidabcdefghijklmnopqrstuvwxyz012345";
        assert_eq!(bucket.names(), [name]);
        assert_eq!(
            bucket.body(name).as_deref(),
            Some(rec("d", 1).to_json().as_str()),
            "the record every engine stores"
        );
        let head = block_on(bucket.head(name)).unwrap().unwrap();
        assert_eq!(head.meta, Some(Meta { expires_at: NOW + 100, version: 1 }));
    }

    #[test]
    fn a_read_is_one_get_a_create_one_put_and_a_save_of_what_was_read_one_put() {
        let (_, store, _) = setup();
        let (created, cost) = cost_of(|| block_on(store.create(&key(), &rec("one", 1))));
        assert_eq!((created, cost.r2_put, cost.storage_ops()), (Ok(1), 1, 1));
        let (loaded, cost) = cost_of(|| block_on(store.load(&key(), 1)));
        let loaded = loaded.unwrap().unwrap();
        assert_eq!((cost.r2_get, cost.storage_ops()), (1, 1));
        assert!(loaded.revision.is_some(), "the load names the copy it read");
        let save = Record { revision: loaded.revision.clone(), ..rec("two", 2) };
        let (saved, cost) = cost_of(|| block_on(store.save(&key(), &save)));
        assert_eq!((saved, cost.r2_put, cost.storage_ops()), (Ok(2), 1, 1));
        // Without a revision (a session saved without being read) it looks first.
        let (saved, cost) = cost_of(|| block_on(store.save(&key(), &rec("three", 3))));
        assert_eq!((saved, cost.r2_head, cost.r2_put, cost.storage_ops()), (Ok(3), 1, 1, 2));
        assert_eq!(block_on(store.load(&key(), 0)).unwrap().map(|r| r.data).as_deref(), Some("three"));
    }

    #[test]
    fn create_never_replaces_a_live_object_nor_one_it_did_not_write_but_replaces_a_dead_one() {
        let (bucket, store, clock) = setup();
        block_on(store.create(&key(), &rec("first", 1))).unwrap();
        assert_eq!(block_on(store.create(&key(), &rec("intruder", 1))), Err(StoreError::Exists));
        clock.advance(100);
        assert_eq!(block_on(store.create(&key(), &Record::new("reborn", NOW + 500, 1))), Ok(1));
        assert_eq!(block_on(store.load(&key(), 0)).unwrap().map(|r| r.data).as_deref(), Some("reborn"));
        let name = store.name(&key());
        bucket.insert_raw(&name, "not a record", None);
        assert_eq!(block_on(store.create(&key(), &rec("x", 1))), Err(StoreError::Exists));
        assert_eq!(bucket.body(&name).as_deref(), Some("not a record"));
        assert_eq!(block_on(store.load(&key(), 0)), Ok(None), "an object that does not decode reads as absent");
    }

    #[test]
    fn a_create_racing_another_create_of_the_dead_record_never_replaces_the_winner() {
        let (bucket, store, clock) = setup();
        block_on(store.create(&key(), &rec("dead", 1))).unwrap();
        clock.advance(100);
        // The first put (absent) fails; another request replaces the dead
        // record before this one's conditional put lands.
        let name = store.name(&key());
        let winner = Record::new("winner", NOW + 1_000, 1);
        let body = winner.to_json();
        // The hook of the first put sets the one of the second.
        bucket.before_next_put(move |b| {
            b.before_next_put({
                let (name, body) = (name.clone(), body.clone());
                move |b| b.insert_raw(&name, &body, Some(Meta::of(&winner)))
            })
        });
        assert_eq!(block_on(store.create(&key(), &Record::new("loser", NOW + 1_000, 1))), Err(StoreError::Exists));
        assert_eq!(block_on(store.load(&key(), 0)).unwrap().map(|r| r.data).as_deref(), Some("winner"));
    }

    #[test]
    fn a_save_after_a_concurrent_delete_is_missing_and_writes_nothing() {
        let (bucket, store, _) = setup();
        block_on(store.create(&key(), &rec("one", 1))).unwrap();
        let loaded = block_on(store.load(&key(), 1)).unwrap().unwrap();
        let name = store.name(&key());
        // Deleted between the load and the save (a logout in another tab).
        bucket.remove_raw(&name);
        let save = Record { revision: loaded.revision.clone(), ..rec("two", 2) };
        assert_eq!(block_on(store.save(&key(), &save)), Err(StoreError::Missing));
        assert!(bucket.is_empty(), "a deleted session never comes back through a save");
        // Deleted between the head and the put of a save without a revision.
        block_on(store.create(&key(), &rec("one", 1))).unwrap();
        bucket.before_next_put(move |b| b.remove_raw(&name));
        assert_eq!(block_on(store.save(&key(), &rec("two", 2))), Err(StoreError::Missing));
        assert!(bucket.is_empty());
    }

    #[test]
    fn a_save_over_a_concurrent_save_wins_with_a_greater_version() {
        let (bucket, store, _) = setup();
        block_on(store.create(&key(), &rec("one", 1))).unwrap();
        let a = block_on(store.load(&key(), 1)).unwrap().unwrap();
        let b = block_on(store.load(&key(), 1)).unwrap().unwrap();
        assert_eq!(block_on(store.save(&key(), &Record { revision: b.revision, ..rec("b", 2) })), Ok(2));
        let (saved, cost) = cost_of(|| block_on(store.save(&key(), &Record { revision: a.revision, ..rec("a", 2) })));
        assert_eq!(saved, Ok(3), "over the version the other save stored");
        assert_eq!((cost.r2_put, cost.r2_head), (2, 1), "the refused put, the look, the put");
        let stored = block_on(store.load(&key(), 0)).unwrap().unwrap();
        assert_eq!((stored.data.as_str(), stored.version), ("a", 3));
        assert_eq!(bucket.len(), 1);
    }

    #[test]
    fn expiry_is_checked_on_every_read() {
        let (_, store, clock) = setup();
        block_on(store.create(&key(), &rec("one", 1))).unwrap();
        assert!(block_on(store.exists(&key())).unwrap());
        clock.advance(100);
        assert_eq!(block_on(store.load(&key(), 1)), Ok(None));
        assert_eq!(block_on(store.exists(&key())), Ok(false));
        assert_eq!(block_on(store.save(&key(), &rec("late", 2))), Err(StoreError::Missing));
    }

    #[test]
    fn clear_expired_deletes_a_page_at_a_time_bounded_per_call_and_goes_on_from_there() {
        let (bucket, store, _) = setup();
        let n = PAGE_SIZE as usize * SWEEP_PAGES + 5;
        for i in 0..n {
            let meta = Meta { expires_at: if i % 2 == 0 { NOW } else { NOW + 100 }, version: 1 };
            bucket.insert_raw(&format!("sessionid{i:08}"), "{}", Some(meta));
        }
        bucket.insert_raw("sessionid-foreign", "x", None);
        bucket.insert_raw("other/thing", "x", Some(Meta { expires_at: 0, version: 1 }));
        let dead = n.div_ceil(2);
        let (first, cost) = cost_of(|| block_on(store.clear_expired()));
        assert_eq!((cost.r2_list, cost.r2_delete), (SWEEP_PAGES as u64, SWEEP_PAGES as u64), "bounded per call");
        let first = first.unwrap() as usize;
        assert_eq!(first, PAGE_SIZE as usize * SWEEP_PAGES / 2);
        let (second, cost) = cost_of(|| block_on(store.clear_expired()));
        assert_eq!(second.unwrap() as usize, dead - first, "the next call goes on where the last stopped");
        assert_eq!(cost.r2_list, 1);
        assert_eq!(bucket.len(), n - dead + 2, "live, foreign and unprefixed objects stay");
        assert!(bucket.names().contains(&"sessionid-foreign".to_owned()));
        assert!(bucket.names().contains(&"other/thing".to_owned()));
        // A third call starts over and finds nothing more.
        assert_eq!(block_on(store.clear_expired()), Ok(0));
    }

    #[test]
    fn a_failing_bucket_is_a_store_error_naming_the_operation() {
        let (bucket, store, _) = setup();
        for (op, run) in [
            (StoreOp::R2Get, 0),
            (StoreOp::R2Put, 1),
            (StoreOp::R2Delete, 2),
            (StoreOp::R2Head, 3),
            (StoreOp::R2List, 4),
        ] {
            bucket.fail(op, true);
            let e = block_on(async {
                match run {
                    0 => store.load(&key(), 0).await.map(drop),
                    1 => store.create(&key(), &rec("x", 1)).await.map(drop),
                    2 => store.delete(&key()).await,
                    3 => store.exists(&key()).await.map(drop),
                    _ => store.clear_expired().await.map(drop),
                }
            })
            .unwrap_err();
            assert!(matches!(&e, StoreError::Backend(b) if b.op() == op), "{op}: {e:?}");
            bucket.fail(op, false);
        }
    }
}
