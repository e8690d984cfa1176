//! Lambda entry point: POST /v1/authentication/logout — end the current session.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("auth-logout", auth_logout::handle).await
}
