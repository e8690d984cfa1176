//! The `portal-admin` binary against DynamoDB Local, checked through the real handlers.

use std::process::Command;

use portal_tests::*;
use serde_json::{json, Value};

/// Runs `portal-admin` on the test's table.
fn run_admin(env: &Env, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_portal-admin"))
        .args(args)
        .env("PORTAL_TABLE", env.store.table())
        .env("AWS_ENDPOINT_URL", &env.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .expect("portal-admin runs")
}

/// A command that must succeed; its JSON output.
fn admin(env: &Env, args: &[&str]) -> Value {
    let out = run_admin(env, args);
    assert!(out.status.success(), "portal-admin {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// A command that must fail.
fn admin_fails(env: &Env, args: &[&str]) {
    assert!(!run_admin(env, args).status.success(), "portal-admin {args:?} should fail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_create_is_idempotent() {
    let env = Env::new().await;
    assert_eq!(admin(&env, &["table", "create"])["created"], false);
    env.web_login("discord", &snowflake(), &test_ip()).await;
    assert_eq!(admin(&env, &["table", "check"])["consistent"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_bot_keys_work_and_regenerating_kills_the_old_one() {
    let env = Env::with(|c| c.key_cache_seconds = 1).await;
    let out = admin(
        &env,
        &[
            "bots",
            "register",
            "--name",
            "CLI bot",
            "--platform",
            "telegram",
            "--owner-id",
            "7",
            "--rate-limit-per-hour",
            "50",
        ],
    );
    let key = out["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("hbot_") && key.len() >= 5 + 48, "at least 192 bits: {key}");
    let bot = &out["bot"];
    assert_eq!(bot["name"], "CLI bot");
    assert_eq!(bot["platform"], "telegram");
    assert_eq!(bot["owner_id"], 7);
    assert_eq!(bot["rate_limit_per_hour"], 50);
    let id = bot["id"].as_u64().unwrap().to_string();

    // a warm container that has used the key
    let me = env.call(F::BotMe, Event::new(F::BotMe).key(&key)).await;
    assert_eq!(me.ok()["name"], "CLI bot");

    let listed = admin(&env, &["bots", "list"]);
    assert!(listed["bots"].as_array().unwrap().iter().any(|b| b["id"] == bot["id"]));

    let regen = admin(&env, &["bots", "regenerate-key", &id]);
    let new_key = regen["key"].as_str().unwrap().to_string();
    assert_ne!(new_key, key);
    // a new container: the old key is dead at once, the new one works
    let fresh = env.container(|_| {});
    call_app(fresh.clone(), F::BotMe, Event::new(F::BotMe).key(&key))
        .await
        .assert_error(401, "Authentication required");
    call_app(fresh, F::BotMe, Event::new(F::BotMe).key(&new_key)).await.ok();
    // the warm container: dead once its cache window (here 1 s) has passed
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    env.call(F::BotMe, Event::new(F::BotMe).key(&key)).await.assert_error(401, "Authentication required");

    // deactivation → 403; a rename shows in bot/me
    admin(&env, &["bots", "update", &id, "--name", "Renamed", "--active", "false"]);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    env.call(F::BotMe, Event::new(F::BotMe).key(&new_key)).await.assert_error(403, "Access denied");
    admin(&env, &["bots", "update", &id, "--active", "true"]);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(env.call(F::BotMe, Event::new(F::BotMe).key(&new_key)).await.ok()["name"], "Renamed");

    // argument rules
    admin_fails(&env, &["bots", "register", "--name", "x", "--platform", "discord", "--owner-id", "1"]);
    admin_fails(
        &env,
        &["bots", "register", "--name", "ok", "--platform", "discord", "--owner-id", "1", "--rate-limit-per-hour", "0"],
    );
    admin_fails(&env, &["bots", "register", "--name", "ok", "--platform", "slack", "--owner-id", "1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_keys_issue_list_revoke() {
    let env = Env::with(|c| c.key_cache_seconds = 0).await;
    let issued = admin(&env, &["public-keys", "issue"]);
    let key = issued["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("ppub_"));
    let id = issued["public_key"]["id"].as_u64().unwrap().to_string();
    let lookup = Event::new(F::Lookup).key(&key).json(json!({"username": "nobody"}));
    env.call(F::Lookup, lookup).await.assert_error(404, "User not found");
    let listed = admin(&env, &["public-keys", "list"]);
    assert!(listed["public_keys"].as_array().unwrap().len() >= 2);
    assert!(!listed.to_string().contains(&key), "list never shows a plaintext key");
    admin(&env, &["public-keys", "revoke", &id]);
    let lookup = Event::new(F::Lookup).key(&key).json(json!({"username": "nobody"}));
    env.call(F::Lookup, lookup).await.assert_error(401, "Authentication required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ban_and_restore_through_the_cli() {
    let env = Env::new().await;
    let (id, ip) = (snowflake(), test_ip());
    let (token, user) = env.web_login("discord", &id, &ip).await;
    let username = user["username"].as_str().unwrap().to_string();
    let send = || Event::new(F::SendCode).key(DISCORD_KEY).json(report("discord", &id, "n", ""));
    let code = env.call(F::SendCode, send()).await.ok()["code"].as_str().unwrap().to_string();

    let banned = admin(&env, &["users", "set-state", &username, "banned"]);
    assert_eq!(banned["state"], "banned");
    env.call(F::SendCode, send()).await.assert_error(403, "Account restricted");
    let v = env.verify(&code, &ip).await;
    v.assert_error(403, "Account restricted");
    assert!(v.set_cookie().is_none());
    env.call(F::UsersMe, Event::new(F::UsersMe).cookie(&token)).await.assert_error(403, "Account restricted");
    let shown = admin(&env, &["users", "show", &username.to_uppercase()]);
    assert_eq!(shown["state"], "banned");
    assert_eq!(shown["user"]["state"], 2);

    admin(&env, &["users", "set-state", &username, "active"]);
    env.call(F::UsersMe, Event::new(F::UsersMe).cookie(&token)).await.ok();
    let code = env.call(F::SendCode, send()).await.ok()["code"].as_str().unwrap().to_string();
    env.verify(&code, &ip).await.ok();

    // timeout needs --for; permission 0-3
    admin_fails(&env, &["users", "set-state", &username, "timeout"]);
    let t = admin(&env, &["users", "set-state", &username, "timeout", "--for", "60"]);
    assert!(t["timeout_until"].as_str().unwrap().ends_with('Z'));
    env.call(F::SendCode, send()).await.assert_error(403, "Account restricted");
    admin(&env, &["users", "set-state", &username, "active"]);
    admin(&env, &["users", "set-permission", &username, "3"]);
    admin_fails(&env, &["users", "set-permission", &username, "4"]);
    assert_eq!(admin(&env, &["users", "show", &username])["user"]["permission_level"], 3);
    admin_fails(&env, &["users", "show", "no_such_user"]);
}
