//! `POST /v1/authentication/bot/send-code` (bot key): quick login for an existing user.

use std::sync::Arc;

use lambda_http::Request;
use portal_shared::codes::{self, CodeResponse};
use portal_shared::http::{self, Reply};
use portal_shared::{clock, keys, App, Result};

pub async fn handle(app: Arc<App>, req: Request) -> Result<Reply> {
    let bot = keys::require_bot(&app, http::api_key(&req)).await?;
    let report = http::body(&req)?.bot_report()?;
    let issued = codes::send_code(app, &bot, &report, clock::now()).await?;
    let outcome = if issued.reused { "code_reused" } else { "code_issued" };
    Reply::json(outcome, CodeResponse::from(Some(issued)))
}
