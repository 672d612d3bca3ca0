//! The empty Rust worker: answers every request with a fixed body, touching
//! neither the cookie nor any binding.
use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    Response::ok("ok")
}
