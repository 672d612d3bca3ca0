// The routes of the wasm floor (bench/workers/wasm-floor.js in workerd, bench/lib/npm-ab.mjs in
// Node) over bench/size-floor's `step`, given by the caller that loaded its wasm.

// bench/size-floor's ops.
const CHECK = 0;
const READ = 1;
const MODIFY = 2;
const CREATE = 3;

const AGE = 1209600; // SESSION_COOKIE_AGE
const PREFIX = "floor:";
const READ_OPTIONS = { type: "text" };
const PUT_OPTIONS = { expirationTtl: AGE };

function sessionCookie(request) {
  const header = request.headers.get("cookie");
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === "sessionid") return part.slice(eq + 1).trim();
  }
  return null;
}

function setCookie(value) {
  const expires = new Date(Date.now() + AGE * 1000).toUTCString();
  return `sessionid=${value}; expires=${expires}; HttpOnly; Max-Age=${AGE}; Path=/; SameSite=Lax`;
}

const DELETE_COOKIE = "sessionid=; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax";

// `cookie\nrecord` from CREATE or MODIFY.
async function store(kv, answer, extra) {
  const nl = answer.indexOf("\n");
  const cookie = answer.slice(0, nl);
  await kv.put(PREFIX + cookie.slice(0, cookie.indexOf(":")), answer.slice(nl + 1), PUT_OPTIONS);
  return new Response(extra, { headers: { vary: "Cookie", "set-cookie": setCookie(cookie) } });
}

async function handle(step, request, env) {
  const kv = env.SESSION_KV;
  const secret = env.SECRET_KEY;
  const cookie = sessionCookie(request);
  // `check`: the cookie's MAC, verified at most once per request (never without a cookie).
  const check = () => (cookie === null ? undefined : step(CHECK, cookie, "", secret));
  switch (new URL(request.url).pathname) {
    case "/read": {
      const key = check();
      const stored = key === undefined ? null : await kv.get(PREFIX + key, READ_OPTIONS);
      const user = stored === null ? undefined : step(READ, "", stored, secret);
      return new Response(user ?? "null", { headers: { vary: "Cookie" } });
    }
    case "/modify": {
      const key = check();
      const stored = key === undefined ? null : await kv.get(PREFIX + key, READ_OPTIONS);
      const answer = stored === null ? undefined : step(MODIFY, cookie, stored, secret);
      return store(kv, answer ?? step(CREATE, "", "", secret), "n");
    }
    case "/login":
      // cycle_key on a session without a cookie: a new key, nothing to delete.
      return store(kv, step(CREATE, "", "", secret), "in");
    case "/logout": {
      const key = check();
      if (key !== undefined) await kv.delete(PREFIX + key);
      return new Response("out", { headers: { vary: "Cookie", "set-cookie": DELETE_COOKIE } });
    }
    default:
      // An untouched session: its cookie is still checked, as edge-session checks it (a cookie
      // that is not a session's makes an empty session, whose cookie Django's middleware deletes).
      if (cookie !== null && check() === undefined) {
        return new Response("ok", { headers: { vary: "Cookie", "set-cookie": DELETE_COOKIE } });
      }
      return new Response("ok");
  }
}

/** The floor's fetch handler over `step`. */
export const floorHandler = (step) => (request, env) => handle(step, request, env);
