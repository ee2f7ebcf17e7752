//! Appointment-change notices: the journal the triggers of migration 0010 write (in the
//! transaction of whatever changed the appointment), and the notices waiting for their time.
//! The rules (who is told what, when) are `alerts::changes`; this module only reads and
//! writes.

use serde::Serialize;
use sqlx::SqliteConnection;

use crate::error::{Result, SqlContext};

/// A change to an appointment, as the trigger saw it (old values `None` for a new one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct JournalLine {
    pub id: i64,
    pub appointment_id: i64,
    pub event_type: String,
    pub old_technician_id: Option<String>,
    pub new_technician_id: String,
    pub old_start_at: Option<String>,
    pub new_start_at: String,
    pub old_status: Option<String>,
    pub new_status: String,
    pub old_deleted: bool,
    pub new_deleted: bool,
}

/// At most this many journal lines per sweep transaction (the sweep loops until none is left).
pub const JOURNAL_BATCH: i64 = 1000;

/// The journal lines the sweep has not read yet, oldest first.
pub async fn unread(conn: &mut SqliteConnection) -> Result<Vec<JournalLine>> {
    sqlx::query_as(
        "SELECT j.Id, j.AppointmentId, j.EventType, j.OldTechnicianId, j.NewTechnicianId,
                j.OldStartAt, j.NewStartAt, j.OldStatus, j.NewStatus, j.OldDeleted, j.NewDeleted
         FROM AppointmentChangeJournal j
         WHERE j.Id > (SELECT LastJournalId FROM AppointmentChangeSweep WHERE Id = 1)
         ORDER BY j.Id LIMIT ?1",
    )
    .bind(JOURNAL_BATCH)
    .fetch_all(conn)
    .await
    .context("reading the appointment-change journal")
}

/// Whether the sweep has anything to do: unread journal lines, or a notice due at `now`.
pub async fn anything_to_do(pool: &sqlx::SqlitePool, now: &str) -> Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM AppointmentChangeJournal
                        WHERE Id > (SELECT LastJournalId FROM AppointmentChangeSweep WHERE Id = 1))
             OR EXISTS (SELECT 1 FROM AppointmentNotices WHERE DueAt <= ?1)",
    )
    .bind(now)
    .fetch_one(pool)
    .await
    .context("checking for appointment changes")
}

/// Records that the journal was read up to `id` (in the transaction that acted on it), and
/// drops the lines read: they are worth nothing once their notices exist.
pub async fn mark_read(conn: &mut SqliteConnection, id: i64) -> Result<()> {
    sqlx::query("UPDATE AppointmentChangeSweep SET LastJournalId = ?1 WHERE Id = 1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("recording the change sweep")?;
    sqlx::query("DELETE FROM AppointmentChangeJournal WHERE Id <= ?1")
        .bind(id)
        .execute(conn)
        .await
        .context("trimming the change journal")?;
    Ok(())
}

/// A notice waiting for its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct PendingNotice {
    pub appointment_id: i64,
    pub technician_id: String,
    pub change: String,
    pub start_at: String,
    pub previous_start_at: Option<String>,
    pub due_at: String,
}

/// The notice waiting for (appointment, technician), if any.
pub async fn pending(
    conn: &mut SqliteConnection,
    appointment_id: i64,
    technician_id: &str,
) -> Result<Option<PendingNotice>> {
    sqlx::query_as(
        "SELECT AppointmentId, TechnicianId, Change, StartAt, PreviousStartAt, DueAt
         FROM AppointmentNotices WHERE AppointmentId = ?1 AND TechnicianId = ?2",
    )
    .bind(appointment_id)
    .bind(technician_id)
    .fetch_optional(conn)
    .await
    .context("reading a waiting notice")
}

/// Writes (or replaces) the notice waiting for its appointment and technician.
pub async fn put(conn: &mut SqliteConnection, notice: &PendingNotice) -> Result<()> {
    sqlx::query(
        "INSERT OR REPLACE INTO AppointmentNotices
            (AppointmentId, TechnicianId, Change, StartAt, PreviousStartAt, DueAt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(notice.appointment_id)
    .bind(&notice.technician_id)
    .bind(&notice.change)
    .bind(&notice.start_at)
    .bind(&notice.previous_start_at)
    .bind(&notice.due_at)
    .execute(conn)
    .await
    .context("writing a waiting notice")?;
    Ok(())
}

/// Drops the notice waiting for (appointment, technician).
pub async fn remove(
    conn: &mut SqliteConnection,
    appointment_id: i64,
    technician_id: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM AppointmentNotices WHERE AppointmentId = ?1 AND TechnicianId = ?2")
        .bind(appointment_id)
        .bind(technician_id)
        .execute(conn)
        .await
        .context("dropping a waiting notice")?;
    Ok(())
}

/// A due notice with what its e-mail says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct DueNotice {
    pub appointment_id: i64,
    pub technician_id: String,
    pub change: String,
    pub start_at: String,
    pub previous_start_at: Option<String>,
    pub external_id: Option<String>,
    pub duration: Option<i64>,
    pub description: Option<String>,
    pub company_name: String,
    #[sqlx(json)]
    pub pianos: Vec<crate::appointment_pianos::AppointmentPiano>,
    pub technician_first_name: Option<String>,
    pub technician_email: Option<String>,
}

/// The notices whose time has come (`DueAt <= now`), oldest first.
pub async fn due(conn: &mut SqliteConnection, now: &str) -> Result<Vec<DueNotice>> {
    sqlx::query_as(&format!(
        "SELECT n.AppointmentId, n.TechnicianId, n.Change, n.StartAt, n.PreviousStartAt,
                a.ExternalId, a.Duration, a.Description, c.CompanyName, {} AS Pianos,
                u.FirstName AS TechnicianFirstName, u.Email AS TechnicianEmail
         FROM AppointmentNotices n
         JOIN Appointments a ON a.Id = n.AppointmentId
         JOIN Clients c ON c.Id = a.ClientId
         LEFT JOIN Users u ON u.ExternalId = n.TechnicianId
         WHERE n.DueAt <= ?1
         ORDER BY n.DueAt, n.AppointmentId, n.TechnicianId",
        crate::appointment_pianos::PIANOS_JSON
    ))
    .bind(now)
    .fetch_all(conn)
    .await
    .context("reading the due notices")
}
