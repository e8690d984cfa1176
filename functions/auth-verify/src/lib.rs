//! `POST /v1/authentication/verify` (public key): trades a code for a session cookie.

use std::sync::Arc;

use lambda_http::Request;
use portal_shared::http::{self, Reply};
use portal_shared::sessions::{self, Caller};
use portal_shared::{clock, keys, App, Result};

pub async fn handle(app: Arc<App>, req: Request) -> Result<Reply> {
    keys::require_public(&app, http::api_key(&req)).await?;
    let code = http::body(&req)?.code()?;
    let (ip, user_agent) = (http::client_ip(&req)?, http::user_agent(&req));
    let caller = Caller { ip: &ip, user_agent: user_agent.as_deref(), now: clock::now() };
    let verified = sessions::verify(app.clone(), &caller, &code).await?;
    let outcome = if verified.user_created { "user_created" } else { "code_verified" };
    Ok(Reply::json(outcome, verified.response(caller.now))?.with_cookie(sessions::session_cookie(&app, &verified)))
}
