// edge-session for JavaScript workers: Django's session semantics in
// WebAssembly, with a JS-idiomatic API, a fetch-handler wrapper, a Hono
// middleware and the Durable Object class of the `db` engines. The entry
// points (index.js in a Worker, node.js in Node) load the wasm first.
import { WasmSessions, objectStep, objectAlarm, indexStep, counters, internalErrorBody, errorNames as errorNameList } from "./pkg/edge_session.js";

/** The body of a plain 500, shared with the Rust front door (src/response.rs). */
const INTERNAL_ERROR = internalErrorBody();

/**
 * The error names, `{KeyError: "KeyError", StoreError: "StoreError", ...}`: the Rust table
 * (`ErrorName` in src/response.rs), so that no name is spelled here. A `SessionError`'s `name`,
 * and the `error` of the ops endpoint's results, is one of them.
 */
export const errorNames = Object.freeze(Object.fromEntries(JSON.parse(errorNameList()).map((name) => [name, name])));

/** A failure of the session framework; `name` says which (one of `errorNames`: `StoreError`, `ReservedKey`, `ValueError`, ...). */
export class SessionError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

/** Django's KeyError, for `delete`, `pop` without default and `deleteTestCookie`. */
export class KeyError extends SessionError {
  constructor(message) {
    super(errorNames.KeyError, message);
  }
}

// A Session's internals for Sessions (set by the class: out of reach of user code): its wasm
// half if made, whether calls are pending, its Cookie header, its wasm half (made if need be),
// and closing it. Functions, not an object per call: `finish` runs on every request.
let innerOf;
let busyOf;
let headerOf;
let wasmOf;
let closeSession;

const identity = (x) => x;

/** What a finished Session's calls meet (as the wasm half's own "committed" error). */
function committed() {
  throw new Error("edge-session: the session is in use by another call, or already committed (await each call)");
}

/** The wrappers' way to `Sessions.finish` without a promise when none is needed. */
const FINISH = Symbol("finish");

/**
 * JSON text of a value, or a TypeError naming what is not JSON-able (`what`: a string, or a
 * function making it, called only for the error).
 */
function toJson(value, what) {
  // The common values need no walk: a string, a boolean, null, a finite number.
  const type = typeof value;
  if (type === "string" || type === "boolean" || value === null || (type === "number" && Number.isFinite(value))) {
    return JSON.stringify(value);
  }
  if (typeof what === "function") what = what();
  const check = (key, v) => {
    const t = typeof v;
    if (t === "undefined" || t === "function" || t === "symbol" || t === "bigint") {
      throw new TypeError(`edge-session: ${what}${key ? ` (at ${JSON.stringify(key)})` : ""} is a ${t}, which is not JSON-serialisable`);
    }
    if (t === "number" && !Number.isFinite(v)) {
      throw new TypeError(`edge-session: ${what}${key ? ` (at ${JSON.stringify(key)})` : ""} is ${v}, which is not JSON-serialisable`);
    }
    return v;
  };
  return JSON.stringify(value, check);
}

/** What `set`, `cycleKey` and `flush` answer: nothing, or an error as `unwrap` takes it. */
const nothingOrError = (text) => (text === undefined ? undefined : unwrap(text));

/** `{"ok": value}` → value; `{"error", "message"}` → the matching exception. */
function unwrap(text) {
  const result = JSON.parse(text);
  if ("ok" in result) return result.ok;
  if (result.error === errorNames.KeyError) throw new KeyError(result.message);
  throw new SessionError(result.error, result.message);
}

/**
 * `request.session`: Django's session dictionary. Methods that read or write
 * data load the session on first use (lazily), so they return promises;
 * `clear`, `flush`, `isEmpty` and the flags never load.
 *
 * Calls run one at a time, in the order they were made, even when not
 * awaited. The synchronous reads (`isEmpty()`, `modified`, `accessed`,
 * `sessionKey`) answer from the state after every call made so far: with a
 * call still pending that state does not exist yet, so they throw a
 * `TypeError` saying to await first (`await session.settled()` waits for all
 * of them); they never report a state from before a queued call. Setting
 * `modified` is queued like any call.
 */
