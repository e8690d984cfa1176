//! Lambda entry point: POST /v1/authentication/request — web-initiated login code.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("auth-request", auth_request::handle).await
}
