//! A user's sessions on the host (`SESSION_USER_INDEX`), on every engine:
//! Django's login and logout, the per-user index (list, current, metadata,
//! expiry), revocation (one device, everywhere, everywhere else, outside a
//! request), revocation racing a save, and what each flow costs in storage
//! operations (`MemoryUsers` counts one `do_call` per index request, as the
//! user's Durable Object is one).

#[macro_use]
mod common;

use common::engines::{Cache, CachedDb, Db, Engine, File, Kind, SignedCookies};
use common::{ops, Gate, Jar, Response, Rig, START};
use edge_session::prelude::*;
use edge_session::users::index::MAX_ENTRIES;
use edge_session::users::{MemoryUsers, UserSession};
use edge_session::Counters;
use serde_json::{json, Map, Value};

fn rig<E: Engine>(extra: &[(&str, &str)]) -> (Rig<E::Store>, MemoryUsers) {
    let mut settings = vec![("SESSION_USER_INDEX", "true")];
    settings.extend_from_slice(extra);
    let h = E::rig(&settings);
    let users = MemoryUsers::new(h.clock.clone());
    (h.with_users(users.clone()), users)
}

fn meta(device: &str) -> Option<Map<String, Value>> {
    Some(Map::from_iter([("device".to_owned(), json!(device))]))
}

/// A browser that logs in as `user`.
fn login<S: SessionStore + Clone>(h: &Rig<S>, user: &str, device: Option<&str>) -> (Jar, Response) {
    let mut jar = Jar::default();
    let r = h.request(None, async |s| {
        s.login(user, device.and_then(meta)).await.unwrap();
        200
    });
    assert_eq!(r.status, 200, "{:?}", r.error);
    jar.update(&r);
    (jar, r)
}

fn user_of<S: SessionStore + Clone>(h: &Rig<S>, jar: &Jar) -> Option<String> {
    let mut user = None;
    h.request(jar.header(), async |s| {
        user = s.user_id().await.unwrap();
        200
    });
    user
}

fn listed<S: SessionStore + Clone>(h: &Rig<S>, jar: &Jar) -> Vec<UserSession> {
    let mut list = Vec::new();
    h.request(jar.header(), async |s| {
        list = s.user_sessions().await.unwrap();
        200
    });
    list
}

fn login_cycles_the_key_of_the_same_user_and_flushes_another_users_session<E: Engine>() {
    let (h, _) = rig::<E>(&[]);
    let mut jar = Jar::default();
    jar.update(&h.request(None, async |s| {
        s.insert("cart", [1]).await.unwrap();
        200
    }));
    let anonymous = jar.key();
    jar.update(&h.request(jar.header(), async |s| {
        s.login("ada", None).await.unwrap();
        200
    }));
    if E::KIND != Kind::SignedCookies {
        assert_ne!(jar.key(), anonymous, "a login cycles the key (session fixation)");
    }
    let mut cart = None;
    jar.update(&h.request(jar.header(), async |s| {
        cart = s.get::<Vec<i64>>("cart").await.unwrap();
        s.login("ada", None).await.unwrap();
        200
    }));
    assert_eq!(cart, Some(vec![1]), "the same user keeps the anonymous data");
    assert_eq!(listed(&h, &jar).len(), 1, "logging in again replaces this device's entry");
    assert_eq!(user_of(&h, &jar).as_deref(), Some("ada"));

    jar.update(&h.request(jar.header(), async |s| {
        s.login("bob", None).await.unwrap();
        cart = s.get::<Vec<i64>>("cart").await.unwrap();
        200
    }));
    assert_eq!(cart, None, "another user's login starts from an empty session");
    assert_eq!(h.manager.user_sessions("ada").await_now().len(), 0, "ada's session ended with the flush");
    assert_eq!(h.manager.user_sessions("bob").await_now().len(), 1);
}

