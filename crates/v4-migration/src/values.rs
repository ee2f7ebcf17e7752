//! The spellings of V4 values: `NULL`, dates in five forms (times without a zone are
//! Montréal time, `11/11/2024` is day first), booleans in three languages, money with a
//! point or a comma.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use store::{Cents, Hundredths};

/// The value of a field, `None` when empty or `NULL`.
pub fn present(raw: &str) -> Option<&str> {
    let trimmed = raw.trim();
    (!trimmed.is_empty() && !trimmed.eq_ignore_ascii_case("null")).then_some(trimmed)
}

pub fn montreal() -> TimeZone {
    TimeZone::get("America/Montreal").unwrap_or(TimeZone::UTC)
}

/// An instant: `2024-11-11T06:05:22Z`, `2024-11-11 06:05:22 UTC`, `2024-11-11 06:05:22`
/// (Montréal), `2024-11-11` or `11/11/2024` (midnight, Montréal).
pub fn instant(text: &str) -> Result<Timestamp, String> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Some(utc) = t.strip_suffix(" UTC").or_else(|| t.strip_suffix(" utc")) {
        let dt: DateTime = utc
            .trim()
            .replace(' ', "T")
            .parse()
            .map_err(|_| not_a_date(text))?;
        return dt
            .to_zoned(TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|_| not_a_date(text));
    }
    if let Ok(dt) = t.replace(' ', "T").parse::<DateTime>() {
        return dt
            .to_zoned(montreal())
            .map(|z| z.timestamp())
            .map_err(|_| not_a_date(text));
    }
    let d = date(t)?;
    d.to_zoned(montreal())
        .map(|z| z.timestamp())
        .map_err(|_| not_a_date(text))
}

/// A calendar date: `2024-11-11`, `11/11/2024` (day first), or the date part of an instant.
pub fn date(text: &str) -> Result<Date, String> {
    let t = text.trim();
    if let Ok(d) = t.parse::<Date>() {
        return Ok(d);
    }
    if let Some((d, m, y)) = t
        .split('/')
        .collect::<Vec<_>>()
        .get(0..3)
        .map(|p| (p[0], p[1], p[2]))
    {
        let num = |s: &str| s.trim().parse::<i16>().map_err(|_| not_a_date(text));
        return Date::new(num(y)?, num(m)? as i8, num(d)? as i8).map_err(|_| not_a_date(text));
    }
    if t.len() > 10
        && t.is_char_boundary(10)
        && let Ok(d) = t[..10].parse::<Date>()
    {
        return Ok(d);
    }
    Err(not_a_date(text))
}

fn not_a_date(text: &str) -> String {
    format!("`{text}` is not a date (2024-11-11, 2024-11-11 06:05:22, 11/11/2024…)")
}

pub fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_lowercase().as_str() {
        "1" | "true" | "vrai" | "oui" | "yes" | "o" | "y" => Ok(true),
        "0" | "false" | "faux" | "non" | "no" | "n" => Ok(false),
        _ => Err(format!(
            "`{text}` is not a yes/no value (1/0, True/False, oui/non)"
        )),
    }
}

pub fn money(text: &str) -> Result<Cents, String> {
    text.parse::<Cents>().map_err(|e| e.to_string())
}

pub fn quantity(text: &str) -> Result<Hundredths, String> {
    text.parse::<Hundredths>().map_err(|e| e.to_string())
}

pub fn integer(text: &str) -> Result<i64, String> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| format!("`{text}` is not a whole number"))
}

/// A company name reduced for comparison: case, accents, punctuation, spaces.
pub fn normalise(name: &str) -> String {
    let folded: String = name
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' | 'À' | 'Â' | 'Ä' | 'Á' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
            'î' | 'ï' | 'í' | 'Î' | 'Ï' => 'i',
            'ô' | 'ö' | 'ó' | 'Ô' | 'Ö' => 'o',
            'ù' | 'û' | 'ü' | 'ú' | 'Ù' | 'Û' | 'Ü' => 'u',
            'ç' | 'Ç' => 'c',
            c if c.is_alphanumeric() => c.to_ascii_lowercase(),
            _ => ' ',
        })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_date_spelling() {
        let z = |s: &str| instant(s).unwrap().to_string();
        assert_eq!(z("2024-11-11T06:05:22Z"), "2024-11-11T06:05:22Z");
        assert_eq!(z("2024-11-11 06:05:22 UTC"), "2024-11-11T06:05:22Z");
        assert_eq!(
            z("2024-11-11 06:05:22"),
            "2024-11-11T11:05:22Z",
            "Montréal time, EST"
        );
        assert_eq!(
            z("2024-07-11 20:30:00"),
            "2024-07-12T00:30:00Z",
            "EDT, next UTC day"
        );
        assert_eq!(z("11/11/2024"), "2024-11-11T05:00:00Z");
        assert_eq!(
            date("11/03/2024").unwrap().to_string(),
            "2024-03-11",
            "day first"
        );
        assert!(instant("2024-13-45").is_err());
        assert!(date("yesterday").is_err());
    }

    #[test]
    fn booleans_nulls_and_names() {
        assert!(boolean("oui").unwrap() && boolean("True").unwrap() && boolean("1").unwrap());
        assert!(!boolean("non").unwrap() && !boolean("False").unwrap());
        assert!(boolean("peut-être").is_err());
        assert_eq!(present(" NULL "), None);
        assert_eq!(present(""), None);
        assert_eq!(normalise("  Théâtre  d'Outremont! "), "theatre d outremont");
    }
}
