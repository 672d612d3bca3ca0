// The session flows of docs/test-api.md, for every engine, on workerd with
// real local KV and Durable Objects, with the storage operations and HMAC
// computations of each request counted by wrappers around the bindings.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, pair, keyOf, sleep, KV_PREFIX, cost, READ_COST } from "./harness.mjs";

const ENGINES = ["cache", "db", "cached_db", "file", "signed_cookies"];
const SERVER_SIDE = new Set(["cache", "db", "cached_db", "file"]);
/** Engines whose records are KV entries. */
const ON_KV = new Set(["cache", "cached_db"]);

/** The storage part of a response's counters, every kind named. */
const storage = cost;

/** ...of modifying one key of a saved session (file: a put conditional on the ETag the read saw). */
const MODIFY_COST = {
  cache: cost({ kv_get: 1, kv_put: 1 }),
  db: cost({ do_call: 2 }),
  cached_db: cost({ kv_get: 1, kv_put: 1, do_call: 1 }),
  file: cost({ r2_get: 1, r2_put: 1 }),
  signed_cookies: cost(),
};
/** ...of creating a new session (file: a put that fails if the object exists). */
const CREATE_COST = {
  cache: cost({ kv_put: 1 }),
  db: cost({ do_call: 1 }),
  cached_db: cost({ kv_put: 1, do_call: 1 }),
  file: cost({ r2_put: 1 }),
  signed_cookies: cost(),
};
/** ...of flush on a saved session it did not read. */
const FLUSH_COST = {
  cache: cost({ kv_delete: 1 }),
  db: cost({ do_call: 1 }),
  cached_db: cost({ kv_delete: 1, do_call: 1 }),
  file: cost({ r2_delete: 1 }),
  signed_cookies: cost(),
};

/** HMAC-SHA256 computations per request kind: server-side engines check the
 * cookie's MAC and the stored data's signature, and sign both on a write;
 * signed_cookies checks or signs the one token. */
const CRYPTO = {
  server: { untouched: 1, read: 2, modify: 4, create: 2 },
  signed_cookies: { untouched: 0, read: 1, modify: 2, create: 1 },
};

