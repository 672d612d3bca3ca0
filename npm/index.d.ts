// Types of the edge-session npm package. `tests/types/` type-checks a user
// worker against them (`tsc --noEmit`), so they cannot drift from the code.
import type { MiddlewareHandler } from "hono";

/** A JSON value: what a session can hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Settings under Django's names (strings, as Workers vars are). */
export interface SessionSettings {
  SESSION_ENGINE?: "cache" | "db" | "cached_db" | "file" | "signed_cookies" | string;
  SESSION_COOKIE_AGE?: string | number;
  SESSION_COOKIE_NAME?: string;
  SESSION_COOKIE_DOMAIN?: string;
  SESSION_COOKIE_PATH?: string;
  SESSION_COOKIE_SECURE?: string | boolean;
  SESSION_COOKIE_HTTPONLY?: string | boolean;
  SESSION_COOKIE_SAMESITE?: "Lax" | "Strict" | "None" | "off" | string;
  SESSION_EXPIRE_AT_BROWSER_CLOSE?: string | boolean;
  SESSION_SAVE_EVERY_REQUEST?: string | boolean;
  SECRET_KEY?: string;
  /** A JSON array of strings. */
  SECRET_KEY_FALLBACKS?: string;
  SESSION_KV_BINDING?: string;
  SESSION_DO_BINDING?: string;
  SESSION_KV_PREFIX?: string;
  SESSION_KV_CACHE_TTL?: string | number;
  /** `file` engine: the object name prefix (Django's directory); default empty. */
  SESSION_FILE_PATH?: string;
  /** Logins enter a per-user index of sessions to list and revoke (needs the SESSION_DO binding). */
  SESSION_USER_INDEX?: string | boolean;
  /** Django's MESSAGE_LEVEL: the lowest message level kept (default INFO, 20). */
  MESSAGE_LEVEL?: string | number;
  /** Seconds (at least 1): a read whose expiry would move by this much saves the session again. */
  SESSION_REFRESH_AFTER?: string | number;
  /** Seconds (at least 1): a session ends this long after its key was issued. */
  SESSION_ABSOLUTE_AGE?: string | number;
  SESSION_R2_BINDING?: string;
  [name: string]: string | number | boolean | undefined;
}

export interface SessionsOptions {
  /** Overrides of the env vars. */
  settings?: SessionSettings;
  /** The KV namespace to use instead of `env[SESSION_KV_BINDING ?? "SESSION_KV"]`. */
  kv?: unknown;
  /** The Durable Object namespace to use instead of `env[SESSION_DO_BINDING ?? "SESSION_DO"]`. */
  durableObject?: unknown;
  /** The R2 bucket (`file` engine) to use instead of `env[SESSION_R2_BINDING ?? "SESSION_R2"]`. */
  r2?: unknown;
}

/**
 * The error names (`errorNames.StoreError === "StoreError"`), from the library's one table of
 * them: a `SessionError`'s `name` is one of these.
 */
export const errorNames: Readonly<Record<string, string>>;

/** A failure of the session framework; `name` says which (one of `errorNames`: `StoreError`, `ReservedKey`, `ValueError`, `KeyError`, ...). */
export class SessionError extends Error {
  constructor(name: string, message: string);
}

/** Django's KeyError. */
export class KeyError extends SessionError {
  constructor(message: string);
  name: "KeyError";
}

/**
 * `request.session`. Data methods load the session lazily (one store read on
 * first use) and so return promises; calls run one at a time, in order.
 */
export class Session {
  private constructor();
  get<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined>;
  get<T extends JsonValue = JsonValue, D = T>(key: string, defaultValue: D): Promise<T | D>;
  /** Rejects with a TypeError when `value` is not JSON-serialisable. */
  set(key: string, value: JsonValue): Promise<void>;
  /** Rejects with KeyError when absent. */
  delete(key: string): Promise<void>;
  has(key: string): Promise<boolean>;
  keys(): Promise<string[]>;
  values(): Promise<JsonValue[]>;
  entries(): Promise<[string, JsonValue][]>;
  /** Rejects with KeyError when absent and no default is given. */
  pop<T extends JsonValue = JsonValue>(key: string): Promise<T>;
  pop<T extends JsonValue = JsonValue, D = T>(key: string, defaultValue: D): Promise<T | D>;
  setDefault<T extends JsonValue>(key: string, value: T): Promise<T>;
  update(values: { [key: string]: JsonValue }): Promise<void>;
  /** Empties the data (keeps the key). */
  clear(): Promise<void>;
  /** Logout: drops data and key; the stored record is deleted when the response is finished. */
  flush(): Promise<void>;
  /** Keeps the data under a new key; call it at login. */
  cycleKey(): Promise<void>;
  /**
   * Django's `auth.login()`, the session half (flush for another user, else cycle the key; then
   * `_auth_user_id`). With `SESSION_USER_INDEX` the session enters the user's index, with `meta`.
   */
  login(userId: string | number, meta?: { [key: string]: JsonValue }): Promise<void>;
  /** This request's messages (Django's messages framework). */
  readonly messages: Messages;
  /** Django's `auth.logout()`: flush. */
  logout(): Promise<void>;
  /** The logged-in user's id, or null. */
  userId(): Promise<string | null>;
  /** This session's user's live sessions (`SESSION_USER_INDEX`). */
  userSessions(): Promise<UserSession[]>;
  /** Signs out one of this user's sessions; whether one was revoked. */
  revokeSession(id: string): Promise<boolean>;
  /** Signs out every session of this user (or every other one); how many. */
  revokeUserSessions(options?: { keepCurrent?: boolean }): Promise<number>;
  setTestCookie(): Promise<void>;
  testCookieWorked(): Promise<boolean>;
  deleteTestCookie(): Promise<void>;
  /**
   * Seconds of inactivity, `0` for a browser-length cookie, `null` for the global policy, or a Date.
   * Throws a TypeError for NaN, ±Infinity, numbers past ±Number.MAX_SAFE_INTEGER and invalid Dates.
   */
  setExpiry(value: number | Date | null): Promise<void>;
  getExpiryAge(): Promise<number>;
  getExpiryDate(): Promise<Date>;
  getExpireAtBrowserClose(): Promise<boolean>;
  /** No key and no data; never loads. Throws a TypeError while session calls are pending (await them first). */
  isEmpty(): boolean;
  /** The session key, or null (a new session gets one when the response is finished). Throws a TypeError while calls are pending. */
  readonly sessionKey: string | null;
  /** Set to true after changing a stored value in place (queued after earlier calls). Reading throws a TypeError while calls are pending. */
  modified: boolean;
  /** Throws a TypeError while calls are pending. */
  readonly accessed: boolean;
  /** Resolves once every call made so far has run (whether it succeeded or not). */
  settled(): Promise<void>;
}

