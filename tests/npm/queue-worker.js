// Scenarios of the JS Session's call queue and argument checks, answered as
// JSON for tests/npm/api.test.mjs: what a handler sees when it does not await.
import { withSessions, Sessions, SessionObject, KeyError, SessionError, metrics } from "edge-session";

export { SessionObject };

/** The outcome of `f()`: its value, or the error's name and message. */
function attempt(f) {
  try {
    return { value: f() };
  } catch (e) {
    return { error: e.name, message: e.message };
  }
}

const SCENARIOS = {
  // KeyError is a SessionError; the session's wasm half is not reachable.
  async errorsAndPrivacy(session) {
    let caught;
    try {
      await session.delete("absent");
    } catch (e) {
      caught = e;
    }
    let reserved;
    try {
      await session.set("_auth_user_id", "1");
    } catch (e) {
      reserved = e;
    }
    return {
      reserved: [reserved?.name, reserved instanceof SessionError, await session.set("a", [1])],
      name: caught.name,
      keyError: caught instanceof KeyError,
      sessionError: caught instanceof SessionError,
      ownKeys: Object.getOwnPropertyNames(session),
      inner: "_inner" in session,
      metrics: Object.keys(metrics()).sort(),
    };
  },
  // A synchronous read with a call pending: a TypeError that says what to do;
  // once settled, the state after the queued calls.
  // (The request brings the cookie of a saved session, so the first call must load it.)
  async readWhilePending(session) {
    session.get("a");
    const pending = session.set("b", 1);
    const during = {
      modified: attempt(() => session.modified),
      accessed: attempt(() => session.accessed),
      sessionKey: attempt(() => session.sessionKey),
      isEmpty: attempt(() => session.isEmpty()),
    };
    await pending;
    return { during, after: { modified: session.modified, accessed: session.accessed, isEmpty: session.isEmpty() } };
  },
  async seed(session) {
    await session.set("a", 1);
    return {};
  },
  // A call that needs no store (a new session: nothing to load) runs at once: no call is
  // pending after it, and the synchronous reads see it.
  async answersAtOnce(session) {
    const done = session.set("a", 1);
    const seen = { modified: attempt(() => session.modified), isEmpty: attempt(() => session.isEmpty()) };
    await done;
    return seen;
  },
  // A request without a Cookie header whose session is never used: the finish adds nothing
  // and costs nothing; the session cannot be used after it (as after any finish).
  async unusedWithoutCookie(session, env) {
    const sessions = new Sessions(env);
    const unused = sessions.session(new Request("https://example.com/"));
    const before = metrics().crypto;
    const response = await sessions.finish(unused, new Response("x"));
    let after;
    try {
      await unused.get("a");
    } catch (e) {
      after = e.message;
    }
    return { setCookie: response.headers.get("set-cookie"), vary: response.headers.get("vary"), crypto: metrics().crypto - before, after };
  },
  // `modified = false` made after an unawaited set applies after it.
  async setterIsQueued(session) {
    session.set("a", 1);
    session.modified = false;
    await session.settled();
    return { modified: session.modified };
  },
  // Non-finite and out-of-range expiries are refused at the call.
  async badExpiries(session) {
    const out = {};
    for (const [name, v] of [["NaN", NaN], ["Infinity", Infinity], ["-Infinity", -Infinity], ["1e19", 1e19], ["string", "300"], ["invalidDate", new Date("nope")]]) {
      out[name] = attempt(() => session.setExpiry(v)).error ?? "accepted";
    }
    await session.setExpiry(300);
    out.age = await session.getExpiryAge();
    return out;
  },
};

export default {
  fetch: withSessions(async (request, env, ctx, session) => {
    const name = new URL(request.url).pathname.slice(1);
    return Response.json(await SCENARIOS[name](session, env));
  }),
};
