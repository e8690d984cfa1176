//! Issue 4 (log hygiene) and issue 5 (structured logs): the whole flow's log lines, captured
//! with the service's own logging set-up at debug level, hold no secret, and each request
//! has one JSON summary line carrying the correlation id its response carries.

use std::io::Write;
use std::sync::{Arc, Mutex};

use portal_shared::runtime::init_tracing_to;
use portal_tests::*;
use serde_json::{json, Value};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_secret_reaches_a_log_line_and_every_request_has_a_summary() {
    let capture = Capture::default();
    init_tracing_to(capture.clone(), true, "trace");
    let env = Env::new().await;
    let (id, ip) = (snowflake(), test_ip());
    let mut secrets: Vec<String> = vec![PUBLIC_KEY.into(), DISCORD_KEY.into(), TELEGRAM_KEY.into()];
    let mut responses: Vec<Resp> = Vec::new();

    // the whole flow, and its error paths
    responses.push(env.request("discord", &id, &ip).await);
    let lc = env
        .call(F::LoginCode, Event::new(F::LoginCode).key(DISCORD_KEY).json(report("discord", &id, "niels", "")))
        .await;
    let code = lc.ok()["code"].as_str().unwrap().to_string();
    secrets.push(code.clone());
    responses.push(lc);
    responses.push(env.verify("WRONGcd2", &ip).await);
    let v = env.verify(&code, &ip).await;
    let token = v.session_cookie().unwrap();
    secrets.push(token.clone());
    responses.push(v);
    responses.push(env.verify(&code, &ip).await);
    responses.push(env.call(F::UsersMe, Event::new(F::UsersMe).cookie(&token)).await);
    responses.push(env.call(F::Sessions, Event::new(F::Sessions).cookie(&token)).await);
    let sc =
        env.call(F::SendCode, Event::new(F::SendCode).key(DISCORD_KEY).json(report("discord", &id, "niels", ""))).await;
    let bot_code = sc.ok()["code"].as_str().unwrap().to_string();
    secrets.push(bot_code.clone());
    responses.push(sc);
    let v2 = env.verify(&bot_code, &ip).await;
    let token2 = v2.session_cookie().unwrap();
    secrets.push(token2.clone());
    responses.push(v2);
    responses
        .push(env.call(F::Destroy, Event::new(F::Destroy).cookie(&token2).suffix(&token[token.len() - 6..])).await);
    responses.push(
        env.call(F::Lookup, Event::new(F::Lookup).key(PUBLIC_KEY).ip(&ip).json(json!({"username": "nobody"}))).await,
    );
    responses.push(env.call(F::BotMe, Event::new(F::BotMe).key(TELEGRAM_KEY)).await);
    responses.push(env.call(F::BotMe, Event::new(F::BotMe).key("hbot_not_a_real_key_123")).await);
    secrets.push("hbot_not_a_real_key_123".into());
    responses.push(env.call(F::Logout, Event::new(F::Logout).cookie(&token2)).await);
    responses.push(env.call(F::UsersMe, Event::new(F::UsersMe).cookie(&token2)).await);

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(text.lines().count() >= responses.len(), "logs were captured");
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "a secret ({} chars) appears in the logs", s.len());
    }
    // a digest of a key is not the key, but make sure no cookie header leaks either
    assert!(!text.contains("psession="), "a cookie appears in the logs");

    // one JSON summary line per request, with the correlation id the response carried
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("every line is JSON")).collect();
    for r in &responses {
        let cid = r.header("x-correlation-id").unwrap();
        let summaries: Vec<&Value> =
            lines.iter().filter(|l| l["message"] == "request" && l["correlation_id"] == cid).collect();
        assert_eq!(summaries.len(), 1, "one summary line for {cid}");
        let s = summaries[0];
        assert_eq!(s["status"], r.status);
        for field in ["function", "route", "outcome", "latency_ms", "cold_start"] {
            assert!(s.get(field).is_some(), "summary lacks {field}: {s}");
        }
        // every line logged inside the request carries the id
        for l in lines.iter().filter(|l| l["span"]["correlation_id"] == cid) {
            assert_eq!(l["span"]["correlation_id"], cid);
        }
    }
    let outcomes: Vec<&str> =
        lines.iter().filter(|l| l["message"] == "request").filter_map(|l| l["outcome"].as_str()).collect();
    for o in ["code_issued", "code_returned", "invalid_code", "user_created", "code_verified", "unauthenticated"] {
        assert!(outcomes.contains(&o), "outcome {o} logged: {outcomes:?}");
    }
}
