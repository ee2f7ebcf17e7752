//! The daily agenda ("ma journée"): each technician who asked for it
//! (`[alerts.technicians.usr_…] agenda = true`) gets, at `alerts.agenda_time` (18:00), one
//! e-mail with the next working day: the appointments in order, where to go, the pianos with
//! their last service and open alerts, whether the client confirmed, the notes that matter on
//! the road, and the day as an `.ics` attachment.
//!
//! The rules, pure and tested here:
//!
//! * **Which day.** The agenda of a working day D opens at `agenda_time` on the working day
//!   before D (Friday 18:00 for Monday) and closes at 08:00 on D. Between the two it is
//!   watched: the daemon checks it after every sync run and every minute.
//! * **Once, unless the day changed.** What the agenda says is reduced to a fingerprint (a
//!   SHA-256 of its facts). The first agenda of a day is sent when it opens, if there is at
//!   least one appointment (a technician with an empty day gets nothing). Afterwards a new
//!   agenda goes only when the fingerprint differs — an appointment added, moved, cancelled or
//!   confirmed, a piano's alert raised or resolved — marked as an update and threaded under
//!   the first. A day emptied after its agenda went gets an update saying so.
//! * **Not at night.** An update found between 21:00 and 07:00 waits (the first sweep after
//!   07:00 sends the final state). The first agenda is not held: if the Mac was asleep at
//!   18:00, it goes as soon as the daemon sees it.

use config::Language;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use store::agenda::{DayAppointment, PianoBrief, SentAgenda};
use store::appointment_pianos::AppointmentPiano;

use crate::message::{Composed, closing, escape, family_label, message_id, weekday_fr};

/// When the agenda of a day stops being watched (its morning).
const CLOSES_AT: Time = Time::constant(8, 0, 0, 0);

/// The working day after `day` (within a week), if any day is a working day.
pub fn next_working_day(day: Date, working: &[Weekday]) -> Option<Date> {
    let mut d = day;
    for _ in 0..7 {
        d = d.tomorrow().ok()?;
        if working.contains(&d.weekday()) {
            return Some(d);
        }
    }
    None
}

/// The working day before `day`.
fn previous_working_day(day: Date, working: &[Weekday]) -> Option<Date> {
    let mut d = day;
    for _ in 0..7 {
        d = d.yesterday().ok()?;
        if working.contains(&d.weekday()) {
            return Some(d);
        }
    }
    None
}

fn instant(day: Date, time: Time, tz: &TimeZone) -> Option<Timestamp> {
    day.to_datetime(time)
        .to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp())
}

/// The days whose agenda is open at `now`: at most two (this morning's, before 08:00, and
/// the next working day's, once `agenda_time` has passed on the working day before it).
pub fn open_days(
    now: Timestamp,
    tz: &TimeZone,
    agenda_time: Time,
    working: &[Weekday],
) -> Vec<Date> {
    let today = now.to_zoned(tz.clone()).date();
    let mut days = Vec::new();
    if working.contains(&today.weekday())
        && instant(today, CLOSES_AT, tz).is_some_and(|close| now < close)
    {
        days.push(today);
    }
    if let Some(next) = next_working_day(today, working)
        && let Some(opens) =
            previous_working_day(next, working).and_then(|send| instant(send, agenda_time, tz))
        && now >= opens
    {
        days.push(next);
    }
    days
}

/// The night: 21:00 to 07:00, when updates wait.
pub fn is_quiet(now: Timestamp, tz: &TimeZone) -> bool {
    crate::changes::due_at(now, tz) > now
}

/// What to do with one technician's agenda of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The first agenda of the day.
    First,
    /// The day changed since the agenda went: send it again, marked as an update.
    Update,
    /// Nothing to send now (nothing changed, an empty day never announced, or the night).
    Nothing,
}

/// `sent`: the fingerprint of the agenda already queued for the day, if any.
pub fn verdict(sent: Option<&str>, fingerprint: &str, appointments: usize, quiet: bool) -> Verdict {
    match sent {
        None if appointments > 0 => Verdict::First,
        None => Verdict::Nothing,
        Some(same) if same == fingerprint => Verdict::Nothing,
        Some(_) if quiet => Verdict::Nothing,
        Some(_) => Verdict::Update,
    }
}

