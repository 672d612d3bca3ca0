// Runs the built demo worker (demo/build/worker/shim.mjs) on workerd through
// Miniflare, with real local KV and SQLite-backed Durable Objects (in memory,
// fresh per worker), and drives the ops endpoint of docs/test-api.md.
import { Miniflare } from "miniflare";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { packAndBundle } from "../npm/pack.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const SECRET = "integration-test-secret";
export const KV_PREFIX = "django.contrib.sessions.cache";

/** Where each worker's built script is: the Rust demo, or the npm package's test worker. */
let jsBundle;
function script(kind) {
  if (kind === "js") {
    jsBundle ??= packAndBundle().dist;
    return { scriptPath: path.join(jsBundle, "worker.js"), modulesRoot: jsBundle };
  }
  return { scriptPath: path.join(ROOT, "demo/build/worker/shim.mjs"), modulesRoot: path.join(ROOT, "demo/build") };
}

/** `EDGE_SESSION_WORKER=js` runs the suites against the npm package's worker. */
export const WORKER_KIND = process.env.EDGE_SESSION_WORKER ?? "rust";

/**
 * Starts the demo worker (`worker`: "rust" or "js"). `vars` become string (or JSON) bindings; `kv`,
 * `durable` and `r2` bind the session namespaces and bucket. `persist` (a directory) keeps KV and
 * Durable Object storage there instead of in memory, so several workers
 * started one after another with different vars (rotated secrets, broken
 * bindings) share one store. `durableObjects` adds Durable Object bindings
 * (`{NAME: {className, scriptName}}`), and `workers` adds worker scripts
 * (`{name, script}`, ES modules) they can name.
 */
export async function startWorker({
  vars = {},
  kv = true,
  durable = true,
  r2 = true,
  worker = WORKER_KIND,
  persist,
  durableObjects = {},
  workers = [],
} = {}) {
  const main = {
    name: "main",
    modules: true,
    ...script(worker),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
    kvNamespaces: kv ? ["SESSION_KV"] : [],
    r2Buckets: r2 ? ["SESSION_R2"] : [],
    durableObjects: {
      ...(durable ? { SESSION_DO: { className: "SessionObject", useSQLite: true } } : {}),
      ...durableObjects,
    },
    // A var given as undefined is left out (to test a missing setting).
    bindings: Object.fromEntries(
      Object.entries({ SESSION_TEST_API: "1", SECRET_KEY: SECRET, ...vars }).filter(([, v]) => v !== undefined),
    ),
  };
  const shared = {
    cf: false,
    ...(persist
      ? { kvPersist: path.join(persist, "kv"), durableObjectsPersist: path.join(persist, "do"), r2Persist: path.join(persist, "r2") }
      : {}),
  };
  const extra = workers.map((w) => ({ modules: true, compatibilityDate: "2025-09-01", ...w }));
  const mf = new Miniflare(extra.length ? { ...shared, workers: [main, ...extra] } : { ...shared, ...main });
  await mf.ready;
  return new Client(mf);
}

/** The storage operations a request's counters add up to (KV, Durable Object, R2). */
export const STORAGE_KINDS = ["kv_get", "kv_put", "kv_delete", "do_call", "r2_get", "r2_head", "r2_put", "r2_delete", "r2_list"];

/** A request's storage operations with every kind named, 0 when not given: `cost({ kv_get: 1 })`,
 * or the storage part of a response's counters, `cost(r.counters)`. */
export const cost = (given = {}) => Object.fromEntries(STORAGE_KINDS.map((k) => [k, given[k] ?? 0]));

/** The storage cost of reading a saved session, per engine (a read within a refresh interval too). */
export const READ_COST = {
  cache: cost({ kv_get: 1 }),
  db: cost({ do_call: 1 }),
  cached_db: cost({ kv_get: 1 }),
  file: cost({ r2_get: 1 }),
  signed_cookies: cost(),
};

/** Parses `X-Edge-Session-Counters: crypto=2,kv_get=1,...`. */
function counters(response) {
  const raw = response.headers.get("x-edge-session-counters") ?? "";
  return Object.fromEntries(raw.split(",").filter(Boolean).map((kv) => {
    const [k, v] = kv.split("=");
    return [k, Number(v)];
  }));
}

export class Client {
  constructor(mf) {
    this.mf = mf;
  }

  async dispose() {
    await this.mf.dispose();
  }

  /** POST /_session/ops with `cookie` (a `name=value` pair or null). */
  async ops(cookie, ops, status) {
    const headers = { "content-type": "application/json" };
    if (cookie) headers.cookie = cookie;
    const body = JSON.stringify(status === undefined ? { ops } : { ops, status });
    const res = await this.mf.dispatchFetch("http://127.0.0.1/_session/ops", { method: "POST", headers, body });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON: keep the text for the assertion message.
    }
    const setCookies = res.headers.getSetCookie();
    const c = counters(res);
    return {
      status: res.status,
      body: json,
      text,
      setCookie: setCookies[0] ?? null,
      setCookies,
      vary: res.headers.get("vary"),
      counters: c,
      storageOps: STORAGE_KINDS.reduce((sum, k) => sum + (c[k] ?? 0), 0),
    };
  }

  async get(pathname, init) {
    return this.mf.dispatchFetch(`http://127.0.0.1${pathname}`, init);
  }

  async kvKeys() {
    const kv = await this.mf.getKVNamespace("SESSION_KV");
    return (await kv.list()).keys.map((k) => k.name);
  }

  async kv() {
    return this.mf.getKVNamespace("SESSION_KV");
  }

  /** The `file` engine's bucket. */
  async r2() {
    return this.mf.getR2Bucket("SESSION_R2");
  }

  /** The names of the objects in the `file` engine's bucket. */
  async r2Names() {
    const bucket = await this.r2();
    return (await bucket.list()).objects.map((o) => o.key);
  }
}

/** The `name=value` pair of a Set-Cookie header. */
export function pair(setCookie) {
  return setCookie ? setCookie.split(";")[0] : null;
}

/** The session key in a server-side cookie value (`KEY.VERSION.MAC`). */
export function keyOf(cookiePair) {
  return cookiePair.split("=")[1].split(".")[0];
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
