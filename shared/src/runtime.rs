//! Start-up and the request envelope shared by every function: logging set-up, the one
//! place where a result becomes an HTTP response (success JSON or the error envelope with
//! `X-Correlation-Id`, `Retry-After`), the request deadline, and one summary log line.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use tracing::Instrument;

use crate::app::App;
use crate::error::{Error, Result};
use crate::http::Reply;

/// Every request is answered well inside the function timeout (template: 10 s): past this,
/// the work is abandoned and the answer is a 503.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(8);

/// Crates whose debug/trace output can carry request bodies or headers.
const QUIET_DEPENDENCIES: [&str; 14] = [
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_sdk_dynamodb",
    "aws_config",
    "aws_runtime",
    "aws_sigv4",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "lambda_runtime",
    "lambda_http",
];

static COLD: AtomicBool = AtomicBool::new(true);

/// Logging per Lambda's advanced logging controls: `AWS_LAMBDA_LOG_FORMAT=JSON` → JSON lines,
/// level from `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `info`. Safe to call twice.
pub fn init_tracing() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|l| l.to_lowercase())
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".into());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").map(|f| f.eq_ignore_ascii_case("json")).unwrap_or(false);
    init_tracing_to(std::io::stdout, json, &level);
}

/// The logging set-up itself, writing to `writer` (tests capture the lines this way).
pub fn init_tracing_to<W>(writer: W, json: bool, level: &str)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::EnvFilter;
    // Dependencies log whole requests and events at debug/trace (bodies with codes, headers
    // with keys and cookies): whatever level the operator asks for, they stay at info.
    let capped = format!("{level},{}", QUIET_DEPENDENCIES.map(|d| format!("{d}=info")).join(","));
    let filter = EnvFilter::try_new(capped).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_target(false).without_time();
    let _ = if json {
        builder.json().with_current_span(true).with_span_list(false).flatten_event(true).try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}

/// A function's whole `main`: logging, the app (configuration errors end the process with
/// a clear message), then the Lambda loop calling `handler` for each request.
pub async fn run<H, F>(function: &'static str, handler: H) -> std::result::Result<(), lambda_http::Error>
where
    H: Fn(Arc<App>, Request) -> F + Send + Sync + Clone + 'static,
    F: Future<Output = Result<Reply>> + Send + 'static,
{
    init_tracing();
    let app = match App::from_env().await {
        Ok(app) => Arc::new(app),
        Err(e) => {
            tracing::error!(function, error = %e, "start-up failed");
            eprintln!("{function}: {e}");
            std::process::exit(2);
        }
    };
    lambda_http::run(service_fn(move |req: Request| {
        let app = app.clone();
        let handler = handler.clone();
        async move { Ok::<_, std::convert::Infallible>(dispatch(app, function, req, handler).await) }
    }))
    .await
}

/// Runs one request through `handler` and maps the outcome to the response. Tests call this
/// with the real handlers; the Lambda loop calls it through [`run`].
pub async fn dispatch<H, F>(app: Arc<App>, function: &'static str, req: Request, handler: H) -> Response<Body>
where
    H: Fn(Arc<App>, Request) -> F,
    F: Future<Output = Result<Reply>>,
{
    let started = Instant::now();
    let cold_start = COLD.swap(false, Ordering::Relaxed);
    let correlation_id = req
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let route = format!("{} {}", req.method(), req.raw_http_path());
    let span = tracing::info_span!("request", correlation_id = %correlation_id, function);
    async move {
        let result = match tokio::time::timeout(REQUEST_DEADLINE, handler(app, req)).await {
            Ok(r) => r,
            Err(_) => Err(Error::Unavailable { cause: "request deadline passed".into() }),
        };
        let (response, status, outcome) = match result {
            Ok(reply) => (success(reply.body, &reply.cookies, &correlation_id), 200, reply.outcome),
            Err(e) => {
                if let Some(cause) = e.cause() {
                    tracing::error!(status = e.status(), cause, "request failed");
                }
                (failure(&e, &correlation_id), e.status(), e.outcome())
            }
        };
        tracing::info!(
            correlation_id = %correlation_id,
            function,
            route = %route,
            status,
            outcome,
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            cold_start,
            "request"
        );
        response
    }
    .instrument(span)
    .await
}

fn response(status: u16, body: String, correlation_id: &str) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(correlation_id) {
        h.insert("x-correlation-id", v);
    }
    resp
}

fn success(body: String, cookies: &[String], correlation_id: &str) -> Response<Body> {
    let mut resp = response(200, body, correlation_id);
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            resp.headers_mut().append("set-cookie", v);
        }
    }
    resp
}

/// The error envelope: `{"error", "correlation_id"}`, plus `Retry-After` on 429 and 503.
fn failure(e: &Error, correlation_id: &str) -> Response<Body> {
    #[derive(serde::Serialize)]
    struct Envelope<'a> {
        error: String,
        correlation_id: &'a str,
    }
    let body = serde_json::to_string(&Envelope { error: e.to_string(), correlation_id }).unwrap_or_default();
    let mut resp = response(e.status(), body, correlation_id);
    if let Some(secs) = e.retry_after() {
        resp.headers_mut().insert("retry-after", HeaderValue::from(secs));
    }
    resp
}