/// A piano of an appointment: its brief, or only its Gazelle id while not mirrored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum PianoLine {
    Known(PianoBrief),
    NotMirrored(AppointmentPiano),
}

/// One appointment with its pianos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Visit {
    pub appointment: DayAppointment,
    pub pianos: Vec<PianoLine>,
}

/// A technician's visits starting in [`from`, `to`) (UTC text), each with its pianos'
/// briefs: what the agenda e-mail and the dashboard's day show.
pub async fn visits(
    reader: &sqlx::SqlitePool,
    technician: &str,
    from: &str,
    to: &str,
) -> Result<Vec<Visit>, store::StoreError> {
    let appointments = store::agenda::day_appointments(reader, technician, from, to).await?;
    let mut visits = Vec::with_capacity(appointments.len());
    for appointment in appointments {
        let mut pianos = Vec::with_capacity(appointment.pianos.len());
        for piano in &appointment.pianos {
            pianos.push(
                match store::agenda::piano_brief(reader, &piano.external_id).await? {
                    Some(brief) => PianoLine::Known(brief),
                    None => PianoLine::NotMirrored(piano.clone()),
                },
            );
        }
        visits.push(Visit {
            appointment,
            pianos,
        });
    }
    Ok(visits)
}

/// Everything an agenda says: the fingerprint is taken over exactly this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgendaFacts {
    pub technician_id: String,
    pub first_name: Option<String>,
    /// The shop-local day, `YYYY-MM-DD`.
    pub day: String,
    pub visits: Vec<Visit>,
}

impl AgendaFacts {
    /// A hex SHA-256 of the facts: equal facts, equal fingerprint, across restarts and
    /// versions of the program (serde_json writes fields in declaration order).
    pub fn fingerprint(&self) -> String {
        store::sha256_hex(&serde_json::to_vec(self).unwrap_or_default())
    }
}

const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// "mardi 8 décembre 2026" / "Tuesday, December 8, 2026".
fn long_date(day: Date, language: Language) -> String {
    match language {
        Language::Fr => format!(
            "{} {} {} {}",
            weekday_fr(day.weekday()),
            day.day(),
            MONTHS_FR[usize::try_from(day.month() - 1).unwrap_or(0)],
            day.year()
        ),
        Language::En => day.strftime("%A, %B %-d, %Y").to_string(),
    }
}

/// A map search for an address, one tap from a phone (Apple Maps opens it on an iPhone, a
/// browser elsewhere).
pub fn map_link(address: &str) -> String {
    let query: String = url::form_urlencoded::byte_serialize(address.as_bytes()).collect();
    format!("https://maps.apple.com/?q={query}")
}

/// At most `max` characters of a note, on one line.
fn excerpt(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max).collect();
        format!("{}…", cut.trim_end())
    }
}

/// The lines of one visit, as (label, value) pairs, rendered as text and as HTML.
struct VisitLines {
    heading: String,
    rows: Vec<(String, String)>,
    map: Option<String>,
}

