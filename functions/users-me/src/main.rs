//! Lambda entry point: GET /v1/users/me — the session's user.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("users-me", users_me::handle).await
}
