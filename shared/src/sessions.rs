//! Sessions: verify (code → session, creating the account on a first web login), the
//! session cookie's checks on every use, the session list, destroy and logout.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::app::App;
use crate::clock::{self, Instant};
use crate::error::{Error, Result};
use crate::limits;
use crate::secrets;
use crate::store::{
    CodeRecord, LoginWrite, NewAccount, Origin, SessionRecord, SessionWrite, WebPointer, WriteConflict,
};
use crate::users::{self, User};

const MAX_ATTEMPTS: usize = 6;
const SUFFIX_LEN: usize = 6;

/// A successful verify.
pub struct Verified {
    pub user: User,
    pub user_created: bool,
    pub token: String,
    pub max_age: i64,
}

#[derive(Serialize)]
pub struct VerifyResponse<'a> {
    pub user_created: bool,
    pub id: u64,
    pub username: &'a str,
    pub avatar_url: Option<&'a str>,
    pub permission_level: u8,
    pub subscription_level: u8,
    pub subscription_expires_at: Option<&'a str>,
    pub state: &'static str,
    pub created_at: &'a str,
}

impl Verified {
    pub fn response(&self, now: Instant) -> VerifyResponse<'_> {
        let u = &self.user;
        VerifyResponse {
            user_created: self.user_created,
            id: u.id,
            username: &u.username,
            avatar_url: u.avatar_url.as_deref(),
            permission_level: u.permission_level,
            subscription_level: u.subscription_tier,
            subscription_expires_at: u.subscription_expires_at.as_deref(),
            state: users::effective_state(u.state, u.timeout_until, now.timestamp()).as_str(),
            created_at: &u.created_at,
        }
    }
}

/// The request's context for a verify.
pub struct Caller<'a> {
    pub ip: &'a str,
    pub user_agent: Option<&'a str>,
    pub now: Instant,
}

enum Step {
    Done(Box<Verified>),
    Retry,
}

/// `POST /v1/authentication/verify`: trades a code for a session, exactly once.
pub async fn verify(app: Arc<App>, caller: &Caller<'_>, code: &str) -> Result<Verified> {
    let t = caller.now.timestamp();
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            jitter().await;
        }
        let usable = app.store.get_code(code).await?.filter(|c| {
            secrets::ct_eq(&c.code, code)
                && c.expires_at > t
                && (c.origin == Origin::Bot || c.ip.as_deref().is_some_and(|ip| secrets::ct_eq(ip, caller.ip)))
        });
        let Some(rec) = usable else {
            return failed(&app, caller).await;
        };
        let step = match rec.user_id {
            Some(uid) => login_existing(&app, caller, &rec, uid).await?,
            None => create_account(&app, caller, &rec).await?,
        };
        if let Step::Done(v) = step {
            return Ok(*v);
        }
    }
    Err(Error::Unavailable { cause: "verify: too much contention".into() })
}

/// Every kind of wrong code: one answer, and one more failed verify counted for the IP.
async fn failed(app: &App, caller: &Caller<'_>) -> Result<Verified> {
    app.store.hit(&limits::verify_failed(&app.config, caller.ip, caller.now)).await?;
    Err(Error::InvalidCode)
}

async fn login_existing(app: &App, caller: &Caller<'_>, rec: &CodeRecord, uid: u64) -> Result<Step> {
    let t = caller.now.timestamp();
    let limit = limits::verify(&app.config, caller.ip, caller.now);
    let (user, reported) = match rec.origin {
        Origin::Web => app.store.get_user_and_report(uid, &rec.identity).await?,
        Origin::Bot => (app.store.get_user(uid).await?, None),
    };
    let user = user.ok_or_else(|| Error::internal("identity links to a missing user"))?;
    if rec.blocked || user.restricted(t) {
        return spend(app, caller, rec).await;
    }
    let token = secrets::new_session_token();
    let (digest, now_iso) = (secrets::digest(&token), clock::iso(caller.now));
    let session = session_write(&digest, &token, uid, &now_iso, t + user.session_seconds(), caller);
    let write = LoginWrite {
        code: rec,
        user_id: uid,
        now: t,
        now_iso: &now_iso,
        reported: reported.as_ref(),
        session: &session,
        limit: &limit,
    };
    match app.store.login_existing(&write).await {
        Ok(()) => {
            let max_age = user.session_seconds();
            Ok(Step::Done(Box::new(Verified { user, user_created: false, token, max_age })))
        }
        Err(WriteConflict::User(_)) => spend(app, caller, rec).await,
        Err(c) => conflict(app, caller, c, &limit).await,
    }
}

