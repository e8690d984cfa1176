//! Time helpers: one clock reading per request, ISO 8601 UTC output, epoch seconds at rest.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

pub type Instant = DateTime<Utc>;

pub fn now() -> Instant {
    Utc::now()
}

/// `2026-03-31T16:03:16.763528Z` style.
pub fn iso(t: Instant) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Epoch seconds (what the TTL attribute and expiry checks use) as ISO 8601 UTC.
pub fn iso_from_epoch(secs: i64) -> String {
    match Utc.timestamp_opt(secs, 0).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        None => "1970-01-01T00:00:00Z".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_end_in_z() {
        assert_eq!(iso_from_epoch(1_774_972_996), "2026-03-31T16:03:16Z");
        let t = Utc.timestamp_opt(1_774_972_996, 763_528_000).unwrap();
        assert_eq!(iso(t), "2026-03-31T16:03:16.763528Z");
    }
}
