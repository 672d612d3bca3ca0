//! The npm package's wasm-bindgen layer, run in Node by `wasm-pack test
//! --node -- --features js --test js_bindings`: the JS-facing API over
//! JavaScript KV and Durable Object bindings (plain JS objects here), the
//! Durable Object protocol exports, and the value conversions. With
//! `--features js,workers` it also checks what the `worker` integration makes
//! of the errors (`worker::Error` keeping the JS exception as its source).
#![cfg(all(target_arch = "wasm32", feature = "js"))]

use edge_session::js::error_names;
use edge_session::js::{counters, object_alarm, object_step, WasmSessions};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

#[wasm_bindgen(inline_js = r#"
export function memoryKv() {
  const map = new Map();
  return {
    map,
    async get(key, options) { return map.has(key) ? map.get(key) : null; },
    async put(key, value, options) {
      if (!(options.expirationTtl >= 60)) throw new Error("expirationTtl below 60");
      map.set(key, value);
    },
    async delete(key) { map.delete(key); },
  };
}
export function failingKv() {
  return {
    async get() { throw new Error("KV GET failed: 503"); },
    async put() { throw new Error("KV PUT failed: 429 Too Many Requests"); },
    async delete() { throw new Error("KV DELETE failed"); },
  };
}
export function kvSize(kv) { return kv.map.size; }
export function memoryObjects(step) {
  // A Durable Object namespace whose objects run the shared object protocol
  // (`step` is objectStep, at the test's clock) over an in-memory storage.
  const stored = new Map();
  return {
    idFromName(name) { return name; },
    get(id) {
      return {
        async fetch(url, init) {
          const out = JSON.parse(step(init.body, stored.get(id)));
          if (out.write !== null) stored.set(id, out.write);
          if (out.deleteAll) stored.delete(id);
          return new Response(out.reply);
        },
      };
    },
  };
}
export function memoryR2() {
  // An R2 bucket as the binding behaves: onlyIf conditions on put (a failed
  // one resolves to null), ETags that change with the content, custom
  // metadata, paged listing, bulk delete.
  const objects = new Map();
  let uploads = 0;
  const view = (key, o) => ({ key, etag: o.etag, customMetadata: { ...o.customMetadata } });
  return {
    objects,
    async get(key) {
      const o = objects.get(key);
      return o ? { ...view(key, o), async text() { return o.body; } } : null;
    },
    async head(key) {
      const o = objects.get(key);
      return o ? view(key, o) : null;
    },
    async put(key, body, options) {
      const existing = objects.get(key);
      const only = options.onlyIf ?? {};
      if (only.etagDoesNotMatch === "*" && existing) return null;
      if (only.etagMatches !== undefined && existing?.etag !== only.etagMatches) return null;
      if (typeof body !== "string") throw new TypeError("a string body");
      const o = { body, etag: `e${++uploads}-${body.length}`, customMetadata: { ...options.customMetadata } };
      objects.set(key, o);
      return view(key, o);
    },
    async delete(keys) {
      for (const k of Array.isArray(keys) ? keys : [keys]) objects.delete(k);
    },
    async list(options) {
      if (!options.include?.includes("customMetadata")) throw new Error("customMetadata not included");
      const names = [...objects.keys()].filter((k) => k.startsWith(options.prefix ?? "")).sort();
      const from = options.cursor ? names.findIndex((k) => k > options.cursor) : 0;
      const rest = from < 0 ? [] : names.slice(from);
      const page = rest.slice(0, options.limit);
      const truncated = rest.length > page.length;
      return { objects: page.map((k) => view(k, objects.get(k))), truncated, cursor: truncated ? page[page.length - 1] : undefined };
    },
  };
}
export function r2Size(bucket) { return bucket.objects.size; }
export function env(vars) { return Object.assign({}, vars); }
"#)]
extern "C" {
    fn memoryKv() -> JsValue;
    fn failingKv() -> JsValue;
    #[wasm_bindgen(js_name = kvSize)]
    fn kv_size(kv: &JsValue) -> u32;
    #[wasm_bindgen(js_name = memoryObjects)]
    fn memory_objects(step: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = memoryR2)]
    fn memory_r2() -> JsValue;
    #[wasm_bindgen(js_name = r2Size)]
    fn r2_size(bucket: &JsValue) -> u32;
    fn env(vars: JsValue) -> JsValue;
}

