//! The npm package's way to run a session call: the call's result now when
//! it awaits nothing, else a `Promise` of it, polled again from inside the
//! reaction that wakes it.
//!
//! `wasm_bindgen_futures::future_to_promise` schedules every poll through its
//! own queue, one `queueMicrotask` per wake: on workerd the profile of a read
//! (`bash bench/profile.sh edge-session-npm+stub read`) showed that queue among
//! the costliest frames of the request. A session call is one future that
//! waits on one binding call at a time, so it needs no queue: the waker polls
//! the task at once (the binding's promise wakes it from its reaction,
//! already a microtask of its own: `platform::promise`). A wake while the task
//! is being polled (a future that wakes itself) is remembered and polled
//! right after.
//!
//! Safe code only: the tasks live in a thread-local table and a waker holds
//! the task's number (wasm32 has one thread).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use wasm_bindgen::JsValue;

type Call = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

enum Slot {
    /// Waiting for a wake.
    Idle(Call, js_sys::Function, js_sys::Function),
    /// Being polled; `true` once woken meanwhile.
    Polling(bool),
}

/// The tasks waiting or being polled: a handful at a time (one per session
/// call in flight), so a list.
#[derive(Default)]
struct Tasks {
    next: u32,
    slots: Vec<(u32, Slot)>,
}

impl Tasks {
    fn get_mut(&mut self, id: u32) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|(i, _)| *i == id).map(|(_, s)| s)
    }

    fn woken(&self, id: u32) -> bool {
        self.slots.iter().any(|(i, s)| *i == id && matches!(s, Slot::Polling(true)))
    }

    fn set(&mut self, id: u32, slot: Slot) {
        match self.get_mut(id) {
            Some(s) => *s = slot,
            None => self.slots.push((id, slot)),
        }
    }

    fn remove(&mut self, id: u32) {
        self.slots.retain(|(i, _)| *i != id);
    }
}

thread_local! {
    static TASKS: RefCell<Tasks> = RefCell::new(Tasks::default());
}

struct TaskWaker(u32);

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        poll_task(self.0);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        poll_task(self.0);
    }
}

/// The result of `f`, now, when its first poll completes it; else a `Promise`
/// that settles with it.
pub(crate) fn now_or_promise<F>(f: F) -> Result<JsValue, JsValue>
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    let mut call: Call = Box::pin(f);
    let id = TASKS.with(|t| {
        let mut t = t.borrow_mut();
        t.next = t.next.wrapping_add(1);
        t.next
    });
    let waker = Waker::from(Arc::new(TaskWaker(id)));
    TASKS.with(|t| t.borrow_mut().set(id, Slot::Polling(false)));
    let first = call.as_mut().poll(&mut Context::from_waker(&waker));
    if let Poll::Ready(result) = first {
        TASKS.with(|t| t.borrow_mut().remove(id));
        return result;
    }
    let mut slot = None;
    let promise = js_sys::Promise::new(&mut |resolve, reject| slot = Some((resolve, reject)));
    let (resolve, reject) = slot.expect("the Promise executor runs at once");
    let woken = TASKS.with(|t| {
        let mut t = t.borrow_mut();
        let woken = t.woken(id);
        t.set(id, Slot::Idle(call, resolve, reject));
        woken
    });
    if woken {
        poll_task(id);
    }
    Ok(promise.into())
}

/// Polls task `id` (its waker fired) until it waits again or settles.
fn poll_task(id: u32) {
    loop {
        let taken = TASKS.with(|t| {
            let mut t = t.borrow_mut();
            match t.get_mut(id) {
                Some(Slot::Polling(woken)) => {
                    *woken = true;
                    None
                }
                Some(slot @ Slot::Idle(..)) => match std::mem::replace(slot, Slot::Polling(false)) {
                    Slot::Idle(call, resolve, reject) => Some((call, resolve, reject)),
                    Slot::Polling(_) => None,
                },
                // Settled already (a stale waker).
                None => None,
            }
        });
        let Some((mut call, resolve, reject)) = taken else { return };
        let waker = Waker::from(Arc::new(TaskWaker(id)));
        match call.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(result) => {
                TASKS.with(|t| t.borrow_mut().remove(id));
                // A settle function never throws; what it returns is nothing.
                let _ = match result {
                    Ok(v) => resolve.call1(&JsValue::UNDEFINED, &v),
                    Err(e) => reject.call1(&JsValue::UNDEFINED, &e),
                };
                return;
            }
            Poll::Pending => {
                let woken = TASKS.with(|t| {
                    let mut t = t.borrow_mut();
                    let woken = t.woken(id);
                    t.set(id, Slot::Idle(call, resolve, reject));
                    woken
                });
                if !woken {
                    return;
                }
            }
        }
    }
}
