//! Where "now" comes from.
//!
//! Every rule that depends on time takes a [`Clock`], so tests pin it with a
//! [`FixedClock`]. Time is whole seconds since the Unix epoch: cookies,
//! Django's signing timestamps and the store's expiry all count in seconds.

use std::cell::Cell;
use std::rc::Rc;

/// A source of the current time, in whole seconds since the Unix epoch.
pub trait Clock {
    /// The current time.
    fn now(&self) -> i64;
}

impl<C: Clock + ?Sized> Clock for Rc<C> {
    fn now(&self) -> i64 {
        (**self).now()
    }
}

/// The system clock of a native host.
///
/// Not available on wasm32, where `std::time::SystemTime::now()` panics; the
/// Workers glue supplies a clock backed by `Date.now()` there.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now(&self) -> i64 {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(_) => 0,
        }
    }
}

/// A clock that stands still until told to move; shared by cloning.
///
/// ```
/// use edge_session::{Clock, FixedClock};
/// let clock = FixedClock::new(100);
/// let seen_by_store = clock.clone();
/// clock.advance(5);
/// assert_eq!(seen_by_store.now(), 105);
/// ```
#[derive(Debug, Clone, Default)]
pub struct FixedClock(Rc<Cell<i64>>);

impl FixedClock {
    /// A clock showing `now`.
    pub fn new(now: i64) -> Self {
        Self(Rc::new(Cell::new(now)))
    }
    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.0.set(self.0.get() + seconds);
    }
    /// Sets the clock to `now`.
    pub fn set(&self, now: i64) {
        self.0.set(now);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.get()
    }
}