fn visit_lines(visit: &Visit, language: Language, tz: &TimeZone) -> VisitLines {
    let fr = language == Language::Fr;
    let a = &visit.appointment;
    let start: Option<Timestamp> = a.start_at.parse().ok();
    let minutes = a.duration.unwrap_or(60).clamp(0, 24 * 60);
    let time = match start {
        _ if a.is_all_day => (if fr { "Toute la journée" } else { "All day" }).to_owned(),
        Some(t) => {
            let end = t
                .checked_add(SignedDuration::from_mins(minutes))
                .unwrap_or(t);
            format!(
                "{}–{} ({minutes} min)",
                t.to_zoned(tz.clone()).strftime("%H:%M"),
                end.to_zoned(tz.clone()).strftime("%H:%M")
            )
        }
        None => a.start_at.clone(),
    };
    let mut rows: Vec<(String, String)> = Vec::new();
    let label = |fr_text: &str, en_text: &str| (if fr { fr_text } else { en_text }).to_owned();
    rows.push((
        label("Confirmation", "Confirmation"),
        match (a.confirmed_by_client, fr) {
            (true, true) => "confirmé par le client".to_owned(),
            (false, true) => "NON CONFIRMÉ par le client".to_owned(),
            (true, false) => "confirmed by the client".to_owned(),
            (false, false) => "NOT CONFIRMED by the client".to_owned(),
        },
    ));
    if let Some(what) = a.description.as_deref().filter(|d| !d.trim().is_empty()) {
        rows.push((label("Objet", "What"), what.trim().to_owned()));
    }
    let address = a
        .address
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(address) = address {
        rows.push((label("Adresse", "Address"), address.to_owned()));
    }
    if let Some(phone) = a.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        rows.push((label("Téléphone", "Phone"), phone.trim().to_owned()));
    }
    for piano in &visit.pianos {
        match piano {
            PianoLine::Known(p) => {
                let name = [Some(p.make.as_str()), p.model.as_deref()]
                    .into_iter()
                    .flatten()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                let room = p
                    .location
                    .as_deref()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| format!(" ({})", l.trim()))
                    .unwrap_or_default();
                rows.push((label("Piano", "Piano"), format!("{name}{room}")));
                let last = match (&p.last_service_at, &p.last_service_note) {
                    (Some(at), note) => {
                        let date = at.parse::<Timestamp>().map_or_else(
                            |_| at.chars().take(10).collect(),
                            |t| t.to_zoned(tz.clone()).date().to_string(),
                        );
                        match note.as_deref().filter(|n| !n.trim().is_empty()) {
                            Some(n) => format!("{date} — « {} »", excerpt(n, 160)),
                            None => date,
                        }
                    }
                    (None, _) => label("aucun au dossier", "none on file"),
                };
                rows.push((label("  Dernier entretien", "  Last service"), last));
                for alert in &p.open_alerts {
                    rows.push((
                        label("  Alerte ouverte", "  Open alert"),
                        format!(
                            "{} ({}){}",
                            family_label(&alert.family, language),
                            alert.date,
                            alert
                                .description
                                .as_deref()
                                .filter(|d| !d.is_empty())
                                .map(|d| format!(" — {d}"))
                                .unwrap_or_default()
                        ),
                    ));
                }
            }
            PianoLine::NotMirrored(p) => {
                rows.push((
                    label("Piano", "Piano"),
                    format!(
                        "{} ({})",
                        p.external_id,
                        label("pas encore synchronisé", "not synchronised yet")
                    ),
                ));
            }
        }
    }
    if let Some(notes) = a.notes.as_deref().filter(|n| !n.trim().is_empty()) {
        rows.push((label("Notes", "Notes"), excerpt(notes, 600)));
    }
    if let Some(notes) = a.local_notes.as_deref().filter(|n| !n.trim().is_empty()) {
        rows.push((
            label("Notes de l'atelier", "Shop notes"),
            excerpt(notes, 600),
        ));
    }
    VisitLines {
        heading: format!("{time} — {}", a.company_name),
        rows,
        map: address.map(map_link),
    }
}

