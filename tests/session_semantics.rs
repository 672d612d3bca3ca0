//! Django's `SessionBase` semantics, one behaviour per test, on a fixed clock.

mod common;

use common::{ops, Harness, Jar};
use edge_session::prelude::*;
use edge_session::testing::FakeObject;
use serde_json::{json, Map, Value};

/// A harness with one saved session holding `{"a": 1, "b": [1, 2]}`; returns its cookie.
fn with_saved_session() -> (Harness, Jar) {
    let h = Harness::new(&[]);
    let mut jar = Jar::default();
    let r = h.request(None, async |s| {
        s.set("a", json!(1)).await.unwrap();
        s.set("b", json!([1, 2])).await.unwrap();
        200
    });
    jar.update(&r);
    assert!(jar.header().is_some());
    (h, jar)
}

/// Runs `f` on the saved session and returns the flags afterwards.
fn flags_after<F>(f: F) -> (bool, bool)
where
    F: AsyncFnOnce(&mut Session<FakeObject>),
{
    let (h, jar) = with_saved_session();
    let mut flags = (false, false);
    h.request(jar.header(), async |s| {
        f(s).await;
        flags = (s.accessed(), s.modified());
        200
    });
    flags
}

#[test]
fn get_returns_value_or_none_and_does_not_modify() {
    let (h, jar) = with_saved_session();
    h.request(jar.header(), async |s| {
        assert_eq!(s.get("a").await.unwrap(), Some(json!(1)));
        assert_eq!(s.get::<Value>("missing").await.unwrap(), None);
        assert!(s.accessed() && !s.modified());
        200
    });
}

#[test]
fn set_modifies_and_persists() {
    let (h, mut jar) = with_saved_session();
    let r = h.request(jar.header(), async |s| {
        s.set("a", json!("changed")).await.unwrap();
        assert!(s.modified());
        200
    });
    jar.update(&r);
    h.request(jar.header(), async |s| {
        assert_eq!(s.get("a").await.unwrap(), Some(json!("changed")));
        200
    });
}

#[test]
fn delete_of_absent_key_is_key_error_and_does_not_modify() {
    let (h, jar) = with_saved_session();
    h.request(jar.header(), async |s| {
        assert_eq!(s.delete("missing").await, Err(SessionError::KeyError("missing".into())));
        assert!(!s.modified());
        s.delete("a").await.unwrap();
        assert!(s.modified());
        assert!(!s.contains("a").await.unwrap());
        200
    });
}

#[test]
fn contains_accesses_without_modifying() {
    assert_eq!(flags_after(async |s| assert!(s.contains("a").await.unwrap())), (true, false));
}

#[test]
fn pop_of_present_key_modifies_and_returns_value() {
    let (h, jar) = with_saved_session();
    h.request(jar.header(), async |s| {
        assert_eq!(s.pop("a").await.unwrap(), json!(1));
        assert!(s.modified());
        assert_eq!(s.get::<Value>("a").await.unwrap(), None);
        200
    });
}

#[test]
fn pop_of_absent_key_with_default_does_not_modify() {
    let (h, jar) = with_saved_session();
    h.request(jar.header(), async |s| {
        assert_eq!(s.pop_or("missing", json!("d")).await.unwrap(), json!("d"));
        assert!(s.accessed() && !s.modified());
        200
    });
}

#[test]
fn pop_of_absent_key_without_default_is_key_error() {
    let (h, jar) = with_saved_session();
    h.request(jar.header(), async |s| {
        assert_eq!(s.pop("missing").await, Err(SessionError::KeyError("missing".into())));
        assert!(!s.modified());
        200
    });
}

#[test]
fn setdefault_returns_existing_without_modifying_and_sets_absent() {
    let (h, jar) = with_saved_session();
    h.request(jar.header(), async |s| {
        assert_eq!(s.setdefault("a", json!(99)).await.unwrap(), json!(1));
        assert!(!s.modified());
        assert_eq!(s.setdefault("c", json!(3)).await.unwrap(), json!(3));
        assert!(s.modified());
        assert_eq!(s.get("c").await.unwrap(), Some(json!(3)));
        200
    });
}

#[test]
fn update_merges_and_modifies() {
    let (h, jar) = with_saved_session();
    h.request(jar.header(), async |s| {
        let mut m = Map::new();
        m.insert("a".into(), json!(10));
        m.insert("z".into(), json!(true));
        s.update(m).await.unwrap();
        assert!(s.modified());
        assert_eq!(s.keys().await.unwrap(), vec!["a", "b", "z"]);
        assert_eq!(s.values().await.unwrap(), vec![json!(10), json!([1, 2]), json!(true)]);
        assert_eq!(s.items().await.unwrap()[2], ("z".to_owned(), json!(true)));
        200
    });
}

