//! Lambda entry point: POST /v1/authentication/verify — trade a code for a session.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("auth-verify", auth_verify::handle).await
}
