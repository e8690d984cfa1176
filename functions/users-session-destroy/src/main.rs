//! Lambda entry point: POST /v1/users/me/sessions/{token_suffix}/destroy — end another session.
// one thread: a 128 MB Lambda has a fraction of a vCPU, a second worker only adds wake-ups
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("users-session-destroy", users_session_destroy::handle).await
}
