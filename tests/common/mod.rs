//! A request/response driver over the memory store, with a browser-like
//! cookie jar: the whole middleware cycle on the host, with a fixed clock.
#![allow(dead_code)]

use edge_session::prelude::*;
use edge_session::store::OpCounts;

pub const SECRET: &str = "test-secret-key-for-edge-session";

pub struct Harness {
    pub clock: FixedClock,
    pub store: MemoryStore,
    pub manager: SessionManager<MemoryStore>,
}

/// What a response carried.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub set_cookie: Option<String>,
    pub vary_cookie: bool,
    pub ops: OpCounts,
    pub crypto_calls: u64,
}

impl Harness {
    pub fn new(extra: &[(&str, &str)]) -> Self {
        let clock = FixedClock::new(1_765_000_000);
        let store = MemoryStore::new(clock.clone());
        let mut pairs = vec![("SECRET_KEY", SECRET)];
        pairs.extend_from_slice(extra);
        let settings = Settings::from_pairs(pairs).expect("settings");
        let manager = SessionManager::new(settings, store.clone(), clock.clone(), OsKeySource);
        Self { clock, store, manager }
    }

    /// Runs one request: loads the session from `cookie` (a full `Cookie`
    /// header), lets `handler` use it and return a status, then finishes.
    pub fn request<F>(&self, cookie: Option<&str>, handler: F) -> Response
    where
        F: AsyncFnOnce(&mut Session<MemoryStore>) -> u16,
    {
        let ops_before = self.store.ops();
        let crypto_before = edge_session::metrics::crypto_calls();
        pollster::block_on(async {
            let mut session = self.manager.load(cookie.map(str::as_bytes));
            let status = handler(&mut session).await;
            let (status, set_cookie, vary_cookie) = match self.manager.finish(session, status).await {
                Ok(o) => (status, o.set_cookie, o.vary_cookie),
                Err(e) => (e.status(), None, false),
            };
            let after = self.store.ops();
            Response {
                status,
                set_cookie,
                vary_cookie,
                ops: OpCounts {
                    reads: after.reads - ops_before.reads,
                    writes: after.writes - ops_before.writes,
                    deletes: after.deletes - ops_before.deletes,
                },
                crypto_calls: edge_session::metrics::crypto_calls() - crypto_before,
            }
        })
    }
}

/// A one-cookie browser jar.
#[derive(Debug, Default, Clone)]
pub struct Jar(pub Option<String>);

impl Jar {
    /// The `Cookie` header to send.
    pub fn header(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// Applies a `Set-Cookie` like a browser: a `Max-Age=0` deletes.
    pub fn update(&mut self, response: &Response) {
        if let Some(sc) = &response.set_cookie {
            let pair = sc.split(';').next().unwrap().to_owned();
            if sc.contains("Max-Age=0") {
                self.0 = None;
            } else {
                self.0 = Some(pair);
            }
        }
    }

    /// The session key inside a server-side cookie value (`KEY.VERSION.MAC`).
    pub fn key(&self) -> Option<String> {
        self.0.as_ref().map(|c| c.split_once('=').unwrap().1.split('.').next().unwrap().to_owned())
    }
}
