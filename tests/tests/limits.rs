//! Issue 4: rate limits and brute-force throttling, counted in DynamoDB across containers.

use portal_shared::clock;
use portal_shared::input::Platform;
use portal_tests::*;
use serde_json::json;

fn retry_after(r: &Resp) -> u64 {
    r.header("retry-after").expect("Retry-After").parse().expect("seconds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_parallel_requests_from_one_ip() {
    let env = Env::new().await;
    align_to_minute(10).await;
    let ip = test_ip();
    // every request in its own "container": the limits live in the table, not in memory
    let responses = parallel(30, |_| {
        let ev = Event::new(F::Request).key(PUBLIC_KEY).ip(&ip).json(identity("discord", &snowflake()));
        (env.container(|_| {}), F::Request, ev)
    });
    let (mut ok, mut limited) = (0, 0);
    for r in responses.await {
        match r.status {
            200 => ok += 1,
            429 => {
                let msg = r.body["error"].as_str().unwrap().to_string();
                assert!(msg == "Too many pending login codes" || msg == "Too many requests", "{msg}");
                r.assert_error(429, &msg);
                assert!(retry_after(&r) >= 1);
                limited += 1;
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert!(ok <= 5, "{ok} codes issued");
    assert_eq!(ok + limited, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pending_cap_holds_under_fifty_concurrent_requests() {
    let env = Env::with(|c| c.limit_login_per_minute = 10_000).await;
    let ip = test_ip();
    let responses = parallel(50, |_| {
        let ev = Event::new(F::Request).key(PUBLIC_KEY).ip(&ip).json(identity("telegram", &snowflake()[..12]));
        (env.app.clone(), F::Request, ev)
    });
    let mut ok = 0;
    for r in responses.await {
        match r.status {
            200 => ok += 1,
            429 => r.assert_error(429, "Too many pending login codes"),
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(ok, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twelve_wrong_codes_then_429_even_for_a_right_code() {
    let env = Env::new().await;
    align_to_minute(10).await;
    let ip = test_ip();
    let good = env.web_code("discord", &snowflake(), &ip).await;
    for i in 0..12 {
        let r = env.verify("WRONGcd2", &ip).await;
        if i < 10 {
            r.assert_error(400, "Invalid or expired code");
        } else {
            r.assert_error(429, "Too many requests");
            let secs = retry_after(&r);
            assert!(secs > 0 && secs <= 600, "until the 10-minute window passes: {secs}");
        }
    }
    // the right code is refused too while the IP is throttled (and stays unused)
    env.verify(&good, &ip).await.assert_error(429, "Too many requests");
    assert!(env.store.get_code(&good).await.unwrap().is_some());
    // another IP is not affected
    let other = test_ip();
    let code = env.web_code("discord", &snowflake(), &other).await;
    env.verify(&code, &other).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_five_lookups_in_a_minute() {
    let env = Env::new().await;
    align_to_minute(15).await;
    let ip = test_ip();
    let mut limited = 0;
    for _ in 0..25 {
        let r = env
            .call(F::Lookup, Event::new(F::Lookup).key(PUBLIC_KEY).ip(&ip).json(json!({"username": "someone"})))
            .await;
        match r.status {
            404 => r.assert_error(404, "User not found"),
            429 => {
                r.assert_error(429, "Too many requests");
                assert!(retry_after(&r) <= 60);
                limited += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(limited >= 5, "only {limited} of 25 were limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bots_hourly_allowance() {
    let env = Env::new().await;
    align_to_minute(10).await;
    let now = clock::iso(clock::now());
    let (_, key) = env.store.register_bot("Tiny bot", Platform::Discord, 9, 3, None, &now).await.unwrap();
    for i in 0..4 {
        let r = env.call(F::LoginCode, Event::new(F::LoginCode).key(&key).json(report("discord", "42", "n", ""))).await;
        if i < 3 {
            r.ok();
        } else {
            r.assert_error(429, "Too many requests");
            assert!(retry_after(&r) <= 3600);
        }
    }
    // other bots are not affected
    env.call(F::BotMe, Event::new(F::BotMe).key(DISCORD_KEY)).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_and_session_tiers() {
    let env = Env::with(|c| {
        c.limit_bot_per_minute = 2;
        c.limit_auth_per_minute = 3;
    })
    .await;
    align_to_minute(10).await;
    for i in 0..3 {
        let r = env.call(F::BotMe, Event::new(F::BotMe).key(TELEGRAM_KEY)).await;
        if i < 2 {
            r.ok();
        } else {
            r.assert_error(429, "Too many requests");
        }
    }
    let (token, _) = env.web_login("discord", &snowflake(), &test_ip()).await;
    for i in 0..4 {
        let r = env.call(F::UsersMe, Event::new(F::UsersMe).cookie(&token)).await;
        if i < 3 {
            r.ok();
        } else {
            r.assert_error(429, "Too many requests");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn codes_expire_on_every_read() {
    let env = Env::with(|c| c.code_ttl_seconds = 3).await;
    let (id, ip) = (snowflake(), test_ip());
    let code = env.web_code("discord", &id, &ip).await;
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    env.verify(&code, &ip).await.assert_error(400, "Invalid or expired code");
    let r = env.login_code("discord", &id).await;
    assert_eq!(r.ok(), &json!({"code": null, "expires_at": null}));
    // expired bot codes are replaced, not returned
    env.web_login("discord", &id, &ip).await;
    let send = || Event::new(F::SendCode).key(DISCORD_KEY).json(report("discord", &id, "n", ""));
    let first = env.call(F::SendCode, send()).await.ok()["code"].clone();
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let second = env.call(F::SendCode, send()).await.ok()["code"].clone();
    assert_ne!(first, second);
    env.verify(first.as_str().unwrap(), &ip).await.assert_error(400, "Invalid or expired code");
}