#[test]
fn keys_values_items_access_without_modifying() {
    assert_eq!(
        flags_after(async |s| {
            s.keys().await.unwrap();
            s.values().await.unwrap();
            s.items().await.unwrap();
        }),
        (true, false)
    );
}

#[test]
fn clear_empties_without_loading_and_modifies() {
    let (h, jar) = with_saved_session();
    let r = h.request(jar.header(), async |s| {
        s.clear();
        assert!(s.accessed() && s.modified());
        assert!(!s.is_empty(), "the key is kept, so the session is not empty");
        200
    });
    assert_eq!(r.ops, ops("do_call=1"), "clear() does not load: the one call is the save");
    let saved = h.store.raw(&SessionKey::parse(&jar.key().unwrap()).unwrap()).unwrap();
    assert_eq!(saved.version, 2, "the emptied data is saved under the same key");
    assert!(h.manager.decode(&saved.data).unwrap().is_empty());
}

#[test]
fn is_empty_is_true_only_without_key_and_data() {
    let h = Harness::new(&[]);
    h.request(None, async |s| {
        assert!(s.is_empty());
        s.set("a", json!(1)).await.unwrap();
        assert!(!s.is_empty());
        200
    });
    let (h, jar) = with_saved_session();
    h.request(jar.header(), async |s| {
        assert!(!s.is_empty(), "a session with a key is not empty before loading");
        200
    });
}

#[test]
fn flush_drops_data_and_key() {
    let (h, jar) = with_saved_session();
    h.request(jar.header(), async |s| {
        s.flush();
        assert!(s.is_empty() && s.modified() && s.accessed());
        assert_eq!(s.session_key(), None);
        assert_eq!(s.get::<Value>("a").await.unwrap(), None);
        200
    });
}

#[test]
fn cycle_key_keeps_data_under_a_new_key() {
    let (h, jar) = with_saved_session();
    let old = jar.key().unwrap();
    h.request(jar.header(), async |s| {
        s.cycle_key().await.unwrap();
        let new = s.session_key().unwrap().to_owned();
        assert_ne!(new, old);
        assert_eq!(new.len(), 32);
        assert!(s.modified());
        assert_eq!(s.get("b").await.unwrap(), Some(json!([1, 2])));
        200
    });
}

#[test]
fn test_cookie_round_trip() {
    let h = Harness::new(&[]);
    let mut jar = Jar::default();
    let r = h.request(None, async |s| {
        assert!(!s.test_cookie_worked().await.unwrap());
        s.set_test_cookie().await.unwrap();
        assert_eq!(s.get("testcookie").await.unwrap(), Some(json!("worked")));
        200
    });
    jar.update(&r);
    h.request(jar.header(), async |s| {
        assert!(s.test_cookie_worked().await.unwrap());
        s.delete_test_cookie().await.unwrap();
        assert!(!s.test_cookie_worked().await.unwrap());
        assert!(matches!(s.delete_test_cookie().await, Err(SessionError::KeyError(_))));
        200
    });
}

#[test]
fn set_expiry_is_kept_under_session_expiry_as_django_does() {
    let h = Harness::new(&[]);
    h.request(None, async |s| {
        s.set("x", json!(1)).await.unwrap();
        s.set_expiry(Expiry::Seconds(300)).await.unwrap();
        assert_eq!(s.get("_session_expiry").await.unwrap(), Some(json!(300)));
        assert_eq!(s.get_expiry_age().await.unwrap(), 300);
        assert!(!s.get_expire_at_browser_close().await.unwrap());
        s.set_expiry(Expiry::BrowserClose).await.unwrap();
        assert_eq!(s.get("_session_expiry").await.unwrap(), Some(json!(0)));
        assert!(s.get_expire_at_browser_close().await.unwrap());
        assert_eq!(
            s.get_expiry_age().await.unwrap(),
            1_209_600,
            "browser-close sessions keep the default age server-side"
        );
        let at = edge_session::DateTime::parse_iso("2025-12-06T06:00:00+01:00").unwrap();
        s.set_expiry(Expiry::At(at)).await.unwrap();
        assert_eq!(s.get("_session_expiry").await.unwrap(), Some(json!("2025-12-06T06:00:00+01:00")));
        assert_eq!(s.get_expiry_date().await.unwrap(), at);
        assert_eq!(s.get_expiry_age().await.unwrap(), at.unix - 1_765_000_000);
        s.set_expiry(Expiry::Default).await.unwrap();
        assert_eq!(s.get::<Value>("_session_expiry").await.unwrap(), None);
        assert_eq!(s.get_expiry_age().await.unwrap(), 1_209_600);
        assert_eq!(s.get_expiry_date().await.unwrap().unix, 1_765_000_000 + 1_209_600);
        200
    });
}

