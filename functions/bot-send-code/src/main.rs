//! Lambda entry point: POST /v1/authentication/bot/send-code — bot-initiated quick login.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("bot-send-code", bot_send_code::handle).await
}
