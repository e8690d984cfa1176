//! Lambda entry point: GET /v1/users/me/sessions — the user's live sessions.
// one thread: a 128 MB Lambda has a fraction of a vCPU, a second worker only adds wake-ups
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("users-sessions", users_sessions::handle).await
}
