//! Lambda entry point: POST /v1/authentication/logout — end the current session.
// one thread: a 128 MB Lambda has a fraction of a vCPU, a second worker only adds wake-ups
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("auth-logout", auth_logout::handle).await
}
