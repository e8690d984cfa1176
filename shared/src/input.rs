//! The spec's input rules: a JSON object body of at most 8 KiB, unknown fields ignored, and a
//! 400 naming the first invalid field. Parsed values are typed so the domain never re-checks.

use serde_json::{Map, Value};
use std::fmt;

use crate::error::{Error, Result};

pub const MAX_BODY_BYTES: usize = 8 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    Discord,
    Telegram,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Discord => "discord",
            Platform::Telegram => "telegram",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "discord" => Some(Platform::Discord),
            "telegram" => Some(Platform::Telegram),
            _ => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A platform account: `discord` + snowflake, or `telegram` + numeric id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identity {
    pub platform: Platform,
    pub platform_user_id: String,
}

/// What a bot reports about the user it acts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BotReport {
    pub identity: Identity,
    pub platform_username: String,
    pub platform_avatar_url: Option<String>,
}

/// A request body: a JSON object, fields read in the order the endpoint lists them.
pub struct Body(Map<String, Value>);

/// Field names only: a body can hold a code, which must never reach a log line.
impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Body {
    pub fn parse(raw: &[u8]) -> Result<Self> {
        if raw.len() > MAX_BODY_BYTES {
            return Err(Error::bad_request("body must be at most 8 KiB"));
        }
        match serde_json::from_slice::<Value>(raw) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            _ => Err(Error::bad_request("body must be a JSON object")),
        }
    }

    /// A required string field; `null` counts as missing.
    fn string(&self, field: &str) -> Result<&str> {
        match self.0.get(field) {
            None | Some(Value::Null) => Err(Error::bad_request(format!("{field} is required"))),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(Error::bad_request(format!("{field} must be a string"))),
        }
    }

    pub fn platform(&self) -> Result<Platform> {
        Platform::parse(self.string("platform")?)
            .ok_or_else(|| Error::bad_request("platform must be one of discord, telegram"))
    }

    pub fn platform_user_id(&self) -> Result<String> {
        let v = self.string("platform_user_id")?;
        if v.is_empty() {
            return Err(Error::bad_request("platform_user_id is required"));
        }
        if !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::bad_request("platform_user_id contains invalid characters"));
        }
        if v.len() > 20 {
            return Err(Error::bad_request("platform_user_id must be at most 20 digits"));
        }
        Ok(v.to_string())
    }

    pub fn identity(&self) -> Result<Identity> {
        Ok(Identity { platform: self.platform()?, platform_user_id: self.platform_user_id()? })
    }

    pub fn platform_username(&self) -> Result<String> {
        let v = self.string("platform_username")?.trim();
        if v.is_empty() {
            return Err(Error::bad_request("platform_username is required"));
        }
        if v.chars().any(char::is_control) {
            return Err(Error::bad_request("platform_username contains invalid characters"));
        }
        if v.chars().count() > 64 {
            return Err(Error::bad_request("platform_username must be at most 64 characters"));
        }
        Ok(v.to_string())
    }

    /// `https://` URL of at most 2,048 characters; the empty string means no avatar.
    pub fn platform_avatar_url(&self) -> Result<Option<String>> {
        let v = self.string("platform_avatar_url")?;
        if v.is_empty() {
            return Ok(None);
        }
        if v.len() > 2048 {
            return Err(Error::bad_request("platform_avatar_url must be at most 2048 characters"));
        }
        let host = v.strip_prefix("https://").unwrap_or("");
        let host_ok = host.split(['/', '?', '#']).next().is_some_and(|h| !h.is_empty());
        if !host_ok || v.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::bad_request("platform_avatar_url must be an https:// URL"));
        }
        Ok(Some(v.to_string()))
    }

    pub fn bot_report(&self) -> Result<BotReport> {
        Ok(BotReport {
            identity: self.identity()?,
            platform_username: self.platform_username()?,
            platform_avatar_url: self.platform_avatar_url()?,
        })
    }

    /// Exactly 8 ASCII letters or digits (case-sensitive). A well-formed code that was never
    /// issued is not an input error: verify answers it like every other wrong code.
    pub fn code(&self) -> Result<String> {
        let v = self.string("code")?;
        if v.is_empty() {
            return Err(Error::bad_request("code is required"));
        }
        if !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::bad_request("code contains invalid characters"));
        }
        if v.len() != 8 {
            return Err(Error::bad_request("code must be exactly 8 characters"));
        }
        Ok(v.to_string())
    }

    pub fn username(&self) -> Result<String> {
        let v = self.string("username")?;
        if v.is_empty() {
            return Err(Error::bad_request("username is required"));
        }
        if !v.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
            return Err(Error::bad_request("username contains invalid characters"));
        }
        if !(3..=32).contains(&v.len()) {
            return Err(Error::bad_request("username must be 3-32 characters"));
        }
        Ok(v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Body {
        Body::parse(v.to_string().as_bytes()).unwrap()
    }

    fn msg<T: std::fmt::Debug>(r: Result<T>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn body_must_be_a_small_object() {
        assert_eq!(msg(Body::parse(b"[]")), "body must be a JSON object");
        assert_eq!(msg(Body::parse(b"")), "body must be a JSON object");
        assert_eq!(msg(Body::parse(b"{")), "body must be a JSON object");
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(9000));
        assert_eq!(msg(Body::parse(big.as_bytes())), "body must be at most 8 KiB");
    }

    #[test]
    fn identity_rules() {
        let ok = body(serde_json::json!({"platform": "discord", "platform_user_id": "123", "extra": 1}));
        assert_eq!(ok.identity().unwrap().platform_user_id, "123");
        assert_eq!(msg(body(serde_json::json!({})).identity()), "platform is required");
        assert_eq!(
            msg(body(serde_json::json!({"platform": "Discord"})).identity()),
            "platform must be one of discord, telegram"
        );
        assert_eq!(msg(body(serde_json::json!({"platform": 1})).identity()), "platform must be a string");
        let b = |id: Value| body(serde_json::json!({"platform": "telegram", "platform_user_id": id}));
        assert_eq!(msg(b(Value::Null).identity()), "platform_user_id is required");
        assert_eq!(msg(b(serde_json::json!(12)).identity()), "platform_user_id must be a string");
        assert_eq!(msg(b(serde_json::json!("-12")).identity()), "platform_user_id contains invalid characters");
        assert_eq!(msg(b(serde_json::json!("1".repeat(21))).identity()), "platform_user_id must be at most 20 digits");
        assert!(b(serde_json::json!("1".repeat(20))).identity().is_ok());
    }

    #[test]
    fn report_rules() {
        let b = |name: Value, url: Value| {
            body(
                serde_json::json!({"platform": "discord", "platform_user_id": "1", "platform_username": name, "platform_avatar_url": url}),
            )
        };
        let r = b(serde_json::json!("  niels "), serde_json::json!("")).bot_report().unwrap();
        assert_eq!(r.platform_username, "niels");
        assert_eq!(r.platform_avatar_url, None);
        assert_eq!(
            msg(b(serde_json::json!("  "), serde_json::json!("")).bot_report()),
            "platform_username is required"
        );
        assert_eq!(
            msg(b(serde_json::json!("a\u{7}"), serde_json::json!("")).bot_report()),
            "platform_username contains invalid characters"
        );
        assert_eq!(
            msg(b(serde_json::json!("é".repeat(65)), serde_json::json!("")).bot_report()),
            "platform_username must be at most 64 characters"
        );
        assert!(b(serde_json::json!("é".repeat(64)), serde_json::json!("")).bot_report().is_ok());
        assert_eq!(
            msg(b(serde_json::json!("n"), serde_json::json!("http://x/a.png")).bot_report()),
            "platform_avatar_url must be an https:// URL"
        );
        assert_eq!(
            msg(b(serde_json::json!("n"), serde_json::json!("https:///a")).bot_report()),
            "platform_avatar_url must be an https:// URL"
        );
        let long = format!("https://x/{}", "a".repeat(2040));
        assert_eq!(
            msg(b(serde_json::json!("n"), serde_json::json!(long)).bot_report()),
            "platform_avatar_url must be at most 2048 characters"
        );
        assert_eq!(msg(b(serde_json::json!("n"), Value::Null).bot_report()), "platform_avatar_url is required");
        assert!(b(serde_json::json!("n"), serde_json::json!("https://cdn.example/a.png")).bot_report().is_ok());
    }

    #[test]
    fn code_and_username_rules() {
        let c = |v: Value| body(serde_json::json!({ "code": v })).code();
        assert_eq!(c(serde_json::json!("Ab3dEf7h")).unwrap(), "Ab3dEf7h");
        assert_eq!(msg(c(Value::Null)), "code is required");
        assert_eq!(msg(c(serde_json::json!(""))), "code is required");
        assert_eq!(msg(c(serde_json::json!(12345678))), "code must be a string");
        assert_eq!(msg(c(serde_json::json!("Ab3dEf7"))), "code must be exactly 8 characters");
        assert_eq!(msg(c(serde_json::json!("Ab3dEf7-"))), "code contains invalid characters");
        let u = |v: Value| body(serde_json::json!({ "username": v })).username();
        assert_eq!(u(serde_json::json!("Niels_1.x-y")).unwrap(), "Niels_1.x-y");
        assert_eq!(msg(u(serde_json::json!("ab"))), "username must be 3-32 characters");
        assert_eq!(msg(u(serde_json::json!("a".repeat(33)))), "username must be 3-32 characters");
        assert_eq!(msg(u(serde_json::json!("a b"))), "username contains invalid characters");
        assert_eq!(msg(u(serde_json::json!(null))), "username is required");
    }
}
