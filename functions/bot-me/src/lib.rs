//! `GET /v1/bot/me` (bot key): the calling bot, so a bot can check its key.

use std::sync::Arc;

use lambda_http::Request;
use portal_shared::http::{self, Reply};
use portal_shared::{clock, keys, App, Result};

pub async fn handle(app: Arc<App>, req: Request) -> Result<Reply> {
    let bot = keys::require_bot(&app, http::api_key(&req)).await?;
    Reply::json("bot_found", keys::bot_me(app, &bot, clock::now()).await?)
}