/// The agenda e-mail and its `.ics`. `sent`: the agenda already queued for the day, when
/// this one is an update (it answers the first one's Message-ID).
pub fn compose(
    facts: &AgendaFacts,
    language: Language,
    tz: &TimeZone,
    sent: Option<&SentAgenda>,
    ics: String,
) -> (Composed, store::mail::Attachment) {
    let update = sent.map(|s| s.first_message_id.as_str());
    let version = sent.map_or(0, |s| s.updates.saturating_add(1));
    let fr = language == Language::Fr;
    let day: Date = facts.day.parse().unwrap_or(Date::ZERO);
    let when = long_date(day, language);
    let n = facts.visits.len();
    let count = match (fr, n) {
        (true, 0) => "aucun rendez-vous".to_owned(),
        (true, 1) => "1 rendez-vous".to_owned(),
        (true, n) => format!("{n} rendez-vous"),
        (false, 0) => "no appointments".to_owned(),
        (false, 1) => "1 appointment".to_owned(),
        (false, n) => format!("{n} appointments"),
    };
    let mut subject = if fr {
        format!("Votre journée du {when} : {count}")
    } else {
        format!("Your day, {when}: {count}")
    };
    if update.is_some() {
        subject = format!("{} — {subject}", if fr { "Mise à jour" } else { "Update" });
    }
    let name = facts.first_name.as_deref().unwrap_or("").trim();
    let hello = match (fr, name.is_empty()) {
        (true, true) => "Bonjour,".to_owned(),
        (true, false) => format!("Bonjour {name},"),
        (false, true) => "Hello,".to_owned(),
        (false, false) => format!("Hello {name},"),
    };
    let opening = match (fr, update.is_some(), n) {
        (true, false, _) => format!("{hello} voici votre journée du {when}."),
        (true, true, 0) => format!(
            "{hello} votre journée du {when} a changé : il ne vous reste aucun rendez-vous."
        ),
        (true, true, _) => format!(
            "{hello} votre journée du {when} a changé depuis le dernier envoi. Voici l'horaire à jour."
        ),
        (false, false, _) => format!("{hello} here is your day, {when}."),
        (false, true, 0) => {
            format!("{hello} your day ({when}) changed: no appointments are left.")
        }
        (false, true, _) => format!(
            "{hello} your day ({when}) changed since the last agenda. Here is the current schedule."
        ),
    };
    let visits: Vec<VisitLines> = facts
        .visits
        .iter()
        .map(|v| visit_lines(v, language, tz))
        .collect();
    let attached = if fr {
        "La journée est jointe en fichier .ics (à ouvrir dans Calendrier)."
    } else {
        "The day is attached as an .ics file (open it in Calendar)."
    };

    let mut text = format!("{opening}\n");
    for (i, v) in visits.iter().enumerate() {
        text.push_str(&format!("\n{}. {}\n", i + 1, v.heading));
        let width = v
            .rows
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        for (label, value) in &v.rows {
            let pad = width - label.chars().count();
            text.push_str(&format!("   {label}{} : {value}\n", " ".repeat(pad)));
        }
        if let Some(map) = &v.map {
            text.push_str(&format!(
                "   {} : {map}\n",
                if fr { "Carte" } else { "Map" }
            ));
        }
    }
    text.push_str(&format!("\n{attached}\n\n{}\n", closing(language)));

    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title></head>\n<body style=\"font-family: -apple-system, Helvetica, Arial, sans-serif\">\n<p>{}</p>\n",
        escape(&subject),
        escape(&opening)
    );
    for (i, v) in visits.iter().enumerate() {
        html.push_str(&format!(
            "<h3 style=\"margin-bottom: 0.3em\">{}. {}</h3>\n<table>\n",
            i + 1,
            escape(&v.heading)
        ));
        for (label, value) in &v.rows {
            let is_address = Some(label.as_str()) == Some(if fr { "Adresse" } else { "Address" });
            let value = match (&v.map, is_address) {
                (Some(map), true) => {
                    format!("<a href=\"{}\">{}</a>", escape(map), escape(value))
                }
                _ => escape(value),
            };
            html.push_str(&format!(
                "<tr><th align=\"left\" valign=\"top\" style=\"padding-right: 1em; font-weight: normal; color: #555\">{}</th><td>{value}</td></tr>\n",
                escape(label.trim())
            ));
        }
        html.push_str("</table>\n");
    }
    html.push_str(&format!(
        "<p>{}</p>\n<p>{}</p>\n</body></html>\n",
        escape(attached),
        escape(&closing(language))
    ));

    let key = format!("{}.{}.v{version}", facts.technician_id, facts.day);
    let composed = Composed {
        subject,
        text,
        html,
        message_id: message_id("agenda", &key),
        thread_id: update.map(str::to_owned),
    };
    let attachment = store::mail::Attachment {
        file_name: format!("journee-{}.ics", facts.day),
        content_type: "text/calendar; charset=utf-8; method=PUBLISH".into(),
        body: ics,
    };
    (composed, attachment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::*;

    const WEEK: [Weekday; 5] = [Monday, Tuesday, Wednesday, Thursday, Friday];

    fn montreal() -> TimeZone {
        TimeZone::get("America/Montreal").unwrap()
    }

    fn at(date: &str, time: &str) -> Timestamp {
        format!("{date}T{time}:00[America/Montreal]")
            .parse::<jiff::Zoned>()
            .unwrap()
            .timestamp()
    }

    fn days(date: &str, time: &str) -> Vec<String> {
        open_days(
            at(date, time),
            &montreal(),
            Time::constant(18, 0, 0, 0),
            &WEEK,
        )
        .iter()
        .map(ToString::to_string)
        .collect()
    }

    #[test]
    fn the_next_working_day_opens_at_six_the_evening_before_and_closes_at_eight() {
        // Tuesday 2026-12-08.
        assert!(days("2026-12-08", "17:59").is_empty());
        assert_eq!(days("2026-12-08", "18:00"), ["2026-12-09"]);
        assert_eq!(days("2026-12-08", "23:30"), ["2026-12-09"]);
        // Wednesday morning: its own agenda is still watched until 08:00.
        assert_eq!(days("2026-12-09", "07:05"), ["2026-12-09"]);
        assert!(days("2026-12-09", "08:00").is_empty());
        // Friday evening, the weekend and Monday morning are Monday's.
        assert_eq!(days("2026-12-11", "18:00"), ["2026-12-14"]);
        assert_eq!(days("2026-12-12", "10:00"), ["2026-12-14"]);
        assert_eq!(days("2026-12-13", "19:00"), ["2026-12-14"]);
        assert_eq!(days("2026-12-14", "06:00"), ["2026-12-14"]);
        // Thursday 19:00 with Friday off: Monday's agenda opens Thursday.
        let four = [Monday, Tuesday, Wednesday, Thursday];
        let open = open_days(
            at("2026-12-10", "19:00"),
            &montreal(),
            Time::constant(18, 0, 0, 0),
            &four,
        );
        assert_eq!(open, [Date::constant(2026, 12, 14)]);
        assert!(
            open_days(
                at("2026-12-10", "19:00"),
                &montreal(),
                Time::constant(18, 0, 0, 0),
                &[]
            )
            .is_empty()
        );
    }

    #[test]
    fn an_agenda_goes_once_and_again_only_when_the_day_changed_and_not_at_night() {
        assert_eq!(verdict(None, "a", 3, false), Verdict::First);
        assert_eq!(
            verdict(None, "a", 3, true),
            Verdict::First,
            "a late first agenda is not held"
        );
        assert_eq!(
            verdict(None, "a", 0, false),
            Verdict::Nothing,
            "an empty day: nothing"
        );
        assert_eq!(verdict(Some("a"), "a", 3, false), Verdict::Nothing);
        assert_eq!(verdict(Some("a"), "b", 3, false), Verdict::Update);
        assert_eq!(
            verdict(Some("a"), "b", 0, false),
            Verdict::Update,
            "a day emptied is said"
        );
        assert_eq!(
            verdict(Some("a"), "b", 3, true),
            Verdict::Nothing,
            "the night waits"
        );
        assert!(is_quiet(at("2026-12-08", "21:00"), &montreal()));
        assert!(is_quiet(at("2026-12-09", "06:59"), &montreal()));
        assert!(!is_quiet(at("2026-12-09", "07:05"), &montreal()));
    }

    fn visit(start: &str, confirmed: bool, pianos: Vec<PianoLine>) -> Visit {
        Visit {
            appointment: DayAppointment {
                id: 1,
                external_id: Some("evt_1".into()),
                start_at: start.into(),
                duration: Some(90),
                is_all_day: false,
                description: Some("Accord".into()),
                notes: Some("Code de porte 1234, stationnement à l'arrière".into()),
                local_notes: None,
                confirmed_by_client: confirmed,
                client_id: 1,
                client_external_id: Some("cli_1".into()),
                company_name: "Conservatoire".into(),
                address: Some("4750 av. Henri-Julien, Montréal".into()),
                phone: Some("514-555-0100".into()),
                pianos: Vec::new(),
            },
            pianos,
        }
    }

    fn brief(alerts: usize) -> PianoLine {
        PianoLine::Known(PianoBrief {
            external_id: "ins_1".into(),
            make: "Steinway".into(),
            model: Some("B".into()),
            location: Some("Salle 2".into()),
            last_service_at: Some("2026-10-02T14:00:00Z".into()),
            last_service_note: Some("Accord 440. Housse enlevée, à surveiller.".into()),
            open_alerts: (0..alerts)
                .map(|_| store::agenda::OpenAlert {
                    family: "cover".into(),
                    date: "2026-10-02".into(),
                    description: Some("housse enlevée".into()),
                })
                .collect(),
        })
    }

    #[test]
    fn the_agenda_says_where_when_which_pianos_and_what_is_open_in_both_languages() {
        let facts = AgendaFacts {
            technician_id: "usr_a".into(),
            first_name: Some("Nadia".into()),
            day: "2026-12-09".into(),
            visits: vec![
                visit("2026-12-09T14:00:00Z", true, vec![brief(1)]),
                visit(
                    "2026-12-09T17:00:00Z",
                    false,
                    vec![PianoLine::NotMirrored(AppointmentPiano {
                        external_id: "ins_new".into(),
                        ..Default::default()
                    })],
                ),
            ],
        };
        let (fr, ics) = compose(
            &facts,
            Language::Fr,
            &montreal(),
            None,
            "BEGIN:VCALENDAR".into(),
        );
        assert_eq!(
            fr.subject,
            "Votre journée du mercredi 9 décembre 2026 : 2 rendez-vous"
        );
        for needle in [
            "1. 09:00–10:30 (90 min) — Conservatoire",
            "confirmé par le client",
            "NON CONFIRMÉ",
            "Steinway B (Salle 2)",
            "2026-10-02 — « Accord 440. Housse enlevée, à surveiller. »",
            "Housse (2026-10-02) — housse enlevée",
            "Code de porte 1234",
            "https://maps.apple.com/?q=4750+av.+Henri-Julien%2C+Montr%C3%A9al",
            "ins_new (pas encore synchronisé)",
        ] {
            assert!(fr.text.contains(needle), "{needle} in\n{}", fr.text);
        }
        assert!(
            fr.html.contains("<a href=\"https://maps.apple.com/?q="),
            "{}",
            fr.html
        );
        assert_eq!(ics.file_name, "journee-2026-12-09.ics");
        assert!(fr.thread_id.is_none());

        let first = SentAgenda {
            fingerprint: "f".into(),
            first_message_id: "<first@x>".into(),
            updates: 0,
        };
        let (en, _) = compose(
            &facts,
            Language::En,
            &montreal(),
            Some(&first),
            String::new(),
        );
        assert_ne!(
            en.message_id, fr.message_id,
            "an update is a message of its own"
        );
        assert!(
            en.subject
                .starts_with("Update — Your day, Wednesday, December 9, 2026: 2 appointments"),
            "{}",
            en.subject
        );
        assert_eq!(en.thread_id.as_deref(), Some("<first@x>"));
        assert!(
            en.text.contains("NOT CONFIRMED") && en.text.contains("Last service"),
            "{}",
            en.text
        );
    }

    #[test]
    fn the_fingerprint_follows_the_facts() {
        let mut facts = AgendaFacts {
            technician_id: "usr_a".into(),
            first_name: None,
            day: "2026-12-09".into(),
            visits: vec![visit("2026-12-09T14:00:00Z", false, vec![brief(0)])],
        };
        let before = facts.fingerprint();
        assert_eq!(before, facts.clone().fingerprint());
        assert_eq!(before.len(), 64);
        facts.visits[0].appointment.confirmed_by_client = true;
        assert_ne!(
            facts.fingerprint(),
            before,
            "a confirmation changes the day"
        );
        facts.visits[0].pianos = vec![brief(1)];
        let with_alert = facts.fingerprint();
        facts.visits[0].pianos = vec![brief(0)];
        assert_ne!(
            facts.fingerprint(),
            with_alert,
            "an alert resolved changes the day"
        );
    }
}