fn a_list_shows_each_device_with_its_meta_and_marks_the_current_one<E: Engine>() {
    let (h, _) = rig::<E>(&[]);
    let (phone, r) = login(&h, "ada", Some("phone"));
    let (laptop, _) = login(&h, "ada", None);
    let list = listed(&h, &phone);
    assert_eq!(list.len(), 2);
    let here = list.iter().find(|s| s.current).expect("the asking session is marked");
    assert_eq!(here.meta, meta("phone"));
    assert_eq!(here.created, common::START);
    let there = list.iter().find(|s| !s.current).unwrap();
    assert_eq!(there.meta, None, "nothing is kept unless given");
    let shown = serde_json::to_string(&list.iter().map(UserSession::to_json).collect::<Vec<_>>()).unwrap();
    for key in [phone.key(), laptop.key()].into_iter().flatten() {
        assert!(!shown.contains(&key), "a list never shows a session key");
    }
    let cookie_value = r.set_cookie.unwrap();
    assert!(!shown.contains(cookie_value.split(';').next().unwrap().split_once('=').unwrap().1));
    assert_eq!(here.to_json()["created"], "2025-12-06T05:46:40+00:00");
}

fn twenty_logins_are_twenty_entries<E: Engine>() {
    let (h, _) = rig::<E>(&[]);
    let jars: Vec<Jar> = (0..20).map(|_| login(&h, "ada", None).0).collect();
    let list = listed(&h, &jars[7]);
    assert_eq!(list.len(), 20);
    let ids: std::collections::HashSet<_> = list.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids.len(), 20);
    assert_eq!(list.iter().filter(|s| s.current).count(), 1);
}

fn revoking_a_device_signs_it_out_on_its_next_request<E: Engine>() {
    let (h, _) = rig::<E>(&[]);
    let (laptop, _) = login(&h, "ada", Some("laptop"));
    let (phone, _) = login(&h, "ada", Some("phone"));
    let id = listed(&h, &phone).into_iter().find(|s| !s.current).unwrap().id;
    let mut revoked = false;
    h.request(phone.header(), async |s| {
        revoked = s.revoke_session(&id).await.unwrap();
        200
    });
    assert!(revoked);
    let r = h.request(laptop.header(), async |s| {
        assert_eq!(s.user_id().await.unwrap(), None, "an empty, logged-out session");
        assert!(s.is_empty());
        200
    });
    assert!(r.deletes_cookie(), "and its cookie is deleted");
    assert_eq!(user_of(&h, &phone).as_deref(), Some("ada"));
    assert_eq!(listed(&h, &phone).len(), 1);
    let mut again = true;
    h.request(phone.header(), async |s| {
        again = s.revoke_session(&id).await.unwrap();
        200
    });
    assert!(!again, "already gone");
}

fn revocation_works_only_within_the_users_own_sessions<E: Engine>() {
    let (h, _) = rig::<E>(&[]);
    let (ada, _) = login(&h, "ada", None);
    let (bob, _) = login(&h, "bob", None);
    let bobs = listed(&h, &bob)[0].id.clone();
    let mut revoked = true;
    h.request(ada.header(), async |s| {
        revoked = s.revoke_session(&bobs).await.unwrap();
        200
    });
    assert!(!revoked);
    assert_eq!(user_of(&h, &bob).as_deref(), Some("bob"));
}

fn signing_out_everywhere_else_keeps_only_this_session_and_everywhere_ends_it_too<E: Engine>() {
    let (h, _) = rig::<E>(&[]);
    let others: Vec<Jar> = (0..3).map(|_| login(&h, "ada", None).0).collect();
    let (here, _) = login(&h, "ada", None);
    let mut n = 0;
    h.request(here.header(), async |s| {
        n = s.revoke_user_sessions(true).await.unwrap();
        200
    });
    assert_eq!(n, 3);
    for jar in &others {
        assert_eq!(user_of(&h, jar), None);
    }
    let list = listed(&h, &here);
    assert_eq!((list.len(), list[0].current), (1, true));

    let r = h.request(here.header(), async |s| {
        n = s.revoke_user_sessions(false).await.unwrap();
        assert_eq!(s.user_id().await.unwrap(), None, "this session is logged out at once");
        200
    });
    assert_eq!(n, 1);
    assert!(r.deletes_cookie());
    assert_eq!(user_of(&h, &here), None);
}