fn vars(pairs: &[(&str, &str)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        js_sys::Reflect::set(&o, &(*k).into(), &(*v).into()).unwrap();
    }
    env(o.into())
}

/// What a call answered: its value at once, or what its `Promise` settles with.
async fn settled(answer: Result<JsValue, JsValue>) -> Result<JsValue, JsValue> {
    match answer?.dyn_into::<js_sys::Promise>() {
        Ok(promise) => JsFuture::from(promise).await,
        Err(value) => Ok(value),
    }
}

async fn text(answer: Result<JsValue, JsValue>) -> Result<Option<String>, JsValue> {
    settled(answer).await.map(|v| v.as_string())
}

/// The `name=value` of a save's finish, which answers the Set-Cookie value alone (its
/// `Vary: Cookie` implied) rather than JSON.
fn saved_cookie(outcome: String) -> String {
    assert!(outcome.starts_with("sessionid="), "a plain Set-Cookie value, not JSON: {outcome}");
    assert!(outcome.contains("; HttpOnly"), "{outcome}");
    outcome.split(';').next().unwrap().to_owned()
}

async fn op(session: &edge_session::js::WasmSession, op: Value) -> Value {
    serde_json::from_str(&text(session.op(op.to_string())).await.unwrap().unwrap()).unwrap()
}

#[wasm_bindgen_test]
async fn a_cache_session_round_trips_through_a_js_kv_binding() {
    let kv = memoryKv();
    let sessions = cache_sessions(kv.clone());
    let session = sessions.load(None);
    assert_eq!(op(&session, json!({"op": "set", "key": "cart", "value": [1, 2]})).await, json!({"ok": null}));
    let cookie = saved_cookie(text(sessions.finish(&session, 200, None)).await.unwrap().unwrap());
    assert_eq!(kv_size(&kv), 1);
    let again = sessions.load(Some(cookie));
    assert_eq!(text(again.get("cart".into())).await.unwrap().as_deref(), Some("[1,2]"));
    assert_eq!(text(again.get("missing".into())).await.unwrap(), None, "absent keys are undefined");
    assert!(!again.modified().unwrap());
    assert!(again.accessed().unwrap());
}

#[wasm_bindgen_test]
async fn a_call_that_needs_no_store_answers_at_once_and_one_that_waits_answers_a_promise() {
    let is_promise = |v: &JsValue| v.is_instance_of::<js_sys::Promise>();
    let kv = memoryKv();
    let sessions = cache_sessions(kv.clone());
    // Nothing touched: no header, no promise.
    assert!(sessions.finish(&sessions.load(None), 200, None).unwrap().is_undefined());
    // A new session's set needs no store; its finish writes to KV, so it waits.
    let fresh = sessions.load(None);
    assert!(fresh.set("a".into(), "[1]".into()).unwrap().is_undefined());
    let error = fresh.set("_a".into(), "1".into()).unwrap().as_string().unwrap();
    assert_eq!(serde_json::from_str::<Value>(&error).unwrap()["error"], "ReservedKey");
    let finished = sessions.finish(&fresh, 200, None).unwrap();
    assert!(is_promise(&finished));
    let cookie = saved_cookie(text(Ok(finished)).await.unwrap().unwrap());
    // A request whose session is never used is finished in one call; its valid cookie stays.
    assert!(sessions.finish_unused(Some(cookie.clone()), 200, None).unwrap().is_undefined());
    assert!(sessions.finish_unused(None, 200, None).unwrap().is_undefined());
    // The first read waits for KV; the second answers from wasm memory.
    let again = sessions.load(Some(cookie));
    let first = again.get("a".into()).unwrap();
    assert!(is_promise(&first));
    assert_eq!(text(Ok(first)).await.unwrap().as_deref(), Some("[1]"));
    assert_eq!(again.get("a".into()).unwrap().as_string().as_deref(), Some("[1]"));
    // Read, not modified: only `Vary: Cookie`, said as `true`; with a Vary already there, as JSON.
    assert_eq!(sessions.finish(&again, 200, None).unwrap(), JsValue::TRUE);
    let other = sessions.load(None);
    op(&other, json!({"op": "get", "key": "a"})).await;
    let merged = sessions.finish(&other, 200, Some("Accept".into())).unwrap().as_string().unwrap();
    assert_eq!(serde_json::from_str::<Value>(&merged).unwrap()["vary"], "Accept, Cookie");
}

