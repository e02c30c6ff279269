//! The one place that reads the clock. `SANGATHAN_NOW` (RFC 3339) pins it, for tests and drills.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// India Standard Time, which every date in Sangathan is counted in.
pub fn ist() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600 + 1800).expect("valid offset")
}

pub fn now() -> DateTime<Utc> {
    match std::env::var("SANGATHAN_NOW") {
        Ok(s) if !s.is_empty() => DateTime::parse_from_rfc3339(&s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("SANGATHAN_NOW is not an RFC 3339 time ({e}): {s}")),
        _ => Utc::now(),
    }
}

/// The calendar day (IST) of an instant.
pub fn day_of(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&ist()).date_naive()
}

pub fn today() -> NaiveDate {
    day_of(now())
}
