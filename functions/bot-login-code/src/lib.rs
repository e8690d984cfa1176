//! `POST /v1/authentication/bot/login-code` (bot key): the identity's pending web code,
//! or nulls; records the bot-reported username and avatar.

use std::sync::Arc;

use lambda_http::Request;
use portal_shared::codes::{self, CodeResponse};
use portal_shared::http::{self, Reply};
use portal_shared::{clock, keys, App, Result};

pub async fn handle(app: Arc<App>, req: Request) -> Result<Reply> {
    let bot = keys::require_bot(&app, http::api_key(&req)).await?;
    let report = http::body(&req)?.bot_report()?;
    let pending = codes::login_code(app, &bot, &report, clock::now()).await?;
    let outcome = if pending.is_some() { "code_returned" } else { "no_pending_code" };
    Reply::json(outcome, CodeResponse::from(pending))
}
