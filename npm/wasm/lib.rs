//! The npm package's WebAssembly: re-exports edge-session's wasm-bindgen API
//! (`edge_session::js`) so that this cdylib exports it; `npm/index.js` wraps it.
#![forbid(unsafe_code)]

pub use edge_session::js::*;
