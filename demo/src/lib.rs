//! The demo worker: the entry points that the root `wrangler.toml` builds
//! (`cd demo && worker-build --release`). Static pages come from `www/` (served by Workers assets); the
//! worker serves the session ops endpoint of `docs/test-api.md` when
//! `SESSION_TEST_API` is `"1"` (local dev and tests; the deploy config leaves
//! it unset), and clears expired sessions on its cron trigger.

use serde_json::json;
use worker::{console_error, event, Context, Env, Method, Request, Response, Result, ScheduleContext, ScheduledEvent};

mod site;

use edge_session::ops::OpsRequest;
use edge_session::platform::EnvSource;
use edge_session::store::object::ObjectOp;
use edge_session::workers::Sessions;
use edge_session::{counters, Counters};

/// The Durable Object class of the `db` and `cached_db` engines, exported
/// from this worker as a user's worker exports it.
pub use edge_session::workers::SessionObject;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    if let Some(rest) = path.strip_prefix("/_session/") {
        if EnvSource::new(AsRef::<wasm_bindgen::JsValue>::as_ref(&env).clone()).var("SESSION_TEST_API").as_deref()
            != Some("1")
        {
            return Response::error("Not Found", 404);
        }
        let rest = rest.to_owned();
        return test_api(req, &env, &rest).await;
    }
    site::route(req, &env).await
}

/// Django's `clearsessions`, on the cron trigger.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    match Sessions::from_env(&env) {
        Ok(sessions) => match sessions.manager().clear_expired().await {
            Ok(n) => worker::console_log!("edge-session: cleared {n} expired sessions"),
            Err(e) => console_error!("edge-session: clear_expired failed: {e:#}"),
        },
        Err(e) => console_error!("{e:#}"),
    }
}

fn json_headers() -> Result<worker::Headers> {
    let headers = worker::Headers::new();
    headers.set("Content-Type", "application/json")?;
    Ok(headers)
}

fn json_response(body: &serde_json::Value, status: u16) -> Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

/// The counters a request cost, as a header for the tests.
fn with_counters(mut response: Response, before: &Counters) -> Result<Response> {
    let value = counters().since(before).to_header();
    response.headers_mut().set("X-Edge-Session-Counters", &value)?;
    Ok(response)
}

/// The test endpoint's settings: the worker's, with what the user ops need
/// turned on unless the worker sets it (docs/test-api.md).
fn test_api_source(env: &Env) -> EnvSource {
    let mut source = EnvSource::new(AsRef::<wasm_bindgen::JsValue>::as_ref(env).clone());
    if source.var("SESSION_USER_INDEX").is_none() {
        source.set("SESSION_USER_INDEX", "true");
    }
    source
}

