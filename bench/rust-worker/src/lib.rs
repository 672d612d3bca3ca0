//! The bench scenarios on edge-session's Rust integration: every route runs
//! inside `with_session`, as a user's worker would.
//!
//! | route | handler |
//! |---|---|
//! | `GET /untouched` | does not touch the session |
//! | `GET /read` | reads one key (`user`) |
//! | `POST /modify` | reads and writes one key (`n += 1`) |
//! | `POST /login` | cycles the key, writes `user` |
//! | `POST /logout` | flushes the session |
//! | `GET /__counters` | the bench counters (not a session route) |
//! | `GET /__prof/<step>?n=N` | runs one step of the request path N times (see `prof`) |
use edge_session::workers::{with_session, Sessions};
use wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue};
use worker::js_sys::{Function, Promise, Reflect};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{event, Context, Env, Request, Response, Result};

/// The Durable Object class of the `cached_db` engine.
pub use edge_session::workers::SessionObject;

#[wasm_bindgen(module = "/js/bench_env.js")]
extern "C" {
    #[wasm_bindgen(js_name = benchEnv)]
    fn bench_env(env: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = countsJson)]
    fn counts_json() -> String;
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    if path == "/__counters" {
        let c = edge_session::counters();
        return Response::ok(format!(
            r#"{{"bindings":{},"edge_session":{{"crypto":{},"kv_get":{},"kv_put":{},"kv_delete":{},"do_call":{}}}}}"#,
            counts_json(),
            c.crypto,
            c.kv_get,
            c.kv_put,
            c.kv_delete,
            c.do_call
        ));
    }
    let env: Env = bench_env(env.as_ref()).unchecked_into();
    if let Some(step) = path.strip_prefix("/__prof/") {
        return prof(&req, &env, step).await;
    }
    with_session(req, &env, async |_req, session| match path.as_str() {
        "/read" => {
            let user = session.get::<serde_json::Value>("user").await?;
            Response::ok(user.map_or_else(|| "null".to_owned(), |v| v.to_string()))
        }
        "/modify" => {
            let n = session.get::<serde_json::Value>("n").await?.and_then(|v| v.as_i64()).unwrap_or(0) + 1;
            session.set("n", n.into()).await?;
            Response::ok(n.to_string())
        }
        "/login" => {
            session.cycle_key().await?;
            session.set("user", "alice".into()).await?;
            Response::ok("in")
        }
        "/logout" => {
            session.flush();
            Response::ok("out")
        }
        _ => Response::ok("ok"),
    })
    .await
}

/// Runs one step of the request path `n` times in one request, so that the
/// bench can tell (from the CPU per request at n = 0 and n = N) what each
/// step costs: `await` and `kv_get` (the platform's floor: one awaited
/// promise, one KV stub read, from wasm), `response` (a `Response`),
/// `from_env` (settings and store from `env`, configuration
/// cached per isolate), `cookie_header` (reading the header), `load` (cookie
/// parse and MAC check), `get` (load + the first `get`: KV read, record
/// decode, session-data unsign), `finish` (load + get + finish on a response).
async fn prof(req: &Request, env: &Env, step: &str) -> Result<Response> {
    // The query by hand: `req.url()` would link the `url` crate (and its IDNA
    // tables, ~70 KB gzip) into the worker and distort its size.
    let url = req.inner().url();
    let n: usize = url.split_once("?n=").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let sessions = Sessions::from_env(env)?;
    for _ in 0..n {
        match step {
            "bench_env" => drop(std::hint::black_box(bench_env(env.as_ref()))),
            // The platform's floor under a read: awaiting a resolved JS promise (one wake of the
            // `worker` crate's executor), and the KV stub's `get` awaited from wasm.
            "await" => drop(std::hint::black_box(JsFuture::from(Promise::resolve(&JsValue::NULL)).await)),
            "kv_get" => {
                let kv = Reflect::get(env.as_ref(), &"SESSION_KV".into())?;
                let get: Function = Reflect::get(&kv, &"get".into())?.unchecked_into();
                let promise: Promise = get.call1(&kv, &"bench:absent".into())?.unchecked_into();
                std::hint::black_box(JsFuture::from(promise).await?);
            }
            "response" => drop(std::hint::black_box(Response::ok("x")?)),
            "from_env" => drop(std::hint::black_box(Sessions::from_env(env)?)),
            "cookie_header" => drop(std::hint::black_box(req.headers().get("Cookie")?)),
            "load" => drop(std::hint::black_box(sessions.session(req))),
            "get" => {
                let mut s = sessions.session(req);
                std::hint::black_box(s.get::<serde_json::Value>("user").await?);
            }
            "finish" => {
                let mut s = sessions.session(req);
                std::hint::black_box(s.get::<serde_json::Value>("user").await?);
                drop(sessions.finish(s, Response::ok("x")?).await?);
            }
            _ => return Response::error("unknown step", 404),
        }
    }
    Response::ok("ok")
}
