// The `file` engine on workerd with local R2: objects named as Django names
// its session files, the store conformance suite over the real binding,
// Django's store semantics under overlapping requests (a save racing a
// logout is SessionInterrupted and never brings the session back; a create
// never overwrites), and clear_expired. The per-request storage costs are in
// engines.test.mjs with the other engines'; faults in hardening.test.mjs.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, pair, keyOf, sleep, WORKER_KIND } from "./harness.mjs";

/** The cookie version (`KEY.VERSION.MAC`). */
const versionOf = (cookiePair) => Number(cookiePair.split("=")[1].split(".")[1]);

describe("file engine on workerd", () => {
  let w;
  before(async () => {
    w = await startWorker({ vars: { SESSION_ENGINE: "file", SESSION_FILE_PATH: "tenant/sessions", SESSION_COOKIE_NAME: "sid" } });
  });
  after(async () => {
    await w?.dispose();
  });

  async function login(value = "ada") {
    const r = await w.ops(null, [{ op: "set", key: "user", value }]);
    assert.equal(r.status, 200, r.text);
    return pair(r.setCookie);
  }

  it("keeps one object per session, named SESSION_FILE_PATH/SESSION_COOKIE_NAME + key, holding the record", async () => {
    const cookie = await login();
    const name = `tenant/sessions/sid${keyOf(cookie)}`;
    const bucket = await w.r2();
    const object = await bucket.get(name);
    assert.ok(object, `${name} in ${JSON.stringify(await w.r2Names())}`);
    const record = JSON.parse(await object.text());
    assert.deepEqual(Object.keys(record).sort(), ["data", "expires", "version"], "the record every server-side engine stores");
    assert.match(record.data, /^[\w-]+:[\w-]+:[\w-]+$/, "Django's signed session_data");
    assert.deepEqual(object.customMetadata, { expires: String(record.expires), version: String(record.version) });
    const decoded = await (await w.get(`/_session/by_key/${keyOf(cookie)}`, { method: "POST", body: '{"ops":[]}' })).json();
    assert.deepEqual(decoded.data, { user: "ada" });
  });

  it("passes the store conformance suite over the local R2 binding", { skip: WORKER_KIND !== "rust" && "the suite is Rust code: the demo worker runs it" }, async () => {
    const res = await w.get("/_session/conformance/file", { method: "POST" });
    const report = await res.json();
    assert.equal(res.status, 200, JSON.stringify(report));
    assert.deepEqual(report.failures, []);
    assert.ok(report.checks >= 29, `${report.checks} checks`);
  });

  it("a save racing a logout is SessionInterrupted and the session never comes back", async () => {
    const cookie = await login();
    // The slow request reads, waits, then writes; the logout lands meanwhile.
    const slow = w.ops(cookie, [{ op: "get", key: "user" }, { op: "sleep", ms: 400 }, { op: "set", key: "cart", value: [1] }]);
    await sleep(100);
    const logout = await w.ops(cookie, [{ op: "flush" }]);
    assert.match(logout.setCookie, /Max-Age=0/);
    const save = await slow;
    assert.equal(save.status, 400, save.text);
    assert.equal(save.setCookie, null);
    // (The logout, inside this request's window, adds only its delete.)
    assert.deepEqual([save.counters.r2_get, save.counters.r2_put, save.counters.r2_head], [1, 1, 1], "the conditional put failed; the look found nothing");
    assert.ok(!(await w.r2Names()).some((n) => n.endsWith(keyOf(cookie))), "not written back");
    const replay = await w.ops(cookie, [{ op: "get", key: "user" }]);
    assert.deepEqual(replay.body.results, [null]);
  });

  it("overlapping saves: the later one wins for the whole session, with a greater version", async () => {
    const cookie = await login();
    const slow = w.ops(cookie, [{ op: "get", key: "user" }, { op: "sleep", ms: 400 }, { op: "set", key: "a", value: 1 }]);
    await sleep(100);
    const fast = await w.ops(cookie, [{ op: "set", key: "b", value: 2 }]);
    const late = await slow;
    assert.deepEqual([fast.status, late.status], [200, 200]);
    assert.ok(versionOf(pair(late.setCookie)) > versionOf(pair(fast.setCookie)));
    // (The counters of overlapping requests mix in one isolate: the fast
    // request's get and put fall inside the slow one's window.)
    assert.deepEqual([late.counters.r2_put - fast.counters.r2_put, late.counters.r2_head], [2, 1], "a refused put, a look, a put over the newer copy");
    const items = await w.ops(pair(late.setCookie), [{ op: "items" }]);
    assert.deepEqual(items.body.results[0].sort(), [["a", 1], ["user", "ada"]], "the whole session of the last save (no merging on R2)");
  });

  it("concurrent logins each get their own object: a create never overwrites", async () => {
    const before = (await w.r2Names()).length;
    const logins = await Promise.all(Array.from({ length: 20 }, (_, i) => w.ops(null, [{ op: "set", key: "user", value: `u${i}` }])));
    const keys = new Set(logins.map((r) => keyOf(pair(r.setCookie))));
    assert.equal(keys.size, 20);
    assert.equal((await w.r2Names()).length, before + 20);
    for (const [i, r] of logins.entries()) {
      assert.deepEqual((await w.ops(pair(r.setCookie), [{ op: "get", key: "user" }])).body.results, [`u${i}`]);
    }
  });

  it("checks expiry on every read, and clear_expired deletes the expired objects only", async () => {
    const live = await login("live");
    const short = await w.ops(null, [{ op: "set", key: "user", value: "brief" }, { op: "set_expiry", value: 1 }]);
    const dead = pair(short.setCookie);
    await sleep(2100);
    assert.deepEqual((await w.ops(dead, [{ op: "get", key: "user" }])).body.results, [null], "expired: R2 has no TTL, the read checks");
    assert.ok((await w.r2Names()).includes(`tenant/sessions/sid${keyOf(dead)}`), "the object is still there");
    const res = await w.get("/_session/clear_expired", { method: "POST" });
    const cleared = await res.json();
    assert.ok(cleared.cleared >= 1, JSON.stringify(cleared));
    const names = await w.r2Names();
    assert.ok(!names.includes(`tenant/sessions/sid${keyOf(dead)}`), "deleted");
    assert.ok(names.includes(`tenant/sessions/sid${keyOf(live)}`), "the live session stays");
    assert.deepEqual((await w.ops(live, [{ op: "get", key: "user" }])).body.results, ["live"]);
  });
});
