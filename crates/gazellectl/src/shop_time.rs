//! Times as the shop reads them. The daemon stores and sends instants in UTC
//! (`2026-12-02T16:45:40Z`); what a person reads is in `business.timezone` with the zone's
//! abbreviation (`2026-12-02 11:45 EST`), so a time in July says EDT and one in January EST.
//! `--json` output keeps UTC.

use std::path::Path;

use jiff::tz::TimeZone;

/// The shop's clock, for display.
pub struct ShopTime(TimeZone);

impl ShopTime {
    /// The zone of the configuration (UTC if it cannot be read: the caller has already said
    /// why the daemon cannot be reached in that case).
    pub fn of(file: Option<&Path>) -> ShopTime {
        ShopTime(
            config::load(file)
                .map(|l| l.config.business.timezone.time_zone())
                .unwrap_or(TimeZone::UTC),
        )
    }

    /// An optional instant as the shop reads it; "—" for none.
    pub fn show_opt(&self, text: Option<&str>) -> String {
        text.map_or_else(|| "—".to_owned(), |t| self.show_text(t))
    }

    /// An instant as the shop reads it; the text as is if it is no instant.
    pub fn show_text(&self, text: &str) -> String {
        match text.parse::<jiff::Timestamp>() {
            Ok(at) => at
                .to_zoned(self.0.clone())
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string(),
            Err(_) => text.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_shown_in_the_zone_with_the_abbreviation_of_their_date() {
        let montreal = ShopTime(TimeZone::get("America/Montreal").unwrap());
        assert_eq!(
            montreal.show_text("2026-12-02T16:45:40Z"),
            "2026-12-02 11:45 EST"
        );
        assert_eq!(
            montreal.show_text("2026-07-02T16:45:40Z"),
            "2026-07-02 12:45 EDT"
        );
        assert_eq!(montreal.show_opt(None), "—");
        assert_eq!(montreal.show_text("every 3h"), "every 3h");
    }
}
