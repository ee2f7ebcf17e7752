//! Validated configuration values.
//!
//! Each type checks its value while it is deserialised, so figment attaches the failing key
//! and the file (or environment variable) it came from to the error.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

/// An absolute path. `~/` at the start is the user's home directory; a relative path is
/// refused, because a daemon started by launchd has no meaningful working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPath(PathBuf);

impl ConfigPath {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ConfigPath(path.into())
    }
    pub fn as_path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, part: impl AsRef<Path>) -> PathBuf {
        self.0.join(part)
    }
}

impl AsRef<Path> for ConfigPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

pub(crate) fn parse_path(text: &str) -> Result<PathBuf, String> {
    if text.trim().is_empty() {
        return Err("a path cannot be empty".into());
    }
    if text.contains('\0') {
        return Err("a path cannot contain a NUL character".into());
    }
    let expanded = match text.strip_prefix("~/") {
        Some(rest) => directories::BaseDirs::new()
            .ok_or("`~` cannot be expanded: no home directory")?
            .home_dir()
            .join(rest),
        None => PathBuf::from(text),
    };
    if !expanded.is_absolute() {
        return Err(format!(
            "`{text}` is relative: give an absolute path or one starting with `~/`"
        ));
    }
    Ok(expanded)
}

impl<'de> Deserialize<'de> for ConfigPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_path(&text).map(ConfigPath).map_err(de::Error::custom)
    }
}

impl Serialize for ConfigPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string_lossy())
    }
}

impl fmt::Display for ConfigPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.display().fmt(f)
    }
}

/// A positive duration written the human way: `90s`, `15m`, `1h 30m`, `2days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval(Duration);

impl Interval {
    pub const fn from_secs(secs: u64) -> Self {
        Interval(Duration::from_secs(secs))
    }
    pub fn duration(self) -> Duration {
        self.0
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let duration = humantime::parse_duration(text.trim()).map_err(|e| {
            de::Error::custom(format!(
                "`{text}` is not a duration like `90s`, `15m` or `2h` ({e})"
            ))
        })?;
        if duration.is_zero() {
            return Err(de::Error::custom(format!(
                "`{text}`: the interval must be longer than zero"
            )));
        }
        Ok(Interval(duration))
    }
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A cron schedule, in the six-field form the scheduler uses (seconds first). A classic
/// five-field spec is accepted and runs at second 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSpec(String);

impl CronSpec {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn parse(text: &str) -> Result<CronSpec, String> {
        let trimmed = text.trim();
        let normalised = match trimmed.split_whitespace().count() {
            5 => format!("0 {trimmed}"),
            6 | 7 => trimmed.to_owned(),
            n => {
                return Err(format!(
                    "`{text}` has {n} fields: a cron spec has 5 (minute hour day month weekday) or 6 (seconds first)"
                ));
            }
        };
        // The very parser tokio-cron-scheduler uses, with its settings.
        croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Required)
            .build()
            .parse(&normalised)
            .map_err(|e| format!("`{text}` is not a valid cron spec ({e})"))?;
        Ok(CronSpec(normalised))
    }
}

impl<'de> Deserialize<'de> for CronSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        CronSpec::parse(&text).map_err(de::Error::custom)
    }
}

impl Serialize for CronSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// An e-mail address, checked by the same parser the mailer uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(lettre::Address);

impl EmailAddress {
    pub fn address(&self) -> &lettre::Address {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.trim()
            .parse()
            .map(EmailAddress)
            .map_err(|e| de::Error::custom(format!("`{text}` is not an e-mail address ({e})")))
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_ref())
    }
}

/// A mailbox: an address with an optional display name (`Assistant Gazelle <a@b.example>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox(lettre::message::Mailbox);

