//! Django's messages framework on the host, every engine: messages live in
//! the session under `_messages` as Django's `SessionStorage` keeps them, are
//! read on a later request and consumed, are dropped below `MESSAGE_LEVEL`,
//! and cost nothing when a request neither adds nor reads them.

#[macro_use]
mod common;

use common::engines::{Cache, CachedDb, Db, Engine, File, SignedCookies};
use common::{Jar, Rig};
use edge_session::messages::{self, Message, DEBUG, ERROR, INFO, SUCCESS, WARNING};
use edge_session::prelude::*;
use serde_json::Value;

fn shown<S: SessionStore + Clone>(h: &Rig<S>, jar: &mut Jar) -> Vec<Message> {
    let mut got = Vec::new();
    let r = h.request(jar.header(), async |s| {
        got = s.messages().get().await.unwrap();
        200
    });
    jar.update(&r);
    got
}

fn added_messages_are_shown_on_the_next_request_and_then_gone<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = Jar::default();
    jar.update(&h.request(None, async |s| {
        let mut m = s.messages();
        assert!(m.success("Added tea"));
        assert!(m.add(WARNING, "Only 2 left", "stock"));
        assert!(m.error("Payment failed"));
        assert!(m.add(55, "custom", ""));
        200
    }));
    let got = shown(&h, &mut jar);
    let levels: Vec<i64> = got.iter().map(|m| m.level).collect();
    assert_eq!(levels, [SUCCESS, WARNING, ERROR, 55]);
    assert_eq!(got[1].tags(), "stock warning");
    assert!(shown(&h, &mut jar).is_empty(), "consumed by the read");
}

fn messages_below_the_level_or_empty_are_dropped_and_the_level_is_a_setting<E: Engine>() {
    let h = E::rig(&[]);
    let r = h.request(None, async |s| {
        let mut m = s.messages();
        assert!(!m.debug("dropped"));
        assert!(!m.info(""), "an empty message is dropped, as Django does");
        200
    });
    assert_eq!(r.set_cookie, None, "nothing kept, nothing saved");
    let h = E::rig(&[("MESSAGE_LEVEL", "DEBUG")]);
    let mut jar = Jar::default();
    jar.update(&h.request(None, async |s| {
        assert!(s.messages().debug("kept"));
        200
    }));
    assert_eq!(shown(&h, &mut jar)[0].level, DEBUG);
}

fn kept_messages_stay_and_messages_added_after_the_read_wait_for_the_next<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = Jar::default();
    jar.update(&h.request(None, async |s| {
        s.messages().info("first");
        200
    }));
    jar.update(&h.request(jar.header(), async |s| {
        let mut m = s.messages();
        assert_eq!(m.get().await.unwrap().len(), 1);
        m.keep();
        200
    }));
    jar.update(&h.request(jar.header(), async |s| {
        let mut m = s.messages();
        assert_eq!(m.get().await.unwrap()[0].message, "first", "kept");
        m.info("after the read");
        200
    }));
    let got = shown(&h, &mut jar);
    assert_eq!(got.iter().map(|m| m.message.as_str()).collect::<Vec<_>>(), ["after the read"]);
}

fn a_request_that_adds_to_stored_messages_keeps_both_in_order<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = Jar::default();
    jar.update(&h.request(None, async |s| {
        s.messages().info("one");
        200
    }));
    jar.update(&h.request(jar.header(), async |s| {
        s.messages().info("two");
        200
    }));
    let got = shown(&h, &mut jar);
    assert_eq!(got.iter().map(|m| m.message.as_str()).collect::<Vec<_>>(), ["one", "two"]);
}

fn the_stored_text_is_djangos_and_other_data_is_untouched<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = Jar::default();
    jar.update(&h.request(None, async |s| {
        s.insert("cart", [1]).await.unwrap();
        s.messages().add(INFO, "Thé", "x");
        200
    }));
    let mut raw = None;
    h.request(jar.header(), async |s| {
        raw = s.get::<Value>(messages::MESSAGES_KEY).await.unwrap();
        200
    });
    assert_eq!(raw, Some(Value::from(r#"[["__json_message", 0, 20, "Th\u00e9", "x"]]"#)));
    shown(&h, &mut jar);
    let mut keys = Vec::new();
    h.request(jar.header(), async |s| {
        keys = s.keys().await.unwrap();
        200
    });
    assert_eq!(keys, ["cart"], "consumed messages leave no key behind");
}

fn a_request_without_messages_costs_nothing_more<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = Jar::default();
    jar.update(&h.request(None, async |s| {
        s.insert("cart", [1]).await.unwrap();
        200
    }));
    let r = h.request(jar.header(), async |_| 200);
    assert_eq!(r.ops.storage_ops(), 0);
    // Reading when there are none: the session's one read, no write.
    let r = h.request(jar.header(), async |s| {
        assert!(s.messages().get().await.unwrap().is_empty());
        200
    });
    assert_eq!((r.set_cookie, r.ops.storage_ops()), (None, E::pick(1, 0)));
}

fn messages_of_overlapping_requests_merge_on_the_merging_engines<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = Jar::default();
    jar.update(&h.request(None, async |s| {
        s.insert("cart", [1]).await.unwrap();
        s.messages().info("m0");
        200
    }));
    // A loads, B (a tab) shows the messages, then A adds one and saves.
    let a = h.request(jar.header(), async |s| {
        s.get::<Value>("cart").await.unwrap();
        let b = h.request(jar.header(), async |other| {
            assert_eq!(other.messages().get().await.unwrap().len(), 1);
            other.messages().info("from B");
            200
        });
        assert_eq!(b.status, 200);
        s.messages().info("from A");
        200
    });
    assert_eq!(a.status, 200, "{:?}", a.error);
    jar.update(&a);
    let left: Vec<String> = shown(&h, &mut jar).into_iter().map(|m| m.message).collect();
    assert_eq!(left, ["from B", "from A"], "m0 stays consumed, and both requests' messages stay");
}

