// "Testing your worker" (README), with Miniflare: the example a user of the
// npm package would write for their own worker (examples/vitest/src/worker.js),
// with the package's test helpers run from Node (`edge-session/node`) over
// the worker's real local bindings (`mf.getBindings()`): start the request
// logged in, send it, read the session the response left.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ROOT } from "../worker/harness.mjs";
import { startPacked } from "./pack.mjs";

for (const engine of ["cached_db", "signed_cookies"]) {
  describe(`testing your worker with Miniflare (${engine})`, () => {
    let mf, env, helpers;
    before(async () => {
      let dist;
      ({ mf, dist } = startPacked(path.join(ROOT, "examples/vitest/src/worker.js"), {
        bindings: { SECRET_KEY: "test secret", SESSION_ENGINE: engine },
      }));
      await mf.ready;
      env = await mf.getBindings();
      // The package as a user installed it (the packed tarball), its Node entry.
      helpers = await import(path.join(path.dirname(dist), "node_modules/edge-session/node.js"));
    });
    after(async () => mf?.dispose());

    it("a logged-in user adds to the cart, and the response's session holds it", async () => {
      const cookie = await helpers.loginCookie(env, "42");
      const res = await mf.dispatchFetch("http://127.0.0.1/cart?item=tea", { method: "POST", headers: { cookie } });
      assert.equal(res.status, 200, await res.clone().text());
      const session = await helpers.readSession(env, res.headers.getSetCookie()[0]);
      assert.deepEqual(session.cart, ["tea"]);
      assert.equal(session._auth_user_id, "42");
      assert.match(session._messages, /Added tea/);
    });

    it("an anonymous visitor with a cart is refused, and the session is untouched", async () => {
      const cookie = await helpers.sessionCookie(env, { cart: ["scone"] });
      const res = await mf.dispatchFetch("http://127.0.0.1/cart?item=tea", { method: "POST", headers: { cookie } });
      assert.equal(res.status, 403);
      assert.deepEqual(res.headers.getSetCookie(), []);
      assert.deepEqual(await helpers.readSession(env, res, { cookie }), { cart: ["scone"] });
    });
  });
}
