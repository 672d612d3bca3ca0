// The bench scenarios on hono-sessions with a Workers KV storage driver (the
// library ships Memory and Cookie stores; a KV store is its documented
// custom-driver interface), with the options its README recommends: an
// encryption key for the cookie, an inactivity expiry, Lax/HttpOnly cookies.
// Key rotation at login uses its `session_key_rotation` flag.
import { Hono } from "hono";
import { sessionMiddleware } from "hono-sessions";
import { benchEnv, counts } from "../rust-worker/js/bench_env.js";

const TTL = 1209600;

class KvStore {
  constructor(kv) {
    this.kv = kv;
  }
  async getSessionById(sid) {
    return sid ? await this.kv.get(sid, "json") : null;
  }
  async createSession(sid, data) {
    await this.kv.put(sid, JSON.stringify(data), { expirationTtl: TTL });
  }
  async persistSessionData(sid, data) {
    await this.kv.put(sid, JSON.stringify(data), { expirationTtl: TTL });
  }
  async deleteSession(sid) {
    await this.kv.delete(sid);
  }
}

let middleware;
const app = new Hono();
app.use("*", (c, next) => {
  middleware ??= sessionMiddleware({
    store: new KvStore(c.env.SESSION_KV),
    encryptionKey: c.env.SECRET_KEY,
    expireAfterSeconds: TTL,
    cookieOptions: { sameSite: "Lax", path: "/", httpOnly: true },
  });
  return middleware(c, next);
});

app.get("/untouched", (c) => c.text("ok"));
app.get("/read", (c) => c.text(JSON.stringify(c.get("session").get("user") ?? null)));
app.post("/modify", (c) => {
  const session = c.get("session");
  const n = (session.get("n") ?? 0) + 1;
  session.set("n", n);
  return c.text(String(n));
});
app.post("/login", (c) => {
  c.get("session").set("user", "alice");
  c.set("session_key_rotation", true);
  return c.text("in");
});
app.post("/logout", (c) => {
  c.get("session").deleteSession();
  return c.text("out");
});

export default {
  fetch(request, env, ctx) {
    if (request.url.endsWith("/__counters")) return Response.json({ bindings: counts });
    return app.fetch(request, benchEnv(env), ctx);
  },
};
