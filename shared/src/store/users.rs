//! User items: `USER#<id>` / `PROFILE` (with the `links` map and `gsi1pk = UNAME#<lower>`),
//! `USERNAME#<lower>`, the identity `LINK`s, and the login transactions of verify.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem};

use super::codes::{consume_ops, link_key, web_pointer_key, CodeRecord, Origin, WebPointer, WriteConflict};
use super::sessions::{session_ops, SessionWrite};
use super::{
    key, key_pair, n, names, s, sdk_error, tx_put, tx_update, AttributeValue, Item, ItemExt, Role, Store, Vals,
};
use crate::error::Result;
use crate::input::Identity;
use crate::limits::Limit;
use crate::users::{Link, User, UserState, USABLE_CONDITION};

pub(crate) fn profile_key(id: u64) -> Item {
    key(format!("USER#{id}"), "PROFILE")
}

pub(crate) fn username_key(username: &str) -> Item {
    key(format!("USERNAME#{}", username.to_lowercase()), "USERNAME")
}

fn link_name(platform: &str, platform_user_id: &str) -> String {
    format!("{platform}#{platform_user_id}")
}

pub(crate) fn user_from_item(item: &Item) -> Option<User> {
    let mut links: Vec<Link> = item
        .map("links")
        .map(|m| {
            m.values()
                .filter_map(|v| v.as_m().ok())
                .map(|l| Link {
                    platform: l.string("platform"),
                    platform_user_id: l.string("platform_user_id"),
                    platform_username: l.opt_string("platform_username"),
                    platform_avatar_url: l.opt_string("platform_avatar_url"),
                    linked_at: l.string("linked_at"),
                    last_authenticated_at: l.opt_string("last_authenticated_at"),
                })
                .collect()
        })
        .unwrap_or_default();
    links.sort_by(|a, b| (&a.linked_at, &a.platform).cmp(&(&b.linked_at, &b.platform)));
    Some(User {
        id: item.num("id")?,
        username: item.string("username"),
        avatar_url: item.opt_string("avatar_url"),
        avatar_source: item.opt_string("avatar_source"),
        permission_level: item.num("permission_level").unwrap_or(0),
        permission_since: item.opt_string("permission_since"),
        subscription_tier: item.num("subscription_tier").unwrap_or(0),
        subscription_expires_at: item.opt_string("subscription_expires_at"),
        subscription_granted_by: item.num("subscription_granted_by"),
        state: UserState::parse(item.str("state").unwrap_or("active")),
        timeout_until: item.num("timeout_until"),
        bot_streak: item.num("bot_streak").unwrap_or(0),
        last_activity_at: item.opt_string("last_activity_at"),
        created_at: item.string("created_at"),
        updated_at: item.string("updated_at"),
        links,
    })
}

fn link_item(l: &Link) -> AttributeValue {
    let mut m: Item = HashMap::from([
        ("platform".to_string(), s(&l.platform)),
        ("platform_user_id".to_string(), s(&l.platform_user_id)),
        ("linked_at".to_string(), s(&l.linked_at)),
    ]);
    if let Some(v) = &l.platform_username {
        m.insert("platform_username".into(), s(v));
    }
    if let Some(v) = &l.platform_avatar_url {
        m.insert("platform_avatar_url".into(), s(v));
    }
    if let Some(v) = &l.last_authenticated_at {
        m.insert("last_authenticated_at".into(), s(v));
    }
    AttributeValue::M(m)
}

/// The whole user item for a new account.
fn new_user_item(u: &User) -> Item {
    let mut item = profile_key(u.id);
    item.insert("id".into(), n(u.id));
    item.insert("username".into(), s(&u.username));
    item.insert("gsi1pk".into(), s(format!("UNAME#{}", u.username.to_lowercase())));
    item.insert("gsi1sk".into(), s("USER"));
    item.insert("permission_level".into(), n(u.permission_level));
    item.insert("subscription_tier".into(), n(u.subscription_tier));
    item.insert("state".into(), s(u.state.as_str()));
    item.insert("bot_streak".into(), n(u.bot_streak));
    item.insert("created_at".into(), s(&u.created_at));
    item.insert("updated_at".into(), s(&u.updated_at));
    if let Some(v) = &u.last_activity_at {
        item.insert("last_activity_at".into(), s(v));
    }
    if let Some(v) = &u.permission_since {
        item.insert("permission_since".into(), s(v));
    }
    let links = u.links.iter().map(|l| (link_name(&l.platform, &l.platform_user_id), link_item(l))).collect();
    item.insert("links".into(), AttributeValue::M(links));
    item
}

