// A Hono app using the package's middleware, as a user would write it.
import { Hono } from "hono";
import { sessionMiddleware, SessionObject } from "edge-session";

export { SessionObject };

const app = new Hono();
app.use(sessionMiddleware());

app.get("/visit", async (c) => {
  const session = c.get("session");
  const n = (await session.get("visits", 0)) + 1;
  await session.set("visits", n);
  return c.json({ visits: n });
});

app.get("/peek", async (c) => c.json({ visits: (await c.get("session").get("visits")) ?? null }));

app.post("/logout", async (c) => {
  await c.get("session").flush();
  return c.text("bye");
});

// A response with immutable headers (as from fetch()): the cookie must still be set.
app.get("/go", async (c) => {
  await c.get("session").set("went", true);
  return Response.redirect("http://127.0.0.1/peek", 302);
});

// A stored value shaped like an error object is returned as a value.
app.get("/lookalike", async (c) => {
  const session = c.get("session");
  await session.set("e", { error: "KeyError", message: "not really" });
  return c.json(await session.pop("e"));
});

app.get("/bad", async (c) => {
  await c.get("session").set("x", () => 1);
  return c.text("unreachable");
});

app.onError((err, c) => c.json({ name: err.name, message: err.message }, 500));

export default app;