async fn create_account(app: &App, caller: &Caller<'_>, rec: &CodeRecord) -> Result<Step> {
    let t = caller.now.timestamp();
    let limit = limits::verify(&app.config, caller.ip, caller.now);
    let (id, reported) = tokio::join!(app.store.next_id("USER"), app.store.get_web_report(&rec.identity));
    let (id, reported): (u64, Option<WebPointer>) = (id?, reported?);
    let now_iso = clock::iso(caller.now);
    for _ in 0..MAX_ATTEMPTS {
        let user = User::new_account(id, users::random_username(), &rec.identity, reported.as_ref(), &now_iso);
        let token = secrets::new_session_token();
        let digest = secrets::digest(&token);
        let session = session_write(&digest, &token, id, &now_iso, t + user.session_seconds(), caller);
        let account = NewAccount { user: &user, code: rec, now: t, session: &session, limit: &limit };
        match app.store.create_account(&account).await {
            Ok(()) => {
                let max_age = user.session_seconds();
                return Ok(Step::Done(Box::new(Verified { user, user_created: true, token, max_age })));
            }
            Err(WriteConflict::UsernameTaken) => continue,
            Err(WriteConflict::LinkExists) => {
                // the account was created meanwhile: this is a returning user after all
                let link = app.store.get_link(&rec.identity).await?.ok_or_else(|| Error::internal("link vanished"))?;
                return login_existing(app, caller, rec, link.user_id).await;
            }
            Err(c) => return conflict(app, caller, c, &limit).await,
        }
    }
    Err(Error::Unavailable { cause: "verify: no free username".into() })
}

/// A restricted user's code is spent without a session: 403.
async fn spend(app: &App, caller: &Caller<'_>, rec: &CodeRecord) -> Result<Step> {
    let limit = limits::verify(&app.config, caller.ip, caller.now);
    match app.store.spend_code(rec, caller.now.timestamp(), &limit).await {
        Ok(()) => Err(Error::Restricted),
        Err(c) => conflict(app, caller, c, &limit).await,
    }
}

async fn conflict(app: &App, caller: &Caller<'_>, c: WriteConflict, limit: &limits::Limit) -> Result<Step> {
    match c {
        WriteConflict::Limited => Err(limit.rejected()),
        WriteConflict::CodeGone => failed(app, caller).await.map(|_| Step::Retry),
        WriteConflict::Failed(e) => Err(e),
        _ => Ok(Step::Retry),
    }
}

fn session_write<'a>(
    digest: &'a str,
    token: &'a str,
    uid: u64,
    now_iso: &'a str,
    expires_at: i64,
    caller: &Caller<'a>,
) -> SessionWrite<'a> {
    SessionWrite {
        digest,
        user_id: uid,
        created_at: now_iso,
        expires_at,
        client_ip: caller.ip,
        user_agent: caller.user_agent,
        token_suffix: &token[token.len() - SUFFIX_LEN..],
    }
}

