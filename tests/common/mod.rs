//! A request/response driver over the memory store, with a browser-like
//! cookie jar: the whole middleware cycle on the host, with a fixed clock.
//!
//! [`Rig`] drives any store; [`Harness`] is the rig over the memory store (as
//! the `db` engine's Durable Object, which can be made to fail); [`Files`] is
//! the `file` engine's store over a fake R2 bucket, with the bucket at hand.
//! The test doubles are in `edge_session::testing`.
#![allow(dead_code)]

use std::rc::Rc;

/// `#[test]` wrappers running `$test::<$engine>()`, for the suites that run
/// each test on every engine (`tests!(super::Db; a_test, another_test)`
/// inside a module per engine; `#[macro_use] mod common;`).
#[allow(unused_macros)]
macro_rules! tests {
    ($engine:ty; $($test:ident),+ $(,)?) => {
        $(
            #[test]
            fn $test() {
                super::$test::<$engine>();
            }
        )+
    };
}

pub mod engines;

use edge_session::prelude::*;
use edge_session::store::file::FileStore;
use edge_session::testing::{FakeBucket, FakeObject};
use edge_session::{counters, Counters, Saved};

pub const SECRET: &str = "test-secret-key-for-edge-session";
/// The harness clock's start.
pub const START: i64 = 1_765_000_000;

/// One configuration over one store, with a fixed clock.
pub struct Rig<S> {
    pub clock: FixedClock,
    pub store: S,
    pub manager: SessionManager<S>,
}

/// The rig over the memory store (the `db` engine's semantics), as a
/// Durable Object that can be made to fail.
pub type Harness = Rig<FakeObject<MemoryStore>>;

/// The `file` engine as `SESSION_ENGINE=file` runs it (`FileStore`, objects
/// named `sessionid` + key at the bucket's root), over a fake R2 bucket that
/// stays reachable here: `FileStore` keeps its bucket to itself. Every store
/// operation is the file store's own; clones share the bucket.
#[derive(Clone)]
pub struct Files {
    pub bucket: FakeBucket,
    pub store: FileStore<FakeBucket>,
}

impl Files {
    /// An empty bucket, records expiring by `clock`.
    pub fn new(clock: &FixedClock) -> Self {
        let bucket = FakeBucket::new();
        Self { store: FileStore::new(bucket.clone(), "", "sessionid", clock.clone()), bucket }
    }

    /// The object name of `key`'s session.
    pub fn name(&self, key: &SessionKey) -> String {
        self.store.name(key)
    }

    /// The record in `key`'s object, expired or not (as the engine wrote it,
    /// without a revision); `None` when there is no object or it does not decode.
    pub fn raw(&self, key: &SessionKey) -> Option<Record> {
        Record::from_json(&self.bucket.body(&self.name(key))?).ok()
    }

    /// The rig of the `file` engine with `extra` settings.
    pub fn rig(extra: &[(&str, &str)]) -> Rig<Files> {
        let clock = FixedClock::new(START);
        let mut settings = vec![("SESSION_ENGINE", "file")];
        settings.extend_from_slice(extra);
        Rig::with_store(clock.clone(), Files::new(&clock), &settings)
    }
}

impl SessionStore for Files {
    async fn load(&self, key: &SessionKey, min_version: u64) -> Result<Option<Record>, StoreError> {
        self.store.load(key, min_version).await
    }
    async fn create(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        self.store.create(key, record).await
    }
    async fn save(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        self.store.save(key, record).await
    }
    async fn save_if_unchanged(&self, key: &SessionKey, record: &Record, read: u64) -> Result<Saved, StoreError> {
        self.store.save_if_unchanged(key, record, read).await
    }
    fn merges(&self) -> bool {
        self.store.merges()
    }
    async fn touch(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        self.store.touch(key, record).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.store.delete(key).await
    }
    async fn exists(&self, key: &SessionKey) -> Result<bool, StoreError> {
        self.store.exists(key).await
    }
    async fn clear_expired(&self) -> Result<u64, StoreError> {
        self.store.clear_expired().await
    }
    fn save_detects_missing(&self) -> bool {
        self.store.save_detects_missing()
    }
}

