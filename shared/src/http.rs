//! Reading what a request carries (body, key, cookie, client IP) and describing what a
//! successful answer sends back. Errors are turned into responses in [`crate::runtime`].

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::input::Body;

pub const SESSION_COOKIE: &str = "psession";

/// The JSON body of a request (a JSON object of at most 8 KiB).
pub fn body(req: &Request) -> Result<Body> {
    Body::parse(req.body().as_ref())
}

/// The `X-API-Key` header.
pub fn api_key(req: &Request) -> Option<&str> {
    req.headers().get("x-api-key").and_then(|v| v.to_str().ok())
}

/// The `psession` cookie (API Gateway v2 folds its `cookies` array into `Cookie`).
pub fn session_token(req: &Request) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The caller's IP from the API Gateway request context, never from a client header.
pub fn client_ip(req: &Request) -> Result<String> {
    let ip = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    };
    ip.filter(|ip| !ip.is_empty() && ip.len() <= 64)
        .ok_or_else(|| Error::internal("request context carries no source IP"))
}

pub fn user_agent(req: &Request) -> Option<String> {
    req.headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().filter(|c| !c.is_control()).take(256).collect())
}

/// A path parameter, from the route's parameters or else the raw path.
pub fn path_param(req: &Request, name: &str, segment_before: &str) -> Option<String> {
    if let Some(v) = req.path_parameters_ref().and_then(|p| p.first(name)) {
        return Some(v.to_string());
    }
    let path = req.raw_http_path();
    let mut parts = path.split('/');
    parts.by_ref().find(|p| *p == segment_before)?;
    parts.next().filter(|p| !p.is_empty()).map(str::to_string)
}

/// A successful answer: status 200, a JSON body, cookies, and the outcome for the log.
#[derive(Debug)]
pub struct Reply {
    /// The serialized JSON body (fields in the order the response type declares them).
    pub body: String,
    pub cookies: Vec<String>,
    pub outcome: &'static str,
}

impl Reply {
    pub fn json(outcome: &'static str, body: impl Serialize) -> Result<Self> {
        let body = serde_json::to_string(&body).map_err(|e| Error::internal(e.to_string()))?;
        Ok(Reply { body, cookies: Vec::new(), outcome })
    }

    pub fn with_cookie(mut self, cookie: String) -> Self {
        self.cookies.push(cookie);
        self
    }
}

/// `psession=<token>; HttpOnly; Secure; SameSite=None; Path=/; Max-Age=<secs>[; Domain=…]`.
pub fn session_cookie(token: &str, max_age: i64, domain: Option<&str>) -> String {
    let mut c = format!("{SESSION_COOKIE}={token}; HttpOnly; Secure; SameSite=None; Path=/; Max-Age={max_age}");
    if let Some(d) = domain {
        c.push_str("; Domain=");
        c.push_str(d);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_shape() {
        assert_eq!(
            session_cookie("abc", 2_592_000, None),
            "psession=abc; HttpOnly; Secure; SameSite=None; Path=/; Max-Age=2592000"
        );
        assert!(session_cookie("", 0, Some("example.org")).ends_with("Max-Age=0; Domain=example.org"));
    }
}
