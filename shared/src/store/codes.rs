//! Login-code items: `CODE#<code>`, the identity's `WEBCODE` / `BOTCODE` pointers and the
//! per-IP `SLOT#<n>` reservations. Every write is conditional on what was read, so two
//! racing requests can never both take a slot, both replace a pointer, or both consume a code.

use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem};

use super::{key, key_pair, n, s, sdk_error, tx_delete, tx_put, tx_update, Item, ItemExt, Role, Store, Vals};
use crate::error::{Error, Result};
use crate::input::{BotReport, Identity, Platform};
use crate::limits::Limit;
use crate::users::UserState;

pub(crate) fn identity_pk(id: &Identity) -> String {
    format!("IDENTITY#{}#{}", id.platform, id.platform_user_id)
}
pub(crate) fn code_key(code: &str) -> Item {
    key(format!("CODE#{code}"), "CODE")
}
pub(crate) fn slot_key(ip: &str, slot: u32) -> Item {
    key(format!("IP#{ip}"), format!("SLOT#{slot}"))
}
pub(crate) fn web_pointer_key(id: &Identity) -> Item {
    key(identity_pk(id), "WEBCODE")
}
pub(crate) fn bot_pointer_key(id: &Identity) -> Item {
    key(identity_pk(id), "BOTCODE")
}
pub(crate) fn link_key(id: &Identity) -> Item {
    key(identity_pk(id), "LINK")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Web,
    Bot,
}

/// What a `SLOT#<n>` item held when read (`None` = free: no item).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotView {
    pub code: String,
    pub expires_at: i64,
}

/// The identity's `WEBCODE` pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebPointer {
    pub code: String,
    pub expires_at: i64,
    pub ip: String,
    pub slot: u32,
    pub platform_username: Option<String>,
    pub platform_avatar_url: Option<String>,
}

/// The identity's `LINK`: its user and a mirror of the user's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkView {
    pub user_id: u64,
    pub state: UserState,
    pub timeout_until: Option<i64>,
}

impl LinkView {
    pub(crate) fn from_item(item: &Item) -> Option<Self> {
        Some(LinkView {
            user_id: item.num("user_id")?,
            state: UserState::parse(item.str("state").unwrap_or("active")),
            timeout_until: item.num("timeout_until"),
        })
    }
}

/// Everything `request` decides from, read in one strongly consistent batch.
#[derive(Debug)]
pub struct RequestView {
    /// One entry per slot index.
    pub slots: Vec<Option<SlotView>>,
    pub pointer: Option<WebPointer>,
    pub link: Option<LinkView>,
}

/// A web code to write, and what its writes are conditional on.
pub struct WebIssue<'a> {
    pub identity: &'a Identity,
    pub ip: &'a str,
    pub code: &'a str,
    pub expires_at: i64,
    pub slot: u32,
    /// The code the chosen slot held when read (`None` = no item).
    pub slot_was: Option<&'a str>,
    /// The identity's previous web code (retired by this write).
    pub old: Option<&'a WebPointer>,
    pub user_id: Option<u64>,
    /// A restricted user's code: stored so the answer looks the same, never usable.
    pub blocked: bool,
    pub limit: &'a Limit,
}

/// Why a conditional write did not happen.
#[derive(Debug)]
pub enum WriteConflict {
    /// The transaction's limit check failed.
    Limited,
    /// The new code collides with a live one: draw again.
    Collision,
    /// Someone else changed what we read: read again.
    Contention,
    /// A user-state condition failed; the item as it was.
    User(Option<Item>),
    /// The code to consume is gone, expired or used.
    CodeGone,
    /// An identity link already exists (account creation raced).
    LinkExists,
    /// The username is taken.
    UsernameTaken,
    Failed(Error),
}