/** Django's message levels (`messages.INFO`, ...); any integer is a level too. */
export const messageLevels = Object.freeze({ DEBUG: 10, INFO: 20, SUCCESS: 25, WARNING: 30, ERROR: 40 });

const LEVEL_TAGS = new Map(Object.entries(messageLevels).map(([name, level]) => [level, name.toLowerCase()]));

/**
 * A request's messages (Django's messages framework, kept in the session under `_messages` as
 * Django's `SessionStorage` keeps them): `session.messages.success("Added to cart")`, then on a
 * later request `await session.messages.get()` (which consumes them).
 */
class Messages {
  #op;

  constructor(op) {
    this.#op = op;
  }

  /** Adds a message, unless it is empty or below `MESSAGE_LEVEL` (default INFO). */
  add(level, message, extraTags = "") {
    if (!Number.isInteger(level)) throw new TypeError(`edge-session: a message level is an integer, got ${level}`);
    if (typeof message !== "string" || typeof extraTags !== "string") {
      throw new TypeError("edge-session: a message and its extra tags are strings");
    }
    return this.#op({ op: "add_message", level, message, extra_tags: extraTags });
  }
  debug(message, extraTags = "") {
    return this.add(messageLevels.DEBUG, message, extraTags);
  }
  info(message, extraTags = "") {
    return this.add(messageLevels.INFO, message, extraTags);
  }
  success(message, extraTags = "") {
    return this.add(messageLevels.SUCCESS, message, extraTags);
  }
  warning(message, extraTags = "") {
    return this.add(messageLevels.WARNING, message, extraTags);
  }
  error(message, extraTags = "") {
    return this.add(messageLevels.ERROR, message, extraTags);
  }
  /** The stored messages and this request's, in order: `[{level, message, extraTags, levelTag, tags}]`. They are consumed. */
  get() {
    return this.#op({ op: "get_messages" }).then((list) =>
      list.map(({ level, message, extra_tags: extraTags }) => {
        const levelTag = LEVEL_TAGS.get(level) ?? "";
        return { level, message, extraTags, levelTag, tags: [extraTags, levelTag].filter(Boolean).join(" ") };
      }),
    );
  }
  /** Keeps the messages read for the next request (Django's `storage.used = False`). */
  keep() {
    return this.#op({ op: "keep_messages" });
  }
}

export class Session {
  #inner; // the wasm half, or null until the first call needs it
  #load; // makes the wasm half (a request's: from its Cookie header)
  #header; // a request's Cookie header (undefined: none, or not a request's session)
  #queue = null;
  #pending = 0;

  static {
    innerOf = (session) => session.#inner;
    busyOf = (session) => session.#pending > 0;
    headerOf = (session) => session.#header;
    wasmOf = (session) => session.#wasm;
    closeSession = (session) => {
      session.#load = committed;
    };
  }

  /** @internal Sessions come from `Sessions.session` and `Sessions.open`. */
  constructor(load, header) {
    this.#inner = null;
    this.#load = load;
    this.#header = header;
  }

  get #wasm() {
    return (this.#inner ??= this.#load());
  }

