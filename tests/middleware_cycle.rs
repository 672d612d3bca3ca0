//! The whole middleware cycle on the host: Django's `SessionMiddleware` rules,
//! each its own test, through a request driver with a browser-like cookie
//! jar, run on every engine whose behaviour the rule does not depend on:
//! `db` (the memory store as the Durable Object), `cached_db` (a consistent
//! fake KV in front of it), `cache` (the fake KV alone), `file` (the file
//! store over a fake R2 bucket) and `signed_cookies`. Store operations are
//! counted as on Workers (`kv_get`, `kv_put`, `kv_delete`, `do_call`,
//! `r2_get`, `r2_head`, `r2_put`, `r2_delete`), so each test states what each
//! engine costs, and crypto calls are counted.

#[macro_use]
mod common;

use common::engines::{Cache, CachedDb, Db, Engine, File, SignedCookies};
use common::{Jar, Rig, SECRET};
use edge_session::counters;
use edge_session::prelude::*;
use edge_session::testing::FakeObject;
use serde_json::{json, Value};

fn logged_in<S: SessionStore + Clone>(h: &Rig<S>) -> Jar {
    let mut jar = Jar::default();
    jar.update(&h.request(None, async |s| {
        s.set("user", json!("ada")).await.unwrap();
        200
    }));
    jar
}

// --- every engine ---

fn no_cookie_and_untouched_session_sends_nothing_and_costs_nothing<E: Engine>() {
    let h = E::rig(&[]);
    let r = h.request(None, async |_| 200);
    assert_eq!((r.set_cookie, r.vary_cookie, r.ops.storage_ops(), r.crypto_calls), (None, false, 0, 0));
}

fn new_session_sets_the_cookie_only_once_data_is_set<E: Engine>() {
    let h = E::rig(&[]);
    let r = h.request(None, async |s| {
        assert_eq!(s.get::<Value>("x").await.unwrap(), None);
        200
    });
    assert_eq!(r.set_cookie, None, "reading an empty new session writes nothing");
    assert!(r.vary_cookie);
    assert_eq!(r.ops.storage_ops(), 0, "no key, so no store read either");

    let r = h.request(None, async |s| {
        s.set("x", json!(1)).await.unwrap();
        200
    });
    let sc = r.set_cookie.expect("cookie");
    let expires = edge_session::testing::internals::http_date(1_765_000_000 + 1_209_600);
    let value = sc.split(';').next().unwrap().strip_prefix("sessionid=").unwrap();
    assert_eq!(sc, format!("sessionid={value}; expires={expires}; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax"));
    assert_eq!(
        r.ops,
        E::cost("do_call=1", "do_call=1,kv_put=1", "kv_put=1", "r2_put=1"),
        "a new session costs one write"
    );
    assert_eq!(r.crypto_calls, E::pick(2, 1), "sign the data, sign the cookie (signed_cookies: one signature)");
}

fn the_cookie_comes_back_and_the_data_is_read_with_one_read<E: Engine>() {
    let h = E::rig(&[]);
    let jar = logged_in(&h);
    let r = h.request(jar.header(), async |s| {
        assert_eq!(s.get::<Value>("user").await.unwrap(), Some(json!("ada")));
        200
    });
    assert_eq!(r.ops, E::cost("do_call=1", "kv_get=1", "kv_get=1", "r2_get=1"), "one read (cached_db: a KV hit)");
    assert!(r.vary_cookie, "Vary: Cookie when the session was accessed");
    assert_eq!(r.set_cookie, None, "an unmodified session does not re-send the cookie");
    assert_eq!(r.crypto_calls, E::pick(2, 1), "verify the cookie, verify the data (signed_cookies: one signature)");
}

fn an_untouched_session_with_a_cookie_costs_no_store_operation_and_no_vary<E: Engine>() {
    let h = E::rig(&[]);
    let jar = logged_in(&h);
    let r = h.request(jar.header(), async |_| 200);
    assert_eq!((r.ops.storage_ops(), r.vary_cookie, r.set_cookie.is_none()), (0, false, true));
    assert_eq!(r.crypto_calls, E::pick(1, 0), "only the cookie's MAC is checked (signed_cookies: not even that)");
}

fn flush_is_applied_even_on_a_5xx_response<E: Engine>() {
    let h = E::rig(&[]);
    let jar = logged_in(&h);
    let r = h.request(jar.header(), async |s| {
        s.flush();
        500
    });
    assert_eq!(E::records(&h.store), 0, "logout must stick");
    assert!(r.set_cookie.unwrap().contains("Max-Age=0"));
}