/** Django's message levels; any integer is a level too. */
export const messageLevels: { readonly DEBUG: 10; readonly INFO: 20; readonly SUCCESS: 25; readonly WARNING: 30; readonly ERROR: 40 };

/** A message, as `session.messages.get()` gives it. */
export interface Message {
  level: number;
  message: string;
  extraTags: string;
  /** `debug`, `info`, `success`, `warning`, `error`, or "" for a custom level. */
  levelTag: string;
  /** The extra tags, then the level tag (Django's `tags`). */
  tags: string;
}

/** A request's messages (Django's messages framework, stored in the session as Django's SessionStorage does). */
export interface Messages {
  /** Adds a message unless it is empty or below MESSAGE_LEVEL (default INFO). Throws a TypeError for a non-integer level. */
  add(level: number, message: string, extraTags?: string): Promise<void>;
  debug(message: string, extraTags?: string): Promise<void>;
  info(message: string, extraTags?: string): Promise<void>;
  success(message: string, extraTags?: string): Promise<void>;
  warning(message: string, extraTags?: string): Promise<void>;
  error(message: string, extraTags?: string): Promise<void>;
  /** The stored messages and this request's; they are consumed. */
  get(): Promise<Message[]>;
  /** Keeps the messages read for the next request. */
  keep(): Promise<void>;
}

/** One of a user's sessions, as `userSessions()` lists it. */
export interface UserSession {
  /** A public id (never the session key): give it to `revokeSession`. */
  id: string;
  /** When it logged in. */
  created: Date;
  /** Whether it is the asking request's session. */
  current: boolean;
  /** The metadata given at login, or null. */
  meta: { [key: string]: JsonValue } | null;
}

export class Sessions {
  constructor(env: object, options?: SessionsOptions);
  /** The request's session, at once (no I/O: no store is touched until it is used). */
  session(request: Request): Session;
  /** Saves as needed and returns the response with Set-Cookie and Vary: Cookie. */
  finish(session: Session, response: Response): Promise<Response>;
  /** A session by key, outside a request. */
  open(key: string): Session;
  /** Django's `session.save()` outside a request; resolves to the cookie value. */
  save(session: Session): Promise<string | null>;
  /** Django's `clear_expired()`. */
  clearExpired(): Promise<number>;
  /** A user's live sessions, outside a request (`SESSION_USER_INDEX`). */
  userSessions(userId: string | number): Promise<UserSession[]>;
  /** Revokes a user's session by its public id; whether there was one. */
  revokeSession(userId: string | number, id: string): Promise<boolean>;
  /** Revokes every session of a user; how many. */
  revokeUserSessions(userId: string | number): Promise<number>;
  /** Account deletion: revokes every session of a user and erases the index; how many. */
  eraseUser(userId: string | number): Promise<number>;
  /** Django's `decode(session_data)`. */
  decode(sessionData: string): { [key: string]: JsonValue } | undefined;
  readonly settings: { [name: string]: JsonValue };
}

/** `export default { fetch: withSessions(async (request, env, ctx, session) => response) }`. */
export function withSessions<Env = unknown, Ctx = unknown>(
  handler: (request: Request, env: Env, ctx: Ctx, session: Session) => Response | Promise<Response>,
  options?: SessionsOptions,
): (request: Request, env: Env, ctx: Ctx) => Promise<Response>;

/** What the Hono middleware sets: `c.get("session")`. */
export type SessionVariables = { session: Session };

/**
 * Hono middleware: `app.use(sessionMiddleware())`, then `c.get("session")`; with
 * `new Hono<{ Variables: SessionVariables }>()` the variable is typed without the global augmentation.
 */
export function sessionMiddleware(options?: SessionsOptions): MiddlewareHandler<{ Variables: SessionVariables }>;

/** The Durable Object class of the `db` and `cached_db` engines; re-export it and bind it as SESSION_DO. */
export class SessionObject {
  constructor(ctx: unknown, env: unknown);
  fetch(request: Request): Promise<Response>;
  alarm(): Promise<void>;
}

/** HMACs and storage operations so far in this isolate. */
export function metrics(): {
  crypto: number;
  kvGet: number;
  kvPut: number;
  kvDelete: number;
  doCall: number;
  r2Get: number;
  r2Head: number;
  r2Put: number;
  r2Delete: number;
  r2List: number;
};

declare module "hono" {
  interface ContextVariableMap {
    session: Session;
  }
}