async fn test_api(mut req: Request, env: &Env, route: &str) -> Result<Response> {
    let before = counters();
    let sessions = match Sessions::from_source(&test_api_source(env)) {
        Ok(s) => s,
        Err(e) => return json_response(&json!({ "error": e.name(), "message": format!("{e:#}") }), 500),
    };
    let response = match (req.method(), route) {
        (Method::Post, "ops") => {
            // The body is validated before the session is touched: a bad
            // body is a 400 and the session is left alone.
            let body = req.bytes().await?;
            let ops = match OpsRequest::parse(&body) {
                Ok(ops) => ops,
                Err(e) => return json_response(&e.to_json(), 400),
            };
            let mut session = sessions.session(&req);
            let result = ops.run(&mut session, sleep).await;
            sessions.finish(session, json_response(&result, ops.status)?).await?
        }
        (Method::Get, "config") => json_response(&sessions.manager().settings().to_public_json(), 200)?,
        (Method::Post, "clear_expired") => match sessions.manager().clear_expired().await {
            Ok(n) => json_response(&json!({ "cleared": n }), 200)?,
            Err(e) => json_response(&json!({ "error": e.name(), "message": format!("{e:#}") }), 500)?,
        },
        // Sessions outside a request: open by key, run ops, save, report the
        // decoded data (what a scheduled job or queue consumer would do).
        (Method::Post, by_key) if by_key.starts_with("by_key/") => {
            let key = &by_key["by_key/".len()..];
            let body = req.bytes().await?;
            let ops = match OpsRequest::parse(&body) {
                Ok(ops) => ops,
                Err(e) => return json_response(&e.to_json(), 400),
            };
            let manager = sessions.manager();
            let mut session = manager.open(key);
            let mut result = ops.run(&mut session, sleep).await;
            if session.modified() {
                if let Err(e) = manager.save(&mut session).await {
                    return json_response(&json!({ "error": "SaveError", "message": format!("{e:#}") }), e.status());
                }
            }
            result["data"] =
                json!(session.items().await.map(|items| items.into_iter().collect::<serde_json::Map<_, _>>()).ok());
            json_response(&result, 200)?
        }
        // The raw reply of a session's Durable Object to a load (tests check
        // that the expiry alarm really deleted the record), or to `inspect`
        // (what it stores, and its alarm).
        // The store conformance suite on the `file` engine's R2 store, over
        // this worker's R2 binding (local R2 under Miniflare), with the
        // suite's own clock (R2 has no TTL: expiry is the store's check).
        (Method::Post, "conformance/file") => conformance_on_r2(env).await?,
        (Method::Get, object) if object.starts_with("object/") => {
            object_reply(env, &object["object/".len()..], ObjectOp::Load).await?
        }
        (Method::Get, inspect) if inspect.starts_with("inspect/") => {
            object_reply(env, &inspect["inspect/".len()..], ObjectOp::Inspect).await?
        }
        _ => Response::error("Not Found", 404)?,
    };
    with_counters(response, &before)
}

/// Runs `store::conformance` on a `FileStore` over the R2 binding, under a
/// prefix of its own (`conformance/<now>/`), and reports it.
async fn conformance_on_r2(env: &Env) -> Result<Response> {
    use edge_session::platform::{R2Bucket, DEFAULT_R2_BINDING};
    use edge_session::store::conformance::{self, Capabilities};
    use edge_session::store::file::FileStore;
    let raw: &wasm_bindgen::JsValue = env.as_ref();
    let binding = EnvSource::new(raw.clone()).var("SESSION_R2_BINDING").unwrap_or_else(|| DEFAULT_R2_BINDING.into());
    let bucket = js_sys_get(raw, &binding);
    if !bucket.is_object() {
        return json_response(&json!({ "error": "ConfigError", "message": format!("no R2 binding {binding:?}") }), 500);
    }
    let clock = edge_session::FixedClock::new(1_000_000);
    let path = format!("conformance/{}", worker::Date::now().as_millis());
    let make = || FileStore::new(R2Bucket::new(bucket.clone()), &path, "sessionid", clock.clone());
    let report = conformance::run(make, &clock, Capabilities::DURABLE).await;
    json_response(&json!({ "checks": report.checks, "failures": report.failures }), 200)
}

/// `object[name]`, `undefined` when absent.
fn js_sys_get(object: &wasm_bindgen::JsValue, name: &str) -> wasm_bindgen::JsValue {
    worker::js_sys::Reflect::get(object, &name.into()).unwrap_or(wasm_bindgen::JsValue::UNDEFINED)
}

/// The `sleep` op's timer.
fn sleep(ms: u32) -> worker::Delay {
    worker::Delay::from(std::time::Duration::from_millis(u64::from(ms)))
}

/// The session object's raw reply to `op`.
async fn object_reply(env: &Env, key: &str, op: ObjectOp) -> Result<Response> {
    let ns = env.durable_object(edge_session::platform::DEFAULT_DO_BINDING)?;
    let stub = ns.id_from_name(key)?.get_stub()?;
    let mut init = worker::RequestInit::new();
    init.with_method(Method::Post).with_body(Some(op.to_body().into()));
    let mut reply = stub.fetch_with_request(Request::new_with_init("https://session-object/", &init)?).await?;
    Ok(Response::ok(reply.text().await?)?.with_headers(json_headers()?))
}
