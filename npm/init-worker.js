// Loads the wasm in a Worker (workerd, wrangler, Miniflare, vitest-pool-workers):
// the `.wasm` import is a WebAssembly.Module there.
import { initSync } from "./pkg/edge_session.js";
import wasmModule from "./pkg/edge_session_bg.wasm";

initSync({ module: wasmModule });
