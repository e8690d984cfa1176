//! Lambda entry point: GET /v1/bot/me — the calling bot.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("bot-me", bot_me::handle).await
}
