//! Lambda entry point: GET /v1/bot/me — the calling bot.
// one thread: a 128 MB Lambda has a fraction of a vCPU, a second worker only adds wake-ups
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("bot-me", bot_me::handle).await
}