impl Store {
    pub async fn read_request_view(&self, ip: &str, id: &Identity, slots: u32) -> Result<RequestView> {
        let mut keys: Vec<Item> = (0..slots).map(|i| slot_key(ip, i)).collect();
        keys.push(web_pointer_key(id));
        keys.push(link_key(id));
        let found = self.batch_get(keys).await?;
        let get = |k: &Item| found.get(&key_pair(k));
        let slots = (0..slots)
            .map(|i| {
                get(&slot_key(ip, i))
                    .map(|it| SlotView { code: it.string("code"), expires_at: it.num("expires_at").unwrap_or(0) })
            })
            .collect();
        Ok(RequestView {
            slots,
            pointer: get(&web_pointer_key(id)).map(web_pointer),
            link: get(&link_key(id)).and_then(LinkView::from_item),
        })
    }

    /// One transaction: limit, the new code, its slot, the identity's pointer, and the
    /// retirement of the identity's previous web code.
    pub async fn issue_web_code(&self, w: &WebIssue<'_>) -> std::result::Result<(), WriteConflict> {
        let t = &self.table;
        let pk = identity_pk(w.identity);
        let mut code_item = key(format!("CODE#{}", w.code), "CODE");
        code_item.insert("origin".into(), s("web"));
        code_item.insert("platform".into(), s(w.identity.platform.as_str()));
        code_item.insert("platform_user_id".into(), s(&w.identity.platform_user_id));
        code_item.insert("ip".into(), s(w.ip));
        code_item.insert("slot".into(), n(w.slot));
        code_item.insert("expires_at".into(), n(w.expires_at));
        code_item.insert("ttl".into(), n(w.expires_at));
        if let Some(uid) = w.user_id {
            code_item.insert("user_id".into(), n(uid));
        }
        if w.blocked {
            code_item.insert("blocked".into(), super::AttributeValue::Bool(true));
        }
        let mut slot_item = slot_key(w.ip, w.slot);
        slot_item.insert("code".into(), s(w.code));
        slot_item.insert("expires_at".into(), n(w.expires_at));
        slot_item.insert("ttl".into(), n(w.expires_at));
        let mut pointer = key(&pk, "WEBCODE");
        pointer.insert("code".into(), s(w.code));
        pointer.insert("expires_at".into(), n(w.expires_at));
        pointer.insert("ttl".into(), n(w.expires_at));
        pointer.insert("ip".into(), s(w.ip));
        pointer.insert("slot".into(), n(w.slot));
        if w.blocked {
            pointer.insert("blocked".into(), super::AttributeValue::Bool(true));
        }

        let mut ops = vec![
            self.limit_op(w.limit),
            tx_put(t, code_item, Some("attribute_not_exists(pk)"), Vals::new()),
            match w.slot_was {
                None => tx_put(t, slot_item, Some("attribute_not_exists(pk)"), Vals::new()),
                Some(was) => tx_put(t, slot_item, Some("code = :was"), Vals::new().s(":was", was)),
            },
            match w.old {
                None => tx_put(t, pointer, Some("attribute_not_exists(pk)"), Vals::new()),
                Some(old) => tx_put(t, pointer, Some("code = :old"), Vals::new().s(":old", &old.code)),
            },
        ];
        if let Some(old) = w.old {
            ops.push(tx_delete(t, code_key(&old.code), None, Vals::new()));
            // the old code's slot on this IP, unless the new code takes it over
            if old.ip == w.ip && old.slot != w.slot {
                ops.push(tx_delete(
                    t,
                    slot_key(&old.ip, old.slot),
                    Some("code = :old"),
                    Vals::new().s(":old", &old.code),
                ));
            }
        }
        self.transact(ops).await.map_err(|e| e.conflict(&[(0, Role::Limit), (1, Role::NewCode)]))?;
        // the old code's slot on another IP: freed best-effort (it expires with the code anyway)
        if let Some(old) = w.old.filter(|o| o.ip != w.ip) {
            let _ = self
                .client
                .delete_item()
                .table_name(t)
                .set_key(Some(slot_key(&old.ip, old.slot)))
                .condition_expression("code = :old")
                .expression_attribute_values(":old", s(&old.code))
                .send()
                .await;
        }
        Ok(())
    }

