//! Login codes: web codes (`request`, bound to the caller's IP, at most N pending per IP,
//! one live per identity), the bot's fetch of a pending web code (`login-code`), and bot
//! codes for quick login (`send-code`, one live per identity, existing users only).

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde::Serialize;

use crate::app::App;
use crate::clock::{self, Instant};
use crate::error::{Error, Result};
use crate::input::{BotReport, Identity};
use crate::keys::BotCaller;
use crate::limits;
use crate::secrets;
use crate::store::{BotIssue, WebIssue, WriteConflict};
use crate::users;

const MAX_ATTEMPTS: usize = 10;

/// A code and when it dies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCode {
    pub code: String,
    pub expires_at: i64,
    /// send-code: an earlier live code was returned again.
    pub reused: bool,
}

#[derive(Serialize)]
pub struct RequestResponse {
    pub message: &'static str,
    pub expires_at: String,
}

#[derive(Serialize)]
pub struct CodeResponse {
    pub code: Option<String>,
    pub expires_at: Option<String>,
}

impl From<Option<IssuedCode>> for CodeResponse {
    fn from(c: Option<IssuedCode>) -> Self {
        CodeResponse { expires_at: c.as_ref().map(|c| clock::iso_from_epoch(c.expires_at)), code: c.map(|c| c.code) }
    }
}

async fn backoff(attempt: usize) {
    let ms = rand::rng().random_range(2..12) * (attempt as u64 + 1);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// `POST /v1/authentication/request`. Answers the same for new, existing and banned
/// identities; a banned identity's code is stored unusable (no oracle, no login).
pub async fn request_web_code(app: Arc<App>, ip: &str, identity: &Identity, now: Instant) -> Result<RequestResponse> {
    let cfg = &app.config;
    let t = now.timestamp();
    let limit = limits::login(cfg, ip, now);
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            backoff(attempt).await;
        }
        let view = app.store.read_request_view(ip, identity, cfg.max_pending_codes_per_ip).await?;
        let old = view.pointer.as_ref();
        let reusable = |i: usize| match &view.slots[i] {
            None => true,
            Some(s) => s.expires_at <= t || old.is_some_and(|o| o.ip == ip && o.code == s.code),
        };
        let free: Vec<usize> = (0..view.slots.len()).filter(|&i| reusable(i)).collect();
        if free.is_empty() {
            app.store.hit(&limit).await?;
            let oldest = view.slots.iter().flatten().map(|s| s.expires_at).min().unwrap_or(t + 1);
            return Err(Error::TooManyPendingCodes { retry_after: (oldest - t).max(1) as u64 });
        }
        let slot = free[rand::rng().random_range(0..free.len())];
        let code = secrets::new_code();
        let expires_at = t + cfg.code_ttl_seconds;
        let issue = WebIssue {
            identity,
            ip,
            code: &code,
            expires_at,
            slot: slot as u32,
            slot_was: view.slots[slot].as_ref().map(|s| s.code.as_str()),
            old,
            user_id: view.link.as_ref().map(|l| l.user_id),
            blocked: view.link.as_ref().is_some_and(|l| users::restricted(l.state, l.timeout_until, t)),
            limit: &limit,
        };
        match app.store.issue_web_code(&issue).await {
            Ok(()) => {
                return Ok(RequestResponse {
                    message: "Login code generated.",
                    expires_at: clock::iso_from_epoch(expires_at),
                })
            }
            Err(WriteConflict::Limited) => return Err(limit.rejected()),
            Err(WriteConflict::Failed(e)) => return Err(e),
            Err(_) => continue,
        }
    }
    Err(Error::Unavailable { cause: "request: too much contention".into() })
}

/// `POST /v1/authentication/bot/login-code`: the identity's pending web code (not
/// consumed), recording the bot-reported username and avatar with it.
pub async fn login_code(
    app: Arc<App>,
    bot: &BotCaller,
    report: &BotReport,
    now: Instant,
) -> Result<Option<IssuedCode>> {
    bot.act_for(report.identity.platform)?;
    let limit = limits::bot(&app.config, &bot.limit_id, bot.rate_limit_per_hour, now);
    let (allowed, pending) = tokio::join!(app.store.hit(&limit), app.store.report_on_web_code(report, now.timestamp()));
    allowed?;
    Ok(pending?.map(|p| IssuedCode { code: p.code, expires_at: p.expires_at, reused: true }))
}

/// `POST /v1/authentication/bot/send-code`: a bot code for an existing, usable user under
/// the consecutive-bot-login limit; a live one is returned again with its own expiry.
pub async fn send_code(app: Arc<App>, bot: &BotCaller, report: &BotReport, now: Instant) -> Result<IssuedCode> {
    bot.act_for(report.identity.platform)?;
    let cfg = &app.config;
    let t = now.timestamp();
    let limit = limits::bot(cfg, &bot.limit_id, bot.rate_limit_per_hour, now);
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            backoff(attempt).await;
        }
        let (link, bot_code) = app.store.read_identity(&report.identity).await?;
        let Some(link) = link else {
            app.store.hit(&limit).await?;
            return Err(Error::NotFound("User not found"));
        };
        if users::restricted(link.state, link.timeout_until, t) {
            app.store.hit(&limit).await?;
            return Err(Error::Restricted);
        }
        let live = bot_code.as_ref().filter(|(_, exp)| *exp > t);
        let result = match live {
            Some((code, exp)) => app
                .store
                .refresh_for_bot_code(link.user_id, report, t, &limit)
                .await
                .map(|()| IssuedCode { code: code.clone(), expires_at: *exp, reused: true }),
            None => {
                let code = secrets::new_code();
                let expires_at = t + cfg.code_ttl_seconds;
                let issue = BotIssue {
                    report,
                    user_id: link.user_id,
                    code: &code,
                    expires_at,
                    old: bot_code.as_ref().map(|(c, _)| c.as_str()),
                    max_streak: cfg.bot_login_web_required_every,
                    now: t,
                    limit: &limit,
                };
                app.store.issue_bot_code(&issue).await.map(|()| IssuedCode { code, expires_at, reused: false })
            }
        };
        match result {
            Ok(issued) => return Ok(issued),
            Err(WriteConflict::Limited) => return Err(limit.rejected()),
            Err(WriteConflict::Failed(e)) => return Err(e),
            Err(WriteConflict::User(item)) => {
                // the user condition failed: say why, from the item as it was
                let user = match item.as_ref().and_then(crate::store::user_from_stored) {
                    Some(u) => Some(u),
                    None => app.store.get_user(link.user_id).await?,
                };
                match user {
                    Some(u) if u.restricted(t) => return Err(Error::Restricted),
                    Some(u) if u.bot_streak >= cfg.bot_login_web_required_every => return Err(Error::WebLoginRequired),
                    Some(_) => continue,
                    None => return Err(Error::internal("identity links to a missing user")),
                }
            }
            Err(_) => continue,
        }
    }
    Err(Error::Unavailable { cause: "send-code: too much contention".into() })
}
