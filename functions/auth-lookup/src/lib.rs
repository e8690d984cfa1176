//! `POST /v1/authentication/lookup` (public key): username → linked platforms.

use std::sync::Arc;

use lambda_http::Request;
use portal_shared::http::{self, Reply};
use portal_shared::{clock, keys, users, App, Result};

pub async fn handle(app: Arc<App>, req: Request) -> Result<Reply> {
    keys::require_public(&app, http::api_key(&req)).await?;
    let username = http::body(&req)?.username()?;
    let ip = http::client_ip(&req)?;
    Reply::json("user_found", users::lookup(app, &ip, &username, clock::now()).await?)
}
