//! Lambda entry point: POST /v1/authentication/lookup — username to linked platforms.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("auth-lookup", auth_lookup::handle).await
}