/// A login of an existing user (verify).
pub struct LoginWrite<'a> {
    pub code: &'a CodeRecord,
    pub user_id: u64,
    pub now: i64,
    pub now_iso: &'a str,
    /// The bot-reported profile of a web code.
    pub reported: Option<&'a WebPointer>,
    pub session: &'a SessionWrite<'a>,
    pub limit: &'a Limit,
}

/// A first web login: account, username, identity link and session together.
pub struct NewAccount<'a> {
    pub user: &'a User,
    pub code: &'a CodeRecord,
    pub now: i64,
    pub session: &'a SessionWrite<'a>,
    pub limit: &'a Limit,
}

impl Store {
    pub async fn get_user(&self, id: u64) -> Result<Option<User>> {
        Ok(self.get(profile_key(id)).await?.as_ref().and_then(user_from_item))
    }

    /// The user and the identity's bot-reported profile (verify of a web code).
    pub async fn get_user_and_report(
        &self,
        id: u64,
        identity: &Identity,
    ) -> Result<(Option<User>, Option<WebPointer>)> {
        let found = self.batch_get(vec![profile_key(id), web_pointer_key(identity)]).await?;
        let user = found.get(&key_pair(&profile_key(id))).and_then(user_from_item);
        let report = found.get(&key_pair(&web_pointer_key(identity))).map(super::codes::web_pointer);
        Ok((user, report))
    }

    pub async fn get_web_report(&self, identity: &Identity) -> Result<Option<WebPointer>> {
        Ok(self.get(web_pointer_key(identity)).await?.as_ref().map(super::codes::web_pointer))
    }

    pub async fn get_link(&self, identity: &Identity) -> Result<Option<super::LinkView>> {
        Ok(self.get(link_key(identity)).await?.as_ref().and_then(super::LinkView::from_item))
    }

