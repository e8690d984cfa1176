//! `POST /v1/users/me/sessions/{token_suffix}/destroy` (session cookie): ends another
//! session of the same user.

use std::sync::Arc;

use lambda_http::Request;
use portal_shared::http::{self, Reply};
use portal_shared::{clock, sessions, App, Result};

pub async fn handle(app: Arc<App>, req: Request) -> Result<Reply> {
    let token = http::session_token(&req);
    let suffix = http::path_param(&req, "token_suffix", "sessions").unwrap_or_default();
    sessions::destroy(app, token.as_deref(), &suffix, clock::now()).await?;
    Reply::json("session_destroyed", std::collections::BTreeMap::from([("destroyed", true)]))
}