    /// login-code: records the bot-reported profile on the identity's live, usable web code
    /// and returns it; `None` when nothing is pending. One conditional `UpdateItem`.
    pub async fn report_on_web_code(&self, report: &BotReport, now: i64) -> Result<Option<WebPointer>> {
        let (expr, vals) = match &report.platform_avatar_url {
            Some(url) => (
                "SET platform_username = :u, platform_avatar_url = :a",
                Vals::new().s(":u", &report.platform_username).s(":a", url),
            ),
            None => (
                "SET platform_username = :u REMOVE platform_avatar_url",
                Vals::new().s(":u", &report.platform_username),
            ),
        };
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(web_pointer_key(&report.identity)))
            .update_expression(expr)
            .condition_expression("attribute_exists(code) AND expires_at > :now AND attribute_not_exists(blocked)")
            .set_expression_attribute_values(vals.n(":now", now).into_option())
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => Ok(out.attributes.as_ref().map(web_pointer)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(None),
            Err(e) => Err(sdk_error("UpdateItem(webcode)", e)),
        }
    }

    /// A code item, as stored (expiry is judged by the caller).
    pub async fn get_code(&self, code: &str) -> Result<Option<CodeRecord>> {
        Ok(self.get(code_key(code)).await?.as_ref().and_then(CodeRecord::from_item))
    }

    /// The identity's partition: link and live bot code (send-code's one read).
    pub async fn read_identity(&self, id: &Identity) -> Result<(Option<LinkView>, Option<(String, i64)>)> {
        let items = self.query_partition(&identity_pk(id), None).await?;
        let mut link = None;
        let mut bot = None;
        for it in &items {
            match it.str("sk") {
                Some("LINK") => link = LinkView::from_item(it),
                Some("BOTCODE") => bot = Some((it.string("code"), it.num("expires_at").unwrap_or(0))),
                _ => {}
            }
        }
        Ok((link, bot))
    }

    /// send-code, new code: the user must be usable and under the bot-login streak limit;
    /// the profile refresh, the code and the pointer are written together.
    pub async fn issue_bot_code(&self, b: &BotIssue<'_>) -> std::result::Result<(), WriteConflict> {
        let t = &self.table;
        let mut code_item = key(format!("CODE#{}", b.code), "CODE");
        code_item.insert("origin".into(), s("bot"));
        code_item.insert("platform".into(), s(b.report.identity.platform.as_str()));
        code_item.insert("platform_user_id".into(), s(&b.report.identity.platform_user_id));
        code_item.insert("user_id".into(), n(b.user_id));
        code_item.insert("expires_at".into(), n(b.expires_at));
        code_item.insert("ttl".into(), n(b.expires_at));
        let mut pointer = bot_pointer_key(&b.report.identity);
        pointer.insert("code".into(), s(b.code));
        pointer.insert("expires_at".into(), n(b.expires_at));
        pointer.insert("ttl".into(), n(b.expires_at));
        let mut ops = vec![
            self.limit_op(b.limit),
            self.refresh_link_op(b.user_id, b.report, b.now, Some(b.max_streak)),
            tx_put(t, code_item, Some("attribute_not_exists(pk)"), Vals::new()),
            match b.old {
                None => tx_put(t, pointer, Some("attribute_not_exists(pk)"), Vals::new()),
                Some(old) => tx_put(t, pointer, Some("code = :old"), Vals::new().s(":old", old)),
            },
        ];
        if let Some(old) = b.old {
            ops.push(tx_delete(t, code_key(old), None, Vals::new()));
        }
        self.transact(ops).await.map_err(|e| e.conflict(&[(0, Role::Limit), (1, Role::User), (2, Role::NewCode)]))
    }

    /// send-code, live code exists: refresh the profile (user must be usable), count the call.
    pub async fn refresh_for_bot_code(
        &self,
        user_id: u64,
        report: &BotReport,
        now: i64,
        limit: &Limit,
    ) -> std::result::Result<(), WriteConflict> {
        let ops = vec![self.limit_op(limit), self.refresh_link_op(user_id, report, now, None)];
        self.transact(ops).await.map_err(|e| e.conflict(&[(0, Role::Limit), (1, Role::User)]))
    }

    /// Updates the linked identity's username/avatar in the user item, on condition that the
    /// user is usable (and, for a new bot code, under the streak limit).
    pub(crate) fn refresh_link_op(
        &self,
        user_id: u64,
        report: &BotReport,
        now: i64,
        max_streak: Option<u32>,
    ) -> TransactWriteItem {
        let link = format!("{}#{}", report.identity.platform, report.identity.platform_user_id);
        let mut vals = Vals::new()
            .s(":u", &report.platform_username)
            .n(":now", now)
            .s(":active", "active")
            .s(":timeout", "timeout");
        let mut expr = "SET links.#l.platform_username = :u".to_string();
        match &report.platform_avatar_url {
            Some(url) => {
                expr.push_str(", links.#l.platform_avatar_url = :a");
                vals = vals.s(":a", url);
            }
            None => expr.push_str(" REMOVE links.#l.platform_avatar_url"),
        }
        let mut cond = format!("attribute_exists(links.#l) AND {}", crate::users::USABLE_CONDITION);
        if let Some(max) = max_streak {
            cond.push_str(" AND bot_streak < :max");
            vals = vals.n(":max", max);
        }
        tx_update(
            &self.table,
            super::users::profile_key(user_id),
            &expr,
            Some(&cond),
            super::names(&[("#l", &link), ("#state", "state")]),
            vals,
        )
    }
}