#[wasm_bindgen_test]
async fn errors_come_back_as_named_results_not_panics() {
    let sessions = WasmSessions::new(
        vars(&[("SECRET_KEY", "k"), ("SESSION_ENGINE", "signed_cookies")]),
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    )
    .unwrap();
    let session = sessions.load(Some("sessionid=garbage".into()));
    assert_eq!(op(&session, json!({"op": "delete", "key": "nope"})).await["error"], "KeyError");
    assert_eq!(op(&session, json!({"op": "set", "key": "_x", "value": 1})).await["error"], "ReservedKey");
    assert_eq!(op(&session, json!({"op": "explode"})).await["error"], "TypeError");
    // A stored value shaped like an error is still a value.
    let lookalike = json!({"error": "KeyError", "message": "not really"});
    op(&session, json!({"op": "set", "key": "e", "value": lookalike.clone()})).await;
    assert_eq!(op(&session, json!({"op": "pop", "key": "e"})).await, json!({"ok": lookalike}));
    assert_eq!(op(&session, json!("not an object")).await["error"], "TypeError");
}

/// Sessions of the `cache` engine over a KV binding whose every call throws.
/// `cache` sessions over the KV binding `kv`.
fn cache_sessions(kv: JsValue) -> WasmSessions {
    WasmSessions::new(
        vars(&[("SECRET_KEY", "k"), ("SESSION_ENGINE", "cache")]),
        JsValue::UNDEFINED,
        kv,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    )
    .unwrap()
}

fn cache_sessions_over_a_failing_kv() -> WasmSessions {
    cache_sessions(failingKv())
}

#[wasm_bindgen_test]
async fn a_failing_kv_is_an_error_and_sends_no_cookie() {
    let sessions = cache_sessions_over_a_failing_kv();
    let session = sessions.load(None);
    op(&session, json!({"op": "set", "key": "x", "value": 1})).await;
    let outcome: Value =
        serde_json::from_str(&text(sessions.finish(&session, 200, None)).await.unwrap().unwrap()).unwrap();
    assert_eq!(outcome["status"], 500);
    assert!(outcome["message"].as_str().unwrap().contains("429"), "{outcome}");
    assert_eq!(outcome["body"], "Internal Server Error", "the detail is for the log only");
    assert!(outcome.get("setCookie").is_none());
}

