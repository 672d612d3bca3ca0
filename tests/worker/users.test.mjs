// A user's sessions on workerd, every engine, through the ops endpoint (which
// turns SESSION_USER_INDEX on): Django's login and logout, the per-user
// index in a Durable Object per user (20 concurrent logins, metadata, the
// current session, expired sessions leaving by themselves), revocation of
// one device, of every other one and of all (a revoked cookie is an empty,
// logged-out session on its next request), revocation racing a save, and
// the storage operations of each flow (README, "A user's sessions").
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, pair, keyOf, sleep, cost } from "./harness.mjs";

const ENGINES = ["db", "cached_db", "cache", "file", "signed_cookies"];

/** The storage operations of each flow, per engine (the README's table). */
const COST = {
  login: {
    db: { do_call: 2 },
    cached_db: { do_call: 2, kv_put: 1 },
    cache: { kv_put: 1, do_call: 1 },
    file: { r2_put: 1, do_call: 1 },
    signed_cookies: { do_call: 1 },
  },
  read: {
    db: { do_call: 1 },
    cached_db: { kv_get: 1 },
    cache: { kv_get: 1 },
    file: { r2_get: 1 },
    signed_cookies: { do_call: 1 },
  },
  modify: {
    db: { do_call: 2 },
    cached_db: { kv_get: 1, do_call: 1, kv_put: 1 },
    cache: { kv_get: 1, kv_put: 1, do_call: 1 },
    file: { r2_get: 1, r2_put: 1 },
    signed_cookies: { do_call: 1 },
  },
  // A logout reads the session (as Django's logout reads request.user), deletes it, takes its entry out.
  logout: {
    db: { do_call: 3 },
    cached_db: { kv_get: 1, do_call: 2, kv_delete: 1 },
    cache: { kv_get: 1, kv_delete: 1, do_call: 1 },
    file: { r2_get: 1, r2_delete: 1, do_call: 1 },
    signed_cookies: { do_call: 2 },
  },
  // Listing two sessions from one of them: its read, the index, each record looked up.
  listTwo: {
    db: { do_call: 4 },
    cached_db: { kv_get: 3, do_call: 1 },
    cache: { kv_get: 3, do_call: 1 },
    file: { r2_get: 1, r2_head: 2, do_call: 1 },
    signed_cookies: { do_call: 2 },
  },
  // Revoking another session by id: the read, the index, the record's delete.
  revokeOne: {
    db: { do_call: 3 },
    cached_db: { kv_get: 1, do_call: 2, kv_delete: 1 },
    cache: { kv_get: 1, do_call: 1, kv_delete: 1 },
    file: { r2_get: 1, do_call: 1, r2_delete: 1 },
    signed_cookies: { do_call: 2 },
  },
};

