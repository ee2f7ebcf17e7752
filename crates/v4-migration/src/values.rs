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
        // Each part checked whole: `300/01/2024` is not day 44 of January.
        let num = |s: &str| s.trim().parse::<i16>().map_err(|_| not_a_date(text));
        let part = |s: &str| i8::try_from(num(s)?).map_err(|_| not_a_date(text));
        return Date::new(num(y)?, part(m)?, part(d)?).map_err(|_| not_a_date(text));
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

/// The largest amount a V4 file may hold, in cents (ten million dollars): far above any
/// piano shop's invoice, and far enough below `i64::MAX` that sums and differences of
/// amounts cannot overflow.
pub const MAX_CENTS: i64 = 1_000_000_000;

/// The largest quantity (hundredths): one million units.
pub const MAX_HUNDREDTHS: i64 = 100_000_000;

pub fn money(text: &str) -> Result<Cents, String> {
    let cents = text.parse::<Cents>().map_err(|e| e.to_string())?;
    if cents.0.abs() > MAX_CENTS {
        return Err(format!(
            "`{text}` is beyond the largest amount accepted ({})",
            Cents(MAX_CENTS)
        ));
    }
    Ok(cents)
}

pub fn quantity(text: &str) -> Result<Hundredths, String> {
    let q = text.parse::<Hundredths>().map_err(|e| e.to_string())?;
    if q.0.abs() > MAX_HUNDREDTHS {
        return Err(format!(
            "`{text}` is beyond the largest quantity accepted (1000000)"
        ));
    }
    Ok(q)
}

/// A whole number within `min..=max`.
pub fn bounded(min: i64, max: i64) -> impl Fn(&str) -> Result<i64, String> {
    move |text| {
        let n = text
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("`{text}` is not a whole number"))?;
        if (min..=max).contains(&n) {
            Ok(n)
        } else {
            Err(format!("`{text}` is outside {min}–{max}"))
        }
    }
}

/// One of a list of values (an enumeration of Gazelle's), ignoring case; stored as listed.
pub fn one_of(allowed: &'static [&'static str]) -> impl Fn(&str) -> Result<String, String> {
    move |text| {
        allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(text.trim()))
            .map(|a| (*a).to_owned())
            .ok_or_else(|| format!("`{text}` is not one of {}", allowed.join(", ")))
    }
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
        // Parts beyond an i8 used to wrap (300 → 44) and make a real date.
        assert!(date("257/01/2024").is_err(), "day 257 (wrapped to 1)");
        assert!(date("01/257/2024").is_err(), "month 257 (wraps to 1)");
        assert!(date("31/04/2024").is_err(), "30 days in April");
    }

    #[test]
    fn booleans_nulls_and_names() {
        assert!(boolean("oui").unwrap() && boolean("True").unwrap() && boolean("1").unwrap());
        assert!(!boolean("non").unwrap() && !boolean("False").unwrap());
        assert!(boolean("peut-être").is_err());
        assert_eq!(present(" NULL "), None);
        assert_eq!(present(""), None);
        assert_eq!(normalise("  Théâtre  d'Outremont! "), "theatre d outremont");
        assert_eq!(one_of(&["PAID", "UNPAID"])("paid").unwrap(), "PAID");
        assert!(one_of(&["PAID", "UNPAID"])("PAYÉ").is_err());
        assert!(bounded(0, 10)("11").is_err() && bounded(0, 10)("-1").is_err());
        assert!(money("10000000.01").is_err() && money("10000000.00").is_ok());
        assert!(money("douze").is_err());
    }
}
