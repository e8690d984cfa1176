//! `GET /v1/users/me` (session cookie): the session's user with linked platforms.

use std::sync::Arc;

use lambda_http::Request;
use portal_shared::http::{self, Reply};
use portal_shared::{clock, sessions, App, Result};

pub async fn handle(app: Arc<App>, req: Request) -> Result<Reply> {
    let now = clock::now();
    let auth = sessions::authenticate(&app, http::session_token(&req).as_deref(), now, false).await?;
    Reply::json("user_found", auth.user.me(now.timestamp()))
}
