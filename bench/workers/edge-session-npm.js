// The bench scenarios on edge-session's npm package, with its fetch-handler
// wrapper (`withSessions`), as a JS worker would use it.
import { withSessions, metrics, Sessions, SessionObject } from "edge-session";
import { benchEnv, counts } from "../rust-worker/js/bench_env.js";
import { routes } from "./npm-routes.js";

export { SessionObject };

const handler = withSessions(routes);

export default {
  fetch(request, env, ctx) {
    if (request.url.endsWith("/__counters")) return Response.json({ bindings: counts, edge_session: metrics() });
    if (request.url.includes("/__prof/")) return prof(request, benchEnv(env));
    return handler(request, benchEnv(env), ctx);
  },
};

// Runs one step of the request path n times in one request (GET /__prof/<step>?n=N),
// so that the bench can tell what each step costs: `await`, `kv_get` and `response` (the
// platform's floor: an awaited promise, a KV stub read, a Response), `sessions` (new Sessions(env)),
// `session` (sessions.session(request): reads the Cookie header; the wasm half is made on first use),
// `load`, `get` (load + the first get), `commit` (load + get + commit).
async function prof(request, env) {
  const url = new URL(request.url);
  const n = Number(url.searchParams.get("n") ?? 0);
  const step = url.pathname.slice("/__prof/".length);
  const sessions = new Sessions(env);
  for (let i = 0; i < n; i++) {
    // The platform's floor under a read: one awaited promise, one KV stub read, from JS.
    if (step === "await") await Promise.resolve(null);
    else if (step === "kv_get") await env.SESSION_KV.get("bench:absent", { type: "text" });
    else if (step === "response") new Response("x");
    else if (step === "sessions") new Sessions(env);
    else if (step === "session") sessions.session(request);
    else if (step === "get") await sessions.session(request).get("user");
    else if (step === "commit") {
      const s = sessions.session(request);
      await s.get("user");
      await sessions.finish(s, new Response("x"));
    } else return new Response("unknown step", { status: 404 });
  }
  return new Response("ok");
}
