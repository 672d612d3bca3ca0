//! The demo site's dynamic pages (static files come from `www/`).

use worker::{Env, Request, Response, Result};

/// Serves the site's dynamic routes.
pub(super) async fn route(_req: Request, _env: &Env) -> Result<Response> {
    Response::error("Not Found", 404)
}