fn set_expiry_zero_gives_a_browser_length_cookie<E: Engine>() {
    let h = E::rig(&[]);
    let r = h.request(None, async |s| {
        s.set("x", json!(1)).await.unwrap();
        s.set_expiry(Expiry::BrowserClose).await.unwrap();
        200
    });
    let sc = r.set_cookie.unwrap();
    assert!(!sc.contains("expires=") && !sc.contains("Max-Age"), "{sc}");
    assert!(sc.ends_with("; HttpOnly; Path=/; SameSite=Lax"));
}

fn set_expiry_seconds_sets_max_age_and_expires_the_record_server_side<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = Jar::default();
    let r = h.request(None, async |s| {
        s.set("x", json!(1)).await.unwrap();
        s.set_expiry(Expiry::Seconds(2)).await.unwrap();
        200
    });
    assert!(r.set_cookie.as_deref().unwrap().contains("Max-Age=2;"));
    jar.update(&r);
    h.clock.advance(2);
    h.request(jar.header(), async |s| {
        assert_eq!(s.get::<Value>("x").await.unwrap(), None, "the server drops it after 2 s whatever the cookie says");
        200
    });
}

fn nothing_is_saved_on_a_5xx_response<E: Engine>() {
    let h = E::rig(&[]);
    let r = h.request(None, async |s| {
        s.set("x", json!(1)).await.unwrap();
        503
    });
    assert_eq!((r.set_cookie, r.ops.storage_ops()), (None, 0));
    assert!(r.vary_cookie);
    assert_eq!(E::records(&h.store), 0);
}

fn malformed_cookies_cost_no_crypto_and_no_store_operation<E: Engine>() {
    let h = E::rig(&[]);
    for bad in ["sessionid=", "sessionid=../../etc", "sessionid=\u{0}", "sessionid=ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"] {
        let r = h.request(Some(bad), async |s| {
            s.get::<Value>("x").await.unwrap();
            200
        });
        assert_eq!((r.ops.storage_ops(), r.crypto_calls), (0, 0), "{bad:?}");
    }
}

fn a_signed_cookie_for_a_vanished_session_is_deleted_and_creates_nothing<E: Engine>() {
    let h = E::rig(&[]);
    let jar = logged_in(&h);
    h.clock.advance(1_209_600);
    let r = h.request(jar.header(), async |s| {
        assert_eq!(s.get::<Value>("user").await.unwrap(), None);
        200
    });
    // cached_db: the KV copy died with the record, so the Durable Object is asked.
    assert_eq!(r.ops, E::cost("do_call=1", "kv_get=1,do_call=1", "kv_get=1", "r2_get=1"), "one read, no write");
    assert!(r.set_cookie.unwrap().contains("Max-Age=0"));
}

fn an_emptied_new_session_writes_nothing<E: Engine>() {
    let h = E::rig(&[]);
    let r = h.request(None, async |s| {
        s.set("x", json!(1)).await.unwrap();
        s.delete("x").await.unwrap();
        200
    });
    assert_eq!((r.set_cookie, r.ops.storage_ops()), (None, 0));
}

fn save_every_request_resends_the_cookie<E: Engine>() {
    let h = E::rig(&[("SESSION_SAVE_EVERY_REQUEST", "true")]);
    let jar = logged_in(&h);
    let r = h.request(jar.header(), async |_| 200);
    assert!(r.set_cookie.is_some());
    assert_eq!(
        r.ops,
        E::cost("do_call=2", "kv_get=1,do_call=1,kv_put=1", "kv_get=1,kv_put=1", "r2_get=1,r2_put=1"),
        "one read, one write"
    );
    assert!(!r.vary_cookie, "Vary reflects what the handler accessed");
    // ...but never for an empty session.
    let r = h.request(None, async |_| 200);
    assert_eq!((r.set_cookie, r.ops.storage_ops()), (None, 0));
}

fn expire_at_browser_close_setting_gives_browser_length_cookies<E: Engine>() {
    let h = E::rig(&[("SESSION_EXPIRE_AT_BROWSER_CLOSE", "1")]);
    let r = h.request(None, async |s| {
        s.set("x", json!(1)).await.unwrap();
        200
    });
    assert!(!r.set_cookie.unwrap().contains("Max-Age"));
}

