//! Session items: `SESSION#<digest>` / `SESSION` (found by the cookie's digest) and its twin
//! `USER#<id>` / `SESSION#<digest>` (the user's list). Written and deleted together.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::users::user_from_item;
use super::{key, n, s, tx_delete, tx_put, Item, ItemExt, Store, TxnError, Vals};
use crate::error::{Error, Result};
use crate::users::User;

/// A session to create. Only the token's digest is stored.
pub struct SessionWrite<'a> {
    pub digest: &'a str,
    pub user_id: u64,
    pub created_at: &'a str,
    pub expires_at: i64,
    pub client_ip: &'a str,
    pub user_agent: Option<&'a str>,
    pub token_suffix: &'a str,
}

/// A stored session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub digest: String,
    pub user_id: u64,
    pub created_at: String,
    pub expires_at: i64,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub token_suffix: String,
}

fn record(item: &Item, digest: &str) -> Option<SessionRecord> {
    Some(SessionRecord {
        digest: digest.to_string(),
        user_id: item.num("user_id")?,
        created_at: item.string("created_at"),
        expires_at: item.num("expires_at")?,
        client_ip: item.opt_string("client_ip"),
        user_agent: item.opt_string("user_agent"),
        token_suffix: item.string("token_suffix"),
    })
}

pub(crate) fn session_key(digest: &str) -> Item {
    key(format!("SESSION#{digest}"), "SESSION")
}

pub(crate) fn user_session_key(user_id: u64, digest: &str) -> Item {
    key(format!("USER#{user_id}"), format!("SESSION#{digest}"))
}

pub(crate) fn session_ops(table: &str, w: &SessionWrite<'_>) -> Vec<TransactWriteItem> {
    let fill = |mut item: Item| {
        item.insert("user_id".into(), n(w.user_id));
        item.insert("created_at".into(), s(w.created_at));
        item.insert("expires_at".into(), n(w.expires_at));
        item.insert("ttl".into(), n(w.expires_at));
        item.insert("client_ip".into(), s(w.client_ip));
        item.insert("token_suffix".into(), s(w.token_suffix));
        if let Some(ua) = w.user_agent {
            item.insert("user_agent".into(), s(ua));
        }
        item
    };
    vec![
        tx_put(table, fill(session_key(w.digest)), Some("attribute_not_exists(pk)"), Vals::new()),
        tx_put(table, fill(user_session_key(w.user_id, w.digest)), None, Vals::new()),
    ]
}

impl Store {
    pub async fn get_session(&self, digest: &str) -> Result<Option<SessionRecord>> {
        Ok(self.get(session_key(digest)).await?.as_ref().and_then(|i| record(i, digest)))
    }

    /// The user and all their stored sessions, in one query of the user's partition.
    pub async fn user_with_sessions(&self, user_id: u64) -> Result<(Option<User>, Vec<SessionRecord>)> {
        let items = self.query_partition(&format!("USER#{user_id}"), None).await?;
        let mut user = None;
        let mut sessions = Vec::new();
        for it in &items {
            match it.str("sk") {
                Some("PROFILE") => user = user_from_item(it),
                Some(sk) if sk.starts_with("SESSION#") => {
                    if let Some(r) = record(it, &sk["SESSION#".len()..]) {
                        sessions.push(r);
                    }
                }
                _ => {}
            }
        }
        Ok((user, sessions))
    }

    /// Deletes a session and its twin.
    pub async fn delete_session(&self, user_id: u64, digest: &str) -> Result<()> {
        let ops = vec![
            tx_delete(&self.table, session_key(digest), None, Vals::new()),
            tx_delete(&self.table, user_session_key(user_id, digest), None, Vals::new()),
        ];
        self.transact(ops).await.map_err(|e| match e {
            TxnError::Failed(err) => err,
            TxnError::Cancelled(_) => Error::Unavailable { cause: "session delete conflicted".into() },
        })
    }
}