fn outside_a_request_the_manager_lists_revokes_and_erases_by_user_id<E: Engine>() {
    let (h, users) = rig::<E>(&[]);
    let (a, _) = login(&h, "ada", None);
    let (b, _) = login(&h, "ada", None);
    let list = h.manager.user_sessions("ada").await_now();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|s| !s.current), "no session is current outside a request");
    assert!(h.manager.revoke_session("ada", &list[0].id).await_now());
    assert_eq!(h.manager.user_sessions("ada").await_now().len(), 1);
    assert_eq!(h.manager.erase_user("ada").await_now(), 1);
    assert_eq!(users.stored("ada"), None, "no index is left behind");
    assert_eq!((user_of(&h, &a), user_of(&h, &b)), (None, None));
    if E::KIND != Kind::SignedCookies {
        assert_eq!(E::records(&h.store), 0);
    }
}

fn expired_sessions_leave_the_list_by_themselves<E: Engine>() {
    let (h, users) = rig::<E>(&[]);
    let mut brief = Jar::default();
    brief.update(&h.request(None, async |s| {
        s.login("ada", meta("brief")).await.unwrap();
        s.set_expiry(Expiry::Seconds(60)).await.unwrap();
        200
    }));
    let (lasting, _) = login(&h, "ada", None);
    assert_eq!(listed(&h, &lasting).len(), 2);
    h.clock.advance(61);
    let list = listed(&h, &lasting);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].meta, None);
    assert!(!users.stored("ada").unwrap().contains("brief"), "the expired entry left the index");
}

fn a_save_racing_a_revocation_never_brings_the_session_back<E: Engine>() {
    let (h, _) = rig::<E>(&[]);
    let (device, _) = login(&h, "ada", None);
    let (admin, _) = login(&h, "ada", None);
    let r = h.request(device.header(), async |s| {
        assert_eq!(s.user_id().await.unwrap().as_deref(), Some("ada"));
        // Another request signs out every other device while this one runs.
        h.request(admin.header(), async |a| {
            assert_eq!(a.revoke_user_sessions(true).await.unwrap(), 1);
            200
        });
        s.insert("cart", [1]).await.unwrap();
        200
    });
    let mut after = device.clone();
    if E::KIND == Kind::SignedCookies {
        // The cookie carries the data: the save sends one, and it names a
        // revoked entry, so the next request reads it as empty.
        after.update(&r);
    } else {
        assert_eq!(r.status, 400, "Django's SessionInterrupted ({:?})", r.error);
        assert_eq!(r.set_cookie, None);
    }
    assert_eq!(user_of(&h, &after), None, "the revoked session stays revoked");
    assert_eq!(listed(&h, &admin).len(), 1);
    if E::KIND != Kind::SignedCookies {
        assert_eq!(E::records(&h.store), 1, "only the admin's record is left");
    }
}

fn a_copied_cookie_stops_working_after_logout<E: Engine>() {
    let (h, _) = rig::<E>(&[]);
    let (device, _) = login(&h, "ada", None);
    let copy = device.clone();
    let r = h.request(device.header(), async |s| {
        s.logout().await.unwrap();
        200
    });
    assert!(r.deletes_cookie());
    assert_eq!(user_of(&h, &copy), None);
}

fn cycle_key_keeps_the_listed_entry_unless_the_session_was_revoked<E: Engine>() {
    let (h, _) = rig::<E>(&[]);
    let (mut device, _) = login(&h, "ada", Some("phone"));
    let before = listed(&h, &device);
    device.update(&h.request(device.header(), async |s| {
        s.cycle_key().await.unwrap();
        200
    }));
    let after = listed(&h, &device);
    assert_eq!(after.len(), 1);
    assert_eq!((&after[0].id, after[0].created, &after[0].meta), (&before[0].id, before[0].created, &before[0].meta));
    assert!(after[0].current);

    let (admin, _) = login(&h, "ada", None);
    let r = h.request(device.header(), async |s| {
        s.user_id().await.unwrap();
        h.request(admin.header(), async |a| {
            a.revoke_user_sessions(true).await.unwrap();
            200
        });
        s.cycle_key().await.unwrap();
        200
    });
    assert_eq!(r.status, 400, "a revoked session cannot cycle itself a new key ({:?})", r.error);
    assert_eq!(E::records(&h.store), 1, "only the admin's record is left");
    assert_eq!(listed(&h, &admin).len(), 1);
}

