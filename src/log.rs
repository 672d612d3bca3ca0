//! Warnings the core reports (a cache write that failed after the durable one
//! succeeded, an old record left behind by `cycle_key`).
//!
//! The core has no console; platform glue installs one with [`set_warn_hook`]
//! (the Workers integration routes warnings to `console.warn`). Without a hook
//! warnings go to standard error on the host and nowhere on wasm32.

use std::cell::Cell;

thread_local! {
    static HOOK: Cell<Option<fn(&str)>> = const { Cell::new(None) };
}

/// Routes warnings to `hook`.
#[cfg(feature = "platform")]
pub fn set_warn_hook(hook: fn(&str)) {
    HOOK.with(|h| h.set(Some(hook)));
}

/// Reports a warning.
pub(crate) fn warn(message: &str) {
    match HOOK.with(Cell::get) {
        Some(hook) => hook(message),
        #[cfg(not(target_arch = "wasm32"))]
        None => eprintln!("edge-session warning: {message}"),
        #[cfg(target_arch = "wasm32")]
        None => {}
    }
}