for (const engine of ENGINES) {
  describe(`engine ${engine}`, () => {
    const crypto = CRYPTO[SERVER_SIDE.has(engine) ? "server" : "signed_cookies"];
    let w;
    before(async () => {
      w = await startWorker({ vars: { SESSION_ENGINE: engine } });
    });
    after(async () => {
      await w?.dispose();
    });

    /** A new session holding {user: "ada"}; returns its cookie pair. */
    async function login() {
      const r = await w.ops(null, [{ op: "set", key: "user", value: "ada" }]);
      assert.equal(r.status, 200, r.text);
      assert.ok(r.setCookie, "a cookie is set once data is set");
      return pair(r.setCookie);
    }

    it("sets the cookie only once data is set, at the minimum cost", async () => {
      const empty = await w.ops(null, [{ op: "get", key: "user" }]);
      assert.equal(empty.setCookie, null, "reading an empty new session sets no cookie");
      assert.equal(empty.storageOps, 0);
      const r = await w.ops(null, [{ op: "set", key: "user", value: "ada" }]);
      assert.match(r.setCookie, /^sessionid=[^;]+; expires=[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT; HttpOnly; Max-Age=1209600; Path=\/; SameSite=Lax$/);
      assert.deepEqual(storage(r.counters), CREATE_COST[engine]);
      assert.equal(r.counters.crypto, crypto.create);
      assert.equal(r.setCookies.length, 1);
    });

    it("reads the data back through the cookie, with Vary: Cookie and no new cookie", async () => {
      const cookie = await login();
      const r = await w.ops(cookie, [{ op: "get", key: "user" }, { op: "keys" }]);
      assert.deepEqual(r.body.results, ["ada", ["user"]]);
      assert.equal(r.vary, "Cookie");
      assert.equal(r.setCookie, null);
      assert.deepEqual(storage(r.counters), READ_COST[engine]);
      assert.equal(r.counters.crypto, crypto.read);
      assert.equal(r.body.modified, false);
    });

    it("costs nothing for an untouched session with a cookie, and adds no Vary", async () => {
      const cookie = await login();
      const r = await w.ops(cookie, []);
      assert.equal(r.storageOps, 0);
      assert.equal(r.counters.crypto, crypto.untouched);
      assert.equal(r.vary, null);
      assert.equal(r.setCookie, null);
    });

    it("modifies one key at the minimum cost and refreshes the cookie", async () => {
      const cookie = await login();
      const r = await w.ops(cookie, [{ op: "set", key: "cart", value: [1, 2] }]);
      assert.deepEqual(storage(r.counters), MODIFY_COST[engine]);
      assert.equal(r.counters.crypto, crypto.modify);
      assert.ok(r.setCookie);
      const again = await w.ops(pair(r.setCookie), [{ op: "items" }]);
      assert.deepEqual(again.body.results[0], [["user", "ada"], ["cart", [1, 2]]]);
    });

    it("flush deletes the record and the cookie, and the old cookie no longer works", async () => {
      const cookie = await login();
      const r = await w.ops(cookie, [{ op: "flush" }]);
      assert.equal(r.setCookie, 'sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax');
      assert.equal(r.vary, "Cookie");
      assert.deepEqual(storage(r.counters), FLUSH_COST[engine], "the record is deleted, unread");
      if (ON_KV.has(engine)) assert.ok(!(await w.kvKeys()).includes(KV_PREFIX + keyOf(cookie)), "KV entry gone");
      if (engine === "file") assert.ok(!(await w.r2Names()).includes(`sessionid${keyOf(cookie)}`), "R2 object gone");
      const replay = await w.ops(cookie, [{ op: "get", key: "user" }]);
      if (SERVER_SIDE.has(engine)) {
        assert.equal(replay.body.results[0], null, "a replayed cookie finds nothing");
        assert.match(replay.setCookie, /Max-Age=0/);
      }
    });

    it("cycle_key keeps the data under a new key and the old key finds nothing", async () => {
      const cookie = await login();
      const r = await w.ops(cookie, [{ op: "cycle_key" }, { op: "session_key" }]);
      const fresh = pair(r.setCookie);
      assert.ok(fresh);
      // (signed_cookies has no key to cycle: Django re-signs the data, which
      // within the same second is the same token.)
      if (SERVER_SIDE.has(engine)) assert.notEqual(fresh, cookie);
      assert.deepEqual((await w.ops(fresh, [{ op: "get", key: "user" }])).body.results, ["ada"]);
      if (SERVER_SIDE.has(engine)) {
        assert.equal(r.body.results[1], keyOf(fresh));
        assert.notEqual(keyOf(fresh), keyOf(cookie));
        assert.deepEqual((await w.ops(cookie, [{ op: "get", key: "user" }])).body.results, [null]);
      }
    });

    it("set_expiry(0) gives a browser-length cookie", async () => {
      const r = await w.ops(null, [{ op: "set", key: "x", value: 1 }, { op: "set_expiry", value: 0 }, { op: "get_expire_at_browser_close" }]);
      assert.equal(r.body.results[2], true);
      assert.equal(r.setCookie.includes("Max-Age"), false, r.setCookie);
      assert.equal(r.setCookie.includes("expires="), false, r.setCookie);
    });

    it("set_expiry(2) expires the session server-side after 2 s, although KV keeps entries 60 s", async () => {
      const r = await w.ops(null, [{ op: "set", key: "x", value: 1 }, { op: "set_expiry", value: 2 }]);
      assert.match(r.setCookie, /Max-Age=2;/);
      const cookie = pair(r.setCookie);
      assert.deepEqual((await w.ops(cookie, [{ op: "get", key: "x" }])).body.results, [1]);
      await sleep(3100);
      const late = await w.ops(cookie, [{ op: "get", key: "x" }]);
      assert.deepEqual(late.body.results, [null], "expired server-side");
      if (engine === "cache" || engine === "cached_db") {
        assert.ok((await w.kvKeys()).includes(KV_PREFIX + keyOf(cookie)), "KV still holds the entry (60 s minimum TTL)");
      }
    });

    it("saves nothing on a 500", async () => {
      const keysBefore = ON_KV.has(engine) ? await w.kvKeys() : null;
      const objectsBefore = await w.r2Names();
      const r = await w.ops(null, [{ op: "set", key: "x", value: 1 }], 500);
      assert.equal(r.status, 500);
      assert.equal(r.setCookie, null);
      assert.equal(r.storageOps, 0);
      if (keysBefore) assert.deepEqual(await w.kvKeys(), keysBefore);
      assert.deepEqual(await w.r2Names(), objectsBefore);
      // An existing session modified under a 500 keeps its old data.
      const cookie = await login();
      await w.ops(cookie, [{ op: "set", key: "user", value: "eve" }], 503);
      assert.deepEqual((await w.ops(cookie, [{ op: "get", key: "user" }])).body.results, ["ada"]);
    });

    it("never adopts a forged or unknown cookie, at zero storage cost, and creates no record", async () => {
      const keysBefore = ON_KV.has(engine) ? await w.kvKeys() : null;
      const objectsBefore = await w.r2Names();
      const forged = "sessionid=abcdefghijklmnopqrstuvwxyz012345.1.AAAAAAAAAAAAAAAAAAAAAA";
      const r = await w.ops(forged, [{ op: "get", key: "user" }, { op: "session_key" }]);
      assert.deepEqual(r.body.results, [null, null]);
      assert.equal(r.storageOps, 0, "rejected before any store is asked");
      assert.match(r.setCookie, /Max-Age=0/, "the bad cookie is deleted");
      if (keysBefore) assert.deepEqual(await w.kvKeys(), keysBefore, "no record created");
      assert.deepEqual(await w.r2Names(), objectsBefore, "no object created");
      const malformed = await w.ops("sessionid=../../etc/passwd", [{ op: "get", key: "user" }]);
      assert.equal(malformed.storageOps, 0);
      assert.equal(malformed.counters.crypto, 0, "a malformed value costs not even a MAC");
      // Writing under a forged cookie gets a fresh key.
      const w2 = await w.ops(forged, [{ op: "set", key: "x", value: 1 }]);
      assert.ok(w2.setCookie);
      assert.ok(!w2.setCookie.includes("abcdefghijklmnopqrstuvwxyz012345"));
    });

    it("refuses a bad body with a 400 and leaves the session alone", async () => {
      const cookie = await login();
      const res = await w.get("/_session/ops", { method: "POST", headers: { cookie }, body: "{not json" });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get("set-cookie"), null);
      const unknown = await w.ops(cookie, [{ op: "set", key: "user", value: "eve" }, { op: "explode" }]);
      assert.equal(unknown.status, 400);
      assert.deepEqual((await w.ops(cookie, [{ op: "get", key: "user" }])).body.results, ["ada"]);
    });

    it("reports the effective settings without secrets", async () => {
      const res = await w.get("/_session/config");
      const config = await res.json();
      assert.equal(config.engine, engine);
      assert.equal(config.SESSION_COOKIE_AGE, 1209600);
      assert.ok(!JSON.stringify(config).includes("integration-test-secret"));
    });
  });
}

describe("SESSION_SAVE_EVERY_REQUEST", () => {
  for (const engine of ENGINES) {
    it(`re-sends the cookie on every request (${engine})`, async () => {
      const w = await startWorker({ vars: { SESSION_ENGINE: engine, SESSION_SAVE_EVERY_REQUEST: "true" } });
      try {
        const first = await w.ops(null, [{ op: "set", key: "x", value: 1 }]);
        const r = await w.ops(pair(first.setCookie), []);
        assert.ok(r.setCookie, "an untouched session is saved and its cookie re-sent");
        assert.deepEqual((await w.ops(pair(r.setCookie), [{ op: "get", key: "x" }])).body.results, [1]);
        const none = await w.ops(null, []);
        assert.equal(none.setCookie, null, "an empty session is never saved");
      } finally {
        await w.dispose();
      }
    });
  }
});
