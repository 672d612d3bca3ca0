// edge-session's test helpers, in a Worker (vitest-pool-workers: `env` from "cloudflare:test").
import "./init-worker.js";
export * from "./testing-core.js";
