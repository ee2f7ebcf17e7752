//! Reading technicians' service notes for maintenance problems (RULES.md, "Maintenance
//! (humidity) alerts").
//!
//! A note is lexed once into words, numbers and the two symbols that matter (`°`, `%`), each
//! with its byte span in the original text. Words are folded (lower case, accents removed),
//! so `debranche` in a phrase list matches "Débranché" in a note. Phrases match whole words
//! in sequence, never inside a longer word (`bas` does not match "base").
//!
//! Decisions, where RULES.md is silent:
//! * A phrase directly preceded by a negation (`pas`, `non`, `not`, `never`, `jamais`,
//!   `aucun`, `aucune`, `no`) does not count: "PLS pas débranché" is not a power problem.
//!   Phrases that start with a negation ("pas de housse", "not plugged") are phrases of their
//!   own and match as written.
//! * A resolution phrase inside a problem phrase does not count: "not plugged in" is a
//!   problem, not a problem and its resolution.
//! * A reading is a temperature (number then `°`, `C` or `F`) optionally followed within a
//!   few words by a humidity (number then `%`); a humidity alone counts only right after a
//!   humidity word ("humidité 25 %", "HR 70%"). A number glued to a letter ("C3", "b121") is
//!   a model name, not a reading. Values a room cannot have (humidity over 100 %, over 50 °C)
//!   are not readings.

use config::{Alerts, PhraseList};

/// The four alert families of RULES.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Cover,
    Power,
    Reservoir,
    Environment,
}

impl Family {
    pub const ALL: [Family; 4] = [
        Family::Cover,
        Family::Power,
        Family::Reservoir,
        Family::Environment,
    ];

    /// The `AlertType` stored in `MaintenanceAlerts`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Cover => "cover",
            Family::Power => "power",
            Family::Reservoir => "reservoir",
            Family::Environment => "environment",
        }
    }

    pub fn parse(text: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// What a note says about one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub family: Family,
    /// The problem as the note words it ("PLS débranché"), or the out-of-band reading.
    pub problem: String,
    /// The resolution found in the same note, as worded there: resolved at creation.
    pub resolution: Option<String>,
    /// The note around the problem, for the alert's description and the e-mail.
    pub excerpt: String,
}

impl Finding {
    /// `<problem> détecté — résolu : <resolution>` (RULES.md), then the excerpt.
    pub fn description(&self) -> String {
        let mut text = format!("{} détecté", self.problem);
        if let Some(resolution) = &self.resolution {
            text.push_str(&format!(" — résolu : {resolution}"));
        }
        text.push_str(&format!(" — « {} »", self.excerpt));
        text
    }
}

/// The comfort band: readings outside it are an environment problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    pub temperature_min_c: i32,
    pub temperature_max_c: i32,
    pub humidity_min: i32,
    pub humidity_max: i32,
}

#[derive(Debug, Clone)]
struct Phrase {
    words: Vec<String>,
}

#[derive(Debug, Clone)]
struct FamilyRules {
    family: Family,
    problems: Vec<Phrase>,
    resolutions: Vec<Phrase>,
}

/// The detector, built once from configuration.
#[derive(Debug, Clone)]
pub struct NoteScanner {
    families: Vec<FamilyRules>,
    environment_problem_words: Vec<String>,
    band: Band,
}

const NEGATIONS: &[&str] = &[
    "pas", "non", "not", "never", "jamais", "aucun", "aucune", "no", "sans",
];
const HUMIDITY_WORDS: &[&str] = &["humidite", "humidity", "hr", "rh", "hygrometrie"];
const TEMPERATURE_WORDS: &[&str] = &["temperature", "temp"];
/// How far (in words) a problem word may stand from "humidité"/"température", within the
/// same clause.
const TOPIC_REACH: usize = 3;
/// Words that give "basse", "haute", "bas", "low", "high" their musical sense: the bass
/// string ("corde de basse"), a low note, the treble register.
const MUSICAL_WORDS: &[&str] = &[
    "corde",
    "cordes",
    "note",
    "notes",
    "registre",
    "registres",
    "octave",
    "octaves",
    "touche",
    "touches",
    "string",
    "strings",
    "register",
    "registers",
    "key",
    "keys",
];
/// Small words between a musical noun and its adjective ("corde de basse").
const LINKING_WORDS: &[&str] = &["de", "du", "des", "la", "le", "les", "en", "d", "l"];
const EXCERPT_CHARS: usize = 70;

