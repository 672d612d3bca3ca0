// The bench scenarios on @hono/session with Workers KV as its session storage,
// set up as the package's Cloudflare KV example does (writes and deletes
// handed to waitUntil), with the absolute duration its README recommends.
import { Hono } from "hono";
import { useSession, useSessionStorage } from "@hono/session";
import { benchEnv, counts } from "../rust-worker/js/bench_env.js";

const app = new Hono();
app.use(
  useSessionStorage((c) => ({
    delete(sid) {
      c.executionCtx.waitUntil(c.env.SESSION_KV.delete(sid));
    },
    get(sid) {
      return c.env.SESSION_KV.get(sid, "json");
    },
    set(sid, data) {
      c.executionCtx.waitUntil(c.env.SESSION_KV.put(sid, JSON.stringify(data), { expirationTtl: 1209600 }));
    },
  })),
  useSession({ duration: { absolute: 1209600 } }),
);

app.get("/untouched", (c) => c.text("ok"));
app.get("/read", async (c) => {
  const data = await c.var.session.get();
  return c.text(JSON.stringify(data?.user ?? null));
});
app.post("/modify", async (c) => {
  let n = 0;
  await c.var.session.update((prev) => {
    n = (prev?.n ?? 0) + 1;
    return { ...prev, n };
  });
  return c.text(String(n));
});
app.post("/login", async (c) => {
  await c.var.session.update((prev) => ({ ...prev, user: "alice" }));
  return c.text("in");
});
app.post("/logout", async (c) => {
  await c.var.session.get();
  c.var.session.delete();
  return c.text("out");
});

export default {
  fetch(request, env, ctx) {
    if (request.url.endsWith("/__counters")) return Response.json({ bindings: counts });
    return app.fetch(request, benchEnv(env), ctx);
  },
};
