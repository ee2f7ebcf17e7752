//! How times and dates are written in the database.
//!
//! Instants are UTC text with a `Z` and whole seconds (`2026-01-10T20:56:01Z`): it sorts as
//! text, compares with `<`, and is exactly what Gazelle sends. Business dates are the
//! Montreal local day, `YYYY-MM-DD`.

use jiff::Timestamp;
use jiff::civil::Date;

/// Formats an instant as stored: UTC, whole seconds, `Z`.
pub fn utc_text(instant: Timestamp) -> String {
    instant.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Formats a calendar date as stored.
pub fn date_text(date: Date) -> String {
    date.strftime("%Y-%m-%d").to_string()
}

/// The current instant as stored.
pub fn now_text() -> String {
    utc_text(Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_utc_with_whole_seconds() {
        let t: Timestamp = "2026-01-10T15:56:01.734-05:00".parse().unwrap();
        assert_eq!(utc_text(t), "2026-01-10T20:56:01Z");
    }

    #[test]
    fn dates_are_iso() {
        assert_eq!(date_text(jiff::civil::date(2024, 11, 1)), "2024-11-01");
    }
}
