//! Issue 2: the web-initiated login end to end, against DynamoDB Local.

use portal_tests::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_web_flow_as_in_the_spec() {
    let env = Env::new().await;
    let (id, ip) = (snowflake(), test_ip());

    // request → 200 with expires_at ~10 minutes ahead
    let r = env.request("discord", &id, &ip).await;
    let body = r.ok();
    assert_eq!(body["message"], "Login code generated.");
    let expires = body["expires_at"].as_str().unwrap();
    assert!(expires.ends_with('Z'));

    // login-code → the code; same code on repeat; records the bot's username/avatar
    let lc = |name: &str| {
        Event::new(F::LoginCode).key(DISCORD_KEY).json(report("discord", &id, name, "https://cdn.example/niels.png"))
    };
    let first = env.call(F::LoginCode, lc("niels")).await.ok().clone();
    let code = first["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    assert_eq!(first["expires_at"], expires);
    let again = env.call(F::LoginCode, lc("niels#2")).await.ok().clone();
    assert_eq!(again["code"], code.as_str());

    // verify → 200, new account, cookie with the spec's attributes
    let v = env.verify(&code, &ip).await;
    let user = v.ok().clone();
    assert_eq!(user["user_created"], true);
    let username = user["username"].as_str().unwrap().to_string();
    assert!(username.starts_with("user_") && username.len() == 13, "{username}");
    assert!(username[5..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert!(user["id"].as_u64().unwrap() >= 1);
    assert_eq!(user["state"], "active");
    assert_eq!(user["permission_level"], 0);
    assert_eq!(user["subscription_level"], 0);
    assert!(user["avatar_url"].is_null() && user["subscription_expires_at"].is_null());
    let cookie = v.set_cookie().unwrap();
    let token = v.session_cookie().unwrap();
    assert_eq!(token.len(), 64);
    assert_eq!(cookie, format!("psession={token}; HttpOnly; Secure; SameSite=None; Path=/; Max-Age=2592000"));

    // users/me with the cookie shows the identity with the bot-reported profile
    let me = env.call(F::UsersMe, Event::new(F::UsersMe).cookie(&token)).await;
    let me = me.ok();
    assert_eq!(me["username"], username.as_str());
    assert_eq!(me["state"], 0);
    let links = me["linked_platforms"].as_array().unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0]["platform"], "discord");
    assert_eq!(links[0]["platform_user_id"], id.as_str());
    assert_eq!(links[0]["platform_username"], "niels#2");
    assert_eq!(links[0]["platform_avatar_url"], "https://cdn.example/niels.png");
    assert!(links[0]["linked_at"].as_str().unwrap().ends_with('Z'));
    assert!(links[0]["last_authenticated_at"].as_str().is_some());
    for field in [
        "subscription_tier",
        "permission_level",
        "created_at",
        "updated_at",
        "last_activity_at",
        "permission_since",
        "avatar_source",
        "subscription_granted_by",
    ] {
        assert!(me.get(field).is_some(), "users/me lacks {field}");
    }

    // the code is single use, and login-code answers nulls once it is used
    env.verify(&code, &ip).await.assert_error(400, "Invalid or expired code");
    let none = env.call(F::LoginCode, lc("niels")).await.ok().clone();
    assert_eq!(none, json!({"code": null, "expires_at": null}));

    // lookup finds the user case-insensitively
    let upper = username.to_uppercase();
    let l = env.call(F::Lookup, Event::new(F::Lookup).key(PUBLIC_KEY).ip(&ip).json(json!({ "username": upper }))).await;
    let l = l.ok();
    assert_eq!(l["username"], username.as_str());
    assert_eq!(l["platforms"], json!([{"platform": "discord", "platform_user_id": id}]));
    assert_eq!(l["subscription_tier"], 0);
    let missing = env
        .call(F::Lookup, Event::new(F::Lookup).key(PUBLIC_KEY).ip(&ip).json(json!({"username": "nobody_here"})))
        .await;
    missing.assert_error(404, "User not found");

    // a returning user: user_created false, same id, profile refreshed
    let (_, again) = env.web_login("discord", &id, &ip).await;
    assert_eq!(again["user_created"], false);
    assert_eq!(again["id"], user["id"]);
    assert_eq!(again["username"], username.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_verifies_give_exactly_one_session() {
    let env = Env::new().await;
    let (id, ip) = (snowflake(), test_ip());
    let code = env.web_code("telegram", &id[..10], &ip).await;
    let responses = parallel(20, |_| {
        let ev = Event::new(F::Verify).key(PUBLIC_KEY).ip(&ip).json(json!({ "code": code }));
        (env.app.clone(), F::Verify, ev)
    });
    let mut ok = 0;
    for r in responses.await {
        match r.status {
            200 => ok += 1,
            400 => r.assert_error(400, "Invalid or expired code"),
            429 => r.assert_error(429, "Too many requests"),
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(ok, 1, "exactly one verify may succeed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_is_bound_to_the_requesting_ip() {
    let env = Env::new().await;
    let id = snowflake();
    let (ip, other) = (test_ip(), test_ip());
    let code = env.web_code("discord", &id, &ip).await;
    env.verify(&code, &other).await.assert_error(400, "Invalid or expired code");
    // still usable from the right IP
    env.verify(&code, &ip).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_request_retires_the_old_code() {
    let env = Env::new().await;
    let (id, ip) = (snowflake(), test_ip());
    let old = env.web_code("discord", &id, &ip).await;
    let new = env.web_code("discord", &id, &ip).await;
    assert_ne!(old, new);
    env.verify(&old, &ip).await.assert_error(400, "Invalid or expired code");
    env.verify(&new, &ip).await.ok();
    // retiring from another IP works too, and frees nothing it should not
    let (a, b) = (test_ip(), test_ip());
    let id2 = snowflake();
    let first = env.web_code("discord", &id2, &a).await;
    let second = env.web_code("discord", &id2, &b).await;
    env.verify(&first, &a).await.assert_error(400, "Invalid or expired code");
    env.verify(&second, &b).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn at_most_five_pending_codes_per_ip_under_twenty_concurrent_requests() {
    let env = Env::with(|c| c.limit_login_per_minute = 1000).await;
    let ip = test_ip();
    let responses = parallel(20, |_| {
        let ev = Event::new(F::Request).key(PUBLIC_KEY).ip(&ip).json(identity("discord", &snowflake()));
        (env.app.clone(), F::Request, ev)
    });
    let (mut ok, mut limited) = (0, 0);
    for r in responses.await {
        match r.status {
            200 => ok += 1,
            429 => {
                r.assert_error(429, "Too many pending login codes");
                let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
                assert!(secs <= 600, "Retry-After {secs} is until the oldest code expires");
                limited += 1;
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(ok, 5, "exactly the cap is issued");
    assert_eq!(limited, 15);
    // a code verified frees its slot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_used_code_frees_its_slot() {
    let env = Env::new().await;
    let ip = test_ip();
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(env.web_code("discord", &snowflake(), &ip).await);
    }
    let sixth = env
        .call(F::Request, Event::new(F::Request).key(PUBLIC_KEY).ip(&ip).json(identity("discord", &snowflake())))
        .await;
    sixth.assert_error(429, "Too many pending login codes");
    env.verify(&codes[0], &ip).await.ok();
    env.request("discord", &snowflake(), &ip).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_code_is_refused_while_its_item_still_exists() {
    let env = Env::with(|c| c.code_ttl_seconds = 2).await;
    let (id, ip) = (snowflake(), test_ip());
    let code = env.web_code("discord", &id, &ip).await;
    tokio::time::sleep(std::time::Duration::from_millis(3200)).await;
    // TTL deletion is lazy: the item is still there
    assert!(env.store.get_code(&code).await.unwrap().is_some(), "the expired item still exists");
    env.verify(&code, &ip).await.assert_error(400, "Invalid or expired code");
    let r = env.login_code("discord", &id).await;
    assert_eq!(r.ok(), &json!({"code": null, "expires_at": null}));
    // expired codes do not hold the IP's slots
    for _ in 0..5 {
        env.request("discord", &snowflake(), &ip).await.ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_of_the_wrong_kind_or_platform() {
    let env = Env::new().await;
    let id = snowflake();
    let body = identity("discord", &id);
    let rep = report("discord", &id, "n", "");
    // missing or unknown key → 401
    env.call(F::Request, Event::new(F::Request).json(body.clone())).await.assert_error(401, "Authentication required");
    env.call(F::Request, Event::new(F::Request).key("ppub_nope").json(body.clone()))
        .await
        .assert_error(401, "Authentication required");
    env.call(F::LoginCode, Event::new(F::LoginCode).json(rep.clone()))
        .await
        .assert_error(401, "Authentication required");
    env.call(F::LoginCode, Event::new(F::LoginCode).key("hbot_nope").json(rep.clone()))
        .await
        .assert_error(401, "Authentication required");
    // a bot key on public endpoints, the public key on bot endpoints → 403
    for f in [F::Request, F::Verify, F::Lookup] {
        env.call(f, Event::new(f).key(DISCORD_KEY).json(body.clone())).await.assert_error(403, "Access denied");
    }
    for f in [F::LoginCode, F::SendCode, F::BotMe] {
        env.call(f, Event::new(f).key(PUBLIC_KEY).json(rep.clone())).await.assert_error(403, "Access denied");
    }
    // a bot acts only for its own platform
    for f in [F::LoginCode, F::SendCode] {
        env.call(f, Event::new(f).key(TELEGRAM_KEY).json(rep.clone())).await.assert_error(403, "Access denied");
    }
    // session endpoints without a session → 401
    for f in [F::UsersMe, F::Sessions, F::Logout] {
        env.call(f, Event::new(f)).await.assert_error(401, "Authentication required");
        env.call(f, Event::new(f).cookie(&"ab".repeat(32))).await.assert_error(401, "Authentication required");
    }
    env.call(F::Destroy, Event::new(F::Destroy).suffix("abcdef")).await.assert_error(401, "Authentication required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_input_rule_answers_400_naming_the_field() {
    let env = Env::new().await;
    let cases: Vec<(F, &str, serde_json::Value, &str)> = vec![
        (F::Request, PUBLIC_KEY, json!({"platform_user_id": "1"}), "platform is required"),
        (
            F::Request,
            PUBLIC_KEY,
            json!({"platform": "slack", "platform_user_id": "1"}),
            "platform must be one of discord, telegram",
        ),
        (
            F::Request,
            PUBLIC_KEY,
            json!({"platform": "Discord", "platform_user_id": "1"}),
            "platform must be one of discord, telegram",
        ),
        (F::Request, PUBLIC_KEY, json!({"platform": 7, "platform_user_id": "1"}), "platform must be a string"),
        (F::Request, PUBLIC_KEY, json!({"platform": "discord"}), "platform_user_id is required"),
        (
            F::Request,
            PUBLIC_KEY,
            json!({"platform": "discord", "platform_user_id": ""}),
            "platform_user_id is required",
        ),
        (
            F::Request,
            PUBLIC_KEY,
            json!({"platform": "discord", "platform_user_id": "12a"}),
            "platform_user_id contains invalid characters",
        ),
        (
            F::Request,
            PUBLIC_KEY,
            json!({"platform": "discord", "platform_user_id": "+12"}),
            "platform_user_id contains invalid characters",
        ),
        (
            F::Request,
            PUBLIC_KEY,
            json!({"platform": "discord", "platform_user_id": 12}),
            "platform_user_id must be a string",
        ),
        (
            F::Request,
            PUBLIC_KEY,
            json!({"platform": "discord", "platform_user_id": "1".repeat(21)}),
            "platform_user_id must be at most 20 digits",
        ),
        (
            F::LoginCode,
            DISCORD_KEY,
            json!({"platform": "discord", "platform_user_id": "1", "platform_avatar_url": ""}),
            "platform_username is required",
        ),
        (
            F::LoginCode,
            DISCORD_KEY,
            json!({"platform": "discord", "platform_user_id": "1", "platform_username": "   ", "platform_avatar_url": ""}),
            "platform_username is required",
        ),
        (
            F::LoginCode,
            DISCORD_KEY,
            json!({"platform": "discord", "platform_user_id": "1", "platform_username": "a\nb", "platform_avatar_url": ""}),
            "platform_username contains invalid characters",
        ),
        (
            F::LoginCode,
            DISCORD_KEY,
            json!({"platform": "discord", "platform_user_id": "1", "platform_username": "x".repeat(65), "platform_avatar_url": ""}),
            "platform_username must be at most 64 characters",
        ),
        (
            F::SendCode,
            DISCORD_KEY,
            json!({"platform": "discord", "platform_user_id": "1", "platform_username": "n"}),
            "platform_avatar_url is required",
        ),
        (
            F::SendCode,
            DISCORD_KEY,
            json!({"platform": "discord", "platform_user_id": "1", "platform_username": "n", "platform_avatar_url": "http://x/a"}),
            "platform_avatar_url must be an https:// URL",
        ),
        (
            F::SendCode,
            DISCORD_KEY,
            json!({"platform": "discord", "platform_user_id": "1", "platform_username": "n", "platform_avatar_url": format!("https://x/{}", "a".repeat(2048))}),
            "platform_avatar_url must be at most 2048 characters",
        ),
        (F::Verify, PUBLIC_KEY, json!({}), "code is required"),
        (F::Verify, PUBLIC_KEY, json!({"code": 12345678}), "code must be a string"),
        (F::Verify, PUBLIC_KEY, json!({"code": "abc"}), "code must be exactly 8 characters"),
        (F::Verify, PUBLIC_KEY, json!({"code": "abcdefgh1"}), "code must be exactly 8 characters"),
        (F::Verify, PUBLIC_KEY, json!({"code": "abcd efg"}), "code contains invalid characters"),
        (F::Lookup, PUBLIC_KEY, json!({}), "username is required"),
        (F::Lookup, PUBLIC_KEY, json!({"username": "ab"}), "username must be 3-32 characters"),
        (F::Lookup, PUBLIC_KEY, json!({"username": "a".repeat(33)}), "username must be 3-32 characters"),
        (F::Lookup, PUBLIC_KEY, json!({"username": "bad name"}), "username contains invalid characters"),
        (F::Lookup, PUBLIC_KEY, json!({"username": ["x"]}), "username must be a string"),
    ];
    for (f, key, body, message) in cases {
        let r = env.call(f, Event::new(f).key(key).json(body.clone())).await;
        assert_eq!(r.status, 400, "{f:?} {body} → {}", r.body);
        r.assert_error(400, message);
    }
    // the body itself: not JSON, not an object, too large
    for raw in ["", "not json", "[1,2]", "\"code\"", "null"] {
        env.call(F::Verify, Event::new(F::Verify).key(PUBLIC_KEY).raw_body(raw))
            .await
            .assert_error(400, "body must be a JSON object");
    }
    let big = json!({"code": "abcdefgh", "pad": "x".repeat(9000)});
    env.call(F::Verify, Event::new(F::Verify).key(PUBLIC_KEY).json(big))
        .await
        .assert_error(400, "body must be at most 8 KiB");
    // unknown fields are ignored; a well-formed code never issued is the generic 400
    let r =
        env.call(F::Verify, Event::new(F::Verify).key(PUBLIC_KEY).json(json!({"code": "ABCDefgh", "x": [1]}))).await;
    r.assert_error(400, "Invalid or expired code");
}
