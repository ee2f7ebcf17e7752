//! Exact money and quantities.
//!
//! Gazelle sends money as integer cents and invoice-item quantities as hundredths; V4 exports
//! write dollars with two decimals (`450.00`, sometimes `450,00`). Both are held here as
//! integers, never as binary floating point, so `0.10 + 0.20` is exactly `0.30`.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Sub};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An amount of money in cents (45000 = 450,00 $).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Cents(pub i64);

/// A quantity in hundredths (100 = 1, 150 = 1.5), as Gazelle's invoice items carry it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Hundredths(pub i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }
}

impl Hundredths {
    pub const ONE: Hundredths = Hundredths(100);
}

impl Add for Cents {
    type Output = Cents;
    fn add(self, rhs: Cents) -> Cents {
        Cents(self.0 + rhs.0)
    }
}

impl Sub for Cents {
    type Output = Cents;
    fn sub(self, rhs: Cents) -> Cents {
        Cents(self.0 - rhs.0)
    }
}

impl Sum for Cents {
    fn sum<I: Iterator<Item = Cents>>(iter: I) -> Cents {
        iter.fold(Cents::ZERO, Add::add)
    }
}

/// Formats as a two-decimal amount with a point: `-12.05`.
impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_two_decimals(self.0, f)
    }
}

/// Formats as a two-decimal quantity with a point: `1.50`.
impl fmt::Display for Hundredths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_two_decimals(self.0, f)
    }
}

fn fmt_two_decimals(value: i64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Why a decimal amount could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not an amount with at most two decimals ({reason})")]
pub struct ParseAmountError {
    pub input: String,
    pub reason: &'static str,
}

/// Parses `450`, `450.5`, `450.00`, `450,00`, `-3.10`, ` 1 234,56 ` (spaces and no-break
/// spaces as thousands separators) exactly. More than two decimals is an error rather than a
/// silent rounding: an export that has them is not a money column.
fn parse_two_decimals(input: &str) -> Result<i64, ParseAmountError> {
    let err = |reason| ParseAmountError {
        input: input.to_owned(),
        reason,
    };
    let cleaned: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '$'))
        .collect();
    let (negative, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    if digits.is_empty() {
        return Err(err("empty"));
    }
    let mut parts = digits.splitn(2, ['.', ',']);
    let whole = parts.next().unwrap_or_default();
    let frac = parts.next().unwrap_or("");
    if whole.is_empty() && frac.is_empty() {
        return Err(err("no digits"));
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(err("not a number"));
    }
    if frac.len() > 2 {
        return Err(err("more than two decimals"));
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| err("too large"))?
    };
    let frac_value: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| err("not a number"))? * 10,
        _ => frac.parse().map_err(|_| err("not a number"))?,
    };
    let value = whole
        .checked_mul(100)
        .and_then(|v| v.checked_add(frac_value))
        .ok_or_else(|| err("too large"))?;
    Ok(if negative { -value } else { value })
}

impl FromStr for Cents {
    type Err = ParseAmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_two_decimals(s).map(Cents)
    }
}

impl FromStr for Hundredths {
    type Err = ParseAmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_two_decimals(s).map(Hundredths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spellings_of_v4_exports() {
        for (text, cents) in [
            ("450.00", 45000),
            ("450,00", 45000),
            ("450", 45000),
            ("450.5", 45050),
            ("0.10", 10),
            (",99", 99),
            ("-3.10", -310),
            (" 1 234,56 ", 123456),
            ("1\u{a0}234.56", 123456),
            ("12.34 $", 1234),
        ] {
            assert_eq!(text.parse::<Cents>(), Ok(Cents(cents)), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_exact_amount() {
        for text in [
            "",
            "-",
            "abc",
            "1.234",
            "1.2.3",
            "12e3",
            "1,5,0",
            "99999999999999999999",
        ] {
            assert!(text.parse::<Cents>().is_err(), "{text} should be refused");
        }
        let err = "1.234".parse::<Cents>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`1.234` is not an amount with at most two decimals (more than two decimals)"
        );
    }

    #[test]
    fn displays_two_decimals() {
        assert_eq!(Cents(45000).to_string(), "450.00");
        assert_eq!(Cents(-5).to_string(), "-0.05");
        assert_eq!(Cents(i64::MIN).to_string(), "-92233720368547758.08");
        assert_eq!(Hundredths(150).to_string(), "1.50");
    }

    #[test]
    fn sums_exactly() {
        let total: Cents = ["0.10", "0.20"]
            .iter()
            .map(|s| s.parse::<Cents>().unwrap())
            .sum();
        assert_eq!(total, "0.30".parse().unwrap());
        assert_eq!(Cents(i64::MAX).checked_add(Cents(1)), None);
    }
}
