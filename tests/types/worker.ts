// A user's worker written against the package's declarations, as a team on
// @cloudflare/workers-types and Hono would write it. Type-checked only
// (`tsc --noEmit -p tests/types` in scripts/test.sh): the declarations in
// npm/index.d.ts must accept this code, and reject the lines marked as
// expected errors, so they cannot drift from npm/index.js.
import { Hono } from "hono";
import {
  KeyError,
  Session,
  SessionError,
  SessionObject,
  Sessions,
  metrics,
  sessionMiddleware,
  withSessions,
  type SessionVariables,
  type UserSession,
  type Message,
  messageLevels,
} from "edge-session";
import { loginCookie, readSession, sessionCookie } from "edge-session/testing";
import { Sessions as NodeSessions, readSession as readInNode } from "edge-session/node";

export { SessionObject };

interface Env {
  SECRET_KEY: string;
  SESSION_KV: KVNamespace;
  SESSION_DO: DurableObjectNamespace;
}

// Hono, typed through the exported variables type.
const app = new Hono<{ Bindings: Env; Variables: SessionVariables }>();
app.use(sessionMiddleware({ settings: { SESSION_ENGINE: "cached_db" } }));
app.get("/visit", async (c) => {
  const session: Session = c.get("session");
  const visits = (await session.get<number>("visits", 0)) + 1;
  await session.set("visits", visits);
  try {
    await session.delete("absent");
  } catch (e) {
    const error: SessionError | unknown = e;
    if (error instanceof KeyError) console.log(error.name satisfies "KeyError");
  }
  // @ts-expect-error: values must be JSON.
  await session.set("when", () => 1);
  await session.setExpiry(new Date(Date.now() + 3_600_000));
  await session.settled();
  const flags: [boolean, boolean, string | null, boolean] = [session.modified, session.accessed, session.sessionKey, session.isEmpty()];
  return c.json({ visits, flags });
});

// A plain module worker.
const plain = withSessions<Env, ExecutionContext>(async (request, env, ctx, session) => {
  const cart = (await session.get<string[]>("cart")) ?? [];
  session.modified = true;
  return Response.json({ cart, url: request.url, secret: env.SECRET_KEY.length });
});

// By hand, and outside a request.
export async function byHand(request: Request, env: Env): Promise<Response> {
  const sessions = new Sessions(env, { kv: env.SESSION_KV, durableObject: env.SESSION_DO });
  const session: Session = sessions.session(request);
  const counts = metrics();
  const total: number = counts.kvGet + counts.kvPut + counts.kvDelete + counts.doCall + counts.crypto;
  const cookie: string | null = await sessions.save(sessions.open("k"));
  const cleared: number = await sessions.clearExpired();
  return sessions.finish(session, Response.json({ total, cookie, cleared }));
}

// A user's sessions (SESSION_USER_INDEX): login, "Your devices", sign out everywhere else.
export async function devices(request: Request, env: Env): Promise<Response> {
  const sessions = new Sessions(env, { settings: { SESSION_USER_INDEX: "true" } });
  const session = sessions.session(request);
  await session.login("42", { device: "Firefox on Linux" });
  // @ts-expect-error: metadata must be JSON.
  await session.login("42", { at: () => 1 });
  const user: string | null = await session.userId();
  const listed: UserSession[] = await session.userSessions();
  const first: { id: string; created: Date; current: boolean } = listed[0];
  const one: boolean = await session.revokeSession(first.id);
  const others: number = await session.revokeUserSessions({ keepCurrent: true });
  const admin: UserSession[] = await sessions.userSessions("7");
  const all: number = (await sessions.revokeUserSessions("7")) + (await sessions.eraseUser("8"));
  const gone: boolean = await sessions.revokeSession("7", admin[0]?.id ?? "");
  await session.messages.success("Signed out your other devices", "devices");
  // @ts-expect-error: a level is a number.
  await session.messages.add("INFO", "text");
  const shown: Message[] = await session.messages.get();
  const tags: string = shown[0].tags + messageLevels.WARNING;
  await session.logout();
  return sessions.finish(session, Response.json({ user, one, others, all, gone, tags }));
}

export default { fetch: app.fetch, plain };

// The test helpers (edge-session/testing), as a user's test would call them.
export async function aTest(env: Env, worker: Fetcher): Promise<boolean> {
  const cookie: string = await loginCookie(env, "42", { cart: ["tea"] });
  const anonymous: string = await sessionCookie(env, { cart: [] }, { settings: { SESSION_ENGINE: "db" } });
  // @ts-expect-error: session data is JSON.
  await sessionCookie(env, { when: new Date() });
  const res = await worker.fetch("https://example.com/", { headers: { cookie } });
  const data: { [key: string]: unknown } | null = await readSession(env, res);
  const same = await readSession(env, res.headers.get("set-cookie") ?? "", { cookie: anonymous });
  return data !== null && same !== null;
}

// The Node entry has the same API and helpers (tests that drive Miniflare from outside).
export async function fromNode(env: object): Promise<unknown> {
  const sessions: Sessions = new NodeSessions(env);
  return readInNode(env, "sessionid=x", { cookie: "sessionid=x" }) ?? sessions;
}