fn a_save_outside_the_response_leaves_the_messages_to_the_finish<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = Jar::default();
    jar.update(&h.request(None, async |s| {
        s.messages().info("kept");
        200
    }));
    jar.update(&h.request(jar.header(), async |s| {
        assert_eq!(s.messages().get().await.unwrap().len(), 1);
        200
    }));
    assert!(shown(&h, &mut jar).is_empty(), "consumed at the finish");
    jar.update(&h.request(None, async |s| {
        s.messages().info("again");
        200
    }));
    let r = h.request(jar.header(), async |s| {
        let mut m = s.messages();
        assert_eq!(m.get().await.unwrap().len(), 1);
        m.keep();
        200
    });
    jar.update(&r);
    assert_eq!(shown(&h, &mut jar).len(), 1, "kept");
}

fn a_message_after_logout_lives_in_the_new_anonymous_session<E: Engine>() {
    let h = E::rig(&[]);
    let mut jar = Jar::default();
    jar.update(&h.request(None, async |s| {
        s.login("ada", None).await.unwrap();
        200
    }));
    jar.update(&h.request(jar.header(), async |s| {
        s.logout().await.unwrap();
        s.messages().info("You are logged out");
        200
    }));
    let mut user = Some(String::new());
    let mut got = Vec::new();
    h.request(jar.header(), async |s| {
        user = s.user_id().await.unwrap();
        got = s.messages().get().await.unwrap();
        200
    });
    assert_eq!((user, got.len()), (None, 1));
}

macro_rules! on_every_engine {
    ($engine:ty) => {
        tests!($engine;
            added_messages_are_shown_on_the_next_request_and_then_gone,
            messages_below_the_level_or_empty_are_dropped_and_the_level_is_a_setting,
            kept_messages_stay_and_messages_added_after_the_read_wait_for_the_next,
            a_request_that_adds_to_stored_messages_keeps_both_in_order,
            the_stored_text_is_djangos_and_other_data_is_untouched,
            a_request_without_messages_costs_nothing_more,
            a_save_outside_the_response_leaves_the_messages_to_the_finish,
            a_message_after_logout_lives_in_the_new_anonymous_session,
        );
    };
}

mod db {
    on_every_engine!(super::Db);
    tests!(super::Db; messages_of_overlapping_requests_merge_on_the_merging_engines);
}
mod cached_db {
    on_every_engine!(super::CachedDb);
    tests!(super::CachedDb; messages_of_overlapping_requests_merge_on_the_merging_engines);
}
mod cache {
    on_every_engine!(super::Cache);
}
mod file {
    on_every_engine!(super::File);
}
mod signed_cookies {
    on_every_engine!(super::SignedCookies);
}

#[test]
fn a_bad_message_level_setting_is_refused() {
    let e = Settings::from_pairs([("SECRET_KEY", "k"), ("MESSAGE_LEVEL", "LOUD")]).unwrap_err();
    assert_eq!(e.setting, "MESSAGE_LEVEL");
    let s = Settings::from_pairs([("SECRET_KEY", "k"), ("MESSAGE_LEVEL", "35")]).unwrap();
    assert_eq!(s.message_level(), 35);
}

#[test]
fn signed_cookies_drop_the_oldest_messages_to_fit_in_the_cookie() {
    let h = SignedCookies::rig(&[]);
    let mut jar = Jar::default();
    let r = h.request(None, async |s| {
        s.insert("cart", ["tea"]).await.unwrap();
        let mut m = s.messages();
        // Text that does not compress: the cookie is zlib-compressed.
        let mut seed: u64 = 7;
        for i in 0..80 {
            let noise: String = (0..100)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    char::from(b'a' + (seed >> 59) as u8 % 26)
                })
                .collect();
            m.info(&format!("message {i:02} {noise}"));
        }
        200
    });
    assert_eq!(r.status, 200, "{:?}", r.error);
    jar.update(&r);
    let mut cart = None;
    let mut got = Vec::new();
    h.request(jar.header(), async |s| {
        cart = s.get::<Vec<String>>("cart").await.unwrap();
        got = s.messages().get().await.unwrap();
        200
    });
    assert_eq!(cart, Some(vec!["tea".to_owned()]), "other data is never dropped");
    assert!(!got.is_empty() && got.len() < 80, "{}", got.len());
    assert_eq!(got.last().unwrap().message.get(..10), Some("message 79"), "the newest stay");
}

#[test]
fn messages_that_are_not_djangos_list_are_left_as_they_are() {
    use edge_session::testing::internals::{TimestampSigner, SIGNED_COOKIES_SALT};
    let h = SignedCookies::rig(&[]);
    let data = serde_json::json!({"_messages": "not a list", "cart": [1]});
    let token = TimestampSigner::new(common::SECRET, &[], SIGNED_COOKIES_SALT).sign_object(&data, true, common::START);
    let cookie = format!("sessionid={token}");
    let mut raw = None;
    let r = h.request(Some(&cookie), async |s| {
        s.messages().info("new");
        s.insert("x", 1).await.unwrap();
        200
    });
    let mut jar = Jar(Some(cookie.clone()));
    jar.update(&r);
    h.request(jar.header(), async |s| {
        raw = s.get::<Value>("_messages").await.unwrap();
        200
    });
    assert_eq!(raw, Some(Value::from("not a list")));
}