impl Mailbox {
    pub fn mailbox(&self) -> &lettre::message::Mailbox {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Mailbox {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.trim().parse().map(Mailbox).map_err(|e| {
            de::Error::custom(format!(
                "`{text}` is not a mailbox like `Name <address@example.com>` ({e})"
            ))
        })
    }
}

impl Serialize for Mailbox {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

/// A log filter: a level (`info`) or `tracing` directives (`info,sqlx=warn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter(String);

impl LogFilter {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for LogFilter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        // `EnvFilter` reads a bare word as a target enabled at every level: `loud` would be
        // accepted and log nothing useful. A bare directive must be a level.
        const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
        if let Some(bare) = text.split(',').map(str::trim).find(|d| {
            !d.is_empty()
                && !d.contains(['=', '['])
                && !LEVELS.contains(&d.to_ascii_lowercase().as_str())
        }) {
            return Err(de::Error::custom(format!(
                "`{text}` is not a log level or filter: `{bare}` is not one of {} (for a target, write `{bare}=info`)",
                LEVELS.join(", ")
            )));
        }
        tracing_subscriber::EnvFilter::builder()
            .parse(&text)
            .map_err(|e| {
                de::Error::custom(format!("`{text}` is not a log level or filter ({e})"))
            })?;
        Ok(LogFilter(text))
    }
}

impl Serialize for LogFilter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// An IANA time zone name, checked against the bundled time zone database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        // Checked at deserialisation; the database is bundled, so this cannot fail later.
        jiff::tz::TimeZone::get(&self.0).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

impl<'de> Deserialize<'de> for TimeZoneName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        jiff::tz::TimeZone::get(&text).map_err(|_| {
            de::Error::custom(format!(
                "`{text}` is not a known time zone (e.g. America/Montreal)"
            ))
        })?;
        Ok(TimeZoneName(text))
    }
}

impl Serialize for TimeZoneName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A secret (password, API key, client secret). Its `Debug` and `Serialize` never show it,
/// so it cannot reach a log line or `gazellectl config` by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// What a secret shows instead of itself.
pub const REDACTED: &str = "[redacted]";

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself: call it only where it is handed to the service that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.is_empty() {
            return Err(de::Error::custom(
                "a secret cannot be empty: leave the key out instead",
            ));
        }
        Ok(Secret(text))
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

/// A time of day on the shop's clock, written `"HH:MM"` (24-hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockTime(jiff::civil::Time);

impl ClockTime {
    /// 18:00, the agenda's default.
    pub const EVENING: ClockTime = ClockTime(jiff::civil::time(18, 0, 0, 0));

    pub fn new(hour: i8, minute: i8) -> Option<ClockTime> {
        jiff::civil::Time::new(hour, minute, 0, 0)
            .ok()
            .map(ClockTime)
    }
    pub fn time(self) -> jiff::civil::Time {
        self.0
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
            (len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<i8>().ok())
                .flatten()
        };
        let parsed = text
            .trim()
            .split_once(':')
            .and_then(|(h, m)| ClockTime::new(digits(h, 1..=2)?, digits(m, 2..=2)?));
        parsed.ok_or_else(|| {
            de::Error::custom(format!(
                "`{text}` is not a time of day: write it \"HH:MM\", e.g. \"18:00\""
            ))
        })
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", self.0.hour(), self.0.minute()))
    }
}

/// A day of the week, written `"mon"` … `"sun"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeekDay {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl WeekDay {
    pub fn weekday(self) -> jiff::civil::Weekday {
        use jiff::civil::Weekday;
        match self {
            WeekDay::Mon => Weekday::Monday,
            WeekDay::Tue => Weekday::Tuesday,
            WeekDay::Wed => Weekday::Wednesday,
            WeekDay::Thu => Weekday::Thursday,
            WeekDay::Fri => Weekday::Friday,
            WeekDay::Sat => Weekday::Saturday,
            WeekDay::Sun => Weekday::Sunday,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_field_cron_gets_a_seconds_field() {
        assert_eq!(
            CronSpec::parse("30 2 * * *").unwrap().as_str(),
            "0 30 2 * * *"
        );
        assert_eq!(
            CronSpec::parse("0 0 7-21 * * *").unwrap().as_str(),
            "0 0 7-21 * * *"
        );
        assert!(CronSpec::parse("0 0 25 * * *").is_err());
        assert!(CronSpec::parse("every hour").is_err());
    }

    #[test]
    fn secrets_do_not_show() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn a_clock_time_is_hh_mm() {
        #[derive(Debug, Deserialize)]
        struct At {
            at: ClockTime,
        }
        let parse = |t: &str| toml::from_str::<At>(&format!("at = \"{t}\"")).map(|a| a.at);
        assert_eq!(parse("18:00").unwrap(), ClockTime::EVENING);
        assert_eq!(parse("7:05").unwrap(), ClockTime::new(7, 5).unwrap());
        for bad in ["25:00", "18h", "18:5", "18:60", "-1:00", ""] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("HH:MM"), "{bad}: {e}");
        }
    }
}