  // Calls run one at a time, in order, even when not awaited. With none
  // queued, a call runs now: the wasm answers at once when it needs no store
  // (a loaded session, a set), and only a call that waits is queued. `map`
  // turns the wasm's answer into the call's result.
  #run(f, map = identity) {
    if (this.#pending === 0) {
      let answer;
      try {
        answer = f();
        if (!(answer instanceof Promise)) return Promise.resolve(map(answer));
      } catch (e) {
        return Promise.reject(e);
      }
      return this.#track(answer.then(map));
    }
    return this.#track(this.#queue.then(f).then(map));
  }

  #track(promise) {
    this.#pending += 1;
    const next = promise.finally(() => {
      this.#pending -= 1;
    });
    this.#queue = next.catch(() => {});
    return next;
  }

  // The state for a synchronous read: only once every queued call has run.
  #now(what) {
    if (this.#pending > 0) {
      throw new TypeError(`edge-session: session.${what} was read while ${this.#pending} session call(s) are still pending; await them (or \`await session.settled()\`) first`);
    }
    return this.#wasm;
  }

  /** Resolves once every call made so far has run (whether it succeeded or not). */
  settled() {
    return this.#queue ?? Promise.resolve();
  }

  #op(op) {
    return this.#run(() => this.#wasm.op(JSON.stringify(op)), unwrap);
  }

  /** This request's messages (Django's messages framework). */
  get messages() {
    return new Messages((op) => this.#op(op));
  }

  /** The value under `key`, or `defaultValue` (undefined) when absent. */
  get(key, defaultValue) {
    return this.#run(
      () => this.#wasm.get(String(key)),
      (text) => (text === undefined ? defaultValue : JSON.parse(text)),
    );
  }
  /** `session[key] = value`; `value` must be JSON-serialisable (else a TypeError). */
  set(key, value) {
    const name = String(key);
    const json = toJson(value, () => `the value of ${JSON.stringify(name)}`);
    return this.#run(() => this.#wasm.set(name, json), nothingOrError);
  }
  /** `del session[key]`: rejects with KeyError when absent. */
  delete(key) {
    return this.#op({ op: "delete", key: String(key) });
  }
  /** `key in session`. */
  has(key) {
    return this.#op({ op: "contains", key: String(key) });
  }
  keys() {
    return this.#op({ op: "keys" });
  }
  values() {
    return this.#op({ op: "values" });
  }
  /** `[key, value]` pairs. */
  entries() {
    return this.#op({ op: "items" });
  }
  /** `session.pop(key[, default])`: KeyError when absent and no default given. */
  pop(key, ...defaultValue) {
    const op = { op: "pop", key: String(key) };
    if (defaultValue.length > 0) op.default = JSON.parse(toJson(defaultValue[0], "the default"));
    return this.#op(op);
  }
  setDefault(key, value) {
    return this.#op({ op: "setdefault", key: String(key), value: JSON.parse(toJson(value, `the value of ${JSON.stringify(key)}`)) });
  }
  /** `session.update(values)` from an object. */
  update(values) {
    return this.#op({ op: "update", values: JSON.parse(toJson(values, "the values")) });
  }
  /** Empties the data without loading it. */
  clear() {
    return this.#op({ op: "clear" });
  }
  /** Logout: drops the data and the key; the record is deleted when the response is finished. */
  flush() {
    return this.#run(() => this.#wasm.flush(), nothingOrError);
  }
  /** Keeps the data under a new key (call it at login). */
  cycleKey() {
    return this.#run(() => this.#wasm.cycleKey(), nothingOrError);
  }
  /**
   * Django's `auth.login()`, the session half: flushes a session that holds another user, else
   * cycles the key, then stores the user id under `_auth_user_id`. With `SESSION_USER_INDEX`, the
   * session enters the user's index, with `meta` (an object you choose to keep, e.g. a device
   * label; nothing is kept by default).
   */
  login(userId, meta) {
    const op = { op: "login", user: userIdOf(userId) };
    if (meta !== undefined && meta !== null) op.meta = JSON.parse(toJson(meta, "the login metadata"));
    return this.#op(op);
  }
  /** Django's `auth.logout()`: flush (a signed session also leaves its user's index). */
  logout() {
    return this.#op({ op: "logout" });
  }
  /** The logged-in user's id, or null. */
  userId() {
    return this.#op({ op: "user_id" });
  }
  /**
   * This session's user's live sessions (`SESSION_USER_INDEX`): `[{id, created: Date, current, meta}]`;
   * `id` is a public id, never the session key.
   */
  userSessions() {
    return this.#op({ op: "user_sessions" }).then(toUserSessions);
  }
  /** Signs out one of this user's sessions by its public id; resolves to whether one was revoked. */
  revokeSession(id) {
    return this.#op({ op: "revoke_session", id: String(id) });
  }
  /** Signs out every session of this user, or every other one with `{keepCurrent: true}`; resolves to how many. */
  revokeUserSessions({ keepCurrent = false } = {}) {
    return this.#op({ op: "revoke_user_sessions", keep_current: Boolean(keepCurrent) });
  }
  setTestCookie() {
    return this.#op({ op: "set_test_cookie" });
  }
  testCookieWorked() {
    return this.#op({ op: "test_cookie_worked" });
  }
  deleteTestCookie() {
    return this.#op({ op: "delete_test_cookie" });
  }
  /**
   * Seconds (a finite number within ±Number.MAX_SAFE_INTEGER), `0` (browser
   * close), `null` (the global policy), or a valid Date; anything else is a
   * TypeError (`NaN` and `Infinity` never mean "the global policy").
   */
  setExpiry(value) {
    let v = value === undefined ? null : value;
    if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) throw new TypeError("edge-session: setExpiry() got an invalid Date");
      v = v.toISOString();
    } else if (typeof v === "number") {
      if (!Number.isFinite(v) || Math.abs(v) > Number.MAX_SAFE_INTEGER) {
        throw new TypeError(`edge-session: setExpiry() takes seconds within ±${Number.MAX_SAFE_INTEGER}, 0, null or a Date; got ${v}`);
      }
    } else if (v !== null) {
      throw new TypeError(`edge-session: setExpiry() takes seconds, 0, null or a Date; got a ${typeof v}`);
    }
    return this.#op({ op: "set_expiry", value: v });
  }
  getExpiryAge() {
    return this.#op({ op: "get_expiry_age" });
  }
  /** Resolves to a Date. */
  getExpiryDate() {
    return this.#op({ op: "get_expiry_date" }).then((iso) => new Date(iso));
  }
  getExpireAtBrowserClose() {
    return this.#op({ op: "get_expire_at_browser_close" });
  }
  /** No key and no data (never loads). Throws a TypeError while calls are pending. */
  isEmpty() {
    return this.#now("isEmpty()").isEmpty();
  }
  /** The session key, or null (a new session gets one when the response is finished). Throws a TypeError while calls are pending. */
  get sessionKey() {
    return this.#now("sessionKey").sessionKey ?? null;
  }
  /** Throws a TypeError while calls are pending. */
  get modified() {
    return this.#now("modified").modified;
  }
  /** Set to true after changing a value in place (e.g. an array you pushed to); queued after the calls before it. */
  set modified(value) {
    const flag = Boolean(value);
    this.#run(() => {
      this.#wasm.modified = flag;
    });
  }
  /** Throws a TypeError while calls are pending. */
  get accessed() {
    return this.#now("accessed").accessed;
  }
}

