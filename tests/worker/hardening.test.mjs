// Hardening on workerd: hostile cookies and bodies, storage faults
// (KV, the Durable Object and the R2 bucket unusable, throwing), concurrent requests on one
// session, request floods without a valid cookie, and SECRET_KEY rotation.
// Workers that must share storage (a fault, then recovery; a rotated secret)
// persist it in one temporary directory. The host suites (tests/hostile_input.rs,
// tests/store_faults.rs, tests/concurrency.rs, tests/abuse.rs) hold the same
// promises with fault injection the runtime cannot do (429s, lost replies,
// eventual consistency); SECURITY.md lists them all.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker, pair, keyOf, KV_PREFIX, SECRET } from "./harness.mjs";

const SERVER_SIDE = ["db", "cached_db", "cache", "file"];
/** Engines whose records are KV entries. */
const ON_KV = new Set(["cache", "cached_db"]);

async function withWorker(options, f) {
  const w = await startWorker(options);
  try {
    return await f(w);
  } finally {
    await w.dispose();
  }
}

/** A temporary directory for persisted KV and Durable Object storage. */
function storageDir() {
  const dir = mkdtempSync(path.join(tmpdir(), "edge-session-hardening-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function login(w, value = "ada") {
  const r = await w.ops(null, [{ op: "set", key: "user", value }]);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.setCookie, "a cookie once data is set");
  return pair(r.setCookie);
}

const user = async (w, cookie) => (await w.ops(cookie, [{ op: "get", key: "user" }])).body?.results?.[0];

/** Random letters zlib cannot shrink much (deterministic). */
function noise(length) {
  let x = 0x2545f491;
  let out = "";
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out += String.fromCharCode(97 + ((x >>> 0) % 26));
  }
  return out;
}

