//! Lambda entry point: POST /v1/users/me/sessions/{token_suffix}/destroy — end another session.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("users-session-destroy", users_session_destroy::handle).await
}