impl NoteScanner {
    pub fn from_config(alerts: &Alerts) -> NoteScanner {
        let p = &alerts.phrases;
        let rules = |family, list: &PhraseList| FamilyRules {
            family,
            problems: phrases(&list.problems),
            resolutions: phrases(&list.resolutions),
        };
        NoteScanner {
            families: vec![
                rules(Family::Cover, &p.cover),
                rules(Family::Power, &p.power),
                rules(Family::Reservoir, &p.reservoir),
                rules(Family::Environment, &p.environment),
            ],
            environment_problem_words: p
                .environment_problem_words
                .iter()
                .map(|w| fold(w))
                .collect(),
            band: Band {
                temperature_min_c: i32::from(alerts.temperature_min_c),
                temperature_max_c: i32::from(alerts.temperature_max_c),
                humidity_min: i32::from(alerts.humidity_min_percent),
                humidity_max: i32::from(alerts.humidity_max_percent),
            },
        }
    }

    /// Every family the note raises, at most one finding per family, in family order.
    pub fn scan(&self, note: &str) -> Vec<Finding> {
        let tokens = lex(note);
        let words: Vec<usize> = tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| matches!(t.kind, Kind::Word(_)))
            .map(|(i, _)| i)
            .collect();
        let word = |wi: usize| match &tokens[words[wi]].kind {
            Kind::Word(w) => w.as_str(),
            _ => "",
        };
        let negated = |wi: usize| wi > 0 && NEGATIONS.contains(&word(wi - 1));
        let clause = |wi: usize| tokens[words[wi]].clause;
        // The note's own words for a match (its case and accents), not the phrase list's.
        let slice = |from: usize, to: usize| {
            note[tokens[words[from]].start..tokens[words[to - 1]].end].to_owned()
        };

