// Bench instrumentation shared by every bench worker, JS and Rust (the Rust
// bench worker imports this file as a wasm-bindgen snippet; the JS workers
// import it directly):
//  * a counting wrapper around the KV binding, or, with BENCH_KV=stub, an
//    in-memory Map-backed stand-in (get/put/delete) so that CPU figures
//    isolate the session layer from workerd's local KV simulator;
//  * a counting wrapper around the Durable Object namespace (stub.fetch calls);
//  * counters of crypto.subtle calls (every method wrapped once, at start-up).
// GET /__counters returns the totals so far in this isolate; the bench
// driver reads them around single requests (probes) and around each load run.

export const counts = { kv_get: 0, kv_put: 0, kv_delete: 0, kv_list: 0, do_call: 0, subtle: 0 };

const SUBTLE = ["encrypt", "decrypt", "sign", "verify", "digest", "generateKey", "deriveKey", "deriveBits", "importKey", "exportKey", "wrapKey", "unwrapKey"];
{
  const subtle = globalThis.crypto?.subtle;
  for (const m of SUBTLE) {
    const orig = subtle?.[m];
    if (typeof orig !== "function") continue;
    Object.defineProperty(subtle, m, {
      configurable: true,
      writable: true,
      value(...args) {
        counts.subtle++;
        return orig.apply(subtle, args);
      },
    });
  }
}

// The stand-in KV: values kept as strings, read back as KV returns them.
const memory = new Map();
const stubKv = {
  async get(key, options) {
    const type = typeof options === "string" ? options : (options?.type ?? "text");
    const value = memory.get(key);
    if (value === undefined) return null;
    return type === "json" ? JSON.parse(value) : value;
  },
  async put(key, value) {
    memory.set(key, String(value));
  },
  async delete(key) {
    memory.delete(key);
  },
  async list() {
    return { keys: [...memory.keys()].map((name) => ({ name })), list_complete: true };
  },
};

function countedKv(kv) {
  return {
    get(...args) {
      counts.kv_get++;
      return kv.get(...args);
    },
    getWithMetadata(...args) {
      counts.kv_get++;
      return kv.getWithMetadata(...args);
    },
    put(...args) {
      counts.kv_put++;
      return kv.put(...args);
    },
    delete(...args) {
      counts.kv_delete++;
      return kv.delete(...args);
    },
    list(...args) {
      counts.kv_list++;
      return kv.list(...args);
    },
  };
}

function countedDo(ns) {
  return {
    idFromName: (name) => ns.idFromName(name),
    idFromString: (id) => ns.idFromString(id),
    newUniqueId: (o) => ns.newUniqueId(o),
    get(id, options) {
      const stub = ns.get(id, options);
      return {
        fetch(...args) {
          counts.do_call++;
          return stub.fetch(...args);
        },
      };
    },
  };
}

const wrapped = new WeakMap();

/** `env` with SESSION_KV (real or stubbed) and SESSION_DO behind counting wrappers. */
export function benchEnv(env) {
  let e = wrapped.get(env);
  if (e === undefined) {
    e = {};
    for (const name of Object.getOwnPropertyNames(env)) e[name] = env[name];
    const kv = env.BENCH_KV === "stub" ? stubKv : env.SESSION_KV;
    if (kv) e.SESSION_KV = countedKv(kv);
    if (env.SESSION_DO) e.SESSION_DO = countedDo(env.SESSION_DO);
    wrapped.set(env, e);
  }
  return e;
}

/** The counters as JSON text. */
export function countsJson() {
  return JSON.stringify(counts);
}
