//! The floor for `make bench`: the smallest `lambda_http` function (same runtime crate,
//! same tokio set-up and the same release profile as the real functions, nothing else).

use lambda_http::{run, service_fn, Body, Error, Request, Response};

async fn hello(_req: Request) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::Text(r#"{"message":"hello"}"#.to_string()))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(hello)).await
}
