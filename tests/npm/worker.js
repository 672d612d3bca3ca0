// A JavaScript worker built on the npm package, as a user would write it. It
// serves the ops endpoint of docs/test-api.md through the package's public
// API (each op is a Session method call), so the engines' flows can be driven
// exactly as for the Rust demo worker.
import { Sessions, SessionObject, metrics } from "edge-session";
import { errorNames } from "edge-session";

export { SessionObject };

const OPS = {
  get: (s, o) => s.get(o.key, o.default ?? null),
  set: (s, o) => s.set(o.key, o.value).then(() => null),
  delete: (s, o) => s.delete(o.key).then(() => null),
  contains: (s, o) => s.has(o.key),
  pop: (s, o) => ("default" in o ? s.pop(o.key, o.default) : s.pop(o.key)),
  setdefault: (s, o) => s.setDefault(o.key, o.value),
  update: (s, o) => s.update(o.values).then(() => null),
  keys: (s) => s.keys(),
  values: (s) => s.values(),
  items: (s) => s.entries(),
  clear: (s) => s.clear().then(() => null),
  is_empty: (s) => s.isEmpty(),
  flush: (s) => s.flush().then(() => null),
  cycle_key: (s) => s.cycleKey().then(() => null),
  set_test_cookie: (s) => s.setTestCookie().then(() => null),
  test_cookie_worked: (s) => s.testCookieWorked(),
  delete_test_cookie: (s) => s.deleteTestCookie().then(() => null),
  set_expiry: (s, o) => s.setExpiry(typeof o.value === "string" ? new Date(o.value) : o.value).then(() => null),
  get_expiry_age: (s) => s.getExpiryAge(),
  get_expiry_date: (s) => s.getExpiryDate().then((d) => d.toISOString()),
  get_expire_at_browser_close: (s) => s.getExpireAtBrowserClose(),
  session_key: (s) => s.sessionKey,
  mark_modified: (s) => {
    s.modified = true;
    return null;
  },
  // Awaits a timer between two ops, so tests can make requests overlap.
  sleep: (s, o) => new Promise((resolve) => setTimeout(() => resolve(null), o.ms)),
  login: (s, o) => s.login(o.user, o.meta ?? undefined).then(() => null),
  logout: (s) => s.logout().then(() => null),
  add_message: (s, o) => s.messages.add(o.level, o.message, o.extra_tags ?? "").then(() => null),
  keep_messages: (s) => s.messages.keep().then(() => null),
  get_messages: (s) => s.messages.get().then((list) => list.map((m) => ({ level: m.level, message: m.message, extra_tags: m.extraTags }))),
  user_id: (s) => s.userId(),
  // With a `user` other than the session's own: the admin's calls, outside the request's session.
  user_sessions: async (s, o, sessions) => {
    const list = (await isOther(s, o)) ? await sessions.userSessions(o.user) : await s.userSessions();
    return list.map((x) => ({ ...x, created: x.created.toISOString() }));
  },
  revoke_session: async (s, o, sessions) => ((await isOther(s, o)) ? sessions.revokeSession(o.user, o.id) : s.revokeSession(o.id)),
  revoke_user_sessions: async (s, o, sessions) =>
    (await isOther(s, o)) ? sessions.revokeUserSessions(o.user) : s.revokeUserSessions({ keepCurrent: o.keep_current ?? false }),
};

/** Whether an op names a `user` other than the session's. */
async function isOther(s, o) {
  return o.user !== undefined && o.user !== null && o.user !== (await s.userId());
}

const isString = (v) => typeof v === "string";
const optional = (v, test) => v === undefined || v === null || test(v);

/** The op's arguments are checked before any op runs, as the Rust endpoint does. */
function invalid(o) {
  if (o.op === "sleep" && !(Number.isInteger(o.ms) && o.ms >= 0 && o.ms <= 5000)) return '"ms" must be an integer from 0 to 5000';
  if (o.op === "login" && !(isString(o.user) && optional(o.meta, (m) => typeof m === "object" && !Array.isArray(m)))) return '"user" must be a string and "meta" an object';
  if (o.op === "revoke_session" && !isString(o.id)) return '"id" must be a string';
  if (o.op === "add_message" && !(Number.isInteger(o.level) && isString(o.message) && optional(o.extra_tags, isString))) return '"level" must be an integer, "message" and "extra_tags" strings';
  if (["user_sessions", "revoke_session", "revoke_user_sessions"].includes(o.op) && !optional(o.user, isString)) return '"user" must be a string';
  if (o.op === "revoke_user_sessions" && !optional(o.keep_current, (k) => typeof k === "boolean")) return '"keep_current" must be a bool';
  return null;
}

