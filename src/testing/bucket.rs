//! A fake R2 bucket for host tests of the `file` engine: a [`Bucket`] that
//! honours the conditions of a put as R2 does, with injected failures and a
//! hook that runs another request's work between two operations.
//!
//! * **ETags** are a hash of the content, as R2's are (the MD5 of the body):
//!   two writes of the same bytes have the same ETag.
//! * **Conditions.** `Absent` fails when any object has the name;
//!   `Matches(etag)` fails when there is no object or its ETag differs. A
//!   failed condition writes nothing and is `Ok(false)`, as R2's `put`
//!   returns `null`.
//! * **Listing** is in name order, `limit` at a time, the cursor being the
//!   last name returned.
//! * **Faults.** Any operation kind can be made to fail ([`FakeBucket::fail`]).
//! * **Interleaving.** [`FakeBucket::before_next_put`] runs a closure just
//!   before the next put is applied (a concurrent request's write or delete
//!   landing between this request's read and its write).
//! * **Counts.** Every operation (failed ones too) is counted in
//!   [`crate::metrics`] as `r2_get`, `r2_head`, `r2_put`, `r2_delete`,
//!   `r2_list`, as the platform's R2 bucket counts them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::metrics::count;
use crate::store::file::{Bucket, Condition, Head, Meta, Object, Page};
use crate::store::{BackendError, StoreError, StoreOp};

#[derive(Debug, Clone)]
struct Stored {
    body: String,
    etag: String,
    meta: Option<Meta>,
}

type Hook = Box<dyn FnOnce(&FakeBucket)>;

#[derive(Default)]
struct Inner {
    objects: RefCell<BTreeMap<String, Stored>>,
    failing: RefCell<Vec<StoreOp>>,
    before_put: RefCell<Option<Hook>>,
}

/// An in-memory R2 bucket; clones share the objects.
#[derive(Clone, Default)]
pub struct FakeBucket(Rc<Inner>);

/// The ETag of `body`: a hash of the bytes (FNV-1a, 64 bits), so equal
/// content has equal ETags, as R2's MD5 ETags do.
fn etag_of(body: &str) -> String {
    let hash = body.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{hash:016x}")
}

impl FakeBucket {
    /// An empty bucket.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every operation of kind `op` ([`StoreOp::R2Get`], ...) fail
    /// (`true`) or work again (`false`).
    pub fn fail(&self, op: StoreOp, fail: bool) {
        let mut failing = self.0.failing.borrow_mut();
        failing.retain(|o| *o != op);
        if fail {
            failing.push(op);
        }
    }

    /// Runs `f` once, just before the next put is applied (and before its
    /// condition is checked).
    pub fn before_next_put(&self, f: impl FnOnce(&FakeBucket) + 'static) {
        *self.0.before_put.borrow_mut() = Some(Box::new(f));
    }

    /// The names of the objects held, in order.
    pub fn names(&self) -> Vec<String> {
        self.0.objects.borrow().keys().cloned().collect()
    }

    /// The content of the object under `name`.
    pub fn body(&self, name: &str) -> Option<String> {
        self.0.objects.borrow().get(name).map(|o| o.body.clone())
    }

    /// How many objects are held.
    pub fn len(&self) -> usize {
        self.0.objects.borrow().len()
    }

    /// Whether the bucket is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes an object directly (another writer of the bucket), with or
    /// without the engine's metadata.
    pub fn insert_raw(&self, name: &str, body: &str, meta: Option<Meta>) {
        let stored = Stored { body: body.to_owned(), etag: etag_of(body), meta };
        self.0.objects.borrow_mut().insert(name.to_owned(), stored);
    }

    /// Deletes an object directly (another request's delete).
    pub fn remove_raw(&self, name: &str) {
        self.0.objects.borrow_mut().remove(name);
    }

    fn check(&self, op: StoreOp) -> Result<(), StoreError> {
        count(|c| match op {
            StoreOp::R2Get => c.r2_get += 1,
            StoreOp::R2Head => c.r2_head += 1,
            StoreOp::R2Put => c.r2_put += 1,
            StoreOp::R2Delete => c.r2_delete += 1,
            _ => c.r2_list += 1,
        });
        if self.0.failing.borrow().contains(&op) {
            return Err(BackendError::new(op, "503 Service Unavailable (injected)").into());
        }
        Ok(())
    }
}

impl Bucket for FakeBucket {
    async fn get(&self, name: &str) -> Result<Option<Object>, StoreError> {
        self.check(StoreOp::R2Get)?;
        Ok(self.0.objects.borrow().get(name).map(|o| Object { body: o.body.clone(), etag: o.etag.clone() }))
    }

    async fn head(&self, name: &str) -> Result<Option<Head>, StoreError> {
        self.check(StoreOp::R2Head)?;
        Ok(self.0.objects.borrow().get(name).map(|o| Head { etag: o.etag.clone(), meta: o.meta }))
    }

    async fn put(&self, name: &str, body: &str, meta: Meta, condition: Condition<'_>) -> Result<bool, StoreError> {
        self.check(StoreOp::R2Put)?;
        let hook = self.0.before_put.borrow_mut().take();
        if let Some(hook) = hook {
            hook(self);
        }
        let mut objects = self.0.objects.borrow_mut();
        let holds = match (condition, objects.get(name)) {
            (Condition::Absent, existing) => existing.is_none(),
            (Condition::Matches(etag), Some(o)) => o.etag == etag,
            (Condition::Matches(_), None) => false,
        };
        if holds {
            objects.insert(name.to_owned(), Stored { body: body.to_owned(), etag: etag_of(body), meta: Some(meta) });
        }
        Ok(holds)
    }

    async fn delete(&self, names: &[String]) -> Result<(), StoreError> {
        self.check(StoreOp::R2Delete)?;
        let mut objects = self.0.objects.borrow_mut();
        for name in names {
            objects.remove(name);
        }
        Ok(())
    }

    async fn list(&self, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Page, StoreError> {
        self.check(StoreOp::R2List)?;
        let objects = self.0.objects.borrow();
        let mut matching = objects
            .iter()
            .filter(|(name, _)| name.starts_with(prefix) && cursor.is_none_or(|c| name.as_str() > c))
            .map(|(name, o)| (name.clone(), o.meta));
        let page: Vec<_> = matching.by_ref().take(limit as usize).collect();
        let more = matching.next().is_some();
        let cursor = if more { page.last().map(|(name, _)| name.clone()) } else { None };
        Ok(Page { objects: page, cursor })
    }
}
