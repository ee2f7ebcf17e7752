//! Appointments made on the Mac.
//!
//! Times are entered in the shop's zone (America/Montreal) and stored and pushed as UTC
//! instants, so an appointment at 20:30 stays on its day. A local time that does not exist
//! (the spring-forward hour) is refused; one that happens twice (the fall-back hour) is the
//! first of the two, and the answer says so. Creating, moving or reassigning checks the
//! technician's other events (long PERSONAL blocks included) and warns about an overlap; it
//! does not refuse (the shop decides). The push sends `updateEvent` with the whole event.

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::json;
use store::local::{self, AppointmentChange, NewAppointment};
use store::outbox::{self, NewEntry};
use store::{Connection, Store};

use crate::{Result, commit, invalid};

/// What an edit did, and what the person should know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Outcome {
    pub id: i64,
    pub start_utc: String,
    pub start_local: String,
    pub warnings: Vec<String>,
}

/// Reads a local date and time (`2026-03-08 20:30`, `2026-03-08T20:30`) in `tz`; the instant
/// and a warning when the time happened twice.
pub fn parse_local(text: &str, tz: &TimeZone) -> Result<(Timestamp, Option<String>)> {
    let normalised = text.trim().replacen(' ', "T", 1);
    let dt: DateTime = normalised.parse().map_err(|e| {
        crate::ManagerError::Invalid(format!(
            "`{text}` is not a date and time like 2026-03-08 14:30 ({e})"
        ))
    })?;
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { .. } => Ok((
            ambiguous
                .compatible()
                .map_err(|e| crate::ManagerError::Invalid(e.to_string()))?,
            None,
        )),
        AmbiguousOffset::Gap { .. } => invalid(format!(
            "{text} does not exist in {}: the clocks jump forward that night; pick another time",
            tz.iana_name().unwrap_or("the shop's zone")
        )),
        AmbiguousOffset::Fold { before, .. } => {
            let instant = dt
                .to_zoned(TimeZone::fixed(before))
                .map_err(|e| crate::ManagerError::Invalid(e.to_string()))?
                .timestamp();
            Ok((
                instant,
                Some(format!(
                    "{text} happens twice (the clocks fall back that night): taken as the first, before the change"
                )),
            ))
        }
    }
}

pub struct Appointments<'a> {
    store: &'a Store,
    tz: TimeZone,
}

fn utc(t: Timestamp) -> String {
    store::time::utc_text(t)
}

