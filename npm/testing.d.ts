import type { SessionsOptions, JsonValue } from "./index.js";

/** A new session holding `data`, saved in the store `env` configures; resolves to the `Cookie` header to send. */
export function sessionCookie(env: object, data?: { [key: string]: JsonValue }, options?: SessionsOptions): Promise<string>;
/** A new session logged in as `userId` (Django's `force_login`), with `data`; resolves to the `Cookie` header. */
export function loginCookie(
  env: object,
  userId: string | number,
  data?: { [key: string]: JsonValue },
  options?: SessionsOptions,
): Promise<string>;
/**
 * The data of the session a response left (its Set-Cookie, else `options.cookie`, the Cookie header sent);
 * null when the cookie was deleted or there is no session.
 */
export function readSession(
  env: object,
  response: Response | string,
  options?: SessionsOptions & { cookie?: string },
): Promise<{ [key: string]: JsonValue } | null>;