#[wasm_bindgen_test]
async fn cycle_key_and_flush_are_direct_calls_that_answer_nothing_or_a_named_error() {
    let kv = memoryKv();
    let sessions = cache_sessions(kv.clone());
    let fresh = sessions.load(None);
    assert!(fresh.set("cart".into(), "[1]".into()).unwrap().is_undefined());
    // A new session has nothing to load: its cycle_key answers at once.
    assert!(fresh.cycle_key().unwrap().is_undefined());
    let cookie = saved_cookie(text(sessions.finish(&fresh, 200, None)).await.unwrap().unwrap());
    // A cookie's session is loaded first; its data moves to a new key, the old record goes.
    let again = sessions.load(Some(cookie.clone()));
    assert!(settled(again.cycle_key()).await.unwrap().is_undefined());
    let cycled = saved_cookie(text(sessions.finish(&again, 200, None)).await.unwrap().unwrap());
    assert_ne!(cycled, cookie);
    assert_eq!(kv_size(&kv), 1, "only the new key's record");
    let last = sessions.load(Some(cycled.clone()));
    assert_eq!(text(last.get("cart".into())).await.unwrap().as_deref(), Some("[1]"));
    // flush never loads and never fails; the finish deletes the record and the cookie.
    assert!(last.flush().unwrap().is_undefined());
    let deleted = text(sessions.finish(&last, 200, None)).await.unwrap().unwrap();
    assert!(deleted.starts_with("sessionid=\"\"") && deleted.contains("Max-Age=0"), "{deleted}");
    assert_eq!(kv_size(&kv), 0);
    // A store that fails the load: the named error, as JSON (the package throws it as a SessionError).
    let failing = cache_sessions_over_a_failing_kv().load(Some(cycled));
    let error = text(failing.cycle_key()).await.unwrap().unwrap();
    assert_eq!(serde_json::from_str::<Value>(&error).unwrap()["error"], "StoreError", "{error}");
}

#[wasm_bindgen_test]
fn configuration_errors_name_the_setting_or_binding() {
    let e = WasmSessions::new(
        vars(&[("SESSION_ENGINE", "db")]),
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    );
    assert!(e.is_err());
    let settings = js_sys::Object::new();
    js_sys::Reflect::set(&settings, &"SECRET_KEY".into(), &"k".into()).unwrap();
    js_sys::Reflect::set(&settings, &"SESSION_ENGINE".into(), &"db".into()).unwrap();
    let missing =
        WasmSessions::new(vars(&[]), settings.into(), JsValue::UNDEFINED, JsValue::UNDEFINED, JsValue::UNDEFINED);
    assert!(missing.is_err(), "db without a Durable Object binding is refused");
}

#[wasm_bindgen_test]
fn the_durable_object_protocol_is_exported() {
    let record = r#"{"data":"d","expires":100,"version":1}"#;
    let step: Value =
        serde_json::from_str(&object_step(&json!({"op": "create", "record": record}).to_string(), None, 10.0)).unwrap();
    assert_eq!(step["write"], record);
    assert_eq!(step["alarmAt"], 100);
    let again: Value = serde_json::from_str(&object_step(
        &json!({"op": "create", "record": record}).to_string(),
        Some(record.into()),
        10.0,
    ))
    .unwrap();
    assert_eq!(again["reply"], r#"{"error":"exists"}"#);
    assert_eq!(object_alarm(Some(record.into()), 50.0), Some(100.0));
    assert_eq!(object_alarm(Some(record.into()), 100.0), None);
    let c: Value = serde_json::from_str(&counters()).unwrap();
    assert!(c["crypto"].is_u64());
}

/// Sets `Object.prototype[name] = value` for the duration of `f`.
fn with_polluted_prototype<T>(name: &str, value: JsValue, f: impl FnOnce() -> T) -> T {
    let proto = js_sys::Object::get_prototype_of(&js_sys::Object::new());
    js_sys::Reflect::set(&proto, &name.into(), &value).unwrap();
    let out = f();
    js_sys::Reflect::delete_property(&proto, &name.into()).unwrap();
    out
}

#[wasm_bindgen_test]
async fn settings_and_bindings_on_the_prototype_chain_are_ignored() {
    use edge_session::testing::internals::TimestampSigner;
    // A cookie forged under a secret the attacker chose.
    let forged = TimestampSigner::new("attacker", &[], "django.contrib.sessions.backends.signed_cookies").sign_object(
        &json!({"user": "admin"}),
        true,
        (js_sys::Date::now() / 1000.0) as i64,
    );
    let sessions = with_polluted_prototype("SECRET_KEY_FALLBACKS", r#"["attacker"]"#.into(), || {
        WasmSessions::new(
            vars(&[("SECRET_KEY", "k"), ("SESSION_ENGINE", "signed_cookies")]),
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
        )
        .unwrap()
    });
    let session = sessions.load(Some(format!("sessionid={forged}")));
    assert_eq!(
        op(&session, json!({"op": "get", "key": "user"})).await,
        json!({"ok": null}),
        "the forgery does not load"
    );
    // A binding is an own property too: an inherited "KV namespace" is missing.
    let kv = with_polluted_prototype("SESSION_KV", js_sys::Object::new().into(), || {
        WasmSessions::new(
            vars(&[("SECRET_KEY", "k"), ("SESSION_ENGINE", "cache")]),
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
        )
    });
    assert!(kv.is_err(), "an inherited SESSION_KV is not a binding");
}

