//! Issue 3: sessions — list, destroy, logout, lifetimes.

use portal_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn list_destroy_and_logout() {
    let env = Env::new().await;
    let id = snowflake();
    let (a, _) = env.web_login("discord", &id, &test_ip()).await;
    let (b, _) = env.web_login("discord", &id, &test_ip()).await;
    let (c, _) = env.web_login("discord", &id, &test_ip()).await;

    let list = env.call(F::Sessions, Event::new(F::Sessions).cookie(&a)).await;
    let sessions = list.ok()["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 3);
    let current: Vec<_> = sessions.iter().filter(|s| s["is_current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["token_suffix"], &a[a.len() - 6..]);
    for s in &sessions {
        assert_eq!(s["token_suffix"].as_str().unwrap().len(), 6);
        assert!(s["created_at"].as_str().unwrap().ends_with('Z'));
        assert!(s["expires_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(s["user_agent"], "portal-tests");
        assert!(s["client_ip"].as_str().is_some());
    }
    let suffixes: Vec<&str> = sessions.iter().map(|s| s["token_suffix"].as_str().unwrap()).collect();
    assert!(suffixes.contains(&&b[b.len() - 6..]) && suffixes.contains(&&c[c.len() - 6..]));

    // destroying another session kills it
    let r = env.call(F::Destroy, Event::new(F::Destroy).cookie(&a).suffix(&b[b.len() - 6..])).await;
    assert_eq!(r.ok()["destroyed"], true);
    env.call(F::UsersMe, Event::new(F::UsersMe).cookie(&b)).await.assert_error(401, "Authentication required");
    // the current session's suffix → 400; no match → 404
    env.call(F::Destroy, Event::new(F::Destroy).cookie(&a).suffix(&a[a.len() - 6..]))
        .await
        .assert_error(400, "Cannot destroy the current session");
    env.call(F::Destroy, Event::new(F::Destroy).cookie(&a).suffix(&b[b.len() - 6..]))
        .await
        .assert_error(404, "Session not found");
    env.call(F::Destroy, Event::new(F::Destroy).cookie(&a).suffix("zz"))
        .await
        .assert_error(400, "token_suffix must be 6 letters or digits");
    let list = env.call(F::Sessions, Event::new(F::Sessions).cookie(&a)).await;
    assert_eq!(list.ok()["sessions"].as_array().unwrap().len(), 2);

    // logout: Max-Age=0, and the session is dead afterwards
    let out = env.call(F::Logout, Event::new(F::Logout).cookie(&c)).await;
    assert_eq!(out.ok()["message"], "Logged out.");
    let cookie = out.set_cookie().unwrap();
    assert!(cookie.starts_with("psession=;") && cookie.contains("Max-Age=0"), "{cookie}");
    env.call(F::UsersMe, Event::new(F::UsersMe).cookie(&c)).await.assert_error(401, "Authentication required");
    env.call(F::Logout, Event::new(F::Logout).cookie(&c)).await.assert_error(401, "Authentication required");
    env.call(F::UsersMe, Event::new(F::UsersMe).cookie(&a)).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admins_get_one_day_sessions() {
    let env = Env::with(|c| c.cookie_domain = Some("portal.example.org".into())).await;
    let (id, ip) = (snowflake(), test_ip());
    let (_, user) = env.web_login("discord", &id, &ip).await;
    let u = env.store.get_user_by_username(user["username"].as_str().unwrap()).await.unwrap().unwrap();
    env.store.set_user_permission(&u, 2, "2026-12-04T00:00:00Z").await.unwrap();
    let code = env.web_code("discord", &id, &ip).await;
    let r = env.verify(&code, &ip).await;
    assert_eq!(r.ok()["permission_level"], 2);
    let cookie = r.set_cookie().unwrap();
    assert!(cookie.contains("Max-Age=86400") && cookie.ends_with("; Domain=portal.example.org"), "{cookie}");
}