fn a_failing_index_fails_the_login_and_leaves_no_unlisted_session<E: Engine>() {
    let (h, users) = rig::<E>(&[]);
    users.fail(true);
    let r = h.request(None, async |s| {
        s.login("ada", None).await.unwrap();
        200
    });
    assert_eq!((r.status, r.set_cookie.is_none()), (500, true), "{:?}", r.error);
    assert_eq!(r.error.unwrap().name(), "StoreError");
    assert_eq!(E::records(&h.store), 0, "the new record is deleted again: every session of a user is listed");
    users.fail(false);
    assert!(h.manager.user_sessions("ada").await_now().is_empty());
}

fn without_the_setting_login_is_djangos_and_costs_no_index_call<E: Engine>() {
    let h = E::rig(&[]);
    let users = MemoryUsers::new(h.clock.clone());
    let h = h.with_users(users.clone());
    let (jar, r) = login(&h, "ada", None);
    assert_eq!(
        r.ops,
        E::cost("do_call=1", "do_call=1,kv_put=1", "kv_put=1", "r2_put=1"),
        "one write, as any new session"
    );
    assert_eq!(user_of(&h, &jar).as_deref(), Some("ada"));
    assert_eq!(users.stored("ada"), None);
    let mut refused = None;
    h.request(jar.header(), async |s| {
        refused = s.user_sessions().await.err();
        200
    });
    assert_eq!(refused, Some(SessionError::NoUserIndex));
}

/// The storage operations of each flow, per engine (the README's table).
fn each_flow_costs_what_the_readme_states<E: Engine>() {
    let (h, _) = rig::<E>(&[]);
    let (mut phone, r) = login(&h, "ada", None);
    assert_eq!(
        r.ops,
        cost::<E>("do_call=2", "do_call=2,kv_put=1", "kv_put=1,do_call=1", "r2_put=1,do_call=1", "do_call=1"),
        "login"
    );
    let (laptop, _) = login(&h, "ada", None);

    let read = h.request(phone.header(), async |s| {
        s.user_id().await.unwrap();
        200
    });
    assert_eq!(
        read.ops,
        cost::<E>("do_call=1", "kv_get=1", "kv_get=1", "r2_get=1", "do_call=1"),
        "a read: today's, and signed_cookies asks the index"
    );

    let modify = h.request(phone.header(), async |s| {
        s.insert("cart", [1]).await.unwrap();
        200
    });
    phone.update(&modify);
    assert_eq!(
        modify.ops,
        cost::<E>(
            "do_call=2",
            "kv_get=1,do_call=1,kv_put=1",
            "kv_get=1,kv_put=1,do_call=1",
            "r2_get=1,r2_put=1",
            "do_call=1"
        ),
        "a modify: today's; cache asks the index after its blind put"
    );

    let mut list_cost = Counters::default();
    h.request(phone.header(), async |s| {
        s.user_id().await.unwrap();
        let before = edge_session::counters();
        assert_eq!(s.user_sessions().await.unwrap().len(), 2);
        list_cost = edge_session::counters().since(&before);
        200
    });
    assert_eq!(
        Counters { crypto: 0, ..list_cost },
        cost::<E>("do_call=3", "kv_get=2,do_call=1", "kv_get=2,do_call=1", "r2_head=2,do_call=1", "do_call=1"),
        "a list of two: the index, and each record looked up"
    );

    let mut revoke_cost = Counters::default();
    h.request(phone.header(), async |s| {
        s.user_id().await.unwrap();
        let id = s.user_sessions().await.unwrap().into_iter().find(|x| !x.current).unwrap().id;
        let before = edge_session::counters();
        assert!(s.revoke_session(&id).await.unwrap());
        revoke_cost = edge_session::counters().since(&before);
        200
    });
    assert_eq!(
        Counters { crypto: 0, ..revoke_cost },
        cost::<E>("do_call=2", "do_call=2,kv_delete=1", "kv_delete=1,do_call=1", "r2_delete=1,do_call=1", "do_call=1"),
        "a revocation: the index, then the record's delete"
    );
    assert_eq!(user_of(&h, &laptop), None);

    let logout = h.request(phone.header(), async |s| {
        s.logout().await.unwrap();
        200
    });
    assert_eq!(
        logout.ops,
        cost::<E>(
            "do_call=3",
            "kv_get=1,do_call=2,kv_delete=1",
            "kv_get=1,kv_delete=1,do_call=1",
            "r2_get=1,r2_delete=1,do_call=1",
            "do_call=2"
        ),
        "a logout: the read (Django's logout reads request.user), the delete, the entry out of the index"
    );
}

