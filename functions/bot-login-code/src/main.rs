//! Lambda entry point: POST /v1/authentication/bot/login-code — fetch a pending web code.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("bot-login-code", bot_login_code::handle).await
}
