//! The `SessionObject` Durable Object class (bind it in `wrangler.toml` with
//! `new_sqlite_classes = ["SessionObject"]`): one session per object, stored
//! in its SQLite-backed storage, deleted by an alarm at expiry; or, for the
//! requests to `/user`, one user's index of sessions (`SESSION_USER_INDEX`),
//! whose alarm drops expired entries. The decisions are
//! [`crate::store::object`]'s and [`crate::users::index`]'s, shared with the
//! npm package's class.

use std::time::Duration;
use worker::{durable_object, DurableObject, Env, Request, Response, State};

use crate::clock::Clock;
use crate::platform::WorkersClock;
use crate::store::object::{alarm_at, handle, inspect_reply, on_alarm};
use crate::users::index::{self, IndexStep};

const RECORD: &str = "record";

/// The Durable Object class holding one session.
#[durable_object]
pub struct SessionObject {
    state: State,
}

impl SessionObject {
    async fn stored(&self) -> worker::Result<Option<String>> {
        self.state.storage().get(RECORD).await
    }

    /// Sets the alarm for a record expiring at `expires_at` (Unix seconds),
    /// at most `object::MAX_ALARM_DELAY` ahead.
    async fn schedule(&self, expires_at: i64) -> worker::Result<()> {
        let now = WorkersClock.now();
        let delay = alarm_at(expires_at, now).saturating_sub(now).max(0) as u64;
        self.state.storage().set_alarm(Duration::from_secs(delay)).await
    }

    /// Carries out an index step; returns its reply.
    async fn apply_index(&self, step: IndexStep) -> worker::Result<String> {
        if let Some(text) = &step.write {
            self.state.storage().put(index::STORAGE_KEY, text).await?;
        }
        if let Some(at) = step.alarm_at {
            self.schedule(at).await?;
        }
        if step.delete_all {
            self.state.storage().delete_alarm().await?;
            self.state.storage().delete_all().await?;
        }
        Ok(step.reply)
    }

    async fn stored_index(&self) -> worker::Result<Option<String>> {
        self.state.storage().get(index::STORAGE_KEY).await
    }
}

impl DurableObject for SessionObject {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let body = req.text().await?;
        if req.path() == "/user" {
            let stored = self.stored_index().await?;
            let step = index::handle(&body, stored.as_deref(), WorkersClock.now());
            return Response::ok(self.apply_index(step).await?);
        }
        let stored = self.stored().await?;
        let step = handle(&body, stored.as_deref(), WorkersClock.now());
        if let Some(record) = &step.write {
            self.state.storage().put(RECORD, record.to_json()).await?;
            self.schedule(record.expires_at).await?;
        }
        if step.delete_all {
            // deleteAll() keeps the alarm before compatibility date 2026-02-24.
            self.state.storage().delete_alarm().await?;
            self.state.storage().delete_all().await?;
        }
        if step.inspect {
            let alarm = self.state.storage().get_alarm().await?;
            return Response::ok(inspect_reply(stored.is_some(), alarm.map(|ms| ms as f64)));
        }
        Response::ok(step.reply)
    }

    async fn alarm(&self) -> worker::Result<Response> {
        if let Some(stored) = self.stored_index().await? {
            self.apply_index(index::on_alarm(Some(&stored), WorkersClock.now())).await?;
            return Response::ok("");
        }
        match on_alarm(self.stored().await?.as_deref(), WorkersClock.now()) {
            // Saved again since the alarm was set: wait for the new expiry.
            Some(expires_at) => self.schedule(expires_at).await?,
            // Expired, or gone: drop everything, the alarm included.
            None => self.state.storage().delete_all().await?,
        }
        Response::ok("")
    }
}