#[test]
fn set_expiry_none_without_an_expiry_does_not_modify() {
    assert_eq!(flags_after(async |s| s.set_expiry(Expiry::Default).await.unwrap()), (true, false));
}

#[test]
fn expire_at_browser_close_setting_is_the_default() {
    let h = Harness::new(&[("SESSION_EXPIRE_AT_BROWSER_CLOSE", "true")]);
    h.request(None, async |s| {
        assert!(s.get_expire_at_browser_close().await.unwrap());
        s.set_expiry(Expiry::Seconds(60)).await.unwrap();
        assert!(!s.get_expire_at_browser_close().await.unwrap());
        200
    });
}

#[test]
fn modified_is_settable_for_nested_changes() {
    let (h, mut jar) = with_saved_session();
    let r = h.request(jar.header(), async |s| {
        s.get::<Value>("b").await.unwrap();
        assert!(!s.modified());
        s.set_modified(true);
        200
    });
    assert_eq!(r.ops, ops("do_call=2"), "the read, and the save of a session marked modified");
    jar.update(&r);
    assert!(r.set_cookie.is_some());
}

#[test]
fn loading_is_lazy() {
    let (h, jar) = with_saved_session();
    let r = h.request(jar.header(), async |s| {
        assert!(!s.accessed() && !s.modified());
        assert!(s.session_key().is_some());
        200
    });
    assert_eq!(r.ops.storage_ops(), 0, "an untouched session costs no store operation");
    let r = h.request(jar.header(), async |s| {
        s.get::<Value>("a").await.unwrap();
        s.get::<Value>("b").await.unwrap();
        200
    });
    assert_eq!(r.ops, ops("do_call=1"), "the store is read once, on first access");
}

#[test]
fn keys_starting_with_underscore_are_reserved_for_writes() {
    let (h, jar) = with_saved_session();
    h.request(jar.header(), async |s| {
        for result in [
            s.set("_auth_user_id", json!(1)).await,
            s.delete("_session_expiry").await,
            s.pop("_x").await.map(|_| ()),
            s.setdefault("_x", json!(1)).await.map(|_| ()),
            s.update(Map::from_iter([("_x".to_owned(), Value::Null)])).await,
            s.insert("_auth_user_id", 1).await,
            s.remove::<Value>("_session_expiry").await.map(|_| ()),
        ] {
            assert!(matches!(result, Err(SessionError::ReservedKey(_))), "{result:?}");
        }
        assert!(!s.modified());
        assert_eq!(s.get::<Value>("_session_expiry").await.unwrap(), None, "reads are allowed");
        200
    });
}

#[test]
fn expiry_counts_from_the_last_modification_not_from_reads() {
    let (h, mut jar) = with_saved_session();
    let r = h.request(jar.header(), async |s| {
        s.set_expiry(Expiry::Seconds(100)).await.unwrap();
        200
    });
    jar.update(&r);
    h.clock.advance(60);
    // A read is not activity: nothing is saved, the deadline stays.
    let r = h.request(jar.header(), async |s| {
        assert_eq!(s.get("a").await.unwrap(), Some(json!(1)));
        200
    });
    assert_eq!(r.ops, ops("do_call=1"), "the read alone");
    h.clock.advance(39);
    h.request(jar.header(), async |s| {
        assert_eq!(s.get("a").await.unwrap(), Some(json!(1)), "alive at 99 s");
        s.set("a", json!(2)).await.unwrap(); // activity: the deadline moves to now + 100
        200
    });
    h.clock.advance(99);
    h.request(jar.header(), async |s| {
        assert_eq!(s.get("a").await.unwrap(), Some(json!(2)), "alive 99 s after the last change");
        200
    });
    h.clock.advance(1);
    h.request(jar.header(), async |s| {
        assert_eq!(s.get::<Value>("a").await.unwrap(), None, "expired 100 s after the last change");
        assert_eq!(s.session_key(), None, "an expired session's key is not adopted");
        200
    });
}

