//! Lambda entry point: GET /v1/users/me/sessions — the user's live sessions.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("users-sessions", users_sessions::handle).await
}
