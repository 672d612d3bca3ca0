// edge-session in Node: the API and the test helpers, for tests that drive
// Miniflare from outside the worker (`env` = `await mf.getBindings()`).
import "./init-node.js";
export * from "./core.js";
export * from "./testing-core.js";