/// What a flow costs: on `db`, `cached_db`, `cache`, `file`, `signed_cookies`.
fn cost<E: Engine>(db: &str, cached_db: &str, cache: &str, file: &str, signed: &str) -> Counters {
    if E::KIND == Kind::SignedCookies {
        ops(signed)
    } else {
        E::cost(db, cached_db, cache, file)
    }
}

/// A future run to completion here (the memory stores never wait).
trait AwaitNow {
    type Output;
    fn await_now(self) -> Self::Output;
}

impl<F: std::future::Future<Output = Result<T, SessionError>>, T> AwaitNow for F {
    type Output = T;
    fn await_now(self) -> T {
        pollster::block_on(self).unwrap()
    }
}

fn a_signed_session_logged_in_without_the_index_is_refused_once_it_is_on() {
    let plain = SignedCookies::rig(&[]);
    let (jar, _) = login(&plain, "ada", None);
    assert_eq!(user_of(&plain, &jar).as_deref(), Some("ada"));
    let (indexed, _) = rig::<SignedCookies>(&[]);
    assert_eq!(user_of(&indexed, &jar), None, "no public id, so it cannot be revoked: not accepted");
}

/// A rig over the engine's store behind a [`Gate`], to land another request
/// inside this one's store calls.
fn gated<E: Engine>() -> (Rig<Gate<E::Store>>, MemoryUsers) {
    let clock = FixedClock::new(START);
    let gate = Gate::new(E::store(&clock));
    let h = Rig::with_store(clock.clone(), gate, &[("SESSION_ENGINE", E::NAME), ("SESSION_USER_INDEX", "true")]);
    let users = MemoryUsers::new(clock);
    (h.with_users(users.clone()), users)
}

fn stored_entries(users: &MemoryUsers, user: &str) -> usize {
    users.stored(user).map_or(0, |t| serde_json::from_str::<Vec<Value>>(&t).unwrap().len())
}

fn logging_in_again_replaces_this_devices_entry_in_the_index_itself<E: Engine>() {
    let (h, users) = rig::<E>(&[]);
    let (mut jar, _) = login(&h, "ada", None);
    jar.update(&h.request(jar.header(), async |s| {
        s.login("ada", None).await.unwrap();
        200
    }));
    assert_eq!(stored_entries(&users, "ada"), 1, "replaced at the login, not left for a list to prune");
}

fn a_list_racing_a_cycle_key_keeps_the_moved_entry<E: Engine>() {
    let (h, users) = gated::<E>();
    let (mut device, _) = login(&h, "ada", None);
    let (admin, _) = login(&h, "ada", None);
    let h2 = Rig { clock: h.clock.clone(), store: h.store.clone(), manager: h.manager.clone() };
    let cycled = std::rc::Rc::new(std::cell::RefCell::new(None));
    let (c, d) = (cycled.clone(), device.clone());
    // The list has read the index; before it looks the device's record up,
    // the device cycles its key (the entry moves, the old record goes).
    h.store.before_next_exists(move || {
        *c.borrow_mut() = Some(h2.request(d.header(), async |s| {
            s.cycle_key().await.unwrap();
            200
        }));
    });
    let mut listed_now = Vec::new();
    h.request(admin.header(), async |s| {
        listed_now = s.user_sessions().await.unwrap();
        200
    });
    device.update(cycled.borrow().as_ref().expect("the cycle ran inside the list"));
    assert_eq!(stored_entries(&users, "ada"), 2, "the moved entry is not pruned");
    assert_eq!(h.manager.revoke_user_sessions("ada").await_now(), 2);
    assert_eq!(user_of(&h, &device), None, "so sign out everywhere reaches it");
}

fn a_cycle_key_racing_a_logout_does_not_bring_the_session_back<E: Engine>() {
    let (h, users) = rig::<E>(&[]);
    let (device, _) = login(&h, "ada", None);
    let r = h.request(device.header(), async |s| {
        s.user_id().await.unwrap();
        h.request(device.header(), async |other| {
            other.logout().await.unwrap();
            200
        });
        s.cycle_key().await.unwrap();
        200
    });
    assert_eq!(r.status, 400, "SessionInterrupted ({:?})", r.error);
    assert_eq!((E::records(&h.store), stored_entries(&users, "ada")), (0, 0));
}