#[test]
fn sessions_work_outside_a_request() {
    let (h, jar) = with_saved_session();
    let key = jar.key().unwrap();
    pollster::block_on(async {
        // Load by key, change, save — as a scheduled job would.
        let mut s = h.manager.open(&key);
        assert_eq!(s.get("a").await.unwrap(), Some(json!(1)));
        s.set("from_cron", json!(true)).await.unwrap();
        h.manager.save(&mut s).await.unwrap();
        // Decode the stored data for inspection.
        let raw = h.store.raw(&edge_session::SessionKey::parse(&key).unwrap()).unwrap();
        let decoded = h.manager.decode(&raw.data).unwrap();
        assert_eq!(decoded.get("from_cron"), Some(&json!(true)));
        // A brand-new session saved outside a request gets a fresh key.
        let mut fresh = h.manager.new_session();
        fresh.set("k", json!("v")).await.unwrap();
        let cookie_value = h.manager.save(&mut fresh).await.unwrap().unwrap();
        assert!(cookie_value.starts_with(fresh.session_key().unwrap()));
        // Clearing expired sessions.
        h.clock.advance(1_209_600);
        assert_eq!(h.manager.clear_expired().await.unwrap(), 2);
        assert!(h.store.is_empty());
    });
    // The old cookie no longer finds anything.
    h.request(jar.header(), async |s| {
        assert_eq!(s.get::<Value>("a").await.unwrap(), None);
        200
    });
}

#[test]
fn encode_and_decode_are_inverse_and_reject_tampering() {
    let h = Harness::new(&[]);
    let data = Map::from_iter([("cart".to_owned(), json!([1, 2, 3]))]);
    let encoded = h.manager.encode(&data);
    assert_eq!(h.manager.decode(&encoded), Some(data));
    let tampered = encoded.replacen('e', "f", 1);
    assert_eq!(h.manager.decode(&tampered), None);
}