#[wasm_bindgen_test]
fn the_error_names_are_exported_from_the_one_table() {
    use edge_session::platform::ConfigError;
    use edge_session::response::ErrorName;
    let names: Vec<String> = serde_json::from_str(&error_names()).unwrap();
    assert_eq!(names, ErrorName::ALL.iter().map(|n| n.as_str()).collect::<Vec<_>>());
    for wanted in ["KeyError", "StoreError", "ConfigError", "BadRequest"] {
        assert_eq!(names.iter().filter(|n| *n == wanted).count(), 1, "{wanted}");
    }
    let e = ConfigError::MissingBinding {
        binding: "KV".into(),
        kind: "KV namespace",
        engine: edge_session::prelude::Engine::Cache,
    };
    assert_eq!(e.name(), ErrorName::ConfigError.as_str());
    assert!(std::error::Error::source(&e).is_none());
    // A refused setting is the source, and `{:#}` the whole message.
    let refused = edge_session::SettingsError { setting: "SECRET_KEY", rule: "is required".into() };
    let e = ConfigError::Settings(refused.clone());
    assert_eq!(e.name(), ErrorName::ConfigError.as_str());
    let source = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<edge_session::SettingsError>());
    assert_eq!(source, Some(&refused));
    assert_eq!(format!("{e:#}"), "edge-session configuration: SECRET_KEY: is required");
}

#[wasm_bindgen_test]
async fn a_kv_exception_is_kept_as_the_value_it_was() {
    use edge_session::platform::KvCache;
    use edge_session::store::cache::RecordCache;
    use edge_session::store::{StoreError, StoreOp};
    use edge_session::SessionKey;
    let kv = KvCache::new(failingKv(), "p:", None);
    let key = SessionKey::parse("abcdefghijklmnopqrstuvwxyz012345").unwrap();
    let e = kv.get(&key).await.unwrap_err();
    let StoreError::Backend(b) = &e else { panic!("{e:?}") };
    assert_eq!(b.op(), StoreOp::KvGet);
    let thrown = b.js_value().expect("the exception is kept");
    assert_eq!(
        thrown.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).as_deref(),
        Some("KV GET failed: 503")
    );
    assert_eq!(std::error::Error::source(&e).map(|s| s.to_string()).as_deref(), Some("KV GET failed: 503"));
    assert_eq!(e.to_string(), "session store failed: KV get");
    assert_eq!(format!("{e:#}"), "session store failed: KV get: KV GET failed: 503");
    let record = edge_session::Record::new("d", i64::MAX, 1);
    let put = kv.set(&key, &record, 60).await.unwrap_err();
    assert!(matches!(&put, StoreError::Backend(b) if b.op() == StoreOp::KvPut && b.js_value().is_some()));
}