fn a_logout_racing_a_cycle_key_deletes_the_cycled_session_too<E: Engine>() {
    let (h, users) = rig::<E>(&[]);
    let (device, _) = login(&h, "ada", None);
    let r = h.request(device.header(), async |s| {
        s.user_id().await.unwrap();
        // The other tab cycles the key and saves before this one logs out.
        let cycled = h.request(device.header(), async |other| {
            other.cycle_key().await.unwrap();
            200
        });
        assert_eq!(cycled.status, 200);
        s.logout().await.unwrap();
        200
    });
    assert!(r.deletes_cookie());
    assert_eq!((E::records(&h.store), stored_entries(&users, "ada")), (0, 0), "the cycled record went with the logout");
}

fn the_current_session_is_known_after_a_cycle_key_in_the_same_request<E: Engine>() {
    let (h, _) = rig::<E>(&[]);
    let (other, _) = login(&h, "ada", None);
    let (mut here, _) = login(&h, "ada", None);
    let r = h.request(here.header(), async |s| {
        s.cycle_key().await.unwrap();
        assert_eq!(s.user_sessions().await.unwrap().iter().filter(|x| x.current).count(), 1);
        assert_eq!(s.revoke_user_sessions(true).await.unwrap(), 1, "only the other device");
        200
    });
    assert_eq!(r.status, 200, "{:?}", r.error);
    here.update(&r);
    assert_eq!((user_of(&h, &here).as_deref(), user_of(&h, &other)), (Some("ada"), None));
}

fn a_login_beyond_the_limit_signs_out_the_session_entered_longest_ago<E: Engine>() {
    let (h, users) = rig::<E>(&[]);
    let (first, _) = login(&h, "ada", None);
    for _ in 1..MAX_ENTRIES {
        login(&h, "ada", None);
    }
    assert_eq!(user_of(&h, &first).as_deref(), Some("ada"));
    let (last, _) = login(&h, "ada", None);
    assert_eq!(stored_entries(&users, "ada"), MAX_ENTRIES);
    assert_eq!(user_of(&h, &first), None, "evicted: its record is deleted, not left alive and unlisted");
    assert_eq!(user_of(&h, &last).as_deref(), Some("ada"));
    if E::KIND != Kind::SignedCookies {
        assert_eq!(E::records(&h.store), MAX_ENTRIES);
    }
}

fn a_failed_delete_while_revoking_leaves_the_sessions_listed_for_a_retry() {
    let (h, _) = rig::<Db>(&[]);
    let jars: Vec<Jar> = (0..3).map(|_| login(&h, "ada", None).0).collect();
    h.store.set_fault(edge_session::testing::Fault::DeletesFail);
    assert!(pollster::block_on(h.manager.revoke_user_sessions("ada")).is_err());
    h.store.set_fault(edge_session::testing::Fault::None);
    assert_eq!(h.manager.user_sessions("ada").await_now().len(), 3, "put back, still listed");
    assert_eq!(h.manager.revoke_user_sessions("ada").await_now(), 3);
    assert!(jars.iter().all(|j| user_of(&h, j).is_none()));
}

#[test]
fn a_failed_delete_while_revoking_keeps_the_sessions_revocable() {
    a_failed_delete_while_revoking_leaves_the_sessions_listed_for_a_retry();
}

#[test]
fn a_signed_save_that_finds_its_entry_revoked_is_session_interrupted() {
    let (h, _) = rig::<SignedCookies>(&[]);
    let (device, _) = login(&h, "ada", None);
    let (admin, _) = login(&h, "ada", None);
    let r = h.request(device.header(), async |s| {
        s.user_id().await.unwrap();
        h.request(admin.header(), async |a| {
            a.revoke_user_sessions(true).await.unwrap();
            200
        });
        h.clock.advance(10); // the new cookie outlives what the index was told: it is asked again
        s.insert("cart", [1]).await.unwrap();
        200
    });
    assert_eq!((r.status, r.set_cookie), (400, None), "{:?}", r.error);
}

