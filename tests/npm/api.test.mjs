// The package's JS API on workerd: the Hono middleware, the one-line
// withSessions wrapper, TypeError for values that are not JSON, and the sizes
// of what the package ships.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ROOT, SECRET, pair } from "../worker/harness.mjs";
import { packageSizes, startPacked } from "./pack.mjs";

function start(entry, deps, engine = "cached_db", vars = {}) {
  const bindings = { SECRET_KEY: SECRET, SESSION_ENGINE: engine, ...vars };
  return startPacked(path.join(ROOT, "tests/npm", entry), { deps, bindings }).mf;
}

describe("Hono middleware", () => {
  let mf;
  before(async () => {
    mf = start("hono-worker.js", ["hono@4.13.19"]);
    await mf.ready;
  });
  after(async () => mf?.dispose());

  const get = (p, cookie, init = {}) =>
    mf.dispatchFetch(`http://127.0.0.1${p}`, { redirect: "manual", ...init, headers: cookie ? { cookie } : {} });

  it("gives handlers c.get('session') and commits it on the way out", async () => {
    const first = await get("/visit");
    assert.deepEqual(await first.json(), { visits: 1 });
    const cookie = pair(first.headers.getSetCookie()[0]);
    assert.match(first.headers.getSetCookie()[0], /HttpOnly; Max-Age=1209600; Path=\/; SameSite=Lax$/);
    assert.equal(first.headers.get("vary"), "Cookie");
    const second = await get("/visit", cookie);
    assert.deepEqual(await second.json(), { visits: 2 });
    const peek = await get("/peek", pair(second.headers.getSetCookie()[0]));
    assert.deepEqual(await peek.json(), { visits: 2 });
    assert.equal(peek.headers.getSetCookie().length, 0, "reading sends no cookie");
  });

  it("sets the cookie on a response with immutable headers", async () => {
    const r = await get("/go");
    assert.equal(r.status, 302);
    assert.equal(r.headers.getSetCookie().length, 1);
    const peek = await get("/peek", pair(r.headers.getSetCookie()[0]));
    assert.equal(peek.status, 200);
  });

  it("logout flushes and deletes the cookie", async () => {
    const cookie = pair((await get("/visit")).headers.getSetCookie()[0]);
    const out = await get("/logout", cookie, { method: "POST" });
    assert.match(out.headers.getSetCookie()[0], /^sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0/);
    assert.deepEqual(await (await get("/peek", cookie)).json(), { visits: null });
  });

  it("returns a stored value shaped like an error as a value", async () => {
    const r = await get("/lookalike");
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { error: "KeyError", message: "not really" });
  });

  it("refuses a value that is not JSON with a TypeError", async () => {
    const r = await get("/bad");
    const body = await r.json();
    assert.equal(body.name, "TypeError");
    assert.match(body.message, /"x".*function.*not JSON-serialisable/);
  });
});

describe("withSessions", () => {
  let mf;
  before(async () => {
    mf = start("plain-worker.js", [], "db");
    await mf.ready;
  });
  after(async () => mf?.dispose());

  it("wraps a plain fetch handler in one line", async () => {
    const a = await mf.dispatchFetch("http://127.0.0.1/?add=apple");
    const cookie = pair(a.headers.getSetCookie()[0]);
    const body = await a.json();
    assert.deepEqual(body.cart, ["apple"]);
    const b = await mf.dispatchFetch("http://127.0.0.1/?add=pear", { headers: { cookie } });
    assert.deepEqual((await b.json()).cart, ["apple", "pear"]);
    const c = await mf.dispatchFetch("http://127.0.0.1/", { headers: { cookie: pair(b.headers.getSetCookie()[0]) } });
    assert.deepEqual((await c.json()).cart, ["apple", "pear"]);
    assert.equal(c.headers.getSetCookie().length, 0);
  });
});

describe("package size", () => {
  it("reports the .wasm and JS glue sizes", () => {
    const s = packageSizes();
    console.log(`npm package: wasm ${s.wasm_raw} B raw / ${s.wasm_gz} B gzip; JS ${s.js_raw} B raw / ${s.js_gz} B gzip; total gzip ${s.wasm_gz + s.js_gz} B`);
    assert.ok(s.wasm_raw > 0 && s.js_raw > 0);
  });
});

describe("configuration errors", () => {
  for (const [entry, deps] of [["plain-worker.js", []], ["hono-worker.js", ["hono@4.13.19"]]]) {
    it(`are a plain 500 with the detail only in the log (${entry})`, async () => {
      for (const vars of [{ SECRET_KEY: undefined }, { SESSION_COOKIE_SAMESITE: "None" }]) {
        const mf = start(entry, deps, "cached_db", vars);
        try {
          const res = await mf.dispatchFetch("http://127.0.0.1/visit");
          assert.equal(res.status, 500);
          assert.equal(await res.text(), "Internal Server Error");
          assert.equal(res.headers.getSetCookie().length, 0);
        } finally {
          await mf.dispose();
        }
      }
    });
  }
});

describe("the Session call queue and its argument checks", () => {
  let mf;
  before(async () => {
    mf = start("queue-worker.js", []);
    await mf.ready;
  });
  after(async () => mf?.dispose());
  const run = async (name, cookie) => (await mf.dispatchFetch(`http://127.0.0.1/${name}`, { headers: cookie ? { cookie } : {} })).json();

  it("synchronous reads with a call pending throw a TypeError instead of a stale or busy answer", async () => {
    const seeded = await mf.dispatchFetch("http://127.0.0.1/seed");
    const cookie = seeded.headers.get("set-cookie").split(";")[0];
    const { during, after } = await run("readWhilePending", cookie);
    for (const [what, outcome] of Object.entries(during)) {
      assert.equal(outcome.error, "TypeError", what);
      assert.match(outcome.message, /still pending; await them/, what);
    }
    assert.deepEqual(after, { modified: true, accessed: true, isEmpty: false });
  });

  it("a call that needs no store answers at once: no call is left pending", async () => {
    assert.deepEqual(await run("answersAtOnce"), { modified: { value: true }, isEmpty: { value: false } });
  });

  it("KeyError and a reserved key's error are SessionErrors, internals are private, metrics are camelCase", async () => {
    assert.deepEqual(await run("errorsAndPrivacy"), {
      reserved: ["ReservedKey", true, null], // set resolves to undefined (null once in JSON)
      name: "KeyError",
      keyError: true,
      sessionError: true,
      ownKeys: [],
      inner: false,
      metrics: ["crypto", "doCall", "kvDelete", "kvGet", "kvPut", "r2Delete", "r2Get", "r2Head", "r2List", "r2Put"],
    });
  });

  it("a session never used on a request without cookies finishes with nothing added, and is closed after", async () => {
    const out = await run("unusedWithoutCookie");
    assert.deepEqual([out.setCookie, out.vary, out.crypto], [null, null, 0]);
    assert.match(out.after, /already committed/);
  });

  it("setting modified is queued after the calls made before it", async () => {
    assert.deepEqual(await run("setterIsQueued"), { modified: false });
  });

  it("setExpiry refuses NaN, infinities, out-of-range numbers and invalid dates with a TypeError", async () => {
    const out = await run("badExpiries");
    assert.deepEqual(out, {
      NaN: "TypeError",
      Infinity: "TypeError",
      "-Infinity": "TypeError",
      "1e19": "TypeError",
      string: "TypeError",
      invalidDate: "TypeError",
      age: 300,
    });
  });
});