fn the_first_of_duplicate_session_cookies_wins<E: Engine>() {
    let h = E::rig(&[]);
    let jar = logged_in(&h);
    let header =
        format!("{}; sessionid=abcdefghijklmnopqrstuvwxyz012345.1.AAAAAAAAAAAAAAAAAAAAAA", jar.header().unwrap());
    h.request(Some(&header), async |s| {
        assert_eq!(s.get::<Value>("user").await.unwrap(), Some(json!("ada")));
        200
    });
    let header = format!("sessionid=bogus; {}", jar.header().unwrap());
    h.request(Some(&header), async |s| {
        assert_eq!(s.get::<Value>("user").await.unwrap(), None);
        200
    });
}

fn a_cookie_signed_with_a_fallback_secret_is_accepted_and_reissued<E: Engine>() {
    let old = E::rig(&[]);
    let jar = logged_in(&old);
    let settings = Settings::from_pairs([
        ("SECRET_KEY", "the-new-secret"),
        ("SECRET_KEY_FALLBACKS", &format!("[\"{SECRET}\"]")),
        ("SESSION_ENGINE", E::NAME),
    ])
    .unwrap();
    let rotated = SessionManager::new(settings, old.store.clone(), old.clock.clone(), OsKeySource);
    let reissued = pollster::block_on(async {
        let mut s = rotated.session(jar.header().map(str::as_bytes));
        assert_eq!(s.get::<Value>("user").await.unwrap(), Some(json!("ada")));
        rotated.finish(s, 200).await.unwrap().set_cookie.expect("re-issued under the current key")
    });
    let new_only = SessionManager::new(
        Settings::from_pairs([("SECRET_KEY", "the-new-secret"), ("SESSION_ENGINE", E::NAME)]).unwrap(),
        old.store.clone(),
        old.clock.clone(),
        OsKeySource,
    );
    let pair = reissued.split(';').next().unwrap().to_owned();
    assert!(reissued.contains("Max-Age=1209600"));
    pollster::block_on(async {
        let mut s = new_only.session(Some(pair.as_bytes()));
        assert_eq!(s.get::<Value>("user").await.unwrap(), Some(json!("ada")));
        // The old cookie does not verify without the fallback.
        let mut s = new_only.session(jar.header().map(str::as_bytes));
        assert_eq!(s.get::<Value>("user").await.unwrap(), None);
    });
}

fn cookie_attributes_follow_the_settings<E: Engine>() {
    let h = E::rig(&[
        ("SESSION_COOKIE_NAME", "sid"),
        ("SESSION_COOKIE_DOMAIN", ".example.com"),
        ("SESSION_COOKIE_PATH", "/app"),
        ("SESSION_COOKIE_SECURE", "true"),
        ("SESSION_COOKIE_HTTPONLY", "false"),
        ("SESSION_COOKIE_SAMESITE", "Strict"),
        ("SESSION_COOKIE_AGE", "600"),
    ]);
    let r = h.request(None, async |s| {
        s.set("x", json!(1)).await.unwrap();
        200
    });
    let sc = r.set_cookie.unwrap();
    assert!(sc.starts_with("sid="));
    assert!(sc.contains("; Domain=.example.com; expires="));
    assert!(sc.ends_with("; Max-Age=600; Path=/app; SameSite=Strict; Secure"), "{sc}");
    assert!(!sc.contains("HttpOnly"));
    // A cookie under the default name is not this session's.
    let pair = sc.split(';').next().unwrap().replacen("sid=", "sessionid=", 1);
    let r = h.request(Some(&pair), async |s| {
        assert_eq!(s.get::<Value>("x").await.unwrap(), None);
        200
    });
    assert_eq!(r.ops.storage_ops(), 0);
}

// --- the engines that keep the data on the server (a key names a record) ---

fn a_forged_cookie_costs_no_store_read_and_is_never_adopted<E: Engine>() {
    let h = E::rig(&[]);
    let forged = "sessionid=abcdefghijklmnopqrstuvwxyz012345.1.AAAAAAAAAAAAAAAAAAAAAA";
    let r = h.request(Some(forged), async |s| {
        assert_eq!(s.session_key(), None);
        assert_eq!(s.get::<Value>("x").await.unwrap(), None);
        200
    });
    assert_eq!(r.ops.storage_ops(), 0);
    assert!(r.set_cookie.unwrap().contains("Max-Age=0"), "Django deletes a cookie whose session is empty");
    // Storing data under a forged cookie uses a fresh key.
    let mut jar = Jar::default();
    jar.update(&h.request(Some(forged), async |s| {
        s.set("x", json!(1)).await.unwrap();
        200
    }));
    assert_ne!(jar.key().as_deref(), Some("abcdefghijklmnopqrstuvwxyz012345"));
}

