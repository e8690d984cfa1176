//! Configuration from the environment, read and checked once at start-up.

use std::collections::HashMap;
use std::str::FromStr;

/// Every setting of the service. Defaults follow the spec; a bad value is a start-up error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    pub code_ttl_seconds: i64,
    pub max_pending_codes_per_ip: u32,
    pub limit_login_per_minute: u32,
    pub limit_bot_per_minute: u32,
    pub limit_auth_per_minute: u32,
    pub max_failed_verifies_per_ip: u32,
    pub bot_login_web_required_every: u32,
    pub cookie_domain: Option<String>,
    /// How long a warm container may trust a key lookup (at most 60 s).
    pub key_cache_seconds: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_map(&std::env::vars().collect())
    }

    /// Reads settings from a map (the environment in production, a literal map in tests).
    pub fn from_map(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let table = match env.get("PORTAL_TABLE").map(|s| s.trim()) {
            Some(t) if valid_table_name(t) => t.to_string(),
            Some(t) => {
                return Err(ConfigError(format!(
                    "PORTAL_TABLE {t:?} is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ - .)"
                )))
            }
            None => return Err(ConfigError("PORTAL_TABLE is not set".into())),
        };
        let cookie_domain = match env.get("PORTAL_COOKIE_DOMAIN").map(|s| s.trim()) {
            None | Some("") => None,
            Some(d) if valid_cookie_domain(d) => Some(d.to_string()),
            Some(d) => return Err(ConfigError(format!("PORTAL_COOKIE_DOMAIN {d:?} is not a domain name"))),
        };
        Ok(Config {
            table,
            code_ttl_seconds: number(env, "PORTAL_CODE_TTL_SECONDS", 600, 1, 86_400)?,
            max_pending_codes_per_ip: number(env, "PORTAL_MAX_PENDING_CODES_PER_IP", 5, 1, 50)?,
            limit_login_per_minute: number(env, "PORTAL_LIMIT_LOGIN_PER_MINUTE", 20, 1, 1_000_000)?,
            limit_bot_per_minute: number(env, "PORTAL_LIMIT_BOT_PER_MINUTE", 600, 1, 1_000_000)?,
            limit_auth_per_minute: number(env, "PORTAL_LIMIT_AUTH_PER_MINUTE", 120, 1, 1_000_000)?,
            max_failed_verifies_per_ip: number(env, "PORTAL_MAX_FAILED_VERIFIES_PER_IP", 10, 1, 1_000_000)?,
            bot_login_web_required_every: number(env, "BOT_LOGIN_WEB_REQUIRED_EVERY", 5, 1, 1_000)?,
            cookie_domain,
            key_cache_seconds: number(env, "PORTAL_KEY_CACHE_SECONDS", 60, 0, 60)?,
        })
    }

    /// Defaults with the given table: what tests and tools start from.
    pub fn with_table(table: &str) -> Self {
        let env = HashMap::from([("PORTAL_TABLE".to_string(), table.to_string())]);
        Self::from_map(&env).expect("defaults are valid")
    }
}

fn number<T>(env: &HashMap<String, String>, name: &str, default: T, min: T, max: T) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + Copy + std::fmt::Display,
{
    match env.get(name).map(|s| s.trim()) {
        None | Some("") => Ok(default),
        Some(raw) => match raw.parse::<T>() {
            Ok(v) if v >= min && v <= max => Ok(v),
            _ => Err(ConfigError(format!("{name} must be a whole number from {min} to {max}, got {raw:?}"))),
        },
    }
}

fn valid_table_name(t: &str) -> bool {
    (3..=255).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

fn valid_cookie_domain(d: &str) -> bool {
    !d.is_empty() && d.len() <= 253 && d.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_follow_the_spec() {
        let c = Config::from_map(&env(&[("PORTAL_TABLE", "portal")])).unwrap();
        assert_eq!(c.code_ttl_seconds, 600);
        assert_eq!(c.max_pending_codes_per_ip, 5);
        assert_eq!(c.limit_login_per_minute, 20);
        assert_eq!(c.limit_bot_per_minute, 600);
        assert_eq!(c.limit_auth_per_minute, 120);
        assert_eq!(c.max_failed_verifies_per_ip, 10);
        assert_eq!(c.bot_login_web_required_every, 5);
        assert_eq!(c.cookie_domain, None);
    }

    #[test]
    fn bad_values_fail_with_the_variable_name() {
        let e = Config::from_map(&env(&[("PORTAL_TABLE", "portal"), ("PORTAL_CODE_TTL_SECONDS", "ten")])).unwrap_err();
        assert!(e.0.contains("PORTAL_CODE_TTL_SECONDS"), "{e}");
        let e =
            Config::from_map(&env(&[("PORTAL_TABLE", "portal"), ("BOT_LOGIN_WEB_REQUIRED_EVERY", "0")])).unwrap_err();
        assert!(e.0.contains("BOT_LOGIN_WEB_REQUIRED_EVERY"), "{e}");
        assert!(Config::from_map(&env(&[])).unwrap_err().0.contains("PORTAL_TABLE"));
        assert!(Config::from_map(&env(&[("PORTAL_TABLE", "a b")])).is_err());
        assert!(Config::from_map(&env(&[("PORTAL_TABLE", "t1"), ("PORTAL_COOKIE_DOMAIN", "x;y")])).is_err());
    }

    #[test]
    fn overrides_apply() {
        let c = Config::from_map(&env(&[
            ("PORTAL_TABLE", "t-1"),
            ("PORTAL_CODE_TTL_SECONDS", "3"),
            ("PORTAL_COOKIE_DOMAIN", "portal.example.org"),
        ]))
        .unwrap();
        assert_eq!(c.code_ttl_seconds, 3);
        assert_eq!(c.cookie_domain.as_deref(), Some("portal.example.org"));
    }
}
