// Expiry policy on workerd, every engine, in real time: with
// SESSION_COOKIE_AGE=3, SESSION_REFRESH_AFTER=1 and SESSION_ABSOLUTE_AGE=8, a
// session read every 1.5 s lives past 3 s and ends at 8 s; two reads within
// the interval cost one write; the counted storage operations of a refresh
// per engine (README, "Engines").
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { startWorker, pair, sleep, cost, READ_COST } from "./harness.mjs";

const ENGINES = ["cache", "db", "cached_db", "file", "signed_cookies"];
const POLICY = { SESSION_COOKIE_AGE: "3", SESSION_REFRESH_AFTER: "1", SESSION_ABSOLUTE_AGE: "8" };

const storage = cost;

/** A refresh: the read, then what moves the expiry. */
const REFRESH_COST = {
  cache: cost({ kv_get: 1, kv_put: 1 }),
  db: cost({ do_call: 2 }),
  cached_db: cost({ kv_get: 1, do_call: 1, kv_put: 1 }),
  file: cost({ r2_get: 1, r2_put: 1 }),
  signed_cookies: cost(),
};

const maxAge = (setCookie) => Number(/Max-Age=(\d+)/.exec(setCookie ?? "")?.[1] ?? NaN);

async function withWorker(vars, f) {
  const w = await startWorker({ vars });
  try {
    return await f(w);
  } finally {
    await w.dispose();
  }
}

describe("expiry policy on workerd", () => {
  it("a session read every 1.5 s lives past SESSION_COOKIE_AGE and ends at SESSION_ABSOLUTE_AGE, on every engine", async () => {
    // The engines run side by side (the test is real time).
    await Promise.all(
      ENGINES.map((engine) =>
        withWorker({ SESSION_ENGINE: engine, ...POLICY }, async (w) => {
          const start = Date.now();
          const login = await w.ops(null, [{ op: "set", key: "user", value: "ada" }]);
          // Workers time is whole seconds: the key is issued in the second the
          // login ran, which began before `issued`, so the session ends at most
          // 8 s after `issued` (and at least 7 s after `start`). A request sent
          // at `sent` runs in a second that began after `sent - 1 s`: what it
          // reports of the end is bounded by these two times, whatever the
          // requests' latency.
          const issued = Date.now();
          let cookie = pair(login.setCookie);
          assert.equal(maxAge(login.setCookie), 3, engine);
          const ends = [];
          for (let i = 1; i <= 4; i++) {
            await sleep(start + i * 1500 - Date.now());
            const sent = Date.now();
            const r = await w.ops(cookie, [{ op: "get", key: "user" }, { op: "get_expiry_age" }]);
            const since = (sent - issued) / 1000;
            assert.deepEqual(r.body.results[0], "ada", `${engine}: alive at ${i * 1.5} s`);
            assert.ok(r.body.results[1] <= 8 - since + 1, `${engine}: the age reported stops at the absolute end`);
            if (r.setCookie) {
              cookie = pair(r.setCookie);
              ends.push(since + maxAge(r.setCookie));
            }
          }
          assert.ok(ends.length >= 3, `${engine}: refreshed on reads (${ends})`);
          assert.ok(ends.every((end) => end <= 9), `${engine}: the cookie never outlives the absolute end (${ends})`);
          await sleep(issued + 8200 - Date.now());
          const late = await w.ops(cookie, [{ op: "get", key: "user" }]);
          assert.deepEqual(late.body.results, [null], `${engine}: ended at 8 s`);
        }),
      ),
    );
  });

  it("two reads within the interval cost one write, counted per engine", async () => {
    await Promise.all(
      ENGINES.map((engine) =>
        // Stored times are whole seconds, so with an interval of 1 s a second
        // read that crossed a second boundary would be due again: the interval
        // here is 3 s, and the two reads are well within it however slow the
        // machine.
        withWorker({ SESSION_ENGINE: engine, SESSION_REFRESH_AFTER: "3" }, async (w) => {
          const login = await w.ops(null, [{ op: "set", key: "user", value: "ada" }]);
          const cookie = pair(login.setCookie);
          await sleep(3100);
          const first = await w.ops(cookie, [{ op: "get", key: "user" }]);
          assert.ok(first.setCookie, `${engine}: the refresh re-sends the cookie`);
          assert.deepEqual(storage(first.counters), REFRESH_COST[engine], engine);
          const second = await w.ops(pair(first.setCookie), [{ op: "get", key: "user" }]);
          assert.equal(second.setCookie, null, `${engine}: within the interval, no write`);
          assert.deepEqual(storage(second.counters), READ_COST[engine], engine);
        }),
      ),
    );
  });

  it("without the settings a read is not activity (Django's behaviour)", async () => {
    await withWorker({ SESSION_ENGINE: "db" }, async (w) => {
      const login = await w.ops(null, [{ op: "set", key: "user", value: "ada" }]);
      await sleep(1100);
      const r = await w.ops(pair(login.setCookie), [{ op: "get", key: "user" }, { op: "keys" }]);
      assert.equal(r.setCookie, null);
      assert.deepEqual(r.body.results[1], ["user"], "no issue time stored");
    });
  });

  it("the settings are refused below a second and reported by /_session/config", async () => {
    await withWorker({ SESSION_REFRESH_AFTER: "0" }, async (w) => {
      const r = await w.ops(null, []);
      assert.equal(r.status, 500);
      assert.match(r.body.message, /SESSION_REFRESH_AFTER/);
    });
    await withWorker(POLICY, async (w) => {
      const config = await (await w.get("/_session/config")).json();
      assert.deepEqual([config.SESSION_REFRESH_AFTER, config.SESSION_ABSOLUTE_AGE], [1, 8]);
    });
  });
});