fn modifying_costs_one_read_and_one_write_and_refreshes_the_cookie<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = logged_in(&h);
    let before = jar.clone();
    let r = h.request(jar.header(), async |s| {
        s.set("cart", json!([1])).await.unwrap();
        200
    });
    assert_eq!(r.ops, E::cost("do_call=2", "kv_get=1,do_call=1,kv_put=1", "kv_get=1,kv_put=1", "r2_get=1,r2_put=1"));
    assert_eq!(r.crypto_calls, 4, "verify cookie + data, sign data + cookie");
    jar.update(&r);
    assert_eq!(jar.key(), before.key(), "same key");
    assert_ne!(jar.header(), before.header(), "the cookie carries the new version");
}

fn flush_deletes_the_record_and_the_cookie_and_the_old_cookie_stops_working<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = logged_in(&h);
    let old = jar.clone();
    let r = h.request(jar.header(), async |s| {
        s.flush();
        200
    });
    assert_eq!(
        r.set_cookie.as_deref(),
        Some("sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax")
    );
    assert!(r.vary_cookie);
    assert_eq!(
        r.ops,
        E::cost("do_call=1", "do_call=1,kv_delete=1", "kv_delete=1", "r2_delete=1"),
        "one delete, no write"
    );
    assert_eq!(E::records(&h.store), 0);
    jar.update(&r);
    assert_eq!(jar.header(), None);
    // Replaying the old cookie finds nothing and creates nothing.
    let r = h.request(old.header(), async |s| {
        assert_eq!(s.get::<Value>("user").await.unwrap(), None);
        200
    });
    assert!(r.set_cookie.unwrap().contains("Max-Age=0"), "the stale cookie is deleted");
    assert_eq!(E::records(&h.store), 0);
}

/// `clear()` replaces the whole session without reading it, so the save is
/// of a session the request never read: no load, and the key is kept only
/// because its record is still there (`cache` asks first; `file`, holding no
/// ETag of a read, looks at the object before its conditional put).
fn a_write_after_clear_saves_without_loading_and_keeps_the_key<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = logged_in(&h);
    let before = jar.clone();
    let r = h.request(jar.header(), async |s| {
        s.clear();
        s.set("message", json!("hi")).await.unwrap();
        200
    });
    assert_eq!(
        r.ops,
        E::cost("do_call=1", "do_call=1,kv_put=1", "kv_get=1,kv_put=1", "r2_head=1,r2_put=1"),
        "a save without a load"
    );
    jar.update(&r);
    assert_eq!(jar.key(), before.key(), "the live record's key is kept");
    assert!(jar.version() > before.version());
    assert_eq!(E::records(&h.store), 1);
    h.request(jar.header(), async |s| {
        assert_eq!(s.items().await.unwrap(), vec![("message".to_owned(), json!("hi"))], "the old data is gone");
        200
    });
}

fn flush_then_set_starts_a_new_session_under_a_new_key<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = logged_in(&h);
    let old_key = jar.key();
    let r = h.request(jar.header(), async |s| {
        s.flush();
        s.set("message", json!("bye")).await.unwrap();
        200
    });
    jar.update(&r);
    assert_ne!(jar.key(), old_key);
    assert_eq!(E::records(&h.store), 1);
}

fn cycle_key_keeps_the_data_under_a_new_key_and_the_old_key_finds_nothing<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = logged_in(&h);
    let old = jar.clone();
    let r = h.request(jar.header(), async |s| {
        s.cycle_key().await.unwrap();
        200
    });
    assert_eq!(
        r.ops,
        E::cost(
            "do_call=3",
            "kv_get=1,do_call=2,kv_put=1,kv_delete=1",
            "kv_get=1,kv_put=1,kv_delete=1",
            "r2_get=1,r2_put=1,r2_delete=1"
        ),
        "read, create new, then delete old"
    );
    jar.update(&r);
    assert_ne!(jar.key(), old.key());
    h.request(jar.header(), async |s| {
        assert_eq!(s.get::<Value>("user").await.unwrap(), Some(json!("ada")));
        200
    });
    h.request(old.header(), async |s| {
        assert_eq!(s.get::<Value>("user").await.unwrap(), None);
        200
    });
    assert_eq!(E::records(&h.store), 1);
}

