//! Issue 4 (faults): DynamoDB unreachable, slow, throttling, or gone mid-run → every endpoint
//! answers 503 with the envelope and Retry-After within the function timeout, never a 500,
//! and nothing is left half-written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portal_shared::config::Config;
use portal_shared::store::client_with_endpoint;
use portal_shared::App;
use portal_tests::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The function timeout in template.yaml.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

/// A valid-looking request for every function.
fn every_request() -> Vec<(F, Event)> {
    let token = "ab".repeat(32);
    vec![
        (F::Request, Event::new(F::Request).key(PUBLIC_KEY).json(identity("discord", "123"))),
        (F::Verify, Event::new(F::Verify).key(PUBLIC_KEY).json(json!({"code": "ABCDefgh"}))),
        (F::Lookup, Event::new(F::Lookup).key(PUBLIC_KEY).json(json!({"username": "someone"}))),
        (F::Logout, Event::new(F::Logout).cookie(&token)),
        (F::LoginCode, Event::new(F::LoginCode).key(DISCORD_KEY).json(report("discord", "123", "n", ""))),
        (F::SendCode, Event::new(F::SendCode).key(DISCORD_KEY).json(report("discord", "123", "n", ""))),
        (F::BotMe, Event::new(F::BotMe).key(DISCORD_KEY)),
        (F::UsersMe, Event::new(F::UsersMe).cookie(&token)),
        (F::Sessions, Event::new(F::Sessions).cookie(&token)),
        (F::Destroy, Event::new(F::Destroy).cookie(&token).suffix("abcdef")),
    ]
}

async fn app_at(endpoint: &str) -> Arc<App> {
    Arc::new(App::new(Config::with_table("portal-faults"), client_with_endpoint(Some(endpoint)).await))
}

async fn all_answer_503(app: Arc<App>) {
    let mut tasks = Vec::new();
    for (f, ev) in every_request() {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let r = call_app(app, f, ev).await;
            (f, r, started.elapsed())
        }));
    }
    for t in tasks {
        let (f, r, took) = t.await.unwrap();
        assert_eq!(r.status, 503, "{f:?}: {}", r.body);
        r.assert_error(503, "Service temporarily unavailable");
        assert!(took < FUNCTION_TIMEOUT, "{f:?} took {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unreachable_database() {
    all_answer_503(app_at(&format!("http://127.0.0.1:{}", free_port())).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_that_never_answers() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock); // accept, never answer
        }
    });
    all_answer_503(app_at(&format!("http://127.0.0.1:{port}")).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn throttling_database() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                loop {
                    // one request per read is enough for the SDK's small JSON bodies
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
                    let resp = format!(
                        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: t\r\ncontent-length: {}\r\n\r\n{}",
                        body.len(),
                        body
                    );
                    if sock.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    all_answer_503(app_at(&format!("http://127.0.0.1:{port}")).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_stopped_mid_run() {
    let mut ddb = DdbLocal::start().await;
    let env = Env::on(&ddb.endpoint(), |c| {
        c.limit_login_per_minute = 100_000;
        c.max_failed_verifies_per_ip = 100_000;
    })
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..6 {
        let app = env.app.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let (id, ip) = (snowflake(), format!("10.9.{w}.{}", n % 250 + 1));
                let r = call_app(
                    app.clone(),
                    F::Request,
                    Event::new(F::Request).key(PUBLIC_KEY).ip(&ip).json(identity("discord", &id)),
                )
                .await;
                seen.push(r.clone());
                let lc = call_app(
                    app.clone(),
                    F::LoginCode,
                    Event::new(F::LoginCode).key(DISCORD_KEY).json(report("discord", &id, "n", "")),
                )
                .await;
                let code = lc.body["code"].as_str().map(str::to_string);
                seen.push(lc);
                if let Some(code) = code {
                    let v = call_app(
                        app.clone(),
                        F::Verify,
                        Event::new(F::Verify).key(PUBLIC_KEY).ip(&ip).json(json!({ "code": code })),
                    )
                    .await;
                    seen.push(v);
                }
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    ddb.kill();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    stop.store(true, Ordering::Relaxed);
    let mut statuses = std::collections::BTreeMap::new();
    for w in workers {
        for r in w.await.unwrap() {
            *statuses.entry(r.status).or_insert(0) += 1;
            match r.status {
                200 => {}
                503 => r.assert_error(503, "Service temporarily unavailable"),
                other => panic!("unexpected {other}: {}", r.body),
            }
        }
    }
    eprintln!("statuses during the outage run: {statuses:?}");
    assert!(statuses.get(&200).copied().unwrap_or(0) > 0, "the run made progress first: {statuses:?}");
    assert!(statuses.get(&503).copied().unwrap_or(0) > 0, "the outage was seen: {statuses:?}");

    // back up: nothing half-written
    ddb.restart().await;
    let problems = env.store.consistency_problems().await.unwrap();
    assert!(problems.is_empty(), "inconsistent after the outage: {problems:?}");
    // and the service works again
    env.web_login("discord", &snowflake(), &test_ip()).await;
    drop(env);
}
