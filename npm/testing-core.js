// Test helpers for the people who use edge-session (Django's test client's
// `force_login()` and `client.session`): make a session with given data, or
// logged in as a user, and get the Cookie header to send; read the session a
// response's Set-Cookie points to. They use the real bindings in `env`, so
// the worker under test reads what they wrote.
import { Sessions } from "./core.js";

const BLANK = "https://edge-session.test/";

function cookieName(sessions) {
  return sessions.settings.SESSION_COOKIE_NAME;
}

async function saved(sessions, session) {
  const value = await sessions.save(session);
  return `${cookieName(sessions)}=${value}`;
}

/**
 * A new session holding `data` (keys not starting with `_`), saved in the store
 * `env` configures; resolves to the `Cookie` header to send (`sessionid=…`).
 */
export async function sessionCookie(env, data = {}, options = {}) {
  const sessions = new Sessions(env, options);
  const session = sessions.session(new Request(BLANK));
  await session.update(data);
  return saved(sessions, session);
}

/** A new session logged in as `userId` (Django's `force_login`), with `data` too; resolves to the `Cookie` header. */
export async function loginCookie(env, userId, data = {}, options = {}) {
  const sessions = new Sessions(env, options);
  const session = sessions.session(new Request(BLANK));
  await session.login(userId);
  await session.update(data);
  return saved(sessions, session);
}

/**
 * The session a response left (Django's `client.session` after a request): its data as an
 * object, from the `Set-Cookie` of `response` (a Response, or one Set-Cookie header value), or,
 * when the response set no session cookie, from `cookie` (the `Cookie` header the request
 * sent). `null` when the response deleted the cookie, or there is no session; a TypeError when
 * there is no session cookie to read at all.
 */
export async function readSession(env, response, { cookie, ...options } = {}) {
  const sessions = new Sessions(env, options);
  const name = cookieName(sessions);
  const setCookies = typeof response === "string" ? [response] : (response?.headers?.getSetCookie?.() ?? []);
  const ours = setCookies.find((c) => c.startsWith(`${name}=`));
  if (ours && /;\s*Max-Age=0(\s*;|$)/i.test(ours)) return null;
  const pair = ours ? ours.split(";")[0] : cookie;
  if (!pair) {
    // No session cookie to read: an error, so a test cannot pass on a response that set nothing.
    throw new TypeError(`edge-session: the response set no ${name} cookie; pass { cookie } (the Cookie header the request sent) to read the session it kept`);
  }
  const session = sessions.session(new Request(BLANK, { headers: { cookie: pair } }));
  const entries = await session.entries();
  await session.settled();
  if (entries.length === 0 && session.sessionKey === null) return null;
  return Object.fromEntries(entries);
}
