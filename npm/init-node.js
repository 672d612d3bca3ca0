// Loads the wasm in Node (tests driving Miniflare from outside the worker).
import { readFileSync } from "node:fs";
import { initSync } from "./pkg/edge_session.js";

initSync({ module: new WebAssembly.Module(readFileSync(new URL("./pkg/edge_session_bg.wasm", import.meta.url))) });
