// edge-session in a Worker: the wasm, then the API (core.js).
import "./init-worker.js";
export * from "./core.js";
