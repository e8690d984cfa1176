//! Administration writes (the `portal-admin` CLI): public keys, bots and their keys, user
//! state and permission. Key plaintexts never reach the table: only their digests.

use serde::Serialize;

use super::codes::link_key;
use super::keys::key_key;
use super::sessions::{session_key, user_session_key};
use super::users::{profile_key, user_from_item, username_key};
use super::{
    key, key_pair, n, names, s, sdk_error, tx_delete, tx_put, tx_update, AttributeValue, Item, ItemExt, Store,
    TxnError, Vals,
};
use crate::error::{Error, Result};
use crate::input::Platform;
use crate::secrets;
use crate::users::{User, UserState};

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Bot {
    pub id: u64,
    pub name: String,
    pub platform: String,
    pub owner_id: u64,
    pub is_active: bool,
    pub rate_limit_per_hour: u32,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PublicKeyInfo {
    pub id: u64,
    pub active: bool,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

fn bot_key(id: u64) -> Item {
    key("BOTS", format!("BOT#{id}"))
}

fn pubkey_key(id: u64) -> Item {
    key("PUBKEYS", format!("PUBKEY#{id}"))
}

fn bot_from_item(item: &Item) -> Option<Bot> {
    Some(Bot {
        id: item.num("id")?,
        name: item.string("name"),
        platform: item.string("platform"),
        owner_id: item.num("owner_id").unwrap_or(0),
        is_active: item.boolean("is_active").unwrap_or(false),
        rate_limit_per_hour: item.num("rate_limit_per_hour").unwrap_or(1000),
        created_at: item.string("created_at"),
        updated_at: item.string("updated_at"),
    })
}

fn pubkey_from_item(item: &Item) -> Option<PublicKeyInfo> {
    Some(PublicKeyInfo {
        id: item.num("id")?,
        active: item.boolean("active").unwrap_or(false),
        created_at: item.string("created_at"),
        revoked_at: item.opt_string("revoked_at"),
    })
}

fn bot_key_item(digest: &str, bot: &Bot) -> Item {
    let mut k = key_key(digest);
    k.insert("kind".into(), s("bot"));
    k.insert("bot_id".into(), s(bot.id.to_string()));
    k.insert("platform".into(), s(&bot.platform));
    k.insert("active".into(), AttributeValue::Bool(bot.is_active));
    k.insert("rate_limit_per_hour".into(), n(bot.rate_limit_per_hour));
    k
}

fn txn_error(e: TxnError, what: &str) -> Error {
    match e {
        TxnError::Failed(err) => err,
        TxnError::Cancelled(_) => Error::internal(format!("{what}: conflicting change, try again")),
    }
}

impl Store {
    /// Issues a public key (a fresh `ppub_` key unless one is given). Returns the record and
    /// the plaintext, which exists only in this answer.
    pub async fn issue_public_key(&self, plaintext: Option<&str>, now_iso: &str) -> Result<(PublicKeyInfo, String)> {
        let plaintext = plaintext.map(str::to_string).unwrap_or_else(|| secrets::new_api_key("ppub_"));
        let digest = secrets::digest(&plaintext);
        let id = self.next_id("PUBKEY").await?;
        let mut rec = pubkey_key(id);
        rec.insert("id".into(), n(id));
        rec.insert("key_digest".into(), s(&digest));
        rec.insert("active".into(), AttributeValue::Bool(true));
        rec.insert("created_at".into(), s(now_iso));
        let mut k = key_key(&digest);
        k.insert("kind".into(), s("public"));
        k.insert("key_id".into(), s(id.to_string()));
        k.insert("active".into(), AttributeValue::Bool(true));
        let ops = vec![
            tx_put(&self.table, rec, None, Vals::new()),
            tx_put(&self.table, k, Some("attribute_not_exists(pk)"), Vals::new()),
        ];
        self.transact(ops).await.map_err(|e| txn_error(e, "issue public key"))?;
        Ok((PublicKeyInfo { id, active: true, created_at: now_iso.into(), revoked_at: None }, plaintext))
    }

    pub async fn list_public_keys(&self) -> Result<Vec<PublicKeyInfo>> {
        let mut keys: Vec<_> =
            self.query_partition("PUBKEYS", None).await?.iter().filter_map(pubkey_from_item).collect();
        keys.sort_by_key(|k| k.id);
        Ok(keys)
    }

    /// Revokes a public key: its key item is deleted (it answers 401 once caches expire).
    pub async fn revoke_public_key(&self, id: u64, now_iso: &str) -> Result<PublicKeyInfo> {
        let item = self.get(pubkey_key(id)).await?.ok_or(Error::NotFound("Public key not found"))?;
        let digest = item.string("key_digest");
        let ops = vec![
            tx_update(
                &self.table,
                pubkey_key(id),
                "SET active = :f, revoked_at = :now",
                None,
                None,
                Vals::new().v(":f", AttributeValue::Bool(false)).s(":now", now_iso),
            ),
            tx_delete(&self.table, key_key(&digest), None, Vals::new()),
        ];
        self.transact(ops).await.map_err(|e| txn_error(e, "revoke public key"))?;
        let mut info = pubkey_from_item(&item).ok_or_else(|| Error::internal("bad public key item"))?;
        info.active = false;
        info.revoked_at = Some(now_iso.into());
        Ok(info)
    }

    /// Registers a bot and its key (a fresh `hbot_` key unless one is given).
    pub async fn register_bot(
        &self,
        name: &str,
        platform: Platform,
        owner_id: u64,
        rate_limit_per_hour: u32,
        plaintext: Option<&str>,
        now_iso: &str,
    ) -> Result<(Bot, String)> {
        let plaintext = plaintext.map(str::to_string).unwrap_or_else(|| secrets::new_api_key("hbot_"));
        let digest = secrets::digest(&plaintext);
        let id = self.next_id("BOT").await?;
        let bot = Bot {
            id,
            name: name.into(),
            platform: platform.as_str().into(),
            owner_id,
            is_active: true,
            rate_limit_per_hour,
            created_at: now_iso.into(),
            updated_at: now_iso.into(),
        };
        let mut item = bot_key(id);
        item.insert("id".into(), n(id));
        item.insert("name".into(), s(name));
        item.insert("platform".into(), s(platform.as_str()));
        item.insert("owner_id".into(), n(owner_id));
        item.insert("is_active".into(), AttributeValue::Bool(true));
        item.insert("rate_limit_per_hour".into(), n(rate_limit_per_hour));
        item.insert("key_digest".into(), s(&digest));
        item.insert("created_at".into(), s(now_iso));
        item.insert("updated_at".into(), s(now_iso));
        let ops = vec![
            tx_put(&self.table, item, Some("attribute_not_exists(pk)"), Vals::new()),
            tx_put(&self.table, bot_key_item(&digest, &bot), Some("attribute_not_exists(pk)"), Vals::new()),
        ];
        self.transact(ops).await.map_err(|e| txn_error(e, "register bot"))?;
        Ok((bot, plaintext))
    }

    pub async fn get_bot(&self, id: u64) -> Result<Option<Bot>> {
        Ok(self.get(bot_key(id)).await?.as_ref().and_then(bot_from_item))
    }

    pub async fn list_bots(&self) -> Result<Vec<Bot>> {
        let mut bots: Vec<_> = self.query_partition("BOTS", None).await?.iter().filter_map(bot_from_item).collect();
        bots.sort_by_key(|b| b.id);
        Ok(bots)
    }

    /// Changes a bot; its key item follows (activity and hourly limit are read from it).
    pub async fn update_bot(
        &self,
        id: u64,
        name: Option<&str>,
        rate_limit_per_hour: Option<u32>,
        active: Option<bool>,
        now_iso: &str,
    ) -> Result<Bot> {
        let item = self.get(bot_key(id)).await?.ok_or(Error::NotFound("Bot not found"))?;
        let mut bot = bot_from_item(&item).ok_or_else(|| Error::internal("bad bot item"))?;
        if let Some(v) = name {
            bot.name = v.into();
        }
        if let Some(v) = rate_limit_per_hour {
            bot.rate_limit_per_hour = v;
        }
        if let Some(v) = active {
            bot.is_active = v;
        }
        bot.updated_at = now_iso.into();
        let digest = item.string("key_digest");
        let ops = vec![
            tx_update(
                &self.table,
                bot_key(id),
                "SET #name = :name, rate_limit_per_hour = :r, is_active = :a, updated_at = :now",
                Some("key_digest = :d"),
                names(&[("#name", "name")]),
                Vals::new()
                    .s(":name", &bot.name)
                    .n(":r", bot.rate_limit_per_hour)
                    .v(":a", AttributeValue::Bool(bot.is_active))
                    .s(":now", now_iso)
                    .s(":d", &digest),
            ),
            tx_put(&self.table, bot_key_item(&digest, &bot), None, Vals::new()),
        ];
        self.transact(ops).await.map_err(|e| txn_error(e, "update bot"))?;
        Ok(bot)
    }

    /// Replaces a bot's key: the old key item is deleted in the same transaction.
    pub async fn regenerate_bot_key(&self, id: u64, now_iso: &str) -> Result<(Bot, String)> {
        let item = self.get(bot_key(id)).await?.ok_or(Error::NotFound("Bot not found"))?;
        let mut bot = bot_from_item(&item).ok_or_else(|| Error::internal("bad bot item"))?;
        bot.updated_at = now_iso.into();
        let old = item.string("key_digest");
        let plaintext = secrets::new_api_key("hbot_");
        let digest = secrets::digest(&plaintext);
        let ops = vec![
            tx_update(
                &self.table,
                bot_key(id),
                "SET key_digest = :new, updated_at = :now",
                Some("key_digest = :old"),
                None,
                Vals::new().s(":new", &digest).s(":old", &old).s(":now", now_iso),
            ),
            tx_delete(&self.table, key_key(&old), None, Vals::new()),
            tx_put(&self.table, bot_key_item(&digest, &bot), Some("attribute_not_exists(pk)"), Vals::new()),
        ];
        self.transact(ops).await.map_err(|e| txn_error(e, "regenerate bot key"))?;
        Ok((bot, plaintext))
    }

    /// Whether a key item exists for this plaintext (dev seeding).
    pub async fn key_exists(&self, plaintext: &str) -> Result<bool> {
        Ok(self.get(key_key(&secrets::digest(plaintext))).await?.is_some())
    }

    /// Username (any case) → user, strongly consistent (through the username item).
    pub async fn get_user_by_username(&self, username: &str) -> Result<Option<User>> {
        let Some(name) = self.get(username_key(username)).await? else {
            return Ok(None);
        };
        match name.num::<u64>("user_id") {
            Some(id) => self.get_user(id).await,
            None => Ok(None),
        }
    }

    /// Bans, times out or restores a user. The identity links mirror the state (request
    /// reads it there) and change in the same transaction.
    pub async fn set_user_state(
        &self,
        user: &User,
        state: UserState,
        timeout_until: Option<i64>,
        now_iso: &str,
    ) -> Result<()> {
        let expr = match timeout_until {
            Some(_) => "SET #state = :s, timeout_until = :u, updated_at = :now",
            None => "SET #state = :s, updated_at = :now REMOVE timeout_until",
        };
        let vals = || {
            let base = Vals::new().s(":s", state.as_str()).s(":now", now_iso);
            match timeout_until {
                Some(until) => base.n(":u", until),
                None => base,
            }
        };
        let mut keys = vec![profile_key(user.id)];
        keys.extend(user.links.iter().filter_map(|l| l.identity()).map(|id| link_key(&id)));
        let ops = keys
            .into_iter()
            .map(|k| {
                tx_update(&self.table, k, expr, Some("attribute_exists(pk)"), names(&[("#state", "state")]), vals())
            })
            .collect();
        self.transact(ops).await.map_err(|e| txn_error(e, "set state"))
    }

    pub async fn set_user_permission(&self, user: &User, level: u8, now_iso: &str) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(profile_key(user.id)))
            .update_expression("SET permission_level = :p, permission_since = :now, updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":p", n(level))
            .expression_attribute_values(":now", s(now_iso))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem(permission)", e))?;
        Ok(())
    }
}

impl Store {
    /// Reads the whole table (administration and tests only: never on a request path).
    async fn scan_all(&self) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Scan", e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// Checks the invariants that multi-item writes must keep (every account has its username
    /// and identity links, every link and session its user, sessions come in pairs). Returns
    /// one line per problem; empty means consistent.
    pub async fn consistency_problems(&self) -> Result<Vec<String>> {
        use std::collections::HashMap;
        let items = self.scan_all().await?;
        let by_key: HashMap<(String, String), &Item> = items.iter().map(|i| (key_pair(i), i)).collect();
        let has = |k: Item| by_key.get(&key_pair(&k)).copied();
        let points_at = |k: Item, uid: u64| has(k).is_some_and(|i| i.num::<u64>("user_id") == Some(uid));
        let mut problems = Vec::new();
        let mut max_user = 0u64;
        for item in &items {
            let (pk, sk) = key_pair(item);
            let uid = item.num::<u64>("user_id").unwrap_or(0);
            if pk.starts_with("USER#") && sk == "PROFILE" {
                let Some(user) = user_from_item(item) else {
                    problems.push(format!("{pk}: unreadable profile"));
                    continue;
                };
                max_user = max_user.max(user.id);
                if !points_at(username_key(&user.username), user.id) {
                    problems.push(format!("{pk}: username item missing or wrong"));
                }
                for l in &user.links {
                    if !l.identity().is_some_and(|id| points_at(link_key(&id), user.id)) {
                        problems.push(format!("{pk}: identity link {}#{} missing", l.platform, l.platform_user_id));
                    }
                }
            } else if pk.starts_with("USERNAME#") || (pk.starts_with("IDENTITY#") && sk == "LINK") {
                if has(profile_key(uid)).is_none() {
                    problems.push(format!("{pk}/{sk}: points at missing user {uid}"));
                }
            } else if let Some(digest) = pk.strip_prefix("SESSION#") {
                if has(profile_key(uid)).is_none() {
                    problems.push(format!("session of missing user {uid}"));
                }
                if has(user_session_key(uid, digest)).is_none() {
                    problems.push(format!("session without its user index item (user {uid})"));
                }
            } else if let Some(digest) = sk.strip_prefix("SESSION#").filter(|_| pk.starts_with("USER#")) {
                if has(session_key(digest)).is_none() {
                    problems.push(format!("{pk}: session index item without its session"));
                }
            }
        }
        let counter = has(key("COUNTER", "USER")).and_then(|c| c.num::<u64>("n")).unwrap_or(0);
        if counter < max_user {
            problems.push(format!("user counter {counter} is below the highest user id {max_user}"));
        }
        Ok(problems)
    }
}