#[test]
fn a_signed_login_then_logout_in_one_request_leaves_no_old_cookie_working() {
    let (h, _) = rig::<SignedCookies>(&[]);
    let (device, _) = login(&h, "ada", None);
    let copy = device.clone();
    h.request(device.header(), async |s| {
        s.login("ada", None).await.unwrap();
        s.logout().await.unwrap();
        200
    });
    assert_eq!(user_of(&h, &copy), None);
}

#[test]
fn user_ids_are_checked_on_every_call() {
    let (h, _) = rig::<Db>(&[]);
    for bad in ["", "a\nb", &"x".repeat(300)] {
        assert!(
            matches!(pollster::block_on(h.manager.user_sessions(bad)), Err(SessionError::InvalidUser(_))),
            "{bad:?}"
        );
        assert!(matches!(pollster::block_on(h.manager.revoke_user_sessions(bad)), Err(SessionError::InvalidUser(_))));
    }
}

#[test]
fn a_signed_session_saved_later_raises_its_entrys_expiry_with_one_more_call() {
    let (h, _) = rig::<SignedCookies>(&[]);
    let (mut phone, _) = login(&h, "ada", None);
    h.clock.advance(1_000);
    let modify = h.request(phone.header(), async |s| {
        s.insert("cart", [1]).await.unwrap();
        200
    });
    assert_eq!(modify.ops, ops("do_call=2"), "the check at load, then the entry's new expiry");
    phone.update(&modify);
    // Past the first cookie's end, within the new one's: still listed, still working.
    h.clock.advance(1_209_600 - 1_000 + 10);
    assert_eq!(listed(&h, &phone).len(), 1);
    assert_eq!(user_of(&h, &phone).as_deref(), Some("ada"));
    let r = h.request(phone.header(), async |s| {
        s.insert("cart", [2]).await.unwrap();
        200
    });
    assert_eq!(r.ops, ops("do_call=2"));
}

#[test]
fn signed_cookies_without_a_public_id_are_refused_with_the_index_on() {
    a_signed_session_logged_in_without_the_index_is_refused_once_it_is_on();
}

macro_rules! on_every_engine {
    ($engine:ty) => {
        tests!($engine;
            login_cycles_the_key_of_the_same_user_and_flushes_another_users_session,
            a_list_shows_each_device_with_its_meta_and_marks_the_current_one,
            twenty_logins_are_twenty_entries,
            revoking_a_device_signs_it_out_on_its_next_request,
            revocation_works_only_within_the_users_own_sessions,
            signing_out_everywhere_else_keeps_only_this_session_and_everywhere_ends_it_too,
            outside_a_request_the_manager_lists_revokes_and_erases_by_user_id,
            expired_sessions_leave_the_list_by_themselves,
            a_save_racing_a_revocation_never_brings_the_session_back,
            a_copied_cookie_stops_working_after_logout,
            a_failing_index_fails_the_login_and_leaves_no_unlisted_session,
            without_the_setting_login_is_djangos_and_costs_no_index_call,
            each_flow_costs_what_the_readme_states,
            logging_in_again_replaces_this_devices_entry_in_the_index_itself,
            a_login_beyond_the_limit_signs_out_the_session_entered_longest_ago,
        );
    };
}

/// The races of a server-side session's key with the index.
macro_rules! on_server_side_engines {
    ($engine:ty) => {
        tests!($engine;
            cycle_key_keeps_the_listed_entry_unless_the_session_was_revoked,
            a_list_racing_a_cycle_key_keeps_the_moved_entry,
            a_cycle_key_racing_a_logout_does_not_bring_the_session_back,
            a_logout_racing_a_cycle_key_deletes_the_cycled_session_too,
            the_current_session_is_known_after_a_cycle_key_in_the_same_request,
        );
    };
}

mod db {
    on_every_engine!(super::Db);
    on_server_side_engines!(super::Db);
}

mod cached_db {
    on_every_engine!(super::CachedDb);
    on_server_side_engines!(super::CachedDb);
}

mod cache {
    on_every_engine!(super::Cache);
    on_server_side_engines!(super::Cache);
}

mod file {
    on_every_engine!(super::File);
    on_server_side_engines!(super::File);
}

mod signed_cookies {
    on_every_engine!(super::SignedCookies);
}
