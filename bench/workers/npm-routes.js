// The bench scenarios' routes on edge-session's npm package: the handler that
// bench/workers/edge-session-npm.js wraps with `withSessions` in workerd, and
// that bench/lib/npm-ab.mjs wraps the same way in Node.
export async function routes(request, env, ctx, session) {
  switch (new URL(request.url).pathname) {
    case "/read":
      return new Response(JSON.stringify((await session.get("user")) ?? null));
    case "/modify": {
      const n = ((await session.get("n")) ?? 0) + 1;
      await session.set("n", n);
      return new Response(String(n));
    }
    case "/login":
      await session.cycleKey();
      await session.set("user", "alice");
      return new Response("in");
    case "/logout":
      await session.flush();
      return new Response("out");
    default:
      return new Response("ok");
  }
}