#[wasm_bindgen_test]
async fn a_store_failure_rejects_with_a_named_error_whose_cause_is_the_exception() {
    let sessions = cache_sessions_over_a_failing_kv();
    let session = sessions.new_session();
    let rejected = settled(sessions.save(&session)).await.unwrap_err();
    let error: js_sys::Error = rejected.dyn_into().unwrap();
    assert_eq!(String::from(error.name()), "StoreError");
    let message = String::from(error.message());
    assert!(message.starts_with("the session could not be saved or deleted: session store failed: KV "), "{message}");
    let cause: js_sys::Error = error.cause().dyn_into().expect("the binding's exception is the cause");
    assert!(String::from(cause.message()).starts_with("KV "), "the value the fake KV threw");
    assert!(message.ends_with(&String::from(cause.message())), "{message}");

    // A configuration error is named too (and has no cause).
    let refused = WasmSessions::new(
        vars(&[("SESSION_ENGINE", "db")]),
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    );
    let error: js_sys::Error = refused.err().unwrap().dyn_into().unwrap();
    assert_eq!(String::from(error.name()), "ConfigError");
    assert!(String::from(error.message()).starts_with("edge-session configuration: SECRET_KEY"));
    assert!(error.cause().is_undefined());
}

/// With `--features js,workers`: what a `worker` handler's `?` makes of a
/// session error.
#[cfg(feature = "workers")]
#[wasm_bindgen_test]
async fn a_worker_error_keeps_the_js_exception_as_its_source() {
    use edge_session::platform::KvCache;
    use edge_session::store::cache::RecordCache;
    use edge_session::SessionError;
    use edge_session::SessionKey;
    let kv = KvCache::new(failingKv(), "p:", None);
    let key = SessionKey::parse("abcdefghijklmnopqrstuvwxyz012345").unwrap();
    let store = kv.get(&key).await.unwrap_err();
    let e = worker::Error::from(SessionError::Store(store));
    assert_eq!(
        e.to_string(),
        "StoreError: the session could not be loaded: session store failed: KV get: KV GET failed: 503"
    );
    let source = std::error::Error::source(&e).expect("the exception");
    let worker::Error::UnknownJsError { original, .. } = source.downcast_ref::<worker::Error>().unwrap() else {
        panic!("{source:?}")
    };
    let thrown: &js_sys::Error = original.dyn_ref().unwrap();
    assert_eq!(String::from(thrown.message()), "KV GET failed: 503");
    // Without a JS cause there is nothing worker::Error could hold: the message.
    let plain = worker::Error::from(SessionError::KeyError("k".into()));
    assert!(matches!(&plain, worker::Error::RustError(m) if m == "KeyError: \"k\""), "{plain:?}");
}

/// The KV store of the platform layer (`KvCache`, what `cache` and
/// `cached_db` run on in a Worker) passes the store conformance suite as the
/// `cache` engine, over a JavaScript KV binding.
#[wasm_bindgen_test]
async fn the_platform_kv_store_passes_the_conformance_suite_over_a_js_kv_binding() {
    use edge_session::platform::KvCache;
    use edge_session::store::cache::CacheEngine;
    use edge_session::store::conformance::{self, Capabilities};
    let clock = edge_session::FixedClock::new(1_000_000);
    let make = || CacheEngine::new(KvCache::new(memoryKv(), "django.contrib.sessions.cache", None), clock.clone());
    let report = conformance::run(make, &clock, Capabilities::CACHE).await;
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    assert!(report.checks >= 17, "{} checks", report.checks);
}

