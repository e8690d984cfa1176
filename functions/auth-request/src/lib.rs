//! `POST /v1/authentication/request` (public key): a login code for a platform identity,
//! bound to the caller's IP.

use std::sync::Arc;

use lambda_http::Request;
use portal_shared::http::{self, Reply};
use portal_shared::{clock, codes, keys, App, Result};

pub async fn handle(app: Arc<App>, req: Request) -> Result<Reply> {
    keys::require_public(&app, http::api_key(&req)).await?;
    let identity = http::body(&req)?.identity()?;
    let ip = http::client_ip(&req)?;
    let issued = codes::request_web_code(app, &ip, &identity, clock::now()).await?;
    Reply::json("code_issued", issued)
}