describe("hostile input on workerd", () => {
  let w;
  before(async () => {
    w = await startWorker({ vars: { SESSION_ENGINE: "db" } });
  });
  after(async () => {
    await w?.dispose();
  });

  it("a comma never separates cookies", async () => {
    const cookie = await login(w);
    const r = await w.ops(`a=1, ${cookie}`, [{ op: "get", key: "user" }]);
    assert.deepEqual(r.body.results, [null]);
    assert.equal(r.storageOps, 0);
    assert.equal(r.counters.crypto, 0);
    assert.equal(r.setCookie, null, "no session cookie was sent, so none is deleted");
    assert.equal(await user(w, `a=1; ${cookie}`), "ada");
  });

  it("Unicode whitespace before the name makes another name", async () => {
    const cookie = await login(w);
    const r = await w.ops(`\u00a0${cookie}`, [{ op: "get", key: "user" }]);
    assert.deepEqual([r.body.results[0], r.storageOps, r.setCookie], [null, 0, null]);
    assert.equal(await user(w, ` \t${cookie}`), "ada", "space and tab are trimmed");
  });

  it("50 duplicate session cookies: the first wins, at most one MAC", async () => {
    const cookie = await login(w);
    const forged = `sessionid=${keyOf(cookie)}.1.AAAAAAAAAAAAAAAAAAAAAA`;
    const first = await w.ops([cookie, ...Array(49).fill(forged)].join("; "), [{ op: "get", key: "user" }]);
    assert.deepEqual(first.body.results, ["ada"]);
    assert.equal(first.counters.crypto, 2, "the cookie's MAC and the data's");
    const last = await w.ops([...Array(49).fill(forged), cookie].join("; "), [{ op: "get", key: "user" }]);
    assert.deepEqual(last.body.results, [null]);
    assert.deepEqual([last.storageOps, last.counters.crypto], [0, 1]);
  });

  it("a Cookie header past 32 KiB is ignored whole, or refused by the runtime", async () => {
    const cookie = await login(w);
    for (const size of [40 * 1024, 1 << 20]) {
      const header = `${cookie}; pad=` + "a".repeat(size);
      let r;
      try {
        r = await w.ops(header, [{ op: "get", key: "user" }]);
      } catch {
        continue; // workerd refused the request before the worker saw it (1 MiB)
      }
      if (r.status === 200) {
        assert.deepEqual(r.body.results, [null], `${size}`);
        assert.deepEqual([r.storageOps, r.counters.crypto, r.setCookie], [0, 0, null], `${size}`);
      } else {
        assert.ok(r.status >= 400 && r.status < 500, `${size}: ${r.status}`);
      }
    }
  });

  it("200 random keys cost no storage operation", async () => {
    let ops = 0;
    for (let i = 0; i < 200; i++) {
      const key = Array.from({ length: 32 }, () => "abcdefghijklmnopqrstuvwxyz0123456789"[Math.floor(Math.random() * 36)]).join("");
      const mac = Array.from({ length: 22 }, () => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[Math.floor(Math.random() * 64)]).join("");
      const r = await w.ops(`sessionid=${key}.${i}.${mac}`, [{ op: "get", key: "user" }]);
      assert.deepEqual(r.body.results, [null]);
      ops += r.storageOps;
    }
    assert.equal(ops, 0);
  });

  it("keys of the wrong length or alphabet, `..` and `/`, cost not even a MAC", async () => {
    for (const bad of ["..", "/", "../../../../../../../../etc/pass.1.AAAAAAAAAAAAAAAAAAAAAA", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345.1.AAAAAAAAAAAAAAAAAAAAAA", "abc.1.AAAAAAAAAAAAAAAAAAAAAA"]) {
      const r = await w.ops(`sessionid=${bad}`, [{ op: "get", key: "user" }]);
      assert.deepEqual([r.body.results[0], r.storageOps, r.counters.crypto], [null, 0, 0], bad);
    }
  });

  it("non-JSON values are refused whole with a 400, and the session is left alone", async () => {
    const cookie = await login(w);
    for (const value of ["NaN", "Infinity", "undefined", '"\\ud800"', "1e400", "[".repeat(5000) + "]".repeat(5000)]) {
      const res = await w.get("/_session/ops", {
        method: "POST",
        headers: { cookie },
        body: `{"ops":[{"op":"set","key":"user","value":${value}}]}`,
      });
      assert.equal(res.status, 400, value.slice(0, 20));
      assert.equal(res.headers.get("set-cookie"), null);
    }
    assert.equal(await user(w, cookie), "ada");
  });

  for (const engine of [...SERVER_SIDE, "signed_cookies"]) {
    it(`oversized session data is a 500 with nothing written (${engine})`, async () => {
      await withWorker({ vars: { SESSION_ENGINE: engine } }, async (e) => {
        const cookie = await login(e);
        const keys = await e.kvKeys();
        const objects = await e.r2Names();
        // Random letters (too large encoded), and one letter repeated, which
        // compresses to a few kilobytes but could never be inflated again.
        for (const blob of [noise(1_500_000), "a".repeat(1_500_000)]) {
          const r = await e.ops(cookie, [{ op: "set", key: "blob", value: blob }]);
          assert.equal(r.status, 500);
          assert.equal(r.setCookie, null);
          assert.equal(r.counters.kv_put, 0);
          assert.equal(r.counters.r2_put, 0);
          assert.ok(r.counters.do_call + r.counters.r2_get <= 1, "at most the read");
          const fresh = await e.ops(null, [{ op: "set", key: "blob", value: blob }]);
          assert.deepEqual([fresh.status, fresh.setCookie, fresh.storageOps], [500, null, 0]);
          assert.deepEqual(await e.kvKeys(), keys);
          assert.deepEqual(await e.r2Names(), objects);
          assert.equal(await user(e, cookie), "ada");
        }
      });
    });
  }
});

// A binding that is not a KV namespace / Durable Object namespace / R2 bucket: every call throws.
const BROKEN = { note: "not a namespace" };
// A Durable Object class that throws on every request.
const THROWER = `export class Thrower { async fetch() { throw new Error("session object exploded"); } }
export default { fetch() { return new Response("thrower"); } };`;
const throwingDo = {
  durableObjects: { THROWING_DO: { className: "Thrower", scriptName: "thrower" } },
  workers: [{ name: "thrower", script: THROWER, durableObjects: { SELF: "Thrower" } }],
};

describe("storage faults on workerd", () => {
  it("cached_db with KV failing: reads fall back to the Durable Object, writes lose nothing, logout is a 500", async () => {
    const s = storageDir();
    try {
      const vars = { SESSION_ENGINE: "cached_db" };
      const [kept, loggedOut] = await withWorker({ vars, persist: s.dir }, async (w) => [await login(w), await login(w, "bob")]);
      const broken = { ...vars, SESSION_KV_BINDING: "BROKEN_KV", BROKEN_KV: BROKEN };
      const written = await withWorker({ vars: broken, persist: s.dir }, async (w) => {
        const read = await w.ops(kept, [{ op: "get", key: "user" }]);
        assert.deepEqual(read.body.results, ["ada"], "KV get failed: read from the Durable Object");
        assert.deepEqual([read.counters.kv_get, read.counters.do_call], [1, 1]);
        const write = await w.ops(kept, [{ op: "set", key: "cart", value: [1] }]);
        assert.equal(write.status, 200, "the Durable Object accepted the write; the KV put failed (logged)");
        assert.ok(write.setCookie);
        const logout = await w.ops(loggedOut, [{ op: "flush" }]);
        assert.equal(logout.status, 500, "KV delete failed after the Durable Object's: reported");
        assert.equal(logout.setCookie, null);
        return pair(write.setCookie);
      });
      await withWorker({ vars, persist: s.dir }, async (w) => {
        const r = await w.ops(written, [{ op: "get", key: "cart" }]);
        assert.deepEqual(r.body.results, [[1]], "the write is there; the older KV copy was skipped");
        assert.equal(r.counters.do_call, 1);
        // Stated outcome of the failed logout: the KV copy still reads, nothing writes.
        assert.equal(await user(w, loggedOut), "bob");
        assert.equal((await w.ops(loggedOut, [{ op: "set", key: "x", value: 1 }])).status, 400);
        assert.ok((await w.ops(loggedOut, [{ op: "flush" }])).setCookie.includes("Max-Age=0"), "a retried logout completes");
        assert.equal(await user(w, loggedOut), null);
      });
    } finally {
      s.remove();
    }
  });

  it("cache with KV failing: a read is an error, not an empty session, and no cookie is sent for unsaved data", async () => {
    const s = storageDir();
    try {
      const vars = { SESSION_ENGINE: "cache" };
      const cookie = await withWorker({ vars, persist: s.dir }, (w) => login(w));
      await withWorker({ vars: { ...vars, SESSION_KV_BINDING: "BROKEN_KV", BROKEN_KV: BROKEN }, persist: s.dir }, async (w) => {
        const r = await w.ops(cookie, [{ op: "get", key: "user" }, { op: "set", key: "user", value: "eve" }]);
        assert.equal(r.body.results[0].error, "StoreError", "not null: the data may exist");
        assert.equal(r.body.results[1].error, "StoreError", "and it cannot be overwritten");
        assert.equal(r.setCookie, null);
        const fresh = await w.ops(null, [{ op: "set", key: "user", value: "new" }]);
        assert.deepEqual([fresh.status, fresh.setCookie], [500, null]);
      });
      await withWorker({ vars, persist: s.dir }, async (w) => assert.equal(await user(w, cookie), "ada"));
    } finally {
      s.remove();
    }
  });

  it("file with the R2 bucket failing: a read is an error, nothing is written or deleted, nothing lost", async () => {
    const s = storageDir();
    try {
      const vars = { SESSION_ENGINE: "file" };
      const cookie = await withWorker({ vars, persist: s.dir }, (w) => login(w));
      await withWorker({ vars: { ...vars, SESSION_R2_BINDING: "BROKEN_R2", BROKEN_R2: BROKEN }, persist: s.dir }, async (w) => {
        const r = await w.ops(cookie, [{ op: "get", key: "user" }, { op: "set", key: "user", value: "eve" }]);
        assert.equal(r.body.results[0].error, "StoreError", "not null: the data may exist");
        assert.match(r.body.results[0].message, /R2 get/, "the message names the operation");
        assert.equal(r.body.results[1].error, "StoreError", "and it cannot be overwritten");
        assert.equal(r.setCookie, null);
        const fresh = await w.ops(null, [{ op: "set", key: "user", value: "new" }]);
        assert.deepEqual([fresh.status, fresh.setCookie], [500, null]);
        const logout = await w.ops(cookie, [{ op: "flush" }]);
        assert.deepEqual([logout.status, logout.setCookie], [500, null], "a logout that did not happen says so");
      });
      await withWorker({ vars, persist: s.dir }, async (w) => {
        assert.equal(await user(w, cookie), "ada");
        assert.equal((await w.r2Names()).length, 1, "the failed create left nothing");
      });
    } finally {
      s.remove();
    }
  });

  for (const [name, extra] of [
    ["unreachable (not a namespace)", { vars: { SESSION_DO_BINDING: "BROKEN_DO", BROKEN_DO: BROKEN } }],
    ["throwing", { vars: { SESSION_DO_BINDING: "THROWING_DO" }, ...throwingDo }],
  ]) {
    for (const engine of ["db", "cached_db"]) {
      it(`the Durable Object ${name} (${engine}): errors, no cookie for unsaved data, nothing lost`, async () => {
        const s = storageDir();
        try {
          const vars = { SESSION_ENGINE: engine };
          const cookie = await withWorker({ vars, persist: s.dir }, (w) => login(w));
          await withWorker({ ...extra, vars: { ...vars, ...extra.vars }, persist: s.dir }, async (w) => {
            const keys = engine === "db" ? null : await w.kvKeys();
            const read = await w.ops(cookie, [{ op: "get", key: "user" }]);
            if (engine === "db") {
              assert.equal(read.body.results[0].error, "StoreError", "an error, not an empty session");
            } else {
              assert.deepEqual(read.body.results, ["ada"], "cached_db reads from KV without the Durable Object");
            }
            const write = await w.ops(cookie, [{ op: "set", key: "user", value: "eve" }]);
            assert.equal(write.setCookie, null, "nothing saved, no cookie");
            assert.ok(write.status === 500 || write.body.results[0].error === "StoreError", write.text);
            const fresh = await w.ops(null, [{ op: "set", key: "user", value: "new" }]);
            assert.deepEqual([fresh.status, fresh.setCookie], [500, null]);
            const logout = await w.ops(cookie, [{ op: "flush" }]);
            assert.deepEqual([logout.status, logout.setCookie], [500, null], "a logout that did not happen says so");
            if (keys) assert.deepEqual(await w.kvKeys(), keys, "KV untouched");
          });
          await withWorker({ vars, persist: s.dir }, async (w) => assert.equal(await user(w, cookie), "ada"));
        } finally {
          s.remove();
        }
      });
    }
  }
});

describe("concurrent requests on one session on workerd", () => {
  for (const engine of ["db", "cached_db", "file"]) {
    it(`a save racing a logout never brings the session back as writable (${engine})`, async () => {
      await withWorker({ vars: { SESSION_ENGINE: engine } }, async (w) => {
        for (let round = 0; round < 8; round++) {
          const cookie = await login(w);
          const [save, logout] = await Promise.all([
            w.ops(cookie, [{ op: "get", key: "user" }, { op: "set", key: "cart", value: [round] }]),
            w.ops(cookie, [{ op: "flush" }]),
          ]);
          assert.ok([200, 400].includes(save.status), `${round}: ${save.status} ${save.text}`);
          assert.ok(logout.setCookie?.includes("Max-Age=0"), `${round}: the logout completed`);
          // Whatever the interleaving, the old key is never written again.
          const replay = await w.ops(cookie, [{ op: "set", key: "x", value: 1 }]);
          if (replay.status === 200) {
            assert.notEqual(keyOf(pair(replay.setCookie)), keyOf(cookie), `${round}: a fresh key, never the old one`);
          } else {
            assert.equal(replay.status, 400, `${round}: SessionInterrupted`);
          }
          if (engine === "db" || engine === "file") {
            const byKey = await (await w.get(`/_session/by_key/${keyOf(cookie)}`, { method: "POST", body: '{"ops":[]}' })).json();
            assert.deepEqual(byKey.data, {}, `${round}: the old key holds nothing`);
          }
        }
      });
    });

    it(`two concurrent saves: ${engine === "file" ? "the last writer wins for the whole session" : "both changes stay"} (${engine})`, async () => {
      await withWorker({ vars: { SESSION_ENGINE: engine } }, async (w) => {
        for (let round = 0; round < 5; round++) {
          const cookie = await login(w);
          const [a, b] = await Promise.all([
            w.ops(cookie, [{ op: "set", key: "a", value: 1 }]),
            w.ops(cookie, [{ op: "set", key: "b", value: 2 }]),
          ]);
          assert.deepEqual([a.status, b.status], [200, 200]);
          const items = (await w.ops(cookie, [{ op: "items" }])).body.results[0].map(([k]) => k).sort();
          if (engine === "file") {
            assert.ok(
              ["a,user", "b,user", "a,b,user"].includes(items.join()),
              `${round}: one writer's whole session (or both, when they did not overlap): ${items}`,
            );
          } else {
            assert.equal(items.join(), "a,b,user", `${round}: saves merge: ${items}`);
          }
        }
      });
    });
  }
});

describe("requests without a valid cookie on workerd", () => {
  for (const engine of SERVER_SIDE) {
    it(`store nothing unless the handler stores data (${engine})`, async () => {
      await withWorker({ vars: { SESSION_ENGINE: engine } }, async (w) => {
        const keys = await w.kvKeys();
        const objects = await w.r2Names();
        const cookies = [null, "sessionid=", "sessionid=abcdefghijklmnopqrstuvwxyz012345.1.AAAAAAAAAAAAAAAAAAAAAA", "sessionid=../x", "other=1"];
        const handlers = [
          [],
          [{ op: "get", key: "user" }, { op: "keys" }, { op: "items" }],
          [{ op: "flush" }],
          [{ op: "clear" }],
          [{ op: "set", key: "x", value: 1 }, { op: "delete", key: "x" }],
          [{ op: "pop", key: "x", default: null }, { op: "set_expiry", value: null }, { op: "mark_modified" }],
        ];
        let ops = 0;
        for (let round = 0; round < 4; round++) {
          for (const cookie of cookies) {
            for (const h of handlers) {
              const r = await w.ops(cookie, h);
              assert.equal(r.status, 200, r.text);
              assert.ok(r.setCookie === null || r.setCookie.includes("Max-Age=0"), `${cookie} ${JSON.stringify(h)}`);
              ops += r.storageOps;
            }
          }
        }
        assert.equal(ops, 0, "not one storage operation");
        assert.deepEqual(await w.kvKeys(), keys);
        assert.deepEqual(await w.r2Names(), objects);
        const stored = await w.ops(cookies[2], [{ op: "set", key: "x", value: 1 }]);
        assert.ok(stored.setCookie && !stored.setCookie.includes("abcdefghijklmnopqrstuvwxyz012345"), "storing data creates a fresh session");
      });
    });
  }
});

describe("SECRET_KEY rotation on workerd", () => {
  const OLD = SECRET;
  const NEW = "rotated-integration-secret";
  for (const engine of ["signed_cookies", "db", "cached_db", "cache", "file"]) {
    it(`a session signed under a fallback key is accepted and re-issued under the current key (${engine})`, async () => {
      const s = storageDir();
      try {
        const run = (secret, fallbacks, f) =>
          withWorker({ vars: { SESSION_ENGINE: engine, SECRET_KEY: secret, SECRET_KEY_FALLBACKS: JSON.stringify(fallbacks) }, persist: s.dir }, f);
        const old = await run(OLD, [], (w) => login(w));
        const reissued = await run(NEW, [OLD], async (w) => {
          const r = await w.ops(old, [{ op: "get", key: "user" }]);
          assert.deepEqual(r.body.results, ["ada"], "accepted under the fallback");
          assert.ok(r.setCookie, "re-issued");
          assert.notEqual(pair(r.setCookie), old);
          assert.match(r.setCookie, /Max-Age=1209600/);
          return pair(r.setCookie);
        });
        await run(NEW, [], async (w) => {
          assert.equal(await user(w, reissued), "ada", "the re-issued cookie needs no fallback");
          assert.equal(await user(w, old), null, "the old cookie needs the fallback");
        });
        if (engine !== "signed_cookies") {
          assert.equal(keyOf(reissued), keyOf(old), "the same session, re-signed");
          await run(NEW, [], async (w) => {
            if (ON_KV.has(engine)) assert.ok((await w.kvKeys()).includes(KV_PREFIX + keyOf(old)));
            if (engine === "file") assert.deepEqual(await w.r2Names(), [`sessionid${keyOf(old)}`]);
          });
        }
      } finally {
        s.remove();
      }
    });
  }
});

describe("absurd expiries on workerd", () => {
  // Expiry ages are clamped to years 1-9999 in the core; the platform limits
  // are narrower (KV's expirationTtl is a 32-bit number of seconds, Durable
  // Object alarms refuse dates after 2189): a session saved with any accepted
  // expiry still loads back.
  for (const engine of ["cache", "db", "cached_db", "file", "signed_cookies"]) {
    it(`a session with set_expiry(2^53 - 1) or SESSION_COOKIE_AGE=i64::MAX saves and loads back (${engine})`, async () => {
      for (const [vars, ops] of [
        [{}, [{ op: "set", key: "x", value: 1 }, { op: "set_expiry", value: Number.MAX_SAFE_INTEGER }]],
        [{ SESSION_COOKIE_AGE: "9223372036854775807" }, [{ op: "set", key: "x", value: 1 }]],
      ]) {
        await withWorker({ vars: { SESSION_ENGINE: engine, ...vars } }, async (w) => {
          const r = await w.ops(null, ops);
          assert.equal(r.status, 200, r.text);
          const again = await w.ops(pair(r.setCookie), [{ op: "get", key: "x" }, { op: "get_expiry_age" }]);
          assert.equal(again.status, 200, again.text);
          assert.equal(again.body.results[0], 1);
          assert.ok(again.body.results[1] > 200 * 365 * 86400, "the session lives until 9999");
        });
      }
    });
  }
});