for (const engine of ENGINES) {
  describe(`a user's sessions on ${engine}`, () => {
    let w;
    before(async () => {
      w = await startWorker({ vars: { SESSION_ENGINE: engine } });
    });
    after(async () => {
      await w?.dispose();
    });

    /** A device that logs in as `user`; its cookie pair. */
    async function device(user = "ada", meta) {
      const r = await w.ops(null, [{ op: "login", user, ...(meta ? { meta } : {}) }]);
      assert.equal(r.status, 200, r.text);
      return pair(r.setCookie);
    }
    const userOf = async (cookie) => (await w.ops(cookie, [{ op: "user_id" }])).body.results[0];
    const listOf = async (cookie, user) => (await w.ops(cookie, [{ op: "user_sessions", ...(user ? { user } : {}) }])).body.results[0];

    it("login and logout are Django's: the key is cycled, _auth_user_id is stored, logout empties the session", async () => {
      const anon = await w.ops(null, [{ op: "set", key: "cart", value: [1] }]);
      const before = pair(anon.setCookie);
      const r = await w.ops(before, [{ op: "login", user: "ada" }, { op: "get", key: "cart" }, { op: "user_id" }]);
      assert.deepEqual(r.body.results, [null, [1], "ada"]);
      const cookie = pair(r.setCookie);
      if (engine !== "signed_cookies") assert.notEqual(keyOf(cookie), keyOf(before), "the key is cycled");
      assert.deepEqual((await w.ops(cookie, [{ op: "get", key: "_auth_user_id" }])).body.results, ["ada"], "Django's key");
      const other = await w.ops(cookie, [{ op: "login", user: "bob" }, { op: "get", key: "cart" }]);
      assert.deepEqual(other.body.results, [null, null], "another user's login flushes");
      const out = await w.ops(pair(other.setCookie), [{ op: "logout" }, { op: "user_id" }]);
      assert.deepEqual(out.body.results, [null, null]);
      assert.match(out.setCookie, /Max-Age=0/);
      assert.equal(await userOf(pair(other.setCookie)), null, "the logged-out cookie is no session (a copy too)");
    });

    it("20 concurrent logins of one user are 20 entries, with metadata only when given, and never a key", async () => {
      const user = `u20-${engine}`;
      const cookies = await Promise.all(Array.from({ length: 20 }, (_, i) => device(user, i === 0 ? { device: "phone" } : undefined)));
      const list = await listOf(cookies[0]);
      assert.equal(list.length, 20);
      assert.equal(new Set(list.map((s) => s.id)).size, 20);
      const here = list.filter((s) => s.current);
      assert.equal(here.length, 1);
      assert.deepEqual(here[0].meta, { device: "phone" });
      assert.equal(list.filter((s) => s.meta !== null).length, 1);
      assert.ok(!Number.isNaN(Date.parse(here[0].created)));
      const shown = JSON.stringify(list);
      // A server-side cookie is KEY.VERSION.MAC; a signed one is the data itself.
      const secret = (c) => (engine === "signed_cookies" ? c.split("=")[1] : keyOf(c));
      for (const c of cookies) assert.ok(!shown.includes(secret(c)), "no session key or token in the list");
    });

    it("revoking one device signs it out on its next request; only within the user's own sessions", async () => {
      const laptop = await device("ada", { device: "laptop" });
      const phone = await device("ada", { device: "phone" });
      const bob = await device("bob");
      const listed = await listOf(phone);
      const theirs = listed.find((s) => s.meta?.device === "laptop");
      const bobs = (await listOf(bob))[0].id;
      const r = await w.ops(phone, [{ op: "revoke_session", id: bobs }, { op: "revoke_session", id: theirs.id }]);
      assert.deepEqual(r.body.results, [false, true]);
      const next = await w.ops(laptop, [{ op: "user_id" }, { op: "is_empty" }]);
      assert.deepEqual(next.body.results, [null, true], "an empty, logged-out session");
      assert.match(next.setCookie ?? "", /Max-Age=0/, "its cookie is deleted");
      assert.equal(await userOf(phone), "ada");
      assert.equal(await userOf(bob), "bob");
    });

    it("sign out everywhere else keeps only this session; everywhere ends this one too", async () => {
      const user = `all-${engine}`;
      const others = await Promise.all([device(user), device(user), device(user)]);
      const here = await device(user);
      const r = await w.ops(here, [{ op: "revoke_user_sessions", keep_current: true }]);
      assert.deepEqual(r.body.results, [3]);
      for (const c of others) assert.equal(await userOf(c), null);
      const list = await listOf(here);
      assert.deepEqual(list.map((s) => s.current), [true]);
      const all = await w.ops(here, [{ op: "revoke_user_sessions" }, { op: "user_id" }]);
      assert.deepEqual(all.body.results, [1, null]);
      assert.match(all.setCookie, /Max-Age=0/);
    });

    it("an admin's ops name the user: list and revoke outside that user's sessions", async () => {
      const user = `admin-${engine}`;
      const victim = await device(user);
      const admin = await device("root");
      const list = await listOf(admin, user);
      assert.equal(list.length, 1);
      assert.equal(list[0].current, false);
      const r = await w.ops(admin, [{ op: "revoke_user_sessions", user }]);
      assert.deepEqual(r.body.results, [1]);
      assert.equal(await userOf(victim), null);
      assert.equal(await userOf(admin), "root");
    });

    it("a save racing a revocation never brings the session back", async () => {
      const user = `race-${engine}`;
      const slow = await device(user);
      const admin = await device(user);
      const pending = w.ops(slow, [{ op: "user_id" }, { op: "sleep", ms: 400 }, { op: "set", key: "cart", value: [1] }]);
      await sleep(100);
      const revoke = await w.ops(admin, [{ op: "revoke_user_sessions", keep_current: true }]);
      assert.deepEqual(revoke.body.results, [1]);
      const save = await pending;
      let after = slow;
      if (engine === "signed_cookies") {
        // The cookie is the data: the response carries one, naming a revoked entry.
        assert.equal(save.status, 200, save.text);
        after = pair(save.setCookie);
      } else {
        assert.equal(save.status, 400, `SessionInterrupted: ${save.text}`);
        assert.equal(save.setCookie, null);
      }
      assert.equal(await userOf(after), null, "still revoked");
      assert.equal((await listOf(admin)).length, 1);
    });

    it("expired sessions leave the list by themselves", async () => {
      const user = `exp-${engine}`;
      // Workers time is whole seconds: 2 s, so a second boundary before the first list cannot end it.
      const brief = await w.ops(null, [{ op: "login", user, meta: { device: "brief" } }, { op: "set_expiry", value: 2 }]);
      assert.equal(brief.status, 200, brief.text);
      const lasting = await device(user);
      assert.equal((await listOf(lasting)).length, 2);
      await sleep(3100);
      const list = await listOf(lasting);
      assert.deepEqual(list.map((s) => s.meta), [null]);
    });

    it("each flow costs the storage operations the README states", async () => {
      const user = `cost-${engine}`;
      const login = await w.ops(null, [{ op: "login", user }]);
      assert.deepEqual(cost(login.counters), cost(COST.login[engine]), "login");
      let phone = pair(login.setCookie);
      const laptop = await device(user);
      const read = await w.ops(phone, [{ op: "user_id" }]);
      assert.deepEqual(cost(read.counters), cost(COST.read[engine]), "a read of a logged-in session");
      const modify = await w.ops(phone, [{ op: "set", key: "cart", value: [1] }]);
      assert.deepEqual(cost(modify.counters), cost(COST.modify[engine]), "a modify");
      phone = pair(modify.setCookie) ?? phone;
      const list = await w.ops(phone, [{ op: "user_sessions" }]);
      assert.equal(list.body.results[0].length, 2);
      assert.deepEqual(cost(list.counters), cost(COST.listTwo[engine]), "a list of two");
      const other = list.body.results[0].find((s) => !s.current).id;
      const revoke = await w.ops(phone, [{ op: "revoke_session", id: other }]);
      assert.deepEqual(revoke.body.results, [true]);
      assert.deepEqual(cost(revoke.counters), cost(COST.revokeOne[engine]), "a revocation");
      assert.equal(await userOf(laptop), null);
      const logout = await w.ops(phone, [{ op: "logout" }]);
      assert.deepEqual(cost(logout.counters), cost(COST.logout[engine]), "a logout");
    });
  });
}

describe("a user's sessions need the index", () => {
  it("without SESSION_USER_INDEX, login is Django's alone and listing is a ConfigError", async () => {
    const w = await startWorker({ vars: { SESSION_ENGINE: "db", SESSION_USER_INDEX: "false" } });
    try {
      const r = await w.ops(null, [{ op: "login", user: "ada" }]);
      assert.deepEqual(cost(r.counters), cost({ do_call: 1 }), "one create, no index call");
      const list = await w.ops(pair(r.setCookie), [{ op: "user_id" }, { op: "user_sessions" }]);
      assert.equal(list.body.results[0], "ada");
      assert.equal(list.body.results[1].error, "ConfigError");
    } finally {
      await w.dispose();
    }
  });

  it("with SESSION_USER_INDEX on and no Durable Object binding, the worker says which binding is missing", async () => {
    const w = await startWorker({ vars: { SESSION_ENGINE: "cache" }, durable: false });
    try {
      const r = await w.ops(null, [{ op: "login", user: "ada" }]);
      assert.equal(r.status, 500);
      assert.match(r.body.message, /SESSION_DO/);
      assert.match(r.body.message, /SESSION_USER_INDEX/);
    } finally {
      await w.dispose();
    }
  });
});
