//! The one error type of the service and its mapping to an HTTP status and message.
//! The envelope itself (`{"error", "correlation_id"}` + `X-Correlation-Id`) is written in
//! [`crate::runtime`], the only place that turns results into responses.

/// Every way a request can fail. Messages are the public ones; causes stay in the logs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 naming the first invalid field (e.g. "code is required").
    #[error("{0}")]
    BadRequest(String),
    /// 400 for every kind of wrong code: unknown, expired, used, retired, wrong IP.
    #[error("Invalid or expired code")]
    InvalidCode,
    /// 400 for destroying the session that makes the request.
    #[error("Cannot destroy the current session")]
    CurrentSession,
    /// 401: missing or unknown credential.
    #[error("Authentication required")]
    Unauthenticated,
    /// 403: valid credential of the wrong kind, inactive bot, bot of another platform.
    #[error("Access denied")]
    Forbidden,
    /// 403: banned, or timed out and the timeout is not over.
    #[error("Account restricted")]
    Restricted,
    /// 403 from send-code after too many consecutive bot logins.
    #[error("Web login required")]
    WebLoginRequired,
    /// 404 with the message of the resource ("User not found", "Session not found").
    #[error("{0}")]
    NotFound(&'static str),
    /// 429 "Too many requests" with seconds until the window frees.
    #[error("Too many requests")]
    RateLimited { retry_after: u64 },
    /// 429 when the IP already holds the maximum of pending codes.
    #[error("Too many pending login codes")]
    TooManyPendingCodes { retry_after: u64 },
    /// 503: the database is unreachable, slow or throttling.
    #[error("Service temporarily unavailable")]
    Unavailable { cause: String },
    /// 500: a bug or an unexpected answer; the cause is logged, never returned.
    #[error("Internal server error")]
    Internal { cause: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Error::BadRequest(msg.into())
    }

    pub fn internal(cause: impl Into<String>) -> Self {
        Error::Internal { cause: cause.into() }
    }

    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) | Error::InvalidCode | Error::CurrentSession => 400,
            Error::Unauthenticated => 401,
            Error::Forbidden | Error::Restricted | Error::WebLoginRequired => 403,
            Error::NotFound(_) => 404,
            Error::RateLimited { .. } | Error::TooManyPendingCodes { .. } => 429,
            Error::Internal { .. } => 500,
            Error::Unavailable { .. } => 503,
        }
    }

    /// Seconds for the `Retry-After` header (429 and 503 only).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after } | Error::TooManyPendingCodes { retry_after } => {
                Some((*retry_after).max(1))
            }
            Error::Unavailable { .. } => Some(1),
            _ => None,
        }
    }

    /// A short machine-friendly word for the request's summary log line.
    pub fn outcome(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::InvalidCode => "invalid_code",
            Error::CurrentSession => "current_session",
            Error::Unauthenticated => "unauthenticated",
            Error::Forbidden => "forbidden",
            Error::Restricted => "restricted",
            Error::WebLoginRequired => "web_login_required",
            Error::NotFound(_) => "not_found",
            Error::RateLimited { .. } => "rate_limited",
            Error::TooManyPendingCodes { .. } => "too_many_pending_codes",
            Error::Unavailable { .. } => "unavailable",
            Error::Internal { .. } => "internal_error",
        }
    }

    /// What is logged about the failure beyond its public message (never a secret).
    pub fn cause(&self) -> Option<&str> {
        match self {
            Error::Unavailable { cause } | Error::Internal { cause } => Some(cause),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_messages() {
        assert_eq!(Error::InvalidCode.status(), 400);
        assert_eq!(Error::InvalidCode.to_string(), "Invalid or expired code");
        assert_eq!(Error::Unauthenticated.to_string(), "Authentication required");
        assert_eq!(Error::Forbidden.to_string(), "Access denied");
        assert_eq!(Error::RateLimited { retry_after: 0 }.retry_after(), Some(1));
        assert_eq!(Error::Unavailable { cause: "x".into() }.status(), 503);
        assert_eq!(Error::internal("boom").to_string(), "Internal server error");
        assert_eq!(Error::NotFound("User not found").to_string(), "User not found");
    }
}
