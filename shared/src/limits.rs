//! Rate limits that hold across every Lambda container: counters live in DynamoDB, one item
//! per subject and window, bumped with an atomic `ADD` and given a TTL.
//!
//! Windows are fixed and aligned to the clock: the LOGIN tier counts per IP and minute
//! (`m<k>` in a 10-minute item that also holds the failed-verify count `fails`), the BOT tier
//! counts per bot key and minute plus per hour (`m<k>` and `h` in an hourly item), the AUTH
//! tier counts per session and minute. A limit check either runs on its own (`hit`) or rides
//! inside the transaction that does the request's work (`Limit::as_condition`), so a request
//! that changes data pays no extra round trip for its limits.

use crate::clock::Instant;
use crate::config::Config;
use crate::error::{Error, Result};

/// One counter in a limit item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counter {
    pub attr: String,
    pub limit: u64,
    /// Seconds until this counter's window frees (the `Retry-After`).
    pub retry_after: u64,
}

/// A limit check: counters to bump (`add`) and counters only to respect (`guard`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    pub pk: String,
    pub sk: String,
    /// Epoch seconds after which the item is dead.
    pub ttl: i64,
    pub add: Vec<Counter>,
    pub guard: Vec<Counter>,
}

impl Limit {
    /// Judges the counters' values after a standalone `ADD`: a bumped counter may reach its
    /// limit; a guard counter must stay below it.
    pub fn judge(&self, value_of: impl Fn(&str) -> u64) -> Result<()> {
        let over = self
            .add
            .iter()
            .filter(|c| value_of(&c.attr) > c.limit)
            .chain(self.guard.iter().filter(|c| value_of(&c.attr) >= c.limit))
            .map(|c| c.retry_after)
            .max();
        match over {
            Some(retry_after) => Err(Error::RateLimited { retry_after }),
            None => Ok(()),
        }
    }

    /// The largest `Retry-After` of the limit's counters: what a failed transactional check
    /// answers (it cannot tell which counter was full).
    pub fn retry_after(&self) -> u64 {
        self.add.iter().chain(&self.guard).map(|c| c.retry_after).max().unwrap_or(1)
    }

    pub fn rejected(&self) -> Error {
        Error::RateLimited { retry_after: self.retry_after() }
    }
}

const LOGIN_WINDOW: i64 = 600;

fn window(now: i64, len: i64) -> (i64, i64) {
    let start = now - now.rem_euclid(len);
    (start, start + len)
}

fn counter(attr: String, limit: u32, frees_at: i64, now: i64) -> Counter {
    Counter { attr, limit: u64::from(limit), retry_after: (frees_at - now).max(1) as u64 }
}

/// The per-IP LOGIN item of the current 10-minute window and this minute's counter.
fn login_base(cfg: &Config, ip: &str, now: Instant) -> (Limit, i64) {
    let t = now.timestamp();
    let (start, end) = window(t, LOGIN_WINDOW);
    let minute = (t - start) / 60;
    let minute_end = start + (minute + 1) * 60;
    let limit = Limit {
        pk: format!("LIMIT#IP#{ip}"),
        sk: format!("W#{start}"),
        ttl: end + 60,
        add: vec![counter(format!("m{minute}"), cfg.limit_login_per_minute, minute_end, t)],
        guard: vec![],
    };
    (limit, end)
}

/// LOGIN tier (lookup, request, logout): 20/min per client IP.
pub fn login(cfg: &Config, ip: &str, now: Instant) -> Limit {
    login_base(cfg, ip, now).0
}

/// LOGIN tier for verify: also refuses once the IP used up its failed verifies.
pub fn verify(cfg: &Config, ip: &str, now: Instant) -> Limit {
    let (mut l, end) = login_base(cfg, ip, now);
    l.guard.push(counter("fails".into(), cfg.max_failed_verifies_per_ip, end, now.timestamp()));
    l
}

/// LOGIN tier for a failed verify: counts the request and the failure.
pub fn verify_failed(cfg: &Config, ip: &str, now: Instant) -> Limit {
    let (mut l, end) = login_base(cfg, ip, now);
    l.add.push(counter("fails".into(), cfg.max_failed_verifies_per_ip, end, now.timestamp()));
    l
}

/// BOT tier: per bot key per minute, and the bot's own hourly allowance.
pub fn bot(cfg: &Config, key_id: &str, per_hour: u32, now: Instant) -> Limit {
    let t = now.timestamp();
    let (start, end) = window(t, 3600);
    let minute = (t - start) / 60;
    Limit {
        pk: format!("LIMIT#BOT#{key_id}"),
        sk: format!("W#{start}"),
        ttl: end + 60,
        add: vec![
            counter(format!("m{minute}"), cfg.limit_bot_per_minute, start + (minute + 1) * 60, t),
            counter("h".into(), per_hour, end, t),
        ],
        guard: vec![],
    }
}

/// AUTH tier: per session (its digest) per minute.
pub fn session(cfg: &Config, session_digest: &str, now: Instant) -> Limit {
    let t = now.timestamp();
    let (start, end) = window(t, 60);
    Limit {
        pk: format!("LIMIT#SESSION#{session_digest}"),
        sk: format!("W#{start}"),
        ttl: end + 60,
        add: vec![counter("m".into(), cfg.limit_auth_per_minute, end, t)],
        guard: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> Instant {
        chrono::Utc.timestamp_opt(secs, 0).unwrap()
    }

    #[test]
    fn login_windows_and_retry_after() {
        let cfg = Config::with_table("t-1");
        // 1_800_000_000 is a multiple of 600; 125 s later is minute 2 of the window
        let l = verify(&cfg, "1.2.3.4", at(1_800_000_125));
        assert_eq!(l.sk, "W#1800000000");
        assert_eq!(l.add[0].attr, "m2");
        assert_eq!(l.add[0].retry_after, 55);
        assert_eq!(l.guard[0].retry_after, 475);
        assert!(l.judge(|a| if a == "m2" { 20 } else { 9 }).is_ok());
        assert!(matches!(l.judge(|a| if a == "m2" { 21 } else { 0 }), Err(Error::RateLimited { retry_after: 55 })));
        assert!(matches!(l.judge(|a| if a == "m2" { 1 } else { 10 }), Err(Error::RateLimited { retry_after: 475 })));
        let f = verify_failed(&cfg, "1.2.3.4", at(1_800_000_125));
        assert!(f.judge(|a| if a == "fails" { 10 } else { 1 }).is_ok());
        assert!(f.judge(|a| if a == "fails" { 11 } else { 1 }).is_err());
    }

    #[test]
    fn bot_limits_count_minute_and_hour() {
        let cfg = Config::with_table("t-1");
        let l = bot(&cfg, "k1", 3, at(1_800_000_000 + 61));
        assert_eq!(l.add.len(), 2);
        assert!(l.judge(|_| 3).is_ok());
        assert!(matches!(l.judge(|_| 4), Err(Error::RateLimited { .. })));
    }
}
