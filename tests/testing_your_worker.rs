//! "Testing your worker" (README): the example a user of edge-session would
//! write for their own handler, on the host, with the memory store and the
//! test helpers of `edge_session::testing::client`: start the request logged
//! in, run the handler, read the session its response left.

use edge_session::prelude::*;
use edge_session::testing::client::{login_cookie, read_session, session_cookie};
use serde_json::json;

/// The user's handler under test: adds an item to the logged-in user's cart.
async fn add_to_cart<S: SessionStore>(session: &mut Session<S>, item: &str) -> Result<u16, SessionError> {
    if session.user_id().await?.is_none() {
        return Ok(403);
    }
    let mut cart: Vec<String> = session.get("cart").await?.unwrap_or_default();
    cart.push(item.to_owned());
    session.insert("cart", cart).await?;
    session.messages().success(&format!("Added {item}"));
    Ok(200)
}

fn manager() -> SessionManager<MemoryStore> {
    let clock = FixedClock::new(1_765_000_000);
    let settings = Settings::from_pairs([("SECRET_KEY", "test secret")]).expect("settings");
    SessionManager::new(settings, MemoryStore::new(clock.clone()), clock, OsKeySource)
}

#[test]
fn a_logged_in_user_adds_to_the_cart() {
    pollster::block_on(async {
        let manager = manager();
        let cookie = login_cookie(&manager, "42", Default::default()).await.unwrap();

        let mut session = manager.session(Some(cookie.as_bytes()));
        assert_eq!(add_to_cart(&mut session, "tea").await.unwrap(), 200);
        let set_cookie = manager.finish(session, 200).await.unwrap().set_cookie.expect("saved");

        let data = read_session(&manager, &set_cookie).await.unwrap().expect("a session");
        assert_eq!(data["cart"], json!(["tea"]));
        assert_eq!(data["_auth_user_id"], json!("42"));
    });
}

#[test]
fn an_anonymous_visitor_is_refused_and_nothing_is_saved() {
    pollster::block_on(async {
        let manager = manager();
        let data = json!({"cart": ["scone"]}).as_object().cloned().unwrap();
        let cookie = session_cookie(&manager, data).await.unwrap();
        let mut session = manager.session(Some(cookie.as_bytes()));
        assert_eq!(add_to_cart(&mut session, "tea").await.unwrap(), 403);
        assert_eq!(manager.finish(session, 403).await.unwrap().set_cookie, None);
        let data = read_session(&manager, &cookie).await.unwrap().expect("the session is still there");
        assert_eq!(data["cart"], json!(["scone"]), "unchanged");
    });
}

#[test]
fn the_helpers_read_a_cookie_header_and_refuse_one_without_the_session_cookie() {
    pollster::block_on(async {
        let manager = manager();
        let cookie = login_cookie(&manager, "7", Default::default()).await.unwrap();
        let header = format!("csrftoken=abc; {cookie}; theme=dark");
        let data = read_session(&manager, &header).await.unwrap().expect("found after another cookie");
        assert_eq!(data["_auth_user_id"], json!("7"));
        assert_eq!(read_session(&manager, "sessionid=; Max-Age=0; Path=/").await.unwrap(), None, "deleted");
        assert!(read_session(&manager, "").await.is_err(), "no session cookie: an error, not a pass");
        assert!(read_session(&manager, "theme=dark").await.is_err());
    });
}
