//! Awaiting a binding's promise (a KV read, a Durable Object call, an R2 put)
//! from Rust, at the cost of one `bind` per await.
//!
//! `wasm_bindgen_futures::JsFuture` makes two fresh closures per promise (a
//! JS function each, registered for finalization, with their table slots);
//! here two closures are made once per isolate, and each await binds them to
//! its number (`Function.prototype.bind`, a V8 builtin). The outcome waits in
//! a thread-local table until the future is polled; dropping the future
//! forgets it, so a promise that settles late is ignored.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use js_sys::{Function, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen]
extern "C" {
    /// A promise, for `then` with plain functions.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then_call(this: &Thenable, resolve: &JsValue, reject: &JsValue) -> JsValue;
}

enum State {
    Waiting(Option<Waker>),
    Settled(Result<JsValue, JsValue>),
}

#[derive(Default)]
struct Table {
    next: u32,
    /// The awaits in flight: a handful at a time, so a list.
    pending: Vec<(u32, State)>,
}

impl Table {
    fn settle(&mut self, id: u32, outcome: Result<JsValue, JsValue>) -> Option<Waker> {
        let (_, state) = self.pending.iter_mut().find(|(i, _)| *i == id)?;
        match std::mem::replace(state, State::Settled(outcome)) {
            State::Waiting(waker) => waker,
            State::Settled(_) => None,
        }
    }
}

/// `(id, outcome) => settle(id, ...)`.
type Settle = Closure<dyn Fn(u32, JsValue)>;

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
    /// `(id, value) => settle(id, Ok(value))` and its `Err` twin, made once.
    static SETTLE: (Settle, Settle) = (
        Closure::new(|id, value| settle(id, Ok(value))),
        Closure::new(|id, error| settle(id, Err(error))),
    );
}

fn settle(id: u32, outcome: Result<JsValue, JsValue>) {
    // The borrow ends before the wake: the task it wakes may poll at once.
    if let Some(waker) = TABLE.with(|t| t.borrow_mut().settle(id, outcome)) {
        waker.wake();
    }
}

/// The outcome of `promise`, as a future: `Ok` with its value, `Err` with
/// what it rejected with.
pub(crate) fn settled(promise: &Promise) -> Settled {
    let id = TABLE.with(|t| {
        let mut t = t.borrow_mut();
        t.next = t.next.wrapping_add(1);
        let id = t.next;
        t.pending.push((id, State::Waiting(None)));
        id
    });
    let (on_ok, on_err) = SETTLE.with(|(ok, err)| {
        let bind = |c: &Settle| c.as_ref().unchecked_ref::<Function>().bind1(&JsValue::NULL, &JsValue::from(id));
        (bind(ok), bind(err))
    });
    // `then` registers the reactions; it returns a promise nobody awaits.
    promise.unchecked_ref::<Thenable>().then_call(&on_ok, &on_err);
    Settled(id)
}

/// See [`settled`].
pub(crate) struct Settled(u32);

impl Future for Settled {
    type Output = Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.0;
        TABLE.with(|t| {
            let mut t = t.borrow_mut();
            let Some(at) = t.pending.iter().position(|(i, _)| *i == id) else {
                // Polled after it completed: a future is not polled again once ready.
                return Poll::Ready(Err(JsValue::from_str("edge-session: a settled promise was awaited twice")));
            };
            match &mut t.pending[at].1 {
                State::Waiting(waker) => {
                    *waker = Some(cx.waker().clone());
                    Poll::Pending
                }
                State::Settled(_) => match t.pending.swap_remove(at).1 {
                    State::Settled(outcome) => Poll::Ready(outcome),
                    State::Waiting(_) => Poll::Pending,
                },
            }
        })
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        let id = self.0;
        // `try_with`: a future dropped while the isolate's thread-locals are torn down.
        let _ = TABLE.try_with(|t| t.borrow_mut().pending.retain(|(i, _)| *i != id));
    }
}
