//! `GET /v1/users/me/sessions` (session cookie): the user's live sessions.

use std::sync::Arc;

use lambda_http::Request;
use portal_shared::http::{self, Reply};
use portal_shared::{clock, sessions, App, Result};

pub async fn handle(app: Arc<App>, req: Request) -> Result<Reply> {
    let token = http::session_token(&req);
    Reply::json("sessions_listed", sessions::list(app, token.as_deref(), clock::now()).await?)
}