fn cycle_key_on_a_new_session_creates_it_even_without_data<E: Engine>() {
    // Django: cycle_key() calls create(), so the session gets a key and is saved.
    let h = E::rig(&[]);
    let r = h.request(None, async |s| {
        s.cycle_key().await.unwrap();
        200
    });
    assert!(r.set_cookie.is_some());
    assert_eq!(r.ops, E::cost("do_call=1", "do_call=1,kv_put=1", "kv_put=1", "r2_put=1"), "one write, no delete");
}

fn a_failed_cycle_on_a_5xx_keeps_the_old_session<E: Engine>() {
    let h = E::rig(&[]);
    let jar = logged_in(&h);
    let r = h.request(jar.header(), async |s| {
        s.cycle_key().await.unwrap();
        500
    });
    assert_eq!(
        (r.ops, r.set_cookie),
        (E::cost("do_call=1", "kv_get=1", "kv_get=1", "r2_get=1"), None),
        "the read alone"
    );
    h.request(jar.header(), async |s| {
        assert_eq!(s.get::<Value>("user").await.unwrap(), Some(json!("ada")));
        200
    });
}

fn a_store_read_failure_is_an_error_not_an_empty_session<E: Engine>() {
    let h = E::rig(&[]);
    let jar = logged_in(&h);
    E::fail_reads(&h.store, true);
    let r = h.request(jar.header(), async |s| {
        assert!(matches!(s.get::<Value>("user").await, Err(SessionError::Store(_))));
        500
    });
    assert_eq!(r.set_cookie, None);
    E::fail_reads(&h.store, false);
    h.request(jar.header(), async |s| {
        assert_eq!(s.get::<Value>("user").await.unwrap(), Some(json!("ada")));
        200
    });
}

fn a_store_write_failure_sends_no_cookie<E: Engine>() {
    let h = E::rig(&[]);
    E::fail_writes(&h.store, true);
    let r = h.request(None, async |s| {
        s.set("x", json!(1)).await.unwrap();
        200
    });
    assert_eq!((r.status, r.set_cookie), (500, None));
}

// --- the engines that detect a concurrent logout (`cache` cannot: see concurrency.rs) ---

fn saving_after_a_concurrent_flush_is_session_interrupted<E: Engine>() {
    let h = E::rig(&[]);
    let jar = logged_in(&h);
    // Request A loads the session; meanwhile request B logs out.
    let r = h.request(jar.header(), async |s| {
        s.get::<Value>("user").await.unwrap();
        let r2 = h.request(jar.header(), async |s2| {
            s2.flush();
            200
        });
        assert!(r2.set_cookie.unwrap().contains("Max-Age=0"));
        s.set("cart", json!([1])).await.unwrap();
        200
    });
    assert_eq!(r.status, 400, "Django's SessionInterrupted");
    assert_eq!(r.set_cookie, None);
    assert_eq!(E::records(&h.store), 0, "the flushed session is not resurrected");
}

/// The rules whose behaviour does not depend on the engine.
macro_rules! on_every_engine {
    ($engine:ty) => {
        tests!($engine;
            no_cookie_and_untouched_session_sends_nothing_and_costs_nothing,
            new_session_sets_the_cookie_only_once_data_is_set,
            the_cookie_comes_back_and_the_data_is_read_with_one_read,
            an_untouched_session_with_a_cookie_costs_no_store_operation_and_no_vary,
            flush_is_applied_even_on_a_5xx_response,
            set_expiry_zero_gives_a_browser_length_cookie,
            set_expiry_seconds_sets_max_age_and_expires_the_record_server_side,
            nothing_is_saved_on_a_5xx_response,
            malformed_cookies_cost_no_crypto_and_no_store_operation,
            a_signed_cookie_for_a_vanished_session_is_deleted_and_creates_nothing,
            an_emptied_new_session_writes_nothing,
            save_every_request_resends_the_cookie,
            expire_at_browser_close_setting_gives_browser_length_cookies,
            the_first_of_duplicate_session_cookies_wins,
            a_cookie_signed_with_a_fallback_secret_is_accepted_and_reissued,
            cookie_attributes_follow_the_settings,
        );
    };
}

