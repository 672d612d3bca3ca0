//! Expiry policy beyond Django, on every engine: `SESSION_REFRESH_AFTER`
//! (reads count as activity, at most one write per interval) and
//! `SESSION_ABSOLUTE_AGE` (a session ends that long after its key was
//! issued, whatever its activity and its `set_expiry`). Both are off by
//! default, which is Django's behaviour. The storage cost of a refresh is
//! asserted per engine, as on workerd (`tests/worker/expiry.test.mjs`).

mod common;

use common::{ops, Files, Jar, Response, Rig, START};
use edge_session::prelude::*;
use edge_session::store::cache::{CacheEngine, CachedDbStore};
use edge_session::testing::{FakeKv, FakeObject};
use edge_session::Counters;
use serde_json::{json, Value};

fn db(extra: &[(&str, &str)]) -> Rig<FakeObject> {
    let clock = FixedClock::new(START);
    Rig::with_store(clock.clone(), FakeObject::memory(clock), &with(extra, "db"))
}

fn cached_db(extra: &[(&str, &str)]) -> Rig<CachedDbStore<FakeKv, FakeObject>> {
    let clock = FixedClock::new(START);
    let store = CachedDbStore::new(FakeKv::consistent(clock.clone()), FakeObject::memory(clock.clone()), clock.clone());
    Rig::with_store(clock, store, &with(extra, "cached_db"))
}

fn cache(extra: &[(&str, &str)]) -> Rig<CacheEngine<FakeKv>> {
    let clock = FixedClock::new(START);
    Rig::with_store(clock.clone(), CacheEngine::new(FakeKv::consistent(clock.clone()), clock), &with(extra, "cache"))
}

fn file(extra: &[(&str, &str)]) -> Rig<Files> {
    let clock = FixedClock::new(START);
    Rig::with_store(clock.clone(), Files::new(&clock), &with(extra, "file"))
}

fn signed(extra: &[(&str, &str)]) -> Rig<FakeObject> {
    let clock = FixedClock::new(START);
    Rig::with_store(clock.clone(), FakeObject::memory(clock), &with(extra, "signed_cookies"))
}

fn with<'a>(extra: &[(&'a str, &'a str)], engine: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut settings = vec![("SESSION_ENGINE", engine)];
    settings.extend_from_slice(extra);
    settings
}

const POLICY: &[(&str, &str)] =
    &[("SESSION_COOKIE_AGE", "3"), ("SESSION_REFRESH_AFTER", "1"), ("SESSION_ABSOLUTE_AGE", "8")];

fn login<S: SessionStore + Clone>(rig: &Rig<S>) -> Jar {
    let mut jar = Jar::default();
    jar.update(&rig.request(None, async |s| {
        s.set("user", json!("ada")).await.unwrap();
        200
    }));
    assert!(jar.header().is_some());
    jar
}

fn read<S: SessionStore + Clone>(rig: &Rig<S>, jar: &mut Jar) -> (Option<Value>, Response) {
    let mut user = None;
    let r = rig.request(jar.header(), async |s| {
        user = s.get::<Value>("user").await.unwrap();
        200
    });
    jar.update(&r);
    (user, r)
}

fn max_age(r: &Response) -> Option<i64> {
    let c = r.set_cookie.as_deref()?;
    c.split("; ").find_map(|a| a.strip_prefix("Max-Age=")).and_then(|v| v.parse().ok())
}

/// `SESSION_COOKIE_AGE=3`, `SESSION_REFRESH_AFTER=1`, `SESSION_ABSOLUTE_AGE=8`:
/// read every 1.5 s (whole-second clock: 1, 3, 4, 6, 7), the session lives
/// past 3 s and ends at 8 s; each read that moves the expiry by a second or
/// more re-sends the cookie, whose Max-Age never passes the absolute end.
fn refreshed_until_the_absolute_end<S: SessionStore + Clone>(rig: Rig<S>) {
    let mut jar = login(&rig);
    for (t, refreshed) in [(1, true), (3, true), (4, true), (6, true), (7, false)] {
        rig.clock.set(START + t);
        let (user, r) = read(&rig, &mut jar);
        assert_eq!(user, Some(json!("ada")), "alive at {t} s");
        let age = max_age(&r);
        // At 7 s the expiry is already the absolute end (8 s): nothing to move.
        assert_eq!(age.is_some(), refreshed, "at {t} s");
        assert!(age.is_none_or(|a| t + a <= 8), "at {t} s: Max-Age {age:?} stays within the absolute end");
    }
    rig.clock.set(START + 8);
    assert_eq!(read(&rig, &mut jar).0, None, "ended at 8 s, whatever the activity");
}

