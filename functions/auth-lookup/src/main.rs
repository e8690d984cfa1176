//! Lambda entry point: POST /v1/authentication/lookup — username to linked platforms.
// one thread: a 128 MB Lambda has a fraction of a vCPU, a second worker only adds wake-ups
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    portal_shared::runtime::run("auth-lookup", auth_lookup::handle).await
}