/// What a response carried.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub set_cookie: Option<String>,
    pub vary_cookie: bool,
    /// The KV, Durable Object and R2 operations it cost (`crypto` is 0: see `crypto_calls`).
    pub ops: Counters,
    /// The HMACs it computed.
    pub crypto_calls: u64,
    /// Why finishing the response failed, if it did (the status is then its `status()`).
    pub error: Option<FinishError>,
}

impl Response {
    /// Whether the response deletes the session cookie.
    pub fn deletes_cookie(&self) -> bool {
        self.set_cookie.as_deref().is_some_and(|c| c.contains("Max-Age=0"))
    }
}

/// The storage operations in `spec`, written as in the
/// `X-Edge-Session-Counters` header (`"kv_get=1,do_call=2"`; omitted kinds
/// are 0; `""` is none).
pub fn ops(spec: &str) -> Counters {
    let mut c = Counters::default();
    for pair in spec.split(',').filter(|p| !p.is_empty()) {
        let (name, n) = pair.split_once('=').expect("kind=count");
        let n: u64 = n.parse().expect("a count");
        match name {
            "kv_get" => c.kv_get = n,
            "kv_put" => c.kv_put = n,
            "kv_delete" => c.kv_delete = n,
            "do_call" => c.do_call = n,
            "r2_get" => c.r2_get = n,
            "r2_head" => c.r2_head = n,
            "r2_put" => c.r2_put = n,
            "r2_delete" => c.r2_delete = n,
            "r2_list" => c.r2_list = n,
            other => panic!("not a storage operation: {other}"),
        }
    }
    c
}

fn settings(extra: &[(&str, &str)]) -> Settings {
    let mut pairs = vec![("SECRET_KEY", SECRET)];
    pairs.extend_from_slice(extra);
    Settings::from_pairs(pairs).expect("settings")
}

impl Harness {
    pub fn new(extra: &[(&str, &str)]) -> Self {
        let clock = FixedClock::new(START);
        let store = FakeObject::memory(clock.clone());
        Self::with_store(clock, store, extra)
    }
}

impl<S: SessionStore + Clone> Rig<S> {
    /// A rig over `store`, whose records expire by `clock`.
    pub fn with_store(clock: FixedClock, store: S, extra: &[(&str, &str)]) -> Self {
        let manager = SessionManager::new(settings(extra), store.clone(), clock.clone(), OsKeySource);
        Self { clock, store, manager }
    }

    /// The rig with the users' indexes `users` (`SESSION_USER_INDEX`).
    pub fn with_users(mut self, users: edge_session::users::MemoryUsers) -> Self {
        self.manager = self.manager.with_users(users);
        self
    }

    /// Runs one request: loads the session from `cookie` (a full `Cookie`
    /// header), lets `handler` use it and return a status, then finishes.
    pub fn request<F>(&self, cookie: Option<&str>, handler: F) -> Response
    where
        F: AsyncFnOnce(&mut Session<S>) -> u16,
    {
        self.request_bytes(cookie.map(str::as_bytes), handler)
    }

    /// [`request`](Self::request) with a `Cookie` header of any bytes.
    pub fn request_bytes<F>(&self, cookie: Option<&[u8]>, handler: F) -> Response
    where
        F: AsyncFnOnce(&mut Session<S>) -> u16,
    {
        let before = counters();
        pollster::block_on(async {
            let mut session = self.manager.session(cookie);
            let status = handler(&mut session).await;
            let (status, set_cookie, vary_cookie, error) = match self.manager.finish(session, status).await {
                Ok(o) => (status, o.set_cookie, o.vary_cookie, None),
                Err(e) => (e.status(), None, false, Some(e)),
            };
            let cost = counters().since(&before);
            Response {
                status,
                set_cookie,
                vary_cookie,
                ops: Counters { crypto: 0, ..cost },
                crypto_calls: cost.crypto,
                error,
            }
        })
    }
}

/// A one-cookie browser jar.
#[derive(Debug, Default, Clone)]
pub struct Jar(pub Option<String>);