/// A bot code to write.
pub struct BotIssue<'a> {
    pub report: &'a BotReport,
    pub user_id: u64,
    pub code: &'a str,
    pub expires_at: i64,
    pub old: Option<&'a str>,
    pub max_streak: u32,
    pub now: i64,
    pub limit: &'a Limit,
}

/// A `CODE#<code>` item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    pub code: String,
    pub origin: Origin,
    pub identity: Identity,
    pub user_id: Option<u64>,
    pub ip: Option<String>,
    pub slot: Option<u32>,
    pub expires_at: i64,
    pub blocked: bool,
}

impl CodeRecord {
    fn from_item(item: &Item) -> Option<Self> {
        Some(CodeRecord {
            code: item.str("pk")?.strip_prefix("CODE#")?.to_string(),
            origin: match item.str("origin")? {
                "web" => Origin::Web,
                "bot" => Origin::Bot,
                _ => return None,
            },
            identity: Identity {
                platform: Platform::parse(item.str("platform")?)?,
                platform_user_id: item.string("platform_user_id"),
            },
            user_id: item.num("user_id"),
            ip: item.opt_string("ip"),
            slot: item.num("slot"),
            expires_at: item.num("expires_at")?,
            blocked: item.boolean("blocked").unwrap_or(false),
        })
    }
}

pub(crate) fn web_pointer(item: &Item) -> WebPointer {
    WebPointer {
        code: item.string("code"),
        expires_at: item.num("expires_at").unwrap_or(0),
        ip: item.string("ip"),
        slot: item.num("slot").unwrap_or(0),
        platform_username: item.opt_string("platform_username"),
        platform_avatar_url: item.opt_string("platform_avatar_url"),
    }
}

/// The transaction operations that consume a code: the code item (must still be live) and
/// whatever points at it.
pub(crate) fn consume_ops(table: &str, c: &CodeRecord, now: i64) -> Vec<TransactWriteItem> {
    let mut ops = vec![tx_delete(
        table,
        code_key(&c.code),
        Some("attribute_exists(pk) AND expires_at > :now"),
        Vals::new().n(":now", now),
    )];
    let is_code = || Vals::new().s(":c", &c.code);
    match c.origin {
        Origin::Web => {
            ops.push(tx_delete(
                table,
                web_pointer_key(&c.identity),
                Some("attribute_not_exists(pk) OR code = :c"),
                is_code(),
            ));
            if let (Some(ip), Some(slot)) = (&c.ip, c.slot) {
                ops.push(tx_delete(
                    table,
                    slot_key(ip, slot),
                    Some("attribute_not_exists(pk) OR code = :c"),
                    is_code(),
                ));
            }
        }
        Origin::Bot => {
            ops.push(tx_delete(
                table,
                bot_pointer_key(&c.identity),
                Some("attribute_not_exists(pk) OR code = :c"),
                is_code(),
            ));
        }
    }
    ops
}