/// Two reads within the interval cost one write; the first re-sends the cookie.
fn one_write_per_interval<S: SessionStore + Clone>(rig: Rig<S>) -> (Counters, Counters) {
    let mut jar = login(&rig);
    rig.clock.set(START + 1);
    let (_, first) = read(&rig, &mut jar);
    assert!(first.set_cookie.is_some(), "the refresh re-sends the cookie");
    let (_, second) = read(&rig, &mut jar);
    assert_eq!(second.set_cookie, None, "within the interval: no write, no cookie");
    (first.ops, second.ops)
}

/// Without the settings, Django's behaviour: reads are not activity, and
/// nothing is added to the session.
fn off_by_default<S: SessionStore + Clone>(rig: Rig<S>) {
    let mut jar = login(&rig);
    rig.clock.set(START + 600);
    let (user, r) = read(&rig, &mut jar);
    assert_eq!(user, Some(json!("ada")));
    assert_eq!(r.set_cookie, None, "a read is not activity");
    let mut keys = Vec::new();
    rig.request(jar.header(), async |s| {
        keys = s.keys().await.unwrap();
        200
    });
    assert_eq!(keys, ["user"], "no issue time is stored");
}

/// The absolute end wins over `set_expiry` and is what the expiry getters
/// report; `cycle_key` issues a new key, whose absolute age starts then.
fn absolute_end_wins_and_cycle_key_restarts_it<S: SessionStore + Clone>(rig: Rig<S>) {
    let mut jar = Jar::default();
    let r = rig.request(None, async |s| {
        s.set("user", json!("ada")).await.unwrap();
        s.set_expiry(Expiry::Seconds(1_000_000)).await.unwrap();
        assert_eq!(s.get_expiry_age().await.unwrap(), 100, "the key is issued at its first save: now");
        200
    });
    assert_eq!(max_age(&r), Some(100), "the cookie never outlives the absolute end");
    jar.update(&r);
    rig.clock.set(START + 40);
    rig.request(jar.header(), async |s| {
        assert_eq!(s.get_expiry_age().await.unwrap(), 60, "the earlier end");
        assert_eq!(s.get_expiry_date().await.unwrap().unix, START + 100);
        200
    });
    let r = rig.request(jar.header(), async |s| {
        s.cycle_key().await.unwrap();
        200
    });
    assert_eq!(max_age(&r), Some(100), "a new key: a new absolute age from now");
    jar.update(&r);
    rig.clock.set(START + 139);
    assert_eq!(read(&rig, &mut jar).0, Some(json!("ada")));
    rig.clock.set(START + 140);
    assert_eq!(read(&rig, &mut jar).0, None);
}

macro_rules! on_every_engine {
    ($($engine:ident),*) => {$(
        mod $engine {
            use super::*;

            #[test]
            fn a_session_read_every_1_5_s_lives_past_its_age_and_ends_at_the_absolute_age() {
                refreshed_until_the_absolute_end(super::$engine(POLICY));
            }

            #[test]
            fn sessions_are_not_refreshed_and_carry_no_issue_time_by_default() {
                off_by_default(super::$engine(&[]));
            }

            #[test]
            fn the_absolute_age_caps_set_expiry_and_cycle_key_restarts_it() {
                absolute_end_wins_and_cycle_key_restarts_it(super::$engine(&[("SESSION_ABSOLUTE_AGE", "100")]));
            }
        }
    )*};
}

on_every_engine!(db, cached_db, cache, file, signed);