/** A user id as the wasm side takes it: a string (or a number, as Django's pks are); anything else is a TypeError. */
function userIdOf(userId) {
  if (typeof userId === "string" || (typeof userId === "number" && Number.isFinite(userId))) return String(userId);
  throw new TypeError(`edge-session: a user id is a string or a number, got ${userId === null ? "null" : typeof userId}`);
}

function toUserSessions(list) {
  return list.map((s) => ({ ...s, created: new Date(s.created) }));
}

function settingsFrom(options) {
  return options?.settings ?? {};
}

/** Sessions for one worker `env`: settings from vars under Django's names, overridable by `options.settings`. */
export class Sessions {
  #inner;

  /**
   * @param env the worker's env (vars, secrets and bindings)
   * @param options `{ settings?: {SESSION_ENGINE: "cached_db", ...}, kv?: KVNamespace, durableObject?: DurableObjectNamespace, r2?: R2Bucket }`
   */
  constructor(env, options = {}) {
    this.#inner = new WasmSessions(env ?? {}, settingsFrom(options), options.kv, options.durableObject, options.r2);
  }

  /**
   * The request's session, at once: no store is touched until it is used
   * (then its first data call loads it). Synchronous, as it does no I/O.
   */
  session(request) {
    const header = request.headers.get("cookie") ?? undefined;
    return new Session(() => this.#inner.load(header), header);
  }

  /**
   * Finishes the response as Django's SessionMiddleware does: saves when
   * needed, appends Set-Cookie and Vary: Cookie. Returns the response to
   * send (a 500, or Django's 400 SessionInterrupted, when saving failed: no
   * cookie is ever sent for data that was not saved).
   */
  async finish(session, response) {
    return this[FINISH](session, response);
  }

  // `finish` for the wrappers: the response itself (no promise) when nothing is pending and
  // nothing is saved.
  [FINISH](session, response) {
    if (busyOf(session)) return session.settled().then(() => this[FINISH](session, response));
    const inner = innerOf(session);
    let outcome;
    if (inner === null) {
      closeSession(session);
      const header = headerOf(session);
      // Never used, and no cookie came: Django's middleware has nothing to do (no save, no
      // cookie to delete, no Vary), so the wasm half is never made.
      if (header === undefined) return response;
      // Never used: the cookie is still checked, in one call, without a wasm half to keep.
      outcome = this.#inner.finishUnused(header, response.status, response.headers.get("vary") ?? undefined);
    } else {
      outcome = this.#inner.finish(inner, response.status, response.headers.get("vary") ?? undefined);
    }
    return outcome instanceof Promise ? outcome.then((o) => finished(response, o)) : finished(response, outcome);
  }

  /** A session by key, outside a request (a cron job, a queue consumer). */
  open(key) {
    const inner = this.#inner.open(String(key));
    return new Session(() => inner);
  }

  /**
   * Django's `session.save()` outside a request; resolves to the cookie value. As in Django, a new
   * session is created even when empty, and one opened by a key whose record is gone is saved
   * under a fresh key; null only when such a session was cleared without being read.
   */
  async save(session) {
    await session.settled();
    return this.#inner.save(wasmOf(session));
  }

  /** Django's `clear_expired()`; resolves to the number removed. */
  async clearExpired() {
    return this.#inner.clearExpired();
  }

  /** A user's live sessions, outside a request (an admin tool): `[{id, created: Date, current: false, meta}]`. */
  async userSessions(userId) {
    return toUserSessions(JSON.parse(await this.#inner.userSessions(userIdOf(userId))));
  }

  /** Revokes a user's session by its public id, outside a request; resolves to whether there was one. */
  async revokeSession(userId, id) {
    return this.#inner.revokeSession(userIdOf(userId), String(id));
  }

  /** Revokes every session of a user (a password change); resolves to how many. */
  async revokeUserSessions(userId) {
    return this.#inner.revokeUserSessions(userIdOf(userId), false);
  }

  /** Account deletion: revokes every session of a user and leaves no index behind; resolves to how many. */
  async eraseUser(userId) {
    return this.#inner.revokeUserSessions(userIdOf(userId), true);
  }

  /** Django's `decode(session_data)`: the data in a stored record, or undefined. */
  decode(sessionData) {
    const json = this.#inner.decode(sessionData);
    return json === undefined ? undefined : JSON.parse(json);
  }

  /** The effective settings (never the secrets). */
  get settings() {
    return JSON.parse(this.#inner.settings());
  }
}

const VARY_COOKIE = Object.freeze({ vary: "Cookie" });

/**
 * The response to send, given the wasm's outcome: `undefined` (no header to add), `true` (only
 * `Vary: Cookie`), a Set-Cookie value (that and `Vary: Cookie`; it starts with the cookie name,
 * a token, never with `{`), or JSON.
 */
function finished(response, outcome) {
  if (outcome === undefined) return response;
  const o = outcome === true ? VARY_COOKIE : outcome.charCodeAt(0) === 123 ? JSON.parse(outcome) : { setCookie: outcome, vary: "Cookie" };
  if (o.error) {
    console.error(`edge-session: ${o.message}`);
    return new Response(o.body, { status: o.status });
  }
  return applyOutcome(response, o);
}

// The wasm side decided everything (src/response.rs): append the cookie, set Vary.
function applyHeaders(headers, outcome) {
  if (outcome.setCookie) headers.append("set-cookie", outcome.setCookie);
  if (outcome.vary) headers.set("vary", outcome.vary);
}

function applyOutcome(response, outcome) {
  if (!outcome.setCookie && !outcome.vary) return response;
  try {
    applyHeaders(response.headers, outcome);
    return response;
  } catch {
    // Immutable headers (a response from fetch): copy it.
    const copy = new Response(response.body, response);
    applyHeaders(copy.headers, outcome);
    return copy;
  }
}

/**
 * The `Sessions` of a wrapper (`withSessions`, `sessionMiddleware`) for `env`: built on the first
 * request and kept while requests bring the same `env` object (workerd hands a worker one `env`
 * per isolate), so settings are read and checked once, not per request; null after logging a
 * configuration error (not kept: the next request tries again).
 */
function sessionsFor(cache, env, options) {
  const keep = typeof env === "object" && env !== null;
  let sessions = keep ? cache.get(env) : undefined;
  if (sessions !== undefined) return sessions;
  try {
    sessions = new Sessions(env, options);
  } catch (e) {
    console.error(`edge-session: ${e.message}`);
    return null;
  }
  if (keep) cache.set(env, sessions);
  return sessions;
}

/** The answer to a configuration error: the detail is in the log, not in the response. */
function configErrorResponse() {
  return new Response(INTERNAL_ERROR, { status: 500 });
}

/**
 * Wraps a fetch handler: `export default { fetch: withSessions(async (request, env, ctx, session) => ...) }`.
 * A configuration error (no SECRET_KEY, a bad setting, a missing binding) is
 * logged with its detail and answered with a plain 500, as the Rust `with_session` does.
 */
export function withSessions(handler, options) {
  const cache = new WeakMap();
  return async (request, env, ctx) => {
    const sessions = sessionsFor(cache, env, options);
    if (!sessions) return configErrorResponse();
    const session = sessions.session(request);
    let response;
    try {
      response = await handler(request, env, ctx, session);
    } catch (e) {
      console.error("edge-session: handler failed:", e);
      response = new Response(INTERNAL_ERROR, { status: 500 });
    }
    return sessions[FINISH](session, response);
  };
}

/**
 * Hono middleware: `app.use(sessionMiddleware())`, then `c.get("session")`.
 * A configuration error is logged and answered with a plain 500 (the route does not run).
 */
export function sessionMiddleware(options) {
  const cache = new WeakMap();
  return async (c, next) => {
    const sessions = sessionsFor(cache, c.env, options);
    if (!sessions) return configErrorResponse();
    const session = sessions.session(c.req.raw);
    c.set("session", session);
    await next();
    const response = c.res;
    const done = await sessions[FINISH](session, response);
    if (done !== response) {
      // Hono merges the old response's headers into a new one; clear it first.
      c.res = undefined;
      c.res = done;
    }
  };
}

/**
 * The Durable Object class of the `db` and `cached_db` engines: one session
 * per object, deleted by an alarm at expiry. Re-export it from your worker
 * (`export { SessionObject } from "edge-session"`) and bind it as `SESSION_DO`.
 */
export class SessionObject {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }

  async fetch(request) {
    const body = await request.text();
    if (new URL(request.url).pathname === "/user") return new Response(await this.#index(body));
    const stored = await this.ctx.storage.get("record");
    const step = JSON.parse(objectStep(body, stored ?? undefined, Math.floor(Date.now() / 1000)));
    if (step.write !== null) {
      await this.ctx.storage.put("record", step.write);
      await this.ctx.storage.setAlarm(step.alarmAt * 1000);
    }
    if (step.deleteAll) {
      // deleteAll() keeps the alarm before compatibility date 2026-02-24.
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
    }
    if (step.inspect) {
      const alarm = await this.ctx.storage.getAlarm();
      return new Response(JSON.stringify({ held: stored !== undefined, alarm: alarm ?? null }));
    }
    return new Response(step.reply);
  }

  // A user's index of sessions (SESSION_USER_INDEX): a request, or the alarm when `body` is undefined.
  async #index(body) {
    const stored = await this.ctx.storage.get("index");
    const step = JSON.parse(indexStep(body, stored ?? undefined, Math.floor(Date.now() / 1000)));
    if (step.write !== null) await this.ctx.storage.put("index", step.write);
    if (step.alarmAt !== null) await this.ctx.storage.setAlarm(step.alarmAt * 1000);
    if (step.deleteAll) {
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
    }
    return step.reply;
  }

  async alarm() {
    if ((await this.ctx.storage.get("index")) !== undefined) {
      await this.#index(undefined);
      return;
    }
    const stored = await this.ctx.storage.get("record");
    const alarmAt = objectAlarm(stored ?? undefined, Math.floor(Date.now() / 1000));
    if (alarmAt === undefined) await this.ctx.storage.deleteAll();
    else await this.ctx.storage.setAlarm(alarmAt * 1000);
  }
}

/**
 * HMACs and storage operations so far in this isolate:
 * `{crypto, kvGet, kvPut, kvDelete, doCall, r2Get, r2Head, r2Put, r2Delete, r2List}`.
 */
export function metrics() {
  const c = JSON.parse(counters());
  return Object.fromEntries(Object.entries(c).map(([name, n]) => [name.replace(/_(.)/g, (_, l) => l.toUpperCase()), n]));
}