impl<'a> Appointments<'a> {
    pub fn new(store: &'a Store, config: &config::Config) -> Appointments<'a> {
        Appointments {
            store,
            tz: config.business.timezone.time_zone(),
        }
    }

    fn local(&self, t: Timestamp) -> String {
        t.to_zoned(self.tz.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// The technician's events overlapping `[start, start + minutes)`, other than `except`.
    async fn overlaps(
        &self,
        technician: &str,
        start: Timestamp,
        minutes: i64,
        except: Option<i64>,
    ) -> Result<Vec<String>> {
        let end = start.saturating_add(minutes_span(minutes)).unwrap_or(start);
        // Anything that starts up to a week before may still be going (a long personal block).
        let earliest = start
            .saturating_sub(SignedDuration::from_hours(24 * 7))
            .unwrap_or(start);
        let events =
            local::technician_events(self.store.reader(), technician, &utc(earliest), &utc(end))
                .await?;
        let mut warnings = Vec::new();
        for e in events {
            if Some(e.local_id) == except {
                continue;
            }
            let Ok(s) = e.start_at.parse::<Timestamp>() else {
                continue;
            };
            let f = s
                .saturating_add(minutes_span(e.duration.unwrap_or(60)))
                .unwrap_or(s);
            if s < end && start < f {
                // Every piano of the other appointment: the one a person recognises may not be
                // the first (a conservatory day).
                let pianos = e
                    .pianos
                    .iter()
                    .map(|p| p.label())
                    .collect::<Vec<_>>()
                    .join(", ");
                warnings.push(format!(
                    "overlaps {} «{}» {}–{} of {technician}{}",
                    e.kind.to_lowercase(),
                    e.title.unwrap_or_default(),
                    self.local(s),
                    f.to_zoned(self.tz.clone()).strftime("%H:%M"),
                    if pianos.is_empty() {
                        String::new()
                    } else {
                        format!(" ({pianos})")
                    }
                ));
            }
        }
        Ok(warnings)
    }

    /// Creates an appointment for a client (local or Gazelle id) with a technician (`usr_…`).
    #[allow(clippy::too_many_arguments)]
    pub async fn create(
        &self,
        client: &str,
        technician: &str,
        piano: Option<&str>,
        start_local: &str,
        duration_minutes: i64,
        title: &str,
        notes: Option<String>,
    ) -> Result<Outcome> {
        check_duration(duration_minutes)?;
        if title.trim().is_empty() {
            return invalid("an appointment needs a title");
        }
        self.check_technician(technician).await?;
        let (start, fold) = parse_local(start_local, &self.tz)?;
        let mut warnings: Vec<String> = fold.into_iter().collect();
        warnings.extend(
            self.overlaps(technician, start, duration_minutes, None)
                .await?,
        );
        let mut tx = self.store.begin_write().await?;
        let Some((client_id, client_ext, _)) = local::find_row(&mut tx, "Clients", client).await?
        else {
            return invalid(format!("there is no client `{client}`"));
        };
        let piano_id = match piano {
            None => None,
            Some(p) => match local::find_row(&mut tx, "Pianos", p).await? {
                Some((id, _, _)) => Some(id),
                None => return invalid(format!("there is no piano `{p}`")),
            },
        };
        let depends_on = match client_ext {
            Some(_) => None,
            None => outbox::open_entry_of(&mut tx, "Clients", client_id).await?,
        };
        let id = local::insert_appointment(
            &mut tx,
            &NewAppointment {
                client_id,
                technician_id: technician.to_owned(),
                piano_id,
                title: title.trim().to_owned(),
                start_at: utc(start),
                duration_minutes,
                notes,
            },
        )
        .await?;
        let snapshot = self.snapshot(&mut tx, id).await?;
        outbox::enqueue(
            &mut tx,
            &NewEntry {
                operation: "create",
                entity: "Appointments",
                local_id: id,
                action: None,
                payload: snapshot,
                base_updated_at: None,
                depends_on,
            },
        )
        .await?;
        commit(tx).await?;
        Ok(Outcome {
            id,
            start_utc: utc(start),
            start_local: self.local(start),
            warnings,
        })
    }

    async fn snapshot(&self, conn: &mut Connection, id: i64) -> Result<serde_json::Value> {
        Ok(json!(local::appointment(conn, id).await?))
    }

    async fn find(&self, conn: &mut Connection, key: &str) -> Result<local::LocalAppointment> {
        let id = match local::find_row(conn, "Appointments", key).await? {
            Some((id, _, _)) => id,
            None => return invalid(format!("there is no appointment `{key}`")),
        };
        match local::appointment(conn, id).await? {
            Some(a) => Ok(a),
            None => invalid(format!("there is no appointment `{key}`")),
        }
    }

    /// Applies a change and queues it: folded into an unsent creation, else an update (the
    /// whole event is sent) or the given action (`cancel`, `confirm`).
    async fn change(
        &self,
        key: &str,
        change: AppointmentChange,
        action: Option<&'static str>,
        extra_warnings: Vec<String>,
    ) -> Result<Outcome> {
        let mut tx = self.store.begin_write().await?;
        let before = self.find(&mut tx, key).await?;
        local::change_appointment(&mut tx, before.id, &change).await?;
        let after = self.find(&mut tx, key).await?;
        let snapshot = json!(after);
        match outbox::unsent_create(&mut tx, "Appointments", before.id).await? {
            Some(create) if action == Some("cancel") => {
                // Never sent: cancelling it means not sending it at all.
                outbox::mark_done(
                    &mut tx,
                    create,
                    "discarded",
                    None,
                    Some("cancelled before it was pushed"),
                )
                .await?;
            }
            Some(create) => outbox::replace_payload(&mut tx, create, &snapshot).await?,
            None => {
                let depends_on = outbox::open_entry_of(&mut tx, "Appointments", before.id).await?;
                outbox::enqueue(
                    &mut tx,
                    &NewEntry {
                        operation: if action.is_some() { "action" } else { "update" },
                        entity: "Appointments",
                        local_id: before.id,
                        action,
                        payload: snapshot,
                        base_updated_at: before.updated_at.as_deref(),
                        depends_on,
                    },
                )
                .await?;
            }
        }
        commit(tx).await?;
        let start: Timestamp = after.start_at.parse().unwrap_or(Timestamp::UNIX_EPOCH);
        Ok(Outcome {
            id: after.id,
            start_utc: after.start_at.clone(),
            start_local: self.local(start),
            warnings: extra_warnings,
        })
    }

    /// Moves an appointment to a new local start (and duration).
    pub async fn reschedule(
        &self,
        key: &str,
        start_local: &str,
        duration_minutes: Option<i64>,
    ) -> Result<Outcome> {
        if let Some(minutes) = duration_minutes {
            check_duration(minutes)?;
        }
        let (start, fold) = parse_local(start_local, &self.tz)?;
        let current = {
            let mut conn = self.store.read_connection().await?;
            self.find(&mut conn, key).await?
        };
        let minutes = duration_minutes.or(current.duration).unwrap_or(60);
        let mut warnings: Vec<String> = fold.into_iter().collect();
        warnings.extend(
            self.overlaps(&current.technician_id, start, minutes, Some(current.id))
                .await?,
        );
        let change = AppointmentChange {
            start_at: Some(utc(start)),
            duration_minutes,
            ..AppointmentChange::default()
        };
        self.change(key, change, None, warnings).await
    }

    /// A technician must be one of the shop's Gazelle users (as mirrored): a typo is refused
    /// now, not by Gazelle at the next push.
    async fn check_technician(&self, technician: &str) -> Result<()> {
        match store::local::user_known(self.store.reader(), technician).await? {
            Some(false) => invalid(format!(
                "no such technician `{technician}`: a technician is a Gazelle user id (usr_…) of this shop"
            )),
            // Known, or no user mirrored yet: nothing to check against.
            _ => Ok(()),
        }
    }

    /// Gives an appointment to another technician.
    pub async fn reassign(&self, key: &str, technician: &str) -> Result<Outcome> {
        self.check_technician(technician).await?;
        let current = {
            let mut conn = self.store.read_connection().await?;
            self.find(&mut conn, key).await?
        };
        let start: Timestamp = current.start_at.parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let warnings = self
            .overlaps(
                technician,
                start,
                current.duration.unwrap_or(60),
                Some(current.id),
            )
            .await?;
        let change = AppointmentChange {
            technician_id: Some(technician.to_owned()),
            ..AppointmentChange::default()
        };
        self.change(key, change, None, warnings).await
    }

    pub async fn cancel(&self, key: &str) -> Result<Outcome> {
        let change = AppointmentChange {
            status: Some("CANCELED".into()),
            ..AppointmentChange::default()
        };
        self.change(key, change, Some("cancel"), Vec::new()).await
    }

    pub async fn confirm(&self, key: &str) -> Result<Outcome> {
        let change = AppointmentChange {
            confirmed: Some(true),
            ..AppointmentChange::default()
        };
        self.change(key, change, Some("confirm"), Vec::new()).await
    }

    /// The appointments of `days` days from `from` (local day), for a technician or all.
    pub async fn calendar(
        &self,
        technician: Option<&str>,
        from: jiff::civil::Date,
        days: i64,
    ) -> Result<Vec<(String, local::LocalAppointment)>> {
        let start = from
            .to_zoned(self.tz.clone())
            .map_err(|e| crate::ManagerError::Invalid(e.to_string()))?;
        let end = start
            .checked_add(jiff::Span::new().days(days))
            .map_err(|e| crate::ManagerError::Invalid(e.to_string()))?;
        let rows = local::appointments_between(
            self.store.reader(),
            technician,
            &utc(start.timestamp()),
            &utc(end.timestamp()),
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|a| {
                let t: Timestamp = a.start_at.parse().unwrap_or(Timestamp::UNIX_EPOCH);
                (self.local(t), a)
            })
            .collect())
    }

    /// The same appointments as an iCalendar (RFC 5545) file a Mac's Calendar can subscribe to.
    pub async fn ics(
        &self,
        technician: Option<&str>,
        from: jiff::civil::Date,
        days: i64,
    ) -> Result<String> {
        let rows = self.calendar(technician, from, days).await?;
        Ok(ics(
            &rows.into_iter().map(|(_, a)| a).collect::<Vec<_>>(),
            technician,
        ))
    }
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn ics_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace('\n', "\\n")
}

/// Folds a content line at 75 octets, on character boundaries (RFC 5545 §3.1).
fn fold_line(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

fn ics_time(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// An iCalendar document of appointments (times in UTC, so every calendar shows them right).
pub fn ics(appointments: &[local::LocalAppointment], technician: Option<&str>) -> String {
    let mut out = ics_header(technician);
    out.push_str(&ics_events(appointments));
    out.push_str(&ics_footer());
    out
}

/// The document's opening lines; [`ics_events`] and [`ics_footer`] follow (the daemon sends
/// a long calendar in pieces).
pub fn ics_header(technician: Option<&str>) -> String {
    let mut out = String::new();
    let name = match technician {
        Some(t) => format!("Assistant Gazelle — {t}"),
        None => "Assistant Gazelle".to_owned(),
    };
    for line in [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Assistant Gazelle//V5//FR".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        format!("X-WR-CALNAME:{}", ics_text(&name)),
    ] {
        fold_line(&line, &mut out);
    }
    out
}

pub fn ics_footer() -> String {
    let mut out = String::new();
    fold_line("END:VCALENDAR", &mut out);
    out
}

/// The events of some appointments.
pub fn ics_events(appointments: &[local::LocalAppointment]) -> String {
    let mut out = String::new();
    let stamp = ics_time(Timestamp::now());
    for a in appointments {
        let Ok(start) = a.start_at.parse::<Timestamp>() else {
            continue;
        };
        let end = start
            .saturating_add(minutes_span(a.duration.unwrap_or(60)))
            .unwrap_or(start);
        let uid = match &a.external_id {
            Some(id) => format!("{id}@gazelleapp.io"),
            None => format!("local-{}@assistant-gazelle.invalid", a.id),
        };
        let summary = format!(
            "{} — {}",
            a.description.clone().unwrap_or_default(),
            a.company_name
        );
        let mut lines = vec![
            "BEGIN:VEVENT".to_owned(),
            format!("UID:{uid}"),
            format!("DTSTAMP:{stamp}"),
            format!("DTSTART:{}", ics_time(start)),
            format!("DTEND:{}", ics_time(end)),
            format!("SUMMARY:{}", ics_text(&summary)),
        ];
        // Every piano of the appointment, then the notes.
        let mut description: Vec<String> = a
            .pianos
            .iter()
            .map(|p| format!("Piano : {}", p.label()))
            .collect();
        description.extend(a.notes.clone().filter(|n| !n.is_empty()));
        if !description.is_empty() {
            lines.push(format!("DESCRIPTION:{}", ics_text(&description.join("\n"))));
        }
        lines.push(format!(
            "STATUS:{}",
            if a.appointment_status == "CANCELED" {
                "CANCELLED"
            } else if a.confirmed_by_client {
                "CONFIRMED"
            } else {
                "TENTATIVE"
            }
        ));
        lines.push("END:VEVENT".to_owned());
        for line in lines {
            fold_line(&line, &mut out);
        }
    }
    out
}

/// An appointment lasts 1 to 1440 minutes, whether created or moved on the Mac.
fn check_duration(minutes: i64) -> Result<()> {
    if (1..=24 * 60).contains(&minutes) {
        Ok(())
    } else {
        invalid(format!("--duration {minutes}: between 1 and 1440 minutes"))
    }
}

/// A span of minutes for time arithmetic. Durations read from Gazelle are not bounded by
/// us: anything beyond a year is taken as a year, so no value can overflow (`from_mins`
/// panics past ±1.5e17 minutes).
fn minutes_span(minutes: i64) -> SignedDuration {
    const YEAR: i64 = 366 * 24 * 60;
    SignedDuration::from_mins(minutes.clamp(-YEAR, YEAR))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn montreal() -> TimeZone {
        TimeZone::get("America/Montreal").unwrap()
    }

    #[test]
    fn an_evening_appointment_stays_on_its_day() {
        // 20:30 in winter (UTC−5) is 01:30 UTC the next day: stored as such, shown as entered.
        let (t, warning) = parse_local("2026-01-15 20:30", &montreal()).unwrap();
        assert_eq!(store::time::utc_text(t), "2026-01-16T01:30:00Z");
        assert!(warning.is_none());
        assert_eq!(t.to_zoned(montreal()).date().to_string(), "2026-01-15");
        // In summer (UTC−4).
        let (t, _) = parse_local("2026-07-15T20:30", &montreal()).unwrap();
        assert_eq!(store::time::utc_text(t), "2026-07-16T00:30:00Z");
    }

    #[test]
    fn daylight_saving_edges_in_march_and_november() {
        // 2026-03-08: 02:00 → 03:00. 02:30 does not exist.
        let err = parse_local("2026-03-08 02:30", &montreal()).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let (before, _) = parse_local("2026-03-08 01:30", &montreal()).unwrap();
        let (after, _) = parse_local("2026-03-08 03:30", &montreal()).unwrap();
        assert_eq!(store::time::utc_text(before), "2026-03-08T06:30:00Z");
        assert_eq!(store::time::utc_text(after), "2026-03-08T07:30:00Z");
        // 2026-11-01: 02:00 → 01:00. 01:30 happens twice: the first (EDT) is taken, and said.
        let (t, warning) = parse_local("2026-11-01 01:30", &montreal()).unwrap();
        assert_eq!(store::time::utc_text(t), "2026-11-01T05:30:00Z");
        assert!(warning.unwrap().contains("twice"));
        let (evening, _) = parse_local("2026-11-01 20:30", &montreal()).unwrap();
        assert_eq!(store::time::utc_text(evening), "2026-11-02T01:30:00Z");
        assert!(parse_local("tomorrow at noon", &montreal()).is_err());
    }

    #[test]
    fn ics_escapes_folds_and_uses_utc() {
        let a = local::LocalAppointment {
            id: 7,
            external_id: Some("evt_1".into()),
            technician_id: "usr_1".into(),
            description: Some("Accord, réglage; pédale".into()),
            appointment_status: "ACTIVE".into(),
            event_type: "APPOINTMENT".into(),
            start_at: "2026-01-16T01:30:00Z".into(),
            duration: Some(120),
            is_all_day: false,
            notes: Some("Sonner à la porte arrière\nCode 1234".into()),
            confirmed_by_client: true,
            updated_at: None,
            client_id: 1,
            client_external_id: Some("cli_1".into()),
            company_name:
                "Salle Bourgie — Musée des beaux-arts de Montréal, salle de concert principale"
                    .into(),
            pianos: vec![
                store::appointment_pianos::AppointmentPiano {
                    external_id: "ins_1".into(),
                    make: Some("Steinway & Sons".into()),
                    model: Some("D-274".into()),
                    location: Some("Scène".into()),
                },
                store::appointment_pianos::AppointmentPiano {
                    external_id: "ins_2".into(),
                    ..Default::default()
                },
            ],
        };
        let text = ics(&[a], Some("usr_1"));
        assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(text.contains("DTSTART:20260116T013000Z\r\nDTEND:20260116T033000Z\r\n"));
        assert!(text.contains("SUMMARY:Accord\\, réglage\\; pédale"));
        let unfolded = text.replace("\r\n ", "");
        assert!(
            unfolded.contains("DESCRIPTION:Piano : Steinway & Sons D-274 (Scène)\\nPiano : ins_2\\nSonner à la porte arrière\\nCode 1234"),
            "{unfolded}"
        );
        assert!(text.contains("STATUS:CONFIRMED"));
        assert!(
            text.lines().all(|l| l.trim_end_matches('\r').len() <= 75),
            "{text}"
        );
        assert!(text.contains("\r\n "), "a long line is folded");
        assert!(text.ends_with("END:VCALENDAR\r\n"));
    }
}