/// The rules about a server-side record: its key, its store failing.
macro_rules! on_server_side_engines {
    ($engine:ty) => {
        tests!($engine;
            a_forged_cookie_costs_no_store_read_and_is_never_adopted,
            modifying_costs_one_read_and_one_write_and_refreshes_the_cookie,
            flush_deletes_the_record_and_the_cookie_and_the_old_cookie_stops_working,
            flush_then_set_starts_a_new_session_under_a_new_key,
            a_write_after_clear_saves_without_loading_and_keeps_the_key,
            cycle_key_keeps_the_data_under_a_new_key_and_the_old_key_finds_nothing,
            cycle_key_on_a_new_session_creates_it_even_without_data,
            a_failed_cycle_on_a_5xx_keeps_the_old_session,
            a_store_read_failure_is_an_error_not_an_empty_session,
            a_store_write_failure_sends_no_cookie,
        );
    };
}

mod db {
    on_every_engine!(super::Db);
    on_server_side_engines!(super::Db);
    tests!(super::Db; saving_after_a_concurrent_flush_is_session_interrupted);
}

mod cached_db {
    on_every_engine!(super::CachedDb);
    on_server_side_engines!(super::CachedDb);
    tests!(super::CachedDb; saving_after_a_concurrent_flush_is_session_interrupted);
}

mod cache {
    on_every_engine!(super::Cache);
    on_server_side_engines!(super::Cache);
}

mod file {
    on_every_engine!(super::File);
    on_server_side_engines!(super::File);
    tests!(super::File; saving_after_a_concurrent_flush_is_session_interrupted);
}

/// `signed_cookies`: the rules of every engine, and its own.
mod signed_cookies {
    use super::*;

    on_every_engine!(super::SignedCookies);

    fn harness() -> Rig<FakeObject> {
        SignedCookies::rig(&[])
    }

    #[test]
    fn data_lives_in_the_cookie_in_djangos_format_and_no_store_is_used() {
        let start = counters();
        let h = harness();
        let mut jar = Jar::default();
        let r = h.request(None, async |s| {
            s.set("cart", json!([1, 2])).await.unwrap();
            200
        });
        jar.update(&r);
        let token = jar.header().unwrap().strip_prefix("sessionid=").unwrap().to_owned();
        let signer = edge_session::testing::internals::TimestampSigner::new(
            SECRET,
            &[],
            edge_session::testing::internals::SIGNED_COOKIES_SALT,
        );
        assert_eq!(signer.unsign_object(&token, None, 1_765_000_000).unwrap().value, json!({"cart": [1, 2]}));
        let r = h.request(jar.header(), async |s| {
            assert_eq!(s.get::<Value>("cart").await.unwrap(), Some(json!([1, 2])));
            200
        });
        assert_eq!(r.set_cookie, None);
        assert_eq!(counters().since(&start).storage_ops(), 0);
    }

    #[test]
    fn flush_deletes_the_cookie() {
        let h = harness();
        let mut jar = Jar::default();
        jar.update(&h.request(None, async |s| {
            s.set("x", json!(1)).await.unwrap();
            200
        }));
        let r = h.request(jar.header(), async |s| {
            s.flush();
            200
        });
        assert!(r.set_cookie.unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn a_tampered_cookie_is_a_fresh_empty_session() {
        let h = harness();
        let r = h.request(Some("sessionid=eyJ4IjoxfQ:1vRqGo:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), async |s| {
            assert_eq!(s.get::<Value>("x").await.unwrap(), None);
            200
        });
        assert!(r.set_cookie.unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn per_session_expiry_is_enforced_from_the_signing_time() {
        let h = harness();
        let mut jar = Jar::default();
        jar.update(&h.request(None, async |s| {
            s.set("x", json!(1)).await.unwrap();
            s.set_expiry(Expiry::Seconds(2)).await.unwrap();
            200
        }));
        h.clock.advance(1);
        h.request(jar.header(), async |s| {
            assert_eq!(s.get::<Value>("x").await.unwrap(), Some(json!(1)));
            200
        });
        h.clock.advance(1);
        h.request(jar.header(), async |s| {
            assert_eq!(s.get::<Value>("x").await.unwrap(), None);
            200
        });
    }

    #[test]
    fn a_session_too_big_for_a_cookie_is_an_error_and_sends_no_cookie() {
        let h = harness();
        // Random-looking data does not compress below the limit.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let noise: String = (0..6000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'a' + (x % 26) as u8)
            })
            .collect();
        let r = h.request(None, async |s| {
            s.set("blob", json!(noise)).await.unwrap();
            200
        });
        assert_eq!((r.status, r.set_cookie), (500, None));
    }
}
