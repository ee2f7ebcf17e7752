//! What the daily agenda of one technician reads, and the record of agendas already queued
//! (`AgendasSent`). The rules (which day, when, what counts as a change) are in
//! `alerts::agenda`.

use serde::{Deserialize, Serialize};
use sqlx::{SqliteConnection, SqlitePool};

use crate::appointment_pianos::AppointmentPiano;
use crate::error::{Result, SqlContext};

/// One appointment of the day, as the agenda shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct DayAppointment {
    pub id: i64,
    pub external_id: Option<String>,
    pub start_at: String,
    pub duration: Option<i64>,
    pub is_all_day: bool,
    pub description: Option<String>,
    /// Gazelle's notes on the event (access, parking, what to bring…).
    pub notes: Option<String>,
    /// The shop's own notes on the appointment, never sent to Gazelle.
    pub local_notes: Option<String>,
    pub confirmed_by_client: bool,
    pub client_id: i64,
    pub client_external_id: Option<String>,
    pub company_name: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    #[sqlx(json)]
    pub pianos: Vec<AppointmentPiano>,
}

impl DayAppointment {
    /// The appointment as the calendar (and its `.ics`) shows it.
    pub fn calendar_entry(&self, technician: &str) -> crate::local::LocalAppointment {
        crate::local::LocalAppointment {
            id: self.id,
            external_id: self.external_id.clone(),
            technician_id: technician.to_owned(),
            description: self.description.clone(),
            appointment_status: "ACTIVE".into(),
            event_type: "APPOINTMENT".into(),
            start_at: self.start_at.clone(),
            duration: self.duration,
            is_all_day: self.is_all_day,
            notes: self.notes.clone(),
            confirmed_by_client: self.confirmed_by_client,
            updated_at: None,
            client_id: self.client_id,
            client_external_id: self.client_external_id.clone(),
            company_name: self.company_name.clone(),
            pianos: self.pianos.clone(),
        }
    }
}

/// The active appointments of `technician` starting in [`from`, `to`) (UTC text), in order.
/// MEMO and PERSONAL events are not appointments; cancelled ones are not on the day.
pub async fn day_appointments(
    pool: &SqlitePool,
    technician: &str,
    from: &str,
    to: &str,
) -> Result<Vec<DayAppointment>> {
    sqlx::query_as(&format!(
        "SELECT a.Id, a.ExternalId, a.StartAt, a.Duration, COALESCE(a.IsAllDay, 0) AS IsAllDay,
                a.Description, a.Notes, a.LocalNotes,
                COALESCE(a.ConfirmedByClient, 0) AS ConfirmedByClient,
                c.Id AS ClientId, c.ExternalId AS ClientExternalId,
                c.CompanyName, c.Address, c.Phone, {} AS Pianos
         FROM Appointments a JOIN Clients c ON c.Id = a.ClientId
         WHERE a.TechnicianId = ?1 AND a.StartAt >= ?2 AND a.StartAt < ?3
           AND a.DeletedAt IS NULL AND a.AppointmentStatus = 'ACTIVE'
           AND a.EventType = 'APPOINTMENT'
         ORDER BY a.StartAt, a.Id",
        crate::appointment_pianos::PIANOS_JSON
    ))
    .bind(technician)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .context("reading a technician's day")
}

/// An open maintenance alert on a piano.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenAlert {
    pub family: String,
    pub date: String,
    pub description: Option<String>,
}

/// What a technician should know about a piano before the visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct PianoBrief {
    pub external_id: String,
    pub make: String,
    pub model: Option<String>,
    pub location: Option<String>,
    /// The last service note's instant (UTC text) and text, if any.
    pub last_service_at: Option<String>,
    pub last_service_note: Option<String>,
    #[sqlx(json)]
    pub open_alerts: Vec<OpenAlert>,
}

/// The brief of a mirrored piano (`None` while the piano is not mirrored).
pub async fn piano_brief(pool: &SqlitePool, external_id: &str) -> Result<Option<PianoBrief>> {
    let [manual, automated] = crate::alerts::SERVICE_NOTE_TYPES;
    sqlx::query_as(
        "WITH last AS (
             SELECT t.OccurredAt, COALESCE(NULLIF(t.Details, ''), t.Title) AS Note
             FROM Pianos p JOIN TimelineEntries t ON t.PianoId = p.Id
             WHERE p.ExternalId = ?1 AND t.EntryType IN (?2, ?3) AND t.DeletedAt IS NULL
             ORDER BY t.OccurredAt DESC, t.Id DESC LIMIT 1)
         SELECT p.ExternalId, p.Make, p.Model, p.Location,
                (SELECT OccurredAt FROM last) AS LastServiceAt,
                (SELECT Note FROM last) AS LastServiceNote,
                (SELECT json_group_array(json_object('family', m.AlertType,
                        'date', m.DateObservation, 'description', m.Description))
                 FROM (SELECT * FROM MaintenanceAlerts
                       WHERE PianoId = p.Id AND COALESCE(IsResolved, 0) = 0
                         AND COALESCE(Archived, 0) = 0
                       ORDER BY DateObservation, Id) m) AS OpenAlerts
         FROM Pianos p WHERE p.ExternalId = ?1",
    )
    .bind(external_id)
    .bind(manual)
    .bind(automated)
    .fetch_optional(pool)
    .await
    .context("reading a piano's last service and alerts")
}

/// The last agenda queued for a (technician, day).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct SentAgenda {
    pub fingerprint: String,
    pub first_message_id: String,
    pub updates: i64,
}

pub async fn last_sent(
    pool: &SqlitePool,
    technician: &str,
    day: &str,
) -> Result<Option<SentAgenda>> {
    sqlx::query_as(
        "SELECT Fingerprint, FirstMessageId, Updates FROM AgendasSent
         WHERE TechnicianId = ?1 AND Day = ?2",
    )
    .bind(technician)
    .bind(day)
    .fetch_optional(pool)
    .await
    .context("reading the agendas sent")
}

/// Records the agenda just queued (in the transaction that queued it): the first of its
/// day, or an update (`Updates` + 1, the first message id kept for threading).
pub async fn record_sent(
    conn: &mut SqliteConnection,
    technician: &str,
    day: &str,
    fingerprint: &str,
    message_id: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO AgendasSent (TechnicianId, Day, Fingerprint, FirstMessageId, QueuedAt)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (TechnicianId, Day) DO UPDATE SET
             Fingerprint = excluded.Fingerprint, Updates = Updates + 1,
             QueuedAt = excluded.QueuedAt",
    )
    .bind(technician)
    .bind(day)
    .bind(fingerprint)
    .bind(message_id)
    .bind(crate::time::now_text())
    .execute(conn)
    .await
    .context("recording an agenda sent")?;
    Ok(())
}