async fn jitter() {
    use rand::Rng;
    let ms = rand::rng().random_range(5..40);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

// ---------------------------------------------------------------------------------------
// Using a session

/// A live session, its user, and (when asked for) all the user's sessions.
pub struct Authenticated {
    pub session: SessionRecord,
    pub user: User,
    pub sessions: Vec<SessionRecord>,
}

fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The cookie's session, if the token is well formed and its session is stored and unexpired
/// (no read at all for a malformed token).
async fn live_session(app: &App, token: Option<&str>, t: i64) -> Result<Option<SessionRecord>> {
    let Some(digest) = token.filter(|t| well_formed(t)).map(secrets::digest) else { return Ok(None) };
    let session = app.store.get_session(&digest).await?;
    Ok(session.filter(|s| s.expires_at > t && secrets::ct_eq(&s.digest, &digest)))
}

/// The `psession` cookie → live session → usable user. Missing, unknown or expired → 401;
/// a banned or timed-out user → 403. Counts the AUTH tier for the session.
pub async fn authenticate(app: &App, token: Option<&str>, now: Instant, with_sessions: bool) -> Result<Authenticated> {
    let t = now.timestamp();
    let session = live_session(app, token, t).await?.ok_or(Error::Unauthenticated)?;
    let limit = limits::session(&app.config, &session.digest, now);
    let load = async {
        if with_sessions {
            app.store.user_with_sessions(session.user_id).await
        } else {
            app.store.get_user(session.user_id).await.map(|u| (u, Vec::new()))
        }
    };
    let (allowed, loaded) = tokio::join!(app.store.hit(&limit), load);
    allowed?;
    let (user, sessions) = loaded?;
    let user = user.ok_or(Error::Unauthenticated)?;
    if user.restricted(t) {
        return Err(Error::Restricted);
    }
    Ok(Authenticated { session, user, sessions })
}

#[derive(Serialize, Debug)]
pub struct SessionView {
    pub token_suffix: String,
    pub created_at: String,
    pub expires_at: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub is_current: bool,
}

#[derive(Serialize, Debug)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

/// `GET /v1/users/me/sessions`: live sessions only, newest first.
pub async fn list(app: Arc<App>, token: Option<&str>, now: Instant) -> Result<SessionList> {
    let auth = authenticate(&app, token, now, true).await?;
    let t = now.timestamp();
    let mut live: Vec<_> = auth.sessions.into_iter().filter(|s| s.expires_at > t).collect();
    live.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    let sessions = live
        .into_iter()
        .map(|s| SessionView {
            is_current: s.digest == auth.session.digest,
            token_suffix: s.token_suffix,
            created_at: s.created_at,
            expires_at: clock::iso_from_epoch(s.expires_at),
            client_ip: s.client_ip,
            user_agent: s.user_agent,
        })
        .collect();
    Ok(SessionList { sessions })
}

/// `POST /v1/users/me/sessions/{token_suffix}/destroy`.
pub async fn destroy(app: Arc<App>, token: Option<&str>, suffix: &str, now: Instant) -> Result<()> {
    if suffix.len() != SUFFIX_LEN || !suffix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::bad_request("token_suffix must be 6 letters or digits"));
    }
    let auth = authenticate(&app, token, now, true).await?;
    if secrets::ct_eq(&auth.session.token_suffix, suffix) {
        return Err(Error::CurrentSession);
    }
    let t = now.timestamp();
    let target = auth
        .sessions
        .iter()
        .find(|s| s.expires_at > t && s.digest != auth.session.digest && secrets::ct_eq(&s.token_suffix, suffix))
        .ok_or(Error::NotFound("Session not found"))?;
    app.store.delete_session(target.user_id, &target.digest).await
}

/// `POST /v1/authentication/logout`: LOGIN tier per IP; ends the cookie's session.
pub async fn logout(app: Arc<App>, ip: &str, token: Option<&str>, now: Instant) -> Result<()> {
    // the limit and the session read are independent: one round trip for both
    let limit = limits::login(&app.config, ip, now);
    let (allowed, session) = tokio::join!(app.store.hit(&limit), live_session(&app, token, now.timestamp()));
    allowed?;
    let session = session?.ok_or(Error::Unauthenticated)?;
    app.store.delete_session(session.user_id, &session.digest).await
}

/// The `Set-Cookie` that clears the session cookie.
pub fn clearing_cookie(app: &App) -> String {
    crate::http::session_cookie("", 0, app.config.cookie_domain.as_deref())
}

/// The `Set-Cookie` of a new session.
pub fn session_cookie(app: &App, v: &Verified) -> String {
    crate::http::session_cookie(&v.token, v.max_age, app.config.cookie_domain.as_deref())
}
