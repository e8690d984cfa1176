//! Key items: `KEY#<digest>` / `KEY`.

use super::{key, ItemExt, Store};
use crate::error::Result;
use crate::input::Platform;
use crate::keys::{KeyKind, KeyRecord};

pub(crate) fn key_key(digest: &str) -> super::Item {
    key(format!("KEY#{digest}"), "KEY")
}

impl Store {
    pub async fn get_key(&self, digest: &str) -> Result<Option<KeyRecord>> {
        let Some(item) = self.get(key_key(digest)).await? else {
            return Ok(None);
        };
        let kind = match item.str("kind") {
            Some("public") => KeyKind::Public,
            Some("bot") => KeyKind::Bot,
            _ => return Ok(None),
        };
        Ok(Some(KeyRecord {
            digest: item.str("pk").and_then(|pk| pk.strip_prefix("KEY#")).unwrap_or_default().to_string(),
            kind,
            active: item.boolean("active").unwrap_or(false),
            bot_id: item.opt_string("bot_id"),
            platform: item.str("platform").and_then(Platform::parse),
            rate_limit_per_hour: item.num("rate_limit_per_hour").unwrap_or(1000),
        }))
    }
}
