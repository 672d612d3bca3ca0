// The Hono floor: the bench routes on a Hono app without any session layer,
// so that the Hono-based libraries are charged only for what they add.
import { Hono } from "hono";

const app = new Hono();
app.get("/untouched", (c) => c.text("ok"));
app.get("/read", (c) => c.text("null"));
app.post("/modify", (c) => c.text("1"));
app.post("/login", (c) => c.text("in"));
app.post("/logout", (c) => c.text("out"));

export default app;
