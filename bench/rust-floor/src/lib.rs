//! The Rust wasm floor: the bench scenarios with Django's wire-format work
//! only (bench/size-floor's `step`: the cookie's MAC, the record's signature,
//! its payload codec and JSON, a new key) and the KV calls and headers through
//! the `worker` crate, as bench/workers/wasm-floor.js does them in JS. No
//! settings, expiry, engines, merging or errors: what edge-session (Rust) adds
//! over this worker is its own code.
#[path = "../../size-floor/src/lib.rs"]
mod wire;

use std::cell::OnceCell;
use wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue};
use wire::step;
use worker::js_sys::Date;
use worker::kv::KvStore;
use worker::{event, Context, Env, Request, Response, Result};

#[wasm_bindgen(module = "/js/bench_env.js")]
extern "C" {
    #[wasm_bindgen(js_name = benchEnv)]
    fn bench_env(env: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = countsJson)]
    fn counts_json() -> String;
}

// bench/size-floor's ops.
const CHECK: u8 = 0;
const READ: u8 = 1;
const MODIFY: u8 = 2;
const CREATE: u8 = 3;

const AGE: u64 = 1_209_600; // SESSION_COOKIE_AGE
const DELETE_COOKIE: &str = "sessionid=; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax";

thread_local! {
    /// SECRET_KEY, read once per isolate (and kept for its life).
    static SECRET: OnceCell<&'static str> = const { OnceCell::new() };
}

fn session_cookie(header: &str) -> Option<&str> {
    header.split(';').find_map(|part| {
        let (name, value) = part.split_once('=')?;
        (name.trim() == "sessionid").then(|| value.trim())
    })
}

fn with_headers(body: &str, set_cookie: Option<&str>) -> Result<Response> {
    let mut response = Response::ok(body)?;
    let headers = response.headers_mut();
    headers.set("vary", "Cookie")?;
    if let Some(c) = set_cookie {
        headers.set("set-cookie", c)?;
    }
    Ok(response)
}

/// Stores `key:tag\nrecord` (from CREATE or MODIFY) and sets the cookie.
async fn store(kv: &KvStore, answer: Option<String>, body: &str) -> Result<Response> {
    let Some((cookie, record)) = answer.as_deref().and_then(|a| a.split_once('\n')) else {
        return Response::error("cannot sign", 500);
    };
    let key = cookie.split_once(':').map_or(cookie, |(k, _)| k);
    kv.put(&format!("floor:{key}"), record)?.expiration_ttl(AGE).execute().await?;
    let expires = Date::new(&JsValue::from_f64(Date::now() + AGE as f64 * 1000.0)).to_utc_string();
    let set = format!("sessionid={cookie}; expires={expires}; HttpOnly; Max-Age={AGE}; Path=/; SameSite=Lax");
    with_headers(body, Some(&set))
}

/// The record under the checked cookie's key, if any.
async fn stored(kv: &KvStore, key: &Option<String>) -> Result<Option<String>> {
    Ok(match key {
        Some(k) => kv.get(&format!("floor:{k}")).text().await?,
        None => None,
    })
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    if path == "/__counters" {
        return Response::ok(format!(r#"{{"bindings":{}}}"#, counts_json()));
    }
    let env: Env = bench_env(env.as_ref()).unchecked_into();
    let secret = match SECRET.with(|s| s.get().copied()) {
        Some(s) => s,
        None => {
            let s: &'static str = Box::leak(env.var("SECRET_KEY")?.to_string().into_boxed_str());
            SECRET.with(|c| c.set(s)).ok();
            s
        }
    };
    let kv = env.kv("SESSION_KV")?;
    let cookie = req.headers().get("cookie")?;
    let cookie = cookie.as_deref().and_then(session_cookie);
    // `key`: the cookie's MAC, verified at most once per request (never without a cookie).
    let key = || cookie.and_then(|c| step(CHECK, c, "", secret));
    match path.as_str() {
        "/read" => {
            let user = stored(&kv, &key()).await?.and_then(|s| step(READ, "", &s, secret));
            with_headers(user.as_deref().unwrap_or("null"), None)
        }
        "/modify" => {
            let answer = match (cookie, stored(&kv, &key()).await?) {
                (Some(c), Some(s)) => step(MODIFY, c, &s, secret),
                _ => None,
            };
            store(&kv, answer.or_else(|| step(CREATE, "", "", secret)), "n").await
        }
        // cycle_key on a session without a cookie: a new key, nothing to delete.
        "/login" => store(&kv, step(CREATE, "", "", secret), "in").await,
        "/logout" => {
            if let Some(k) = &key() {
                kv.delete(&format!("floor:{k}")).await?;
            }
            with_headers("out", Some(DELETE_COOKIE))
        }
        // An untouched session: its cookie is still checked, as edge-session checks it (a cookie
        // that is not a session's makes an empty session, whose cookie Django's middleware deletes).
        _ if cookie.is_some() && key().is_none() => with_headers("ok", Some(DELETE_COOKIE)),
        _ => Response::ok("ok"),
    }
}