impl Jar {
    /// The `Cookie` header to send.
    pub fn header(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// Applies a `Set-Cookie` like a browser: a `Max-Age=0` deletes.
    pub fn update(&mut self, response: &Response) {
        if let Some(sc) = &response.set_cookie {
            let pair = sc.split(';').next().unwrap().to_owned();
            if sc.contains("Max-Age=0") {
                self.0 = None;
            } else {
                self.0 = Some(pair);
            }
        }
    }

    /// The session key inside a server-side cookie value (`KEY.VERSION.MAC`).
    pub fn key(&self) -> Option<String> {
        self.0.as_ref().map(|c| c.split_once('=').unwrap().1.split('.').next().unwrap().to_owned())
    }

    /// The record version inside a server-side cookie value.
    pub fn version(&self) -> Option<u64> {
        self.0.as_ref().and_then(|c| c.split('.').nth(1)).and_then(|v| v.parse().ok())
    }
}

/// A deferred action: another request to run while one is in flight.
type Hook = Box<dyn FnOnce()>;
type HookSlot = Rc<std::cell::RefCell<Option<Hook>>>;

/// Any store, with hooks that let another request (a logout) land while one
/// is in flight: right after the next `load` has read the store and before it
/// returns (for `cached_db`, between the durable read and the KV refill), or
/// right after the next `save` committed and before its reply reaches the
/// caller. Clones share the hooks.
#[derive(Clone)]
pub struct Gate<S> {
    pub inner: S,
    after_load: HookSlot,
    after_save: HookSlot,
    before_exists: HookSlot,
}

impl<S> Gate<S> {
    pub fn new(inner: S) -> Self {
        Self { inner, after_load: Rc::default(), after_save: Rc::default(), before_exists: Rc::default() }
    }

    /// Runs `hook` inside the next `load`, after the inner store answered.
    pub fn after_next_load(&self, hook: impl FnOnce() + 'static) {
        *self.after_load.borrow_mut() = Some(Box::new(hook));
    }

    /// Runs `hook` inside the next `save`, after the inner store committed.
    pub fn after_next_save(&self, hook: impl FnOnce() + 'static) {
        *self.after_save.borrow_mut() = Some(Box::new(hook));
    }

    /// Runs `hook` at the start of the next `exists` (a list looking records up).
    pub fn before_next_exists(&self, hook: impl FnOnce() + 'static) {
        *self.before_exists.borrow_mut() = Some(Box::new(hook));
    }

    /// The load hook, if no `load` ran it (the read never reached this store).
    pub fn take_unfired(&self) -> Option<Hook> {
        self.after_load.borrow_mut().take()
    }
}

fn fire(slot: &HookSlot) {
    let hook = slot.borrow_mut().take();
    if let Some(hook) = hook {
        hook();
    }
}

impl<S: SessionStore> SessionStore for Gate<S> {
    async fn load(&self, key: &SessionKey, min_version: u64) -> Result<Option<Record>, StoreError> {
        let loaded = self.inner.load(key, min_version).await;
        fire(&self.after_load);
        loaded
    }
    async fn create(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        self.inner.create(key, record).await
    }
    async fn save(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        let saved = self.inner.save(key, record).await;
        fire(&self.after_save);
        saved
    }
    async fn save_if_unchanged(&self, key: &SessionKey, record: &Record, read: u64) -> Result<Saved, StoreError> {
        let saved = self.inner.save_if_unchanged(key, record, read).await;
        fire(&self.after_save);
        saved
    }
    fn merges(&self) -> bool {
        self.inner.merges()
    }
    async fn touch(&self, key: &SessionKey, record: &Record) -> Result<u64, StoreError> {
        self.inner.touch(key, record).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn exists(&self, key: &SessionKey) -> Result<bool, StoreError> {
        fire(&self.before_exists);
        self.inner.exists(key).await
    }
    async fn clear_expired(&self) -> Result<u64, StoreError> {
        self.inner.clear_expired().await
    }
    fn save_detects_missing(&self) -> bool {
        self.inner.save_detects_missing()
    }
}
