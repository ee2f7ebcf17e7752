//! Québec sales taxes (RULES.md): on a taxable line, TPS (GST) and TVQ (QST), each computed on
//! the line's amount and rounded half-up to the cent; the invoice's totals are the sums.
//! Quantities are hundredths (Gazelle: 100 = 1), money cents, rates thousandths of a percent
//! (Gazelle: 5000 = 5 %). Everything is integer arithmetic: no float ever touches money.

/// Rounds `numerator / denominator` half-up (half away from zero for negative amounts, so a
/// credit line mirrors its debit exactly). `denominator` must be positive.
pub fn div_half_up(numerator: i128, denominator: i128) -> i64 {
    let half = denominator / 2;
    let q = if numerator >= 0 {
        (numerator + half) / denominator
    } else {
        -((-numerator + half) / denominator)
    };
    i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN })
}

/// A line's amount before tax: quantity (hundredths) × unit price (cents), to the cent.
pub fn line_amount(quantity_hundredths: i64, unit_price_cents: i64) -> i64 {
    div_half_up(
        i128::from(quantity_hundredths) * i128::from(unit_price_cents),
        100,
    )
}

/// One tax on an amount: rate in thousandths of a percent.
pub fn tax(amount_cents: i64, rate: u32) -> i64 {
    div_half_up(i128::from(amount_cents) * i128::from(rate), 100_000)
}

/// The taxes of a line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineTaxes {
    pub gst: i64,
    pub qst: i64,
}

impl LineTaxes {
    /// Saturating: each tax is a fraction of an amount that fits in `i64`.
    pub fn total(self) -> i64 {
        self.gst.saturating_add(self.qst)
    }
}

/// The rates in force (from `[business]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    pub gst: u32,
    pub qst: u32,
}

impl Rates {
    pub fn from_config(business: &config::Business) -> Rates {
        Rates {
            gst: business.gst_rate,
            qst: business.qst_rate,
        }
    }

    pub fn line(self, amount_cents: i64, taxable: bool) -> LineTaxes {
        if !taxable {
            return LineTaxes::default();
        }
        LineTaxes {
            gst: tax(amount_cents, self.gst),
            qst: tax(amount_cents, self.qst),
        }
    }
}

/// An invoice's totals from its lines: (amount before tax, taxes) per line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Totals {
    pub sub_total: i64,
    pub gst: i64,
    pub qst: i64,
    pub total: i64,
}

/// `None` when a sum leaves `i64` (checked arithmetic: never a wrapped total).
pub fn totals(lines: impl IntoIterator<Item = (i64, LineTaxes)>) -> Option<Totals> {
    let mut t = Totals::default();
    for (amount, taxes) in lines {
        t.sub_total = t.sub_total.checked_add(amount)?;
        t.gst = t.gst.checked_add(taxes.gst)?;
        t.qst = t.qst.checked_add(taxes.qst)?;
    }
    t.total = t.sub_total.checked_add(t.gst)?.checked_add(t.qst)?;
    Some(t)
}

/// Parses money typed by a person: `450`, `450.00`, `450,5`, `1 234,56 $`, `-12.30`.
/// More than two decimals is an error, not a rounding.
pub fn parse_cents(text: &str) -> Result<i64, String> {
    let cleaned: String = text
        .trim()
        .trim_end_matches('$')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
        .collect();
    let (negative, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    let (whole, fraction) = match digits.split_once([',', '.']) {
        Some((w, f)) => (w, f),
        None => (digits, ""),
    };
    if whole.is_empty() && fraction.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
    {
        return Err(format!("`{text}` is not an amount like 450.00 or 450,00"));
    }
    if fraction.len() > 2 {
        return Err(format!("`{text}` has more than two decimals"));
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| format!("`{text}` is too large"))?
    };
    let fraction: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
    let cents = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(|| format!("`{text}` is too large"))?;
    Ok(if negative { -cents } else { cents })
}

