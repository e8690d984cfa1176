//! Lambda entry point: POST /v1/authentication/bot/login-code — fetch a pending web code.
// one thread: a 128 MB Lambda has a fraction of a vCPU, a second worker only adds wake-ups
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("bot-login-code", bot_login_code::handle).await
}