        let mut findings = Vec::new();
        for rules in &self.families {
            // Problems, as word index ranges.
            let mut problems: Vec<(usize, usize)> = Vec::new();
            for phrase in &rules.problems {
                for start in matches(&words, &word, &phrase.words) {
                    if !negated(start) {
                        problems.push((start, start + phrase.words.len()));
                    }
                }
            }
            if rules.family == Family::Environment {
                problems.extend(self.topic_problems(words.len(), &word, &clause, &negated));
            }
            // Left to right, the longest phrase at each place, none overlapping: "tank empty
            // tank filled" is one problem ("tank empty"), not also "empty tank".
            problems.sort_by_key(|(s, e)| (*s, usize::MAX - e));
            let mut kept: Vec<(usize, usize)> = Vec::new();
            for p in problems {
                if kept.last().is_none_or(|(_, e)| p.0 >= *e) {
                    kept.push(p);
                }
            }
            let problems = kept;
            let mut resolution = None;
            for phrase in &rules.resolutions {
                let found = matches(&words, &word, &phrase.words)
                    .into_iter()
                    .find(|&start| {
                        let end = start + phrase.words.len();
                        !negated(start) && !problems.iter().any(|(s, e)| start < *e && *s < end)
                    });
                if let Some(start) = found {
                    resolution = Some(slice(start, start + phrase.words.len()));
                    break;
                }
            }
            let mut first = problems.first().map(|(s, e)| {
                let span = (tokens[words[*s]].start, tokens[words[*e - 1]].end);
                (slice(*s, *e), span)
            });
            if rules.family == Family::Environment && first.is_none() {
                first = self.out_of_band_reading(&tokens, note);
            }
            if let Some((problem, (from, to))) = first {
                findings.push(Finding {
                    family: rules.family,
                    problem,
                    resolution,
                    excerpt: excerpt(note, from, to),
                });
            }
        }
        findings
    }

    /// "humidité très basse", "température trop élevée": a topic word with a problem word
    /// within reach in the same clause, neither negated, the problem word not in its musical
    /// sense ("Corde de basse (la0). Humidity…" is not an environment problem).
    fn topic_problems<'a>(
        &self,
        count: usize,
        word: &impl Fn(usize) -> &'a str,
        clause: &impl Fn(usize) -> usize,
        negated: &impl Fn(usize) -> bool,
    ) -> Vec<(usize, usize)> {
        let musical = |i: usize| {
            let before = (0..i)
                .rev()
                .take_while(|&k| clause(k) == clause(i))
                .map(word)
                .find(|w| !LINKING_WORDS.contains(w));
            let after = (i + 1 < count && clause(i + 1) == clause(i)).then(|| word(i + 1));
            [before, after]
                .into_iter()
                .flatten()
                .any(|w| MUSICAL_WORDS.contains(&w))
        };
        let mut found = Vec::new();
        for topic in 0..count {
            let w = word(topic);
            if !HUMIDITY_WORDS.contains(&w) && !TEMPERATURE_WORDS.contains(&w) {
                continue;
            }
            let from = topic.saturating_sub(TOPIC_REACH);
            let to = (topic + TOPIC_REACH + 1).min(count);
            if let Some(p) = (from..to).find(|&i| {
                i != topic
                    && clause(i) == clause(topic)
                    && self
                        .environment_problem_words
                        .iter()
                        .any(|pw| pw == word(i))
                    && !negated(i)
                    && !musical(i)
            }) {
                found.push((topic.min(p), topic.max(p) + 1));
            }
        }
        found
    }

    /// The first reading outside the comfort band, with its span.
    fn out_of_band_reading(
        &self,
        tokens: &[Token],
        note: &str,
    ) -> Option<(String, (usize, usize))> {
        for reading in readings(tokens) {
            let band = self.band;
            let cold_or_hot = reading.temperature_tenths_c.is_some_and(|t| {
                t < band.temperature_min_c * 10 || t > band.temperature_max_c * 10
            });
            let dry_or_damp = reading
                .humidity_tenths
                .is_some_and(|h| h < band.humidity_min * 10 || h > band.humidity_max * 10);
            if cold_or_hot || dry_or_damp {
                let text = note[reading.start..reading.end].trim().to_owned();
                return Some((
                    format!(
                        "lecture hors plage ({text} ; plage {}–{} °C, {}–{} %)",
                        band.temperature_min_c,
                        band.temperature_max_c,
                        band.humidity_min,
                        band.humidity_max
                    ),
                    (reading.start, reading.end),
                ));
            }
        }
        None
    }
}

fn phrases(list: &[String]) -> Vec<Phrase> {
    let mut out: Vec<Phrase> = Vec::new();
    for phrase in list {
        let words: Vec<String> = lex(phrase)
            .into_iter()
            .filter_map(|t| match t.kind {
                Kind::Word(w) => Some(w),
                _ => None,
            })
            .collect();
        if !words.is_empty() && !out.iter().any(|p| p.words == words) {
            out.push(Phrase { words });
        }
    }
    out
}

/// Start indices (in `words`) where `phrase` occurs as consecutive words.
fn matches<'a>(words: &[usize], word: &impl Fn(usize) -> &'a str, phrase: &[String]) -> Vec<usize> {
    if phrase.is_empty() || phrase.len() > words.len() {
        return Vec::new();
    }
    (0..=words.len() - phrase.len())
        .filter(|&start| phrase.iter().enumerate().all(|(k, p)| word(start + k) == p))
        .collect()
}

/// A reading found in a note: temperature in tenths of °C, humidity in tenths of a percent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub temperature_tenths_c: Option<i32>,
    pub humidity_tenths: Option<i32>,
    start: usize,
    end: usize,
}

/// How many tokens may separate a temperature from its humidity ("21C, 39%", "Temp 21 °C /
/// humidité 39 %").
const READING_GAP: usize = 4;

/// Every reading of a note, in order.
pub fn readings_of(note: &str) -> Vec<Reading> {
    readings(&lex(note))
}

