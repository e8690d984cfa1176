//! Issue 3: bot-initiated quick login, the consecutive-bot-login rule, account states.

use portal_shared::users::UserState;
use portal_tests::*;
use serde_json::json;

fn send(id: &str, name: &str) -> Event {
    Event::new(F::SendCode).key(DISCORD_KEY).json(report("discord", id, name, "https://cdn.example/q.png"))
}

async fn user_of(env: &Env, username: &str) -> portal_shared::users::User {
    env.store.get_user_by_username(username).await.unwrap().expect("user exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quick_login_for_existing_users_only() {
    let env = Env::new().await;
    let (id, ip) = (snowflake(), test_ip());
    // unknown identity → 404, the bot falls back to login-code
    env.call(F::SendCode, send(&id, "q")).await.assert_error(404, "User not found");

    let (_, user) = env.web_login("discord", &id, &ip).await;
    let first = env.call(F::SendCode, send(&id, "quick")).await.ok().clone();
    let code = first["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    // a repeat call: the same code and the same expiry
    let again = env.call(F::SendCode, send(&id, "quick2")).await.ok().clone();
    assert_eq!(again, first);

    // send-code refreshed the identity's profile
    let u = user_of(&env, user["username"].as_str().unwrap()).await;
    assert_eq!(u.links[0].platform_username.as_deref(), Some("quick2"));
    assert_eq!(u.links[0].platform_avatar_url.as_deref(), Some("https://cdn.example/q.png"));

    // bot codes are not IP-bound; 20 parallel verifies → exactly one session
    let responses = parallel(20, |i| {
        let ip = format!("203.0.113.{}", i + 1);
        let ev = Event::new(F::Verify).key(PUBLIC_KEY).ip(&ip).json(json!({ "code": code }));
        (env.app.clone(), F::Verify, ev)
    });
    let mut ok = Vec::new();
    for r in responses.await {
        match r.status {
            200 => ok.push(r),
            400 => r.assert_error(400, "Invalid or expired code"),
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].body["user_created"], false);
    assert_eq!(ok[0].body["id"], user["id"]);
    // once used, send-code issues a new code
    let next = env.call(F::SendCode, send(&id, "q")).await.ok().clone();
    assert_ne!(next["code"], code.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_send_codes_return_one_code() {
    let env = Env::new().await;
    let (id, ip) = (snowflake(), test_ip());
    env.web_login("discord", &id, &ip).await;
    let responses = parallel(8, |_| (env.app.clone(), F::SendCode, send(&id, "q")));
    let mut seen = std::collections::HashSet::new();
    for r in responses.await {
        let b = r.ok();
        seen.insert((b["code"].to_string(), b["expires_at"].to_string()));
    }
    assert_eq!(seen.len(), 1, "all racing calls answer the same code and expiry: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_bot_logins_then_web_login_required() {
    let env = Env::new().await;
    let (id, ip) = (snowflake(), test_ip());
    env.web_login("discord", &id, &ip).await;
    for i in 0..5 {
        let code = env.call(F::SendCode, send(&id, "q")).await.ok()["code"].as_str().unwrap().to_string();
        let r = env.verify(&code, &format!("192.0.2.{}", i + 1)).await;
        r.ok();
    }
    env.call(F::SendCode, send(&id, "q")).await.assert_error(403, "Web login required");
    // one web login resets the counter
    env.web_login("discord", &id, &ip).await;
    env.call(F::SendCode, send(&id, "q")).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_limit_is_configurable() {
    let env = Env::with(|c| c.bot_login_web_required_every = 1).await;
    let (id, ip) = (snowflake(), test_ip());
    env.web_login("discord", &id, &ip).await;
    let code = env.call(F::SendCode, send(&id, "q")).await.ok()["code"].as_str().unwrap().to_string();
    env.verify(&code, &ip).await.ok();
    env.call(F::SendCode, send(&id, "q")).await.assert_error(403, "Web login required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn banned_users_get_no_usable_code_and_lose_their_sessions() {
    let env = Env::new().await;
    let (id, ip) = (snowflake(), test_ip());
    let (token, user) = env.web_login("discord", &id, &ip).await;
    let username = user["username"].as_str().unwrap().to_string();
    // a live bot code from before the ban
    let bot_code = env.call(F::SendCode, send(&id, "q")).await.ok()["code"].as_str().unwrap().to_string();

    let u = user_of(&env, &username).await;
    env.store.set_user_state(&u, UserState::Banned, None, "2026-12-04T00:00:00Z").await.unwrap();

    env.call(F::SendCode, send(&id, "q")).await.assert_error(403, "Account restricted");
    // verify of a restricted user's code: 403, no cookie, and the code is spent
    let r = env.verify(&bot_code, &ip).await;
    r.assert_error(403, "Account restricted");
    assert!(r.set_cookie().is_none());
    // the live session stops working at once
    env.call(F::UsersMe, Event::new(F::UsersMe).cookie(&token)).await.assert_error(403, "Account restricted");
    env.call(F::Sessions, Event::new(F::Sessions).cookie(&token)).await.assert_error(403, "Account restricted");
    // the web request answers as for anyone, but no usable code results
    let req = env.request("discord", &id, &ip).await;
    assert_eq!(req.ok()["message"], "Login code generated.");
    let lc = env.login_code("discord", &id).await;
    assert_eq!(lc.ok(), &json!({"code": null, "expires_at": null}));

    // restored: everything works again, the spent code stays spent
    let u = user_of(&env, &username).await;
    env.store.set_user_state(&u, UserState::Active, None, "2026-12-04T00:00:00Z").await.unwrap();
    env.verify(&bot_code, &ip).await.assert_error(400, "Invalid or expired code");
    env.call(F::UsersMe, Event::new(F::UsersMe).cookie(&token)).await.ok();
    env.call(F::SendCode, send(&id, "q")).await.ok();
    env.web_login("discord", &id, &test_ip()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_timeout_restricts_until_it_is_over() {
    let env = Env::new().await;
    let (id, ip) = (snowflake(), test_ip());
    let (token, user) = env.web_login("discord", &id, &ip).await;
    let u = user_of(&env, user["username"].as_str().unwrap()).await;
    let until = portal_shared::clock::now().timestamp() + 2;
    env.store.set_user_state(&u, UserState::Timeout, Some(until), "2026-12-04T00:00:00Z").await.unwrap();
    env.call(F::SendCode, send(&id, "q")).await.assert_error(403, "Account restricted");
    env.call(F::UsersMe, Event::new(F::UsersMe).cookie(&token)).await.assert_error(403, "Account restricted");
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let me = env.call(F::UsersMe, Event::new(F::UsersMe).cookie(&token)).await;
    assert_eq!(me.ok()["state"], 0, "an expired timeout shows as active");
    env.call(F::SendCode, send(&id, "q")).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_me_describes_the_calling_bot() {
    let env = Env::new().await;
    let r = env.call(F::BotMe, Event::new(F::BotMe).key(TELEGRAM_KEY)).await;
    let b = r.ok();
    assert_eq!(b["name"], "Test Telegram bot");
    assert_eq!(b["platform"], "telegram");
    assert_eq!(b["is_active"], true);
    assert_eq!(b["rate_limit_per_hour"], 1000);
    for f in ["id", "owner_id", "created_at", "updated_at"] {
        assert!(b.get(f).is_some(), "{f}");
    }
    env.call(F::BotMe, Event::new(F::BotMe)).await.assert_error(401, "Authentication required");
}
