// "Testing your worker" with vitest-pool-workers: the helpers of
// `edge-session/testing` run in the Workers runtime, on the bindings the
// worker under test uses (`env` from "cloudflare:test").
import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loginCookie, readSession, sessionCookie } from "edge-session/testing";

describe("the cart", () => {
  it("a logged-in user adds to the cart, and the response's session holds it", async () => {
    const cookie = await loginCookie(env, "42");
    const res = await SELF.fetch("https://example.com/cart?item=tea", { method: "POST", headers: { cookie } });
    expect(res.status).toBe(200);
    const session = await readSession(env, res);
    expect(session.cart).toEqual(["tea"]);
    expect(session._auth_user_id).toBe("42");
  });

  it("an anonymous visitor is refused, and the session is untouched", async () => {
    const cookie = await sessionCookie(env, { cart: ["scone"] });
    const res = await SELF.fetch("https://example.com/cart?item=tea", { method: "POST", headers: { cookie } });
    expect(res.status).toBe(403);
    expect(await readSession(env, res, { cookie })).toEqual({ cart: ["scone"] });
  });
});