/// The Durable Object store of the platform layer (`DurableStore`, the `db`
/// engine) and `cached_db` over it and `KvCache` pass the conformance suite
/// as durable stores, over JavaScript bindings whose objects run the shared
/// object protocol (`objectStep`) at the suite's clock.
#[wasm_bindgen_test]
async fn the_platform_durable_stores_pass_the_conformance_suite_over_js_bindings() {
    use edge_session::platform::{DurableStore, KvCache};
    use edge_session::store::cache::CachedDbStore;
    use edge_session::store::conformance::{self, Capabilities};
    use edge_session::Clock;
    let clock = edge_session::FixedClock::new(1_000_000);
    let at = clock.clone();
    let step = Closure::<dyn Fn(String, Option<String>) -> String>::new(move |body: String, stored: Option<String>| {
        object_step(&body, stored, at.now() as f64)
    });
    let step: JsValue = step.into_js_value();
    // Each object deletes its own record with an alarm at expiry, so
    // clear_expired has nothing to remove (the fake objects have no alarms).
    let caps = Capabilities { clears_expired: false, ..Capabilities::DURABLE };
    let db = conformance::run(|| DurableStore::new(memory_objects(&step)), &clock, caps).await;
    assert!(db.failures.is_empty(), "db: {:#?}", db.failures);
    let make = || {
        let kv = KvCache::new(memoryKv(), "django.contrib.sessions.cache", None);
        CachedDbStore::new(kv, DurableStore::new(memory_objects(&step)), clock.clone())
    };
    let cached = conformance::run(make, &clock, caps).await;
    assert!(cached.failures.is_empty(), "cached_db: {:#?}", cached.failures);
    assert!(db.checks >= 20 && cached.checks >= 20, "{} / {} checks", db.checks, cached.checks);
}

/// The R2 store of the platform layer (`R2Bucket`, the `file` engine) passes
/// the conformance suite as a durable store, over a JavaScript R2 binding
/// that honours `onlyIf`.
#[wasm_bindgen_test]
async fn the_platform_r2_store_passes_the_conformance_suite_over_a_js_r2_binding() {
    use edge_session::platform::R2Bucket;
    use edge_session::store::conformance::{self, Capabilities};
    use edge_session::store::file::FileStore;
    let clock = edge_session::FixedClock::new(1_000_000);
    let make = || FileStore::new(R2Bucket::new(memory_r2()), "sessions", "sessionid", clock.clone());
    let report = conformance::run(make, &clock, Capabilities::DURABLE).await;
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    assert!(report.checks >= 29, "{} checks", report.checks);
}

#[wasm_bindgen_test]
async fn a_file_session_round_trips_through_a_js_r2_binding_and_a_logout_elsewhere_interrupts_a_save() {
    let bucket = memory_r2();
    let settings = vars(&[("SECRET_KEY", "k"), ("SESSION_ENGINE", "file"), ("SESSION_FILE_PATH", "s")]);
    let sessions =
        WasmSessions::new(settings, JsValue::UNDEFINED, JsValue::UNDEFINED, JsValue::UNDEFINED, bucket.clone())
            .unwrap();
    let session = sessions.load(None);
    op(&session, json!({"op": "set", "key": "cart", "value": [1]})).await;
    let cookie = saved_cookie(text(sessions.finish(&session, 200, None)).await.unwrap().unwrap());
    assert_eq!(r2_size(&bucket), 1);
    // Two requests with the cookie: one reads and changes the cart, the
    // other logs out before the first one saves.
    let a = sessions.load(Some(cookie.clone()));
    assert_eq!(op(&a, json!({"op": "set", "key": "cart", "value": [1, 2]})).await, json!({"ok": null}));
    let b = sessions.load(Some(cookie));
    op(&b, json!({"op": "flush"})).await;
    settled(sessions.finish(&b, 200, None)).await.unwrap();
    assert_eq!(r2_size(&bucket), 0);
    let failed: Value = serde_json::from_str(&text(sessions.finish(&a, 200, None)).await.unwrap().unwrap()).unwrap();
    assert_eq!((&failed["error"], &failed["status"]), (&json!("SessionInterrupted"), &json!(400)), "Django's answer");
    assert!(failed["setCookie"].is_null(), "{failed}");
    assert_eq!(r2_size(&bucket), 0, "the logged-out session is not written back");
}