fn readings(tokens: &[Token]) -> Vec<Reading> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let Kind::Number(value) = tokens[i].kind else {
            i += 1;
            continue;
        };
        // A number glued to a letter is part of a name (C3, b121, U1).
        let glued = i > 0
            && tokens[i - 1].end == tokens[i].start
            && matches!(tokens[i - 1].kind, Kind::Word(_));
        if glued {
            i += 1;
            continue;
        }
        if let Some((tenths_c, unit_end)) = temperature_at(tokens, i, value) {
            let mut reading = Reading {
                temperature_tenths_c: Some(tenths_c),
                humidity_tenths: None,
                start: tokens[i].start,
                end: tokens[unit_end].end,
            };
            let mut next = unit_end + 1;
            for j in unit_end + 1..(unit_end + 1 + READING_GAP + 1).min(tokens.len()) {
                if let Some((h, end)) = humidity_at(tokens, j) {
                    reading.humidity_tenths = Some(h);
                    reading.end = tokens[end].end;
                    next = end + 1;
                    break;
                }
            }
            if (0..=500).contains(&tenths_c) || tenths_c < 0 && tenths_c > -400 {
                out.push(reading);
            }
            i = next;
            continue;
        }
        if let Some((h, end)) = humidity_at(tokens, i) {
            let after_topic = (i.saturating_sub(3)..i).any(|k| matches!(&tokens[k].kind, Kind::Word(w) if HUMIDITY_WORDS.contains(&w.as_str())));
            if after_topic {
                out.push(Reading {
                    temperature_tenths_c: None,
                    humidity_tenths: Some(h),
                    start: tokens[i].start,
                    end: tokens[end].end,
                });
            }
            i = end + 1;
            continue;
        }
        i += 1;
    }
    out
}

/// A temperature at token `i` (a number): `21C`, `21 °C`, `20°`, `68F`. Returns tenths of
/// °C and the index of the unit's last token.
fn temperature_at(tokens: &[Token], i: usize, value: i32) -> Option<(i32, usize)> {
    let next = tokens.get(i + 1)?;
    let unit_word = |t: &Token| match &t.kind {
        Kind::Word(w) if w == "c" || w == "f" => Some(w.clone()),
        _ => None,
    };
    let (fahrenheit, end) = match &next.kind {
        Kind::Degree => match tokens
            .get(i + 2)
            .and_then(|t| (t.start == next.end).then(|| unit_word(t)).flatten())
        {
            Some(u) => (u == "f", i + 2),
            None => (false, i + 1),
        },
        Kind::Word(_) => (unit_word(next)? == "f", i + 1),
        _ => return None,
    };
    // `21 C` with a space is a reading too, but `2 chaises` is not: the unit must end the word.
    let tenths_c = if fahrenheit {
        // (F − 32) × 5/9, in tenths, rounded.
        ((value - 320) * 5 * 10 / 9 + 5) / 10
    } else {
        value
    };
    (tenths_c <= 500).then_some((tenths_c, end))
}

/// A humidity at token `i`: a number then `%`. Returns tenths of a percent and the `%` index.
fn humidity_at(tokens: &[Token], i: usize) -> Option<(i32, usize)> {
    let Kind::Number(value) = tokens.get(i)?.kind else {
        return None;
    };
    matches!(tokens.get(i + 1)?.kind, Kind::Percent).then_some(())?;
    ((0..=1000).contains(&value)).then_some((value, i + 1))
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// Folded: lower case, no accents.
    Word(String),
    /// In tenths (`21` → 210, `21,5` → 215).
    Number(i32),
    Degree,
    Percent,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    /// Which clause of the note the token is in (see [`clause_ends_at`]).
    clause: usize,
}

/// Whether the character at byte `i` of `text` ends a clause: `;`, a comma, a bracket, a
/// line break, or `.`/`!`/`?` before a capital or the end ("Temp. basse" stays one clause).
/// A decimal mark never gets here: numbers are lexed whole.
fn clause_ends_at(text: &str, i: usize, c: char) -> bool {
    match c {
        ';' | ',' | '(' | ')' | '[' | ']' | '\n' | '—' => true,
        '.' | '!' | '?' => text[i + c.len_utf8()..]
            .chars()
            .find(|n| !n.is_whitespace() || *n == '\n')
            .is_none_or(|n| n == '\n' || n.is_uppercase() || !n.is_alphanumeric()),
        _ => false,
    }
}

/// Lower case without accents: "Débranché" → "debranche", "Œuvre" → "oeuvre".
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        fold_char(c, &mut out);
    }
    out
}

