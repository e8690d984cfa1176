//! API keys: `X-API-Key` → SHA-256 → key item. Plaintext keys are never stored or logged.
//! A warm container caches a found key for at most [`KEY_CACHE_SECONDS`]; unknown keys are
//! not cached, so a newly issued key works at once and a revoked one dies within the window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::error::{Error, Result};
use crate::input::Platform;
use crate::secrets;

/// The longest a warm container trusts a key lookup (`PORTAL_KEY_CACHE_SECONDS` may shorten it).
pub const KEY_CACHE_SECONDS: u64 = 60;
const MAX_KEY_LEN: usize = 256;
const MAX_CACHED_KEYS: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Public,
    Bot,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Public => "public",
            KeyKind::Bot => "bot",
        }
    }
}

/// What the key item says about a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    pub digest: String,
    pub kind: KeyKind,
    pub active: bool,
    /// Bots only.
    pub bot_id: Option<String>,
    pub platform: Option<Platform>,
    pub rate_limit_per_hour: u32,
}

/// A bot acting through its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BotCaller {
    pub bot_id: String,
    pub platform: Platform,
    pub rate_limit_per_hour: u32,
    /// Subject of the per-key limits: a prefix of the key's digest.
    pub limit_id: String,
}

impl BotCaller {
    /// A bot acts only for identities of its own platform.
    pub fn act_for(&self, platform: Platform) -> Result<()> {
        if self.platform == platform {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// The per-container cache of key lookups.
pub struct KeyCache {
    window: Duration,
    entries: Mutex<HashMap<String, (Instant, KeyRecord)>>,
}

impl KeyCache {
    pub fn new(seconds: u64) -> Self {
        KeyCache { window: Duration::from_secs(seconds.min(KEY_CACHE_SECONDS)), entries: Mutex::default() }
    }

    fn get(&self, digest: &str) -> Option<KeyRecord> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(digest).filter(|(at, _)| at.elapsed() < self.window).map(|(_, r)| r.clone())
    }

    fn put(&self, record: KeyRecord) {
        if self.window.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_CACHED_KEYS {
            let window = self.window;
            entries.retain(|_, (at, _)| at.elapsed() < window);
            if entries.len() >= MAX_CACHED_KEYS {
                entries.clear();
            }
        }
        entries.insert(record.digest.clone(), (Instant::now(), record));
    }
}

/// Resolves the presented key: missing or unknown → 401.
async fn resolve(app: &App, presented: Option<&str>) -> Result<KeyRecord> {
    let key =
        presented.map(str::trim).filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN).ok_or(Error::Unauthenticated)?;
    let digest = secrets::digest(key);
    if let Some(hit) = app.keys.get(&digest) {
        return Ok(hit);
    }
    let record = app.store.get_key(&digest).await?.ok_or(Error::Unauthenticated)?;
    // the item was found by its digest; compare once more, in constant time
    if !secrets::ct_eq(&record.digest, &digest) {
        return Err(Error::Unauthenticated);
    }
    app.keys.put(record.clone());
    Ok(record)
}

/// The public (web client) key: a bot key here → 403.
pub async fn require_public(app: &App, presented: Option<&str>) -> Result<()> {
    let record = resolve(app, presented).await?;
    if record.kind != KeyKind::Public || !record.active {
        return Err(Error::Forbidden);
    }
    Ok(())
}

/// A bot key: the public key here, or a deactivated bot → 403.
pub async fn require_bot(app: &App, presented: Option<&str>) -> Result<BotCaller> {
    let record = resolve(app, presented).await?;
    match (record.kind, record.active, record.bot_id, record.platform) {
        (KeyKind::Bot, true, Some(bot_id), Some(platform)) => Ok(BotCaller {
            bot_id,
            platform,
            rate_limit_per_hour: record.rate_limit_per_hour,
            limit_id: record.digest[..16].to_string(),
        }),
        _ => Err(Error::Forbidden),
    }
}

/// `GET /v1/bot/me`: the calling bot as registered.
pub async fn bot_me(
    app: std::sync::Arc<App>,
    bot: &BotCaller,
    now: crate::clock::Instant,
) -> Result<crate::store::Bot> {
    let limit = crate::limits::bot(&app.config, &bot.limit_id, bot.rate_limit_per_hour, now);
    let id: u64 = bot.bot_id.parse().map_err(|_| Error::Forbidden)?;
    let (allowed, found) = tokio::join!(app.store.hit(&limit), app.store.get_bot(id));
    allowed?;
    found?.ok_or(Error::Forbidden)
}