/// Parses a quantity: `1`, `1.5`, `0,25` → hundredths.
pub fn parse_hundredths(text: &str) -> Result<i64, String> {
    let cents =
        parse_cents(text).map_err(|_| format!("`{text}` is not a quantity like 1, 1.5 or 0,25"))?;
    if cents <= 0 {
        return Err(format!("`{text}`: a quantity must be more than zero"));
    }
    Ok(cents)
}

/// Cents as `1 234,56 $` (Québec style) for people.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{:02} $", abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QC: Rates = Rates {
        gst: 5000,
        qst: 9975,
    };

    #[test]
    fn half_up_at_the_half_cent() {
        // 0.5 cent exactly rounds up; just under rounds down.
        assert_eq!(tax(10, 5000), 1); // 0.5 ¢
        assert_eq!(tax(9, 5000), 0); // 0.45 ¢
        assert_eq!(tax(-10, 5000), -1); // a credit mirrors its debit
        assert_eq!(line_amount(150, 333), 500); // 4.995 → 5.00
        assert_eq!(line_amount(25, 1), 0); // 0.25 ¢
    }

    #[test]
    fn a_tuning_at_the_usual_price() {
        // 120,00 $: TPS 6,00 $, TVQ 11,97 $ (11,97 exactly), total 137,97 $.
        let t = QC.line(12000, true);
        assert_eq!((t.gst, t.qst), (600, 1197));
        let totals = totals([(12000, t)]).unwrap();
        assert_eq!((totals.sub_total, totals.total), (12000, 13797));
    }

    #[test]
    fn a_total_beyond_i64_is_refused_never_wrapped() {
        let huge = (i64::MAX / 2 + 1, LineTaxes::default());
        assert_eq!(totals([huge, huge]), None);
        let taxed = (i64::MAX - 10, LineTaxes { gst: 20, qst: 0 });
        assert_eq!(totals([taxed]), None);
    }

    #[test]
    fn awkward_amounts_are_exact_per_line() {
        // 0,01 $: no tax survives rounding; 0,10 + 0,20 is 0,30 to the cent.
        assert_eq!(QC.line(1, true), LineTaxes { gst: 0, qst: 0 });
        assert_eq!(
            totals([(10, LineTaxes::default()), (20, LineTaxes::default())])
                .unwrap()
                .total,
            30
        );
        // 33,33 $: TPS 1,6665 → 1,67; TVQ 3,3246675 → 3,32.
        assert_eq!(QC.line(3333, true), LineTaxes { gst: 167, qst: 332 });
        // 12,5 × 19,99 $ = 249,875 → 249,88 $; TVQ 24,925... → 24,93.
        let amount = line_amount(1250, 1999);
        assert_eq!(amount, 24988);
        assert_eq!(
            QC.line(amount, true),
            LineTaxes {
                gst: 1249,
                qst: 2493
            }
        );
        // Per line: each 0,10 $ line carries 0,01 $ of TVQ (0,9975 ¢ rounds up).
        let three: Vec<_> = (0..3).map(|_| (10, QC.line(10, true))).collect();
        assert_eq!(totals(three).unwrap().qst, 3);
        assert_eq!(QC.line(30, true).qst, 3);
        // Untaxed mileage.
        assert_eq!(QC.line(4500, false).total(), 0);
        // Large amounts do not overflow.
        assert_eq!(
            tax(i64::MAX / 100_000, 9975),
            div_half_up(i128::from(i64::MAX / 100_000) * 9975, 100_000)
        );
    }

    #[test]
    fn people_type_money_in_many_ways() {
        for (text, cents) in [
            ("450", 45000),
            ("450.00", 45000),
            ("450,5", 45050),
            ("1 234,56 $", 123456),
            ("-12.30", -1230),
            (",99", 99),
        ] {
            assert_eq!(parse_cents(text), Ok(cents), "{text}");
        }
        for bad in ["", "abc", "1.234", "12,3,4", "1e3"] {
            assert!(parse_cents(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_hundredths("1,5"), Ok(150));
        assert!(parse_hundredths("0").is_err());
        assert_eq!(format_cents(123456), "1\u{a0}234,56 $");
        assert_eq!(format_cents(-5), "-0,05 $");
    }
}