function json(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function withCounters(response, before) {
  const after = metrics();
  const c = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
  const headers = new Headers(response.headers);
  // The names of the Rust demo's header: kvGet -> kv_get.
  const value = Object.entries(c).map(([name, n]) => `${name.replace(/[A-Z]/g, (l) => `_${l.toLowerCase()}`)}=${n}`);
  headers.set("x-edge-session-counters", value.join(","));
  return new Response(response.body, { status: response.status, headers });
}

async function ops(request, sessions) {
  let body;
  try {
    body = JSON.parse(await request.text());
  } catch (e) {
    return json({ error: errorNames.BadRequest, message: `body is not valid JSON: ${e.message}` }, 400);
  }
  const list = body?.ops;
  const status = body?.status ?? 200;
  if (!Array.isArray(list) || !Number.isInteger(status) || status < 200 || status > 599) {
    return json({ error: errorNames.BadRequest, message: "ops must be an array and status 200-599" }, 400);
  }
  for (const o of list) {
    if (!o || !(o.op in OPS)) return json({ error: errorNames.BadRequest, message: `unknown op ${JSON.stringify(o?.op)}` }, 400);
    const why = invalid(o);
    if (why) return json({ error: errorNames.BadRequest, message: why }, 400);
  }
  const session = sessions.session(request);
  const results = [];
  for (const o of list) {
    try {
      results.push(await OPS[o.op](session, o, sessions));
    } catch (e) {
      results.push({ error: e.name, message: e.message });
    }
  }
  // A `modified = true` is queued behind calls still running: let them settle before the sync getters.
  await session.settled();
  const out = { results, session_key: session.sessionKey, modified: session.modified, accessed: session.accessed };
  return sessions.finish(session, json(out, status));
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (!url.pathname.startsWith("/_session/")) return new Response("Not Found", { status: 404 });
    if (env.SESSION_TEST_API !== "1") return new Response("Not Found", { status: 404 });
    const before = metrics();
    let sessions;
    try {
      // The test endpoint turns on what the user ops need (docs/test-api.md).
      sessions = new Sessions(env, { settings: env.SESSION_USER_INDEX === undefined ? { SESSION_USER_INDEX: "true" } : {} });
    } catch (e) {
      return json({ error: errorNames.ConfigError, message: e.message }, 500);
    }
    let response;
    if (request.method === "POST" && url.pathname === "/_session/ops") {
      response = await ops(request, sessions);
    } else if (request.method === "GET" && url.pathname === "/_session/config") {
      response = json(sessions.settings);
    } else if (request.method === "POST" && url.pathname === "/_session/clear_expired") {
      response = json({ cleared: await sessions.clearExpired() });
    } else if (request.method === "POST" && url.pathname.startsWith("/_session/by_key/")) {
      const session = sessions.open(url.pathname.slice("/_session/by_key/".length));
      const { ops: list } = JSON.parse(await request.text());
      const results = [];
      for (const o of list) results.push(await OPS[o.op](session, o, sessions));
      if (session.modified) await sessions.save(session);
      response = json({ results, data: Object.fromEntries(await session.entries()) });
    } else if (request.method === "GET" && /^\/_session\/(object|inspect)\//.test(url.pathname)) {
      // The raw reply of the session's Durable Object to a load (alarm
      // tests), or to `inspect` (what it stores, and its alarm).
      const [, route, key] = url.pathname.match(/^\/_session\/(object|inspect)\/(.*)$/);
      const ns = env.SESSION_DO;
      const stub = ns.get(ns.idFromName(key));
      const op = route === "object" ? "load" : "inspect";
      const reply = await stub.fetch("https://session-object/", { method: "POST", body: JSON.stringify({ op }) });
      response = new Response(await reply.text(), { headers: { "content-type": "application/json" } });
    } else {
      response = new Response("Not Found", { status: 404 });
    }
    return withCounters(response, before);
  },
};
