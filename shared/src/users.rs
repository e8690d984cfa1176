//! Users: the profile, its linked platform identities, account states, and the
//! username → platforms lookup.

use serde::Serialize;
use std::sync::Arc;

use crate::app::App;
use crate::clock::Instant;
use crate::error::{Error, Result};
use crate::input::{Identity, Platform};
use crate::limits;
use crate::secrets;

/// DynamoDB condition: the user may log in (active, or a timeout that is over).
/// Uses `#state`, `:active`, `:timeout`, `:now`.
pub const USABLE_CONDITION: &str = "(#state = :active OR (#state = :timeout AND timeout_until <= :now))";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UserState {
    Active,
    Timeout,
    Banned,
}

impl UserState {
    pub fn parse(s: &str) -> Self {
        match s {
            "banned" => UserState::Banned,
            "timeout" => UserState::Timeout,
            _ => UserState::Active,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UserState::Active => "active",
            UserState::Timeout => "timeout",
            UserState::Banned => "banned",
        }
    }

    /// `GET /v1/users/me` numbers states: 0 active, 1 timeout, 2 banned.
    pub fn code(self) -> u8 {
        match self {
            UserState::Active => 0,
            UserState::Timeout => 1,
            UserState::Banned => 2,
        }
    }
}

/// Banned, or timed out with the timeout not yet over.
pub fn restricted(state: UserState, timeout_until: Option<i64>, now: i64) -> bool {
    match state {
        UserState::Active => false,
        UserState::Banned => true,
        UserState::Timeout => timeout_until.is_none_or(|until| until > now),
    }
}

/// The state as shown: a timeout that is over shows as active.
pub fn effective_state(state: UserState, timeout_until: Option<i64>, now: i64) -> UserState {
    if state == UserState::Timeout && !restricted(state, timeout_until, now) {
        UserState::Active
    } else {
        state
    }
}

/// A random username for a new account: `user_` + 8 lowercase hex characters.
pub fn random_username() -> String {
    format!("user_{}", secrets::random_hex(4))
}

/// A linked platform identity with the profile its bot last reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    pub platform: String,
    pub platform_user_id: String,
    pub platform_username: Option<String>,
    pub platform_avatar_url: Option<String>,
    pub linked_at: String,
    pub last_authenticated_at: Option<String>,
}

impl Link {
    /// The platform identity this link is for (`None` for a platform this build doesn't know).
    pub fn identity(&self) -> Option<Identity> {
        Some(Identity { platform: Platform::parse(&self.platform)?, platform_user_id: self.platform_user_id.clone() })
    }
}

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: u64,
    pub username: String,
    pub avatar_url: Option<String>,
    pub avatar_source: Option<String>,
    pub permission_level: u8,
    pub permission_since: Option<String>,
    pub subscription_tier: u8,
    pub subscription_expires_at: Option<String>,
    pub subscription_granted_by: Option<u64>,
    pub state: UserState,
    pub timeout_until: Option<i64>,
    pub bot_streak: u32,
    pub last_activity_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub links: Vec<Link>,
}

impl User {
    pub fn restricted(&self, now: i64) -> bool {
        restricted(self.state, self.timeout_until, now)
    }

    /// Session lifetime: 30 days, 1 day for admins and owners (permission level ≥ 2).
    pub fn session_seconds(&self) -> i64 {
        if self.permission_level >= 2 {
            86_400
        } else {
            30 * 86_400
        }
    }

    /// The profile `GET /v1/users/me` answers.
    pub fn me(&self, now: i64) -> MeResponse<'_> {
        MeResponse {
            id: self.id,
            username: &self.username,
            avatar_url: self.avatar_url.as_deref(),
            subscription_tier: self.subscription_tier,
            state: effective_state(self.state, self.timeout_until, now).code(),
            permission_level: self.permission_level,
            subscription_expires_at: self.subscription_expires_at.as_deref(),
            subscription_granted_by: self.subscription_granted_by,
            last_activity_at: self.last_activity_at.as_deref(),
            permission_since: self.permission_since.as_deref(),
            avatar_source: self.avatar_source.as_deref(),
            linked_platforms: &self.links,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
        }
    }
}

#[derive(Serialize)]
pub struct MeResponse<'a> {
    pub id: u64,
    pub username: &'a str,
    pub avatar_url: Option<&'a str>,
    pub subscription_tier: u8,
    pub state: u8,
    pub permission_level: u8,
    pub subscription_expires_at: Option<&'a str>,
    pub subscription_granted_by: Option<u64>,
    pub last_activity_at: Option<&'a str>,
    pub permission_since: Option<&'a str>,
    pub avatar_source: Option<&'a str>,
    pub linked_platforms: &'a [Link],
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

#[derive(Serialize, Debug)]
pub struct LookupPlatform {
    pub platform: String,
    pub platform_user_id: String,
}

#[derive(Serialize, Debug)]
pub struct LookupResponse {
    pub id: u64,
    pub username: String,
    pub avatar_url: Option<String>,
    pub permission_level: u8,
    pub subscription_tier: u8,
    pub platforms: Vec<LookupPlatform>,
}

/// `POST /v1/authentication/lookup`: username (any case) → linked platforms.
pub async fn lookup(app: Arc<App>, ip: &str, username: &str, now: Instant) -> Result<LookupResponse> {
    let limit = limits::login(&app.config, ip, now);
    let (allowed, user) = tokio::join!(app.store.hit(&limit), app.store.find_user_by_username(username));
    allowed?;
    let user = user?.ok_or(Error::NotFound("User not found"))?;
    Ok(LookupResponse {
        id: user.id,
        username: user.username,
        avatar_url: user.avatar_url,
        permission_level: user.permission_level,
        subscription_tier: user.subscription_tier,
        platforms: user
            .links
            .into_iter()
            .map(|l| LookupPlatform { platform: l.platform, platform_user_id: l.platform_user_id })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        assert!(!restricted(UserState::Active, None, 10));
        assert!(restricted(UserState::Banned, None, 10));
        assert!(restricted(UserState::Timeout, Some(11), 10));
        assert!(!restricted(UserState::Timeout, Some(10), 10));
        assert_eq!(effective_state(UserState::Timeout, Some(5), 10), UserState::Active);
        let name = random_username();
        assert!(name.starts_with("user_") && name.len() == 13);
        assert!(name[5..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}