/// `SessionManager::save` outside a request, as its doc says: an empty new
/// session is created (Django's `SessionStore().save()` creates a record); a
/// session opened by a key whose record is gone is saved under a fresh key;
/// only such a session cleared without being read saves nothing (`None`).
#[test]
fn save_creates_an_empty_new_session_as_django_does_and_never_writes_a_vanished_key() {
    let h = Harness::new(&[]);
    pollster::block_on(async {
        let mut fresh = h.manager.new_session();
        let cookie = h.manager.save(&mut fresh).await.unwrap();
        assert!(cookie.is_some(), "an empty new session gets a record and a cookie value");
        assert_eq!(h.store.len(), 1);
        let key = fresh.session_key().unwrap().to_owned();
        h.store.delete(&edge_session::SessionKey::parse(&key).unwrap()).await.unwrap();
        let mut read = h.manager.open(&key);
        assert!(h.manager.save(&mut read).await.unwrap().is_some());
        assert_ne!(read.session_key(), Some(key.as_str()), "a fresh key, as Django's save() gives");
        let mut cleared = h.manager.open(&key);
        cleared.clear();
        assert_eq!(h.manager.save(&mut cleared).await.unwrap(), None, "nothing to keep");
        assert_eq!(cleared.session_key(), None, "the vanished key is not adopted");
        assert_eq!(h.store.len(), 1, "only the fresh key's record");
    });
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Cart {
    items: Vec<u32>,
    coupon: Option<String>,
    total: f64,
}

#[test]
fn typed_values_round_trip_through_the_store_as_plain_json() {
    let h = Harness::new(&[]);
    let mut jar = Jar::default();
    let cart = Cart { items: vec![3, 1], coupon: None, total: 12.5 };
    let r = h.request(None, async |s| {
        s.insert("visits", 41_i64).await.unwrap();
        s.insert("name", "Ada").await.unwrap();
        s.insert("tags", vec!["tea".to_owned(), "pot".to_owned()]).await.unwrap();
        s.insert("cart", &cart).await.unwrap();
        assert!(s.modified());
        200
    });
    jar.update(&r);
    h.request(jar.header(), async |s| {
        assert_eq!(s.get::<i64>("visits").await.unwrap(), Some(41));
        assert_eq!(s.get::<String>("name").await.unwrap().as_deref(), Some("Ada"));
        assert_eq!(s.get::<Vec<String>>("tags").await.unwrap(), Some(vec!["tea".to_owned(), "pot".to_owned()]));
        assert_eq!(s.get::<Cart>("cart").await.unwrap(), Some(Cart { items: vec![3, 1], coupon: None, total: 12.5 }));
        assert_eq!(s.get::<i64>("missing").await.unwrap(), None);
        // Stored as the JSON a Django view (or the npm package) reads.
        assert_eq!(
            s.get::<Value>("cart").await.unwrap(),
            Some(json!({"items": [3, 1], "coupon": null, "total": 12.5}))
        );
        assert_eq!(s.get::<Value>("name").await.unwrap(), Some(json!("Ada")));
        assert!(s.accessed() && !s.modified(), "typed reads do not modify");
        200
    });
}

#[test]
fn insert_stores_what_set_stores() {
    let h = Harness::new(&[]);
    h.request(None, async |s| {
        s.insert("a", json!({"x": [1, 2]})).await.unwrap();
        s.set("b", json!({"x": [1, 2]})).await.unwrap();
        assert_eq!(s.get::<Value>("a").await.unwrap(), s.get::<Value>("b").await.unwrap());
        s.insert("a", 7_u8).await.unwrap();
        assert_eq!(s.keys().await.unwrap(), vec!["a", "b"], "replacing keeps the key's place, as set does");
        200
    });
}

#[test]
fn a_stored_value_of_another_type_is_a_type_error_and_changes_nothing() {
    let (h, jar) = with_saved_session();
    let r = h.request(jar.header(), async |s| {
        let err = s.get::<String>("a").await.unwrap_err();
        let SessionError::TypeMismatch { key, expected, detail } = &err else { panic!("{err:?}") };
        assert_eq!((key.as_str(), *expected), ("a", std::any::type_name::<String>()));
        assert!(detail.contains("invalid type"), "{detail}");
        assert_eq!(err.name(), "TypeError");
        let shown = err.to_string();
        assert!(shown.contains("\"a\"") && shown.contains("String"), "{shown}");

        assert!(matches!(s.get::<Cart>("b").await, Err(SessionError::TypeMismatch { .. })));
        assert!(matches!(s.remove::<Vec<String>>("b").await, Err(SessionError::TypeMismatch { .. })));
        assert!(!s.modified());
        assert_eq!(s.get::<Vec<i64>>("b").await.unwrap(), Some(vec![1, 2]), "a failed remove keeps the value");
        200
    });
    assert_eq!(r.ops.do_call, 1, "the load alone: nothing to save");
}

#[test]
fn insert_refuses_reserved_keys_and_values_json_cannot_hold() {
    let (h, jar) = with_saved_session();
    h.request(jar.header(), async |s| {
        assert_eq!(s.insert("_auth_user_id", 1).await, Err(SessionError::ReservedKey("_auth_user_id".into())));
        for (value, what) in [
            (s.insert("x", f64::NAN).await, "NaN"),
            (s.insert("x", vec![1.0, f64::INFINITY]).await, "an infinity inside a list"),
            (
                s.insert("x", std::collections::BTreeMap::from([((1, 2), "pair key")])).await,
                "a map key that is not a string",
            ),
        ] {
            let err = value.unwrap_err();
            assert!(matches!(&err, SessionError::NotJson { key, .. } if key == "x"), "{what}: {err:?}");
            assert_eq!(err.name(), "TypeError", "{what}");
        }
        let mut deep = json!(1);
        for _ in 0..=edge_session::MAX_DEPTH {
            deep = json!([deep]);
        }
        assert_eq!(s.insert("x", &deep).await, Err(SessionError::TooDeep));
        assert!(!s.modified(), "no refused insert modifies");
        assert!(!s.contains("x").await.unwrap());
        // Integer map keys are written as strings, as serde_json (and Python's json) do.
        s.insert("x", std::collections::BTreeMap::from([(1, "one")])).await.unwrap();
        assert_eq!(s.get::<Value>("x").await.unwrap(), Some(json!({"1": "one"})));
        200
    });
}

#[test]
fn remove_returns_the_old_value_and_modifies_only_when_present() {
    assert_eq!(
        flags_after(async |s| assert_eq!(s.remove::<i64>("missing").await.unwrap(), None)),
        (true, false),
        "like Django's pop(key, None): an absent key changes nothing"
    );
    let (h, mut jar) = with_saved_session();
    let r = h.request(jar.header(), async |s| {
        assert_eq!(s.remove::<i64>("a").await.unwrap(), Some(1));
        assert!(s.modified());
        assert_eq!(s.remove::<i64>("a").await.unwrap(), None, "gone");
        200
    });
    assert_eq!(r.ops.do_call, 2, "the load and one save");
    jar.update(&r);
    h.request(jar.header(), async |s| {
        assert_eq!(s.keys().await.unwrap(), vec!["b"], "the removal was saved");
        200
    });
}
