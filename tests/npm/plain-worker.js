// A plain module worker wrapped in one line with withSessions().
import { withSessions, SessionObject } from "edge-session";

export { SessionObject };

export default {
  fetch: withSessions(async (request, env, ctx, session) => {
    const cart = (await session.get("cart")) ?? [];
    const url = new URL(request.url);
    if (url.searchParams.has("add")) {
      cart.push(url.searchParams.get("add"));
      session.modified = true; // changed in place: tell the session
      await session.set("cart", cart);
    }
    return Response.json({ cart, key: session.sessionKey });
  }),
};
