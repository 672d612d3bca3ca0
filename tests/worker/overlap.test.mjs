// Overlapping requests of one browser on workerd: on `db` and `cached_db` a
// save carries what its request changed, and the session object applies it
// to the record it holds, so two requests that change different keys both
// keep their change; for one key the save that reaches the object last wins;
// a flush still interrupts a concurrent save. `cache` and `file` keep the
// last writer's whole session. The `sleep` op holds the slow request open
// while the fast one runs.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, pair, keyOf, sleep } from "./harness.mjs";

/** A session holding {user: "ada", x: 0}; returns its cookie pair. */
async function login(w) {
  const r = await w.ops(null, [{ op: "set", key: "user", value: "ada" }, { op: "set", key: "x", value: 0 }]);
  assert.equal(r.status, 200, r.text);
  return pair(r.setCookie);
}

/** Runs `slow` (read, wait 400 ms, then its ops) and, 100 ms in, `fast`; returns both responses. */
async function overlap(w, cookie, slowOps, fastOps) {
  const slow = w.ops(cookie, [{ op: "keys" }, { op: "sleep", ms: 400 }, ...slowOps]);
  await sleep(100);
  const fast = await w.ops(cookie, [{ op: "keys" }, ...fastOps]);
  return [await slow, fast];
}

const items = async (w, cookie) =>
  Object.fromEntries((await w.ops(cookie, [{ op: "items" }])).body.results[0]);

for (const engine of ["db", "cached_db"]) {
  describe(`overlapping saves merge on ${engine}`, () => {
    let w;
    before(async () => {
      w = await startWorker({ vars: { SESSION_ENGINE: engine } });
    });
    after(async () => {
      await w?.dispose();
    });

    it("a slow request that sets a and a fast one that sets b end with both", async () => {
      const cookie = await login(w);
      const [slow, fast] = await overlap(w, cookie, [{ op: "set", key: "a", value: 1 }], [{ op: "set", key: "b", value: 2 }]);
      assert.deepEqual([slow.status, fast.status], [200, 200], slow.text);
      assert.deepEqual(await items(w, pair(slow.setCookie)), { user: "ada", x: 0, a: 1, b: 2 });
      assert.deepEqual(await items(w, pair(fast.setCookie)), { user: "ada", x: 0, a: 1, b: 2 }, "either cookie reads the merged session");
      assert.deepEqual(await items(w, cookie), { user: "ada", x: 0, a: 1, b: 2 });
    });

    it("the same key ends with the later save's value", async () => {
      const cookie = await login(w);
      const [slow] = await overlap(w, cookie, [{ op: "set", key: "x", value: "slow" }], [{ op: "set", key: "x", value: "fast" }]);
      assert.equal(slow.status, 200);
      assert.deepEqual(await items(w, pair(slow.setCookie)), { user: "ada", x: "slow" });
    });

    it("a deletion and a set of another key both stick", async () => {
      const cookie = await login(w);
      const [slow] = await overlap(w, cookie, [{ op: "delete", key: "x" }], [{ op: "set", key: "y", value: 1 }]);
      assert.deepEqual(await items(w, pair(slow.setCookie)), { user: "ada", y: 1 });
      const again = await login(w);
      const [late] = await overlap(w, again, [{ op: "set", key: "y", value: 1 }], [{ op: "delete", key: "x" }]);
      assert.deepEqual(await items(w, pair(late.setCookie)), { user: "ada", y: 1 });
    });

    it("a save after clear() replaces what the other request saved, as Django sees it after clear()", async () => {
      const cookie = await login(w);
      const [slow] = await overlap(w, cookie, [{ op: "clear" }, { op: "set", key: "z", value: 2 }], [{ op: "set", key: "y", value: 1 }]);
      assert.deepEqual(await items(w, pair(slow.setCookie)), { z: 2 });
    });

    it("a flush still interrupts a concurrent save", async () => {
      const cookie = await login(w);
      const [slow, logout] = await overlap(w, cookie, [{ op: "set", key: "a", value: 1 }], [{ op: "flush" }]);
      assert.match(logout.setCookie, /Max-Age=0/);
      assert.equal(slow.status, 400, `SessionInterrupted: ${slow.text}`);
      assert.equal(slow.setCookie, null);
      assert.deepEqual((await w.ops(cookie, [{ op: "get", key: "user" }])).body.results, [null]);
    });

    it("a modify that overlaps nothing costs what it did before the merge", async () => {
      const cookie = await login(w);
      const r = await w.ops(cookie, [{ op: "set", key: "a", value: 1 }]);
      const cost = engine === "db" ? [0, 0, 2] : [1, 1, 1];
      assert.deepEqual([r.counters.kv_get, r.counters.kv_put, r.counters.do_call], cost);
    });
  });
}

for (const engine of ["cache", "file"]) {
  describe(`overlapping saves on ${engine}: the last writer's whole session`, () => {
    let w;
    before(async () => {
      w = await startWorker({ vars: { SESSION_ENGINE: engine } });
    });
    after(async () => {
      await w?.dispose();
    });

    it("the slow save replaces the fast one's", async () => {
      const cookie = await login(w);
      const [slow, fast] = await overlap(w, cookie, [{ op: "set", key: "a", value: 1 }], [{ op: "set", key: "b", value: 2 }]);
      assert.deepEqual([slow.status, fast.status], [200, 200]);
      assert.equal(keyOf(pair(slow.setCookie)), keyOf(cookie));
      // KV may serve the fast copy for a while at another location; this one reads its own write.
      assert.deepEqual(await items(w, pair(slow.setCookie)), { user: "ada", x: 0, a: 1 });
    });
  });
}
