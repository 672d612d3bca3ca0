// Django's messages framework on workerd, every engine, through the ops
// endpoint (add_message, get_messages): a message added in one request is
// read in the next and consumed; below MESSAGE_LEVEL or empty it is dropped;
// the stored `_messages` is the text Django's SessionStorage writes.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, pair } from "./harness.mjs";

for (const engine of ["db", "cached_db", "cache", "file", "signed_cookies"]) {
  describe(`messages on ${engine}`, () => {
    let w;
    before(async () => {
      w = await startWorker({ vars: { SESSION_ENGINE: engine } });
    });
    after(async () => {
      await w?.dispose();
    });

    it("are read on the next request, once, with their level and tags", async () => {
      const add = await w.ops(null, [
        { op: "add_message", level: 25, message: "Added “tea” 🍵", extra_tags: "cart" },
        { op: "add_message", level: 10, message: "debug: below MESSAGE_LEVEL" },
        { op: "add_message", level: 20, message: "" },
        { op: "add_message", level: 40, message: "Payment failed" },
      ]);
      assert.deepEqual(add.body.results, [null, null, null, null]);
      let cookie = pair(add.setCookie);
      const raw = await w.ops(cookie, [{ op: "get", key: "_messages" }]);
      assert.equal(
        raw.body.results[0],
        '[["__json_message", 0, 25, "Added \\u201ctea\\u201d \\ud83c\\udf75", "cart"], ["__json_message", 0, 40, "Payment failed", ""]]',
        "Django's SessionStorage text",
      );
      const read = await w.ops(cookie, [{ op: "get_messages" }]);
      assert.deepEqual(read.body.results[0], [
        { level: 25, message: "Added “tea” 🍵", extra_tags: "cart" },
        { level: 40, message: "Payment failed", extra_tags: "" },
      ]);
      cookie = pair(read.setCookie) ?? cookie;
      const again = await w.ops(cookie, [{ op: "get_messages" }]);
      assert.deepEqual(again.body.results[0], [], "consumed");
    });

    it("an add after the read waits for the next request; a bad level is a 400", async () => {
      const first = await w.ops(null, [{ op: "add_message", level: 20, message: "one" }]);
      const r = await w.ops(pair(first.setCookie), [{ op: "get_messages" }, { op: "add_message", level: 30, message: "two" }]);
      assert.deepEqual(r.body.results[0].map((m) => m.message), ["one"]);
      const next = await w.ops(pair(r.setCookie) ?? pair(first.setCookie), [{ op: "get_messages" }]);
      assert.deepEqual(next.body.results[0].map((m) => m.message), ["two"]);
      const bad = await w.ops(null, [{ op: "add_message", level: "INFO", message: "x" }]);
      assert.equal(bad.status, 400);
    });
  });
}
