//! `POST /v1/authentication/logout` (session cookie): ends the session, clears the cookie.

use std::sync::Arc;

use lambda_http::Request;
use portal_shared::http::{self, Reply};
use portal_shared::{clock, sessions, App, Result};

pub async fn handle(app: Arc<App>, req: Request) -> Result<Reply> {
    let ip = http::client_ip(&req)?;
    sessions::logout(app.clone(), &ip, http::session_token(&req).as_deref(), clock::now()).await?;
    let body = std::collections::BTreeMap::from([("message", "Logged out.")]);
    Ok(Reply::json("logged_out", body)?.with_cookie(sessions::clearing_cookie(&app)))
}
