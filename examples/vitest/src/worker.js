// The example user's worker: a cart that only a logged-in user can add to,
// with a message for the next page.
import { withSessions, SessionObject } from "edge-session";

export { SessionObject };

export default {
  fetch: withSessions(async (request, env, ctx, session) => {
    if (request.method !== "POST") return new Response("Not Found", { status: 404 });
    if ((await session.userId()) === null) return new Response("Log in first", { status: 403 });
    const item = new URL(request.url).searchParams.get("item");
    const cart = (await session.get("cart")) ?? [];
    await session.set("cart", [...cart, item]);
    await session.messages.success(`Added ${item}`);
    return Response.json({ cart: [...cart, item] });
  }),
};
