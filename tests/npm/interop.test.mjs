// One wire format: a Rust worker (the demo) and a JavaScript worker (built on
// the packed npm package) in one Miniflare instance, sharing the KV namespace,
// the Durable Object namespace and the R2 bucket, read and write each other's sessions.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { Miniflare } from "miniflare";
import { ROOT, SECRET, pair, keyOf, KV_PREFIX } from "../worker/harness.mjs";
import { packAndBundle } from "./pack.mjs";

const RULES = [
  { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
  { type: "CompiledWasm", include: ["**/*.wasm"] },
];

function start(engine, objectsIn) {
  const { dist } = packAndBundle();
  const common = (name) => ({
    name,
    modules: true,
    modulesRules: RULES,
    compatibilityDate: "2025-09-01",
    kvNamespaces: { SESSION_KV: "shared-sessions" },
    r2Buckets: { SESSION_R2: "shared-session-files" },
    durableObjects: { SESSION_DO: { className: "SessionObject", scriptName: objectsIn, useSQLite: true } },
    bindings: { SESSION_TEST_API: "1", SECRET_KEY: SECRET, SESSION_ENGINE: engine },
  });
  return new Miniflare({
    cf: false,
    workers: [
      { ...common("rust"), scriptPath: path.join(ROOT, "demo/build/worker/shim.mjs"), modulesRoot: path.join(ROOT, "demo/build") },
      { ...common("js"), scriptPath: path.join(dist, "worker.js"), modulesRoot: dist },
    ],
  });
}

async function ops(mf, worker, cookie, list) {
  const w = await mf.getWorker(worker);
  const headers = cookie ? { cookie } : {};
  const res = await w.fetch("http://127.0.0.1/_session/ops", { method: "POST", headers, body: JSON.stringify({ ops: list }) });
  return { body: await res.json(), setCookie: res.headers.getSetCookie()[0] ?? null };
}

for (const engine of ["cache", "db", "cached_db", "file", "signed_cookies"]) {
  for (const objectsIn of ["rust", "js"]) {
    if (engine !== "db" && engine !== "cached_db" && objectsIn === "js") continue;
    describe(`${engine}${engine.includes("db") ? ` (SessionObject from the ${objectsIn} worker)` : ""}`, () => {
      let mf;
      before(async () => {
        mf = start(engine, objectsIn);
        await mf.ready;
      });
      after(async () => {
        await mf?.dispose();
      });

      for (const [writer, reader] of [["rust", "js"], ["js", "rust"]]) {
        it(`a session written by the ${writer} worker is read and changed by the ${reader} worker`, async () => {
          const created = await ops(mf, writer, null, [{ op: "set", key: "user", value: "ada" }, { op: "set", key: "n", value: [1, { x: "ž" }] }]);
          assert.ok(created.setCookie);
          const cookie = pair(created.setCookie);
          const read = await ops(mf, reader, cookie, [{ op: "get", key: "user" }, { op: "get", key: "n" }, { op: "set", key: "by", value: reader }]);
          assert.deepEqual(read.body.results, ["ada", [1, { x: "ž" }], null]);
          const back = await ops(mf, writer, pair(read.setCookie), [{ op: "items" }]);
          assert.deepEqual(back.body.results[0], [["user", "ada"], ["n", [1, { x: "ž" }]], ["by", reader]]);
          // A flush by one is seen by the other.
          const flushed = await ops(mf, reader, pair(read.setCookie), [{ op: "flush" }]);
          assert.match(flushed.setCookie, /Max-Age=0/);
          if (engine !== "signed_cookies") {
            const gone = await ops(mf, writer, pair(read.setCookie), [{ op: "get", key: "user" }]);
            assert.deepEqual(gone.body.results, [null]);
          }
        });
      }

      if (engine === "cache" || engine === "cached_db") {
        it("both workers store the same record bytes under the same KV key", async () => {
          const a = await ops(mf, "rust", null, [{ op: "set", key: "k", value: 1 }]);
          const kv = await mf.getKVNamespace("SESSION_KV", "rust");
          const raw = JSON.parse(await kv.get(KV_PREFIX + keyOf(pair(a.setCookie))));
          assert.deepEqual(Object.keys(raw), ["data", "expires", "version"]);
        });
      }

      if (engine === "file") {
        it("both workers store the same record, with the same metadata, under the same object name", async () => {
          const bucket = await mf.getR2Bucket("SESSION_R2", "rust");
          for (const writer of ["rust", "js"]) {
            const a = await ops(mf, writer, null, [{ op: "set", key: "k", value: writer }]);
            const object = await bucket.get(`sessionid${keyOf(pair(a.setCookie))}`);
            assert.ok(object, writer);
            const raw = JSON.parse(await object.text());
            assert.deepEqual(Object.keys(raw), ["data", "expires", "version"]);
            assert.deepEqual(object.customMetadata, { expires: String(raw.expires), version: String(raw.version) });
          }
        });
      }
    });
  }
}