fn fold_char(c: char, out: &mut String) {
    for lower in c.to_lowercase() {
        let plain = match lower {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => "a",
            'ç' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => "o",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'ý' | 'ÿ' => "y",
            'œ' => "oe",
            'æ' => "ae",
            other => {
                out.push(other);
                continue;
            }
        };
        out.push_str(plain);
    }
}

fn lex(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut clause = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_alphabetic() {
            let mut word = String::new();
            fold_char(c, &mut word);
            let mut end = start + c.len_utf8();
            while let Some(&(i, n)) = chars.peek() {
                if !n.is_alphabetic() {
                    break;
                }
                fold_char(n, &mut word);
                end = i + n.len_utf8();
                chars.next();
            }
            tokens.push(Token {
                kind: Kind::Word(word),
                start,
                end,
                clause,
            });
        } else if c.is_ascii_digit()
            || (c == '-'
                && chars.peek().is_some_and(|(_, n)| n.is_ascii_digit())
                && !text[..start].ends_with(|p: char| p.is_alphanumeric()))
        {
            let negative = c == '-';
            let mut whole: i64 = if negative {
                0
            } else {
                i64::from(c as u8 - b'0')
            };
            let mut end = start + 1;
            let mut tenths: Option<i64> = None;
            while let Some(&(i, n)) = chars.peek() {
                if n.is_ascii_digit() {
                    match &mut tenths {
                        None => whole = (whole * 10 + i64::from(n as u8 - b'0')).min(1_000_000),
                        Some(t) if *t < 0 => *t = i64::from(n as u8 - b'0'),
                        Some(_) => {} // hundredths and beyond: dropped
                    }
                    end = i + 1;
                    chars.next();
                } else if (n == ',' || n == '.') && tenths.is_none() {
                    // A decimal mark only if a digit follows: "21C, 39%" is a list.
                    let mut ahead = text[i + 1..].chars();
                    if ahead.next().is_some_and(|d| d.is_ascii_digit()) {
                        tenths = Some(-1);
                        chars.next();
                    } else {
                        break;
                    }
                } else {
                    break;
                }
            }
            let value = whole * 10 + tenths.filter(|t| *t >= 0).unwrap_or(0);
            let value = if negative { -value } else { value };
            tokens.push(Token {
                kind: Kind::Number(i32::try_from(value).unwrap_or(i32::MAX)),
                start,
                end,
                clause,
            });
        } else if c == '°' || c == 'º' {
            tokens.push(Token {
                kind: Kind::Degree,
                start,
                end: start + c.len_utf8(),
                clause,
            });
        } else if c == '%' {
            tokens.push(Token {
                kind: Kind::Percent,
                start,
                end: start + 1,
                clause,
            });
        } else if clause_ends_at(text, start, c) {
            clause += 1;
        }
    }
    tokens
}

/// About [`EXCERPT_CHARS`] characters of `note` around bytes `from..to`, on word boundaries
/// where possible, with `…` where it was cut.
fn excerpt(note: &str, from: usize, to: usize) -> String {
    let flat: String = note.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= EXCERPT_CHARS * 2 {
        return flat;
    }
    let before: Vec<char> = note[..from].chars().collect();
    let after: Vec<char> = note[to..].chars().collect();
    let start = before.len().saturating_sub(EXCERPT_CHARS);
    let end = after.len().min(EXCERPT_CHARS);
    let mut text = String::new();
    if start > 0 {
        text.push('…');
    }
    text.extend(&before[start..]);
    text.push_str(&note[from..to]);
    text.extend(&after[..end]);
    if end < after.len() {
        text.push('…');
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_case_and_accents() {
        assert_eq!(fold("Débranché À Œuvre"), "debranche a oeuvre");
    }

    #[test]
    fn numbers_and_units_are_lexed_with_decimals() {
        let r = readings_of("Lecture : 21,5°C / 39 %");
        assert_eq!(r[0].temperature_tenths_c, Some(215));
        assert_eq!(r[0].humidity_tenths, Some(390));
        let f = readings_of("68F, 40%");
        assert_eq!(f[0].temperature_tenths_c, Some(200));
        assert!(readings_of("Yamaha C3, modèle b121").is_empty());
    }
}