/// What a refresh costs on each engine, and that a second read within the
/// interval costs only the read.
#[test]
fn a_refresh_is_one_write_and_a_second_read_within_the_interval_none() {
    let policy = &[("SESSION_REFRESH_AFTER", "1")];
    // db: the read, then a touch that moves only the expiry and the alarm.
    assert_eq!(one_write_per_interval(db(policy)), (ops("do_call=2"), ops("do_call=1")));
    // cached_db: the read (a KV hit), the touch of the Durable Object (its
    // alarm decides when the session ends), the KV put.
    assert_eq!(one_write_per_interval(cached_db(policy)), (ops("kv_get=1,do_call=1,kv_put=1"), ops("kv_get=1")));
    // cache: one KV put.
    assert_eq!(one_write_per_interval(cache(policy)), (ops("kv_get=1,kv_put=1"), ops("kv_get=1")));
    // file: one conditional put.
    assert_eq!(one_write_per_interval(file(policy)), (ops("r2_get=1,r2_put=1"), ops("r2_get=1")));
    // signed_cookies: the cookie is re-issued, no storage.
    assert_eq!(one_write_per_interval(signed(policy)), (ops(""), ops("")));
}

/// On `db` a refresh moves the record's expiry only: its data is not
/// rewritten, and its version stays.
#[test]
fn a_refresh_on_db_moves_only_the_expiry() {
    let rig = db(&[("SESSION_REFRESH_AFTER", "60")]);
    let mut jar = login(&rig);
    let key = SessionKey::parse(&jar.key().unwrap()).unwrap();
    let before = rig.store.inner.raw(&key).unwrap();
    rig.clock.set(START + 59);
    read(&rig, &mut jar);
    assert_eq!(rig.store.inner.raw(&key).unwrap(), before, "59 s later: not due");
    rig.clock.set(START + 60);
    let (_, r) = read(&rig, &mut jar);
    let after = rig.store.inner.raw(&key).unwrap();
    assert_eq!((after.data.as_str(), after.version), (before.data.as_str(), before.version));
    assert_eq!(after.expires_at, before.expires_at + 60);
    assert_eq!(jar.version(), Some(before.version), "the cookie names the same version");
    assert!(r.set_cookie.is_some());
}

/// A refresh of a session a concurrent request logged out drops the cookie,
/// and writes nothing back.
#[test]
fn a_refresh_racing_a_logout_drops_the_cookie_and_writes_nothing() {
    let rig = db(&[("SESSION_REFRESH_AFTER", "1")]);
    let jar = login(&rig);
    rig.clock.set(START + 5);
    let mut session = rig.manager.session(jar.header().map(str::as_bytes));
    assert_eq!(pollster::block_on(session.get::<Value>("user")).unwrap(), Some(json!("ada")));
    let logout = rig.request(jar.header(), async |s| {
        s.flush();
        200
    });
    assert!(logout.deletes_cookie());
    let outcome = pollster::block_on(rig.manager.finish(session, 200)).unwrap();
    assert!(outcome.set_cookie.is_some_and(|c| c.contains("Max-Age=0")));
    assert!(rig.store.inner.is_empty());
}

/// The settings are refused below a second (KV allows one write per second
/// per key), and reported by the config.
#[test]
fn the_settings_are_checked_and_reported() {
    for (name, bad) in [("SESSION_REFRESH_AFTER", "0"), ("SESSION_ABSOLUTE_AGE", "0"), ("SESSION_REFRESH_AFTER", "1.5")]
    {
        let e = Settings::from_pairs([("SECRET_KEY", "k"), (name, bad)]).unwrap_err();
        assert_eq!(e.setting, name);
    }
    let s = Settings::from_pairs([
        ("SECRET_KEY", "k"),
        ("SESSION_REFRESH_AFTER", "300"),
        ("SESSION_ABSOLUTE_AGE", "86400"),
    ])
    .unwrap();
    let json = s.to_public_json();
    assert_eq!(
        (json["SESSION_REFRESH_AFTER"].clone(), json["SESSION_ABSOLUTE_AGE"].clone()),
        (json!(300), json!(86400))
    );
}