    /// Case-insensitive username → user, through the `gsi1` index.
    pub async fn find_user_by_username(&self, username: &str) -> Result<Option<User>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :u")
            .expression_attribute_values(":u", s(format!("UNAME#{}", username.to_lowercase())))
            .limit(1)
            .send()
            .await
            .map_err(|e| sdk_error("Query(gsi1)", e))?;
        Ok(out.items.unwrap_or_default().first().and_then(user_from_item))
    }

    /// The next value of an atomic counter (`COUNTER` / `name`).
    pub async fn next_id(&self, name: &str) -> Result<u64> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key("COUNTER", name)))
            .update_expression("ADD #n :one")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem(counter)", e))?;
        out.attributes
            .as_ref()
            .and_then(|a| a.num("n"))
            .ok_or_else(|| crate::error::Error::internal("counter returned no value"))
    }

    /// Existing user: consume the code, update streak/activity/profile (user must be
    /// usable), create the session, count the request — one transaction.
    pub async fn login_existing(&self, w: &LoginWrite<'_>) -> std::result::Result<(), WriteConflict> {
        let t = &self.table;
        let consume = consume_ops(t, w.code, w.now);
        let user_index = 1 + consume.len();
        let link = link_name(w.code.identity.platform.as_str(), &w.code.identity.platform_user_id);
        let mut vals =
            Vals::new().s(":iso", w.now_iso).n(":now", w.now).s(":active", "active").s(":timeout", "timeout");
        let mut set = vec!["last_activity_at = :iso", "updated_at = :iso", "links.#l.last_authenticated_at = :iso"];
        let mut remove = vec![];
        let mut add = "";
        match w.code.origin {
            Origin::Web => {
                set.push("bot_streak = :zero");
                vals = vals.n(":zero", 0);
            }
            Origin::Bot => {
                add = " ADD bot_streak :one";
                vals = vals.n(":one", 1);
            }
        }
        if let Some(r) = w.reported.and_then(|r| r.platform_username.as_ref().map(|u| (u, r))) {
            set.push("links.#l.platform_username = :pu");
            vals = vals.s(":pu", r.0);
            match &r.1.platform_avatar_url {
                Some(a) => {
                    set.push("links.#l.platform_avatar_url = :pa");
                    vals = vals.s(":pa", a);
                }
                None => remove.push("links.#l.platform_avatar_url"),
            }
        }
        let mut expr = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expr.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        expr.push_str(add);
        let user_op = tx_update(
            t,
            profile_key(w.user_id),
            &expr,
            Some(&format!("attribute_exists(links.#l) AND {USABLE_CONDITION}")),
            names(&[("#l", &link), ("#state", "state")]),
            vals,
        );
        let mut ops: Vec<TransactWriteItem> = vec![self.limit_op(w.limit)];
        ops.extend(consume);
        ops.push(user_op);
        ops.extend(session_ops(t, w.session));
        self.transact(ops)
            .await
            .map_err(|e| e.conflict(&[(0, Role::Limit), (1, Role::ConsumedCode), (user_index, Role::User)]))
    }

    /// New user: account, username, identity link, session, code consumed — all or nothing.
    pub async fn create_account(&self, a: &NewAccount<'_>) -> std::result::Result<(), WriteConflict> {
        let t = &self.table;
        let consume = consume_ops(t, a.code, a.now);
        let first_new = 1 + consume.len();
        let mut name_item = username_key(&a.user.username);
        name_item.insert("user_id".into(), n(a.user.id));
        let mut link = link_key(&a.code.identity);
        link.insert("user_id".into(), n(a.user.id));
        link.insert("state".into(), s("active"));
        let mut ops: Vec<TransactWriteItem> = vec![self.limit_op(a.limit)];
        ops.extend(consume);
        ops.push(tx_put(t, new_user_item(a.user), Some("attribute_not_exists(pk)"), Vals::new()));
        ops.push(tx_put(t, name_item, Some("attribute_not_exists(pk)"), Vals::new()));
        ops.push(tx_put(t, link, Some("attribute_not_exists(pk)"), Vals::new()));
        ops.extend(session_ops(t, a.session));
        self.transact(ops).await.map_err(|e| {
            e.conflict(&[
                (0, Role::Limit),
                (1, Role::ConsumedCode),
                (first_new + 1, Role::Username),
                (first_new + 2, Role::Link),
            ])
        })
    }

    /// A restricted user's code: spent without a session (and the request counted).
    pub async fn spend_code(
        &self,
        code: &CodeRecord,
        now: i64,
        limit: &Limit,
    ) -> std::result::Result<(), WriteConflict> {
        let mut ops = vec![self.limit_op(limit)];
        ops.extend(consume_ops(&self.table, code, now));
        self.transact(ops).await.map_err(|e| e.conflict(&[(0, Role::Limit), (1, Role::ConsumedCode)]))
    }
}

impl User {
    /// A fresh account for a first web login.
    pub fn new_account(
        id: u64,
        username: String,
        identity: &Identity,
        reported: Option<&WebPointer>,
        now_iso: &str,
    ) -> User {
        User {
            id,
            username,
            avatar_url: None,
            avatar_source: None,
            permission_level: 0,
            permission_since: Some(now_iso.to_string()),
            subscription_tier: 0,
            subscription_expires_at: None,
            subscription_granted_by: None,
            state: UserState::Active,
            timeout_until: None,
            bot_streak: 0,
            last_activity_at: Some(now_iso.to_string()),
            created_at: now_iso.to_string(),
            updated_at: now_iso.to_string(),
            links: vec![Link {
                platform: identity.platform.as_str().to_string(),
                platform_user_id: identity.platform_user_id.clone(),
                platform_username: reported.and_then(|r| r.platform_username.clone()),
                platform_avatar_url: reported.and_then(|r| r.platform_avatar_url.clone()),
                linked_at: now_iso.to_string(),
                last_authenticated_at: Some(now_iso.to_string()),
            }],
        }
    }
}
