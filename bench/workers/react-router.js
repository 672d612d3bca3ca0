// The bench scenarios on React Router's `createWorkersKVSessionStorage`
// (@react-router/cloudflare), used as a loader/action would: getSession from
// the Cookie header when the session is needed, commitSession /
// destroySession into Set-Cookie. A signed cookie (`secrets`), as React
// Router's docs ask. The storage is built once per isolate.
import { createWorkersKVSessionStorage } from "@react-router/cloudflare";
import { createCookie } from "react-router";
import { benchEnv, counts } from "../rust-worker/js/bench_env.js";

let storage;
function sessionStorage(env) {
  storage ??= createWorkersKVSessionStorage({
    kv: env.SESSION_KV,
    cookie: createCookie("__session", {
      secrets: [env.SECRET_KEY],
      httpOnly: true,
      sameSite: "lax",
      path: "/",
      maxAge: 1209600,
    }),
  });
  return storage;
}

async function handle(request, env) {
  const { getSession, commitSession, destroySession } = sessionStorage(env);
  const cookie = request.headers.get("Cookie");
  switch (new URL(request.url).pathname) {
    case "/read": {
      const session = await getSession(cookie);
      return new Response(JSON.stringify(session.get("user") ?? null));
    }
    case "/modify": {
      const session = await getSession(cookie);
      const n = (session.get("n") ?? 0) + 1;
      session.set("n", n);
      return new Response(String(n), { headers: { "Set-Cookie": await commitSession(session) } });
    }
    case "/login": {
      const session = await getSession(cookie);
      session.set("user", "alice");
      return new Response("in", { headers: { "Set-Cookie": await commitSession(session) } });
    }
    case "/logout": {
      const session = await getSession(cookie);
      return new Response("out", { headers: { "Set-Cookie": await destroySession(session) } });
    }
    default:
      return new Response("ok");
  }
}

export default {
  fetch(request, env) {
    if (request.url.endsWith("/__counters")) return Response.json({ bindings: counts });
    return handle(request, benchEnv(env));
  },
};
