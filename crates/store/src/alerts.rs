//! Alerts: maintenance alerts derived from service notes, the record of scanned entries, and
//! the other alerts (unconfirmed appointments, low stock, sync health).
//!
//! Writes take the caller's transaction so a detector can create an alert, queue its e-mail
//! and mark its source scanned atomically. Reads go through the read pool.

use serde::Serialize;
use sqlx::{SqliteConnection, SqlitePool};

use crate::error::{Result, SqlContext, StoreError};
use crate::time::now_text;

/// The timeline entry types that are technicians' service notes (RULES.md).
pub const SERVICE_NOTE_TYPES: [&str; 2] = ["SERVICE_ENTRY_MANUAL", "SERVICE_ENTRY_AUTOMATED"];

/// A service note not yet scanned, with what an alert needs to say about it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct ServiceNote {
    pub entry_external_id: String,
    pub occurred_at: String,
    pub title: Option<String>,
    pub details: Option<String>,
    pub user_id: Option<String>,
    pub client_id: i64,
    pub client_external_id: Option<String>,
    pub company_name: String,
    pub client_tags: Option<String>,
    pub client_type: Option<String>,
    pub piano_id: Option<i64>,
    pub piano_external_id: Option<String>,
    pub piano_make: Option<String>,
    pub piano_model: Option<String>,
    pub piano_location: Option<String>,
    pub technician_first_name: Option<String>,
    pub technician_last_name: Option<String>,
    pub technician_email: Option<String>,
}

/// Service notes that occurred at or after `since` (UTC text) and were never scanned,
/// oldest first, at most `limit`.
pub async fn unscanned_service_notes(
    pool: &SqlitePool,
    since: &str,
    limit: u32,
) -> Result<Vec<ServiceNote>> {
    sqlx::query_as(
        "SELECT t.ExternalId AS EntryExternalId, t.OccurredAt, t.Title, t.Details, t.UserId,
                c.Id AS ClientId, c.ExternalId AS ClientExternalId, c.CompanyName,
                c.Tags AS ClientTags, c.ClientType,
                p.Id AS PianoId, p.ExternalId AS PianoExternalId, p.Make AS PianoMake,
                p.Model AS PianoModel, p.Location AS PianoLocation,
                u.FirstName AS TechnicianFirstName, u.LastName AS TechnicianLastName,
                u.Email AS TechnicianEmail
         FROM TimelineEntries t
         JOIN Clients c ON c.Id = t.ClientId
         LEFT JOIN Pianos p ON p.Id = t.PianoId
         LEFT JOIN Users u ON u.ExternalId = t.UserId
         WHERE t.EntryType IN (?1, ?2) AND t.DeletedAt IS NULL AND t.OccurredAt >= ?3
           AND NOT EXISTS (SELECT 1 FROM ScannedTimelineEntries s
                           WHERE s.TimelineEntryExternalId = t.ExternalId)
         ORDER BY t.OccurredAt, t.Id
         LIMIT ?4",
    )
    .bind(SERVICE_NOTE_TYPES[0])
    .bind(SERVICE_NOTE_TYPES[1])
    .bind(since)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("reading unscanned service notes")
}

/// Records that an entry was scanned (a re-scan skips it).
pub async fn mark_scanned(
    conn: &mut SqliteConnection,
    entry_external_id: &str,
    alerts_created: u32,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO ScannedTimelineEntries (TimelineEntryExternalId, ScannedAt, AlertsCreated)
         VALUES (?1, ?2, ?3) ON CONFLICT (TimelineEntryExternalId) DO NOTHING",
    )
    .bind(entry_external_id)
    .bind(now_text())
    .bind(alerts_created)
    .execute(conn)
    .await
    .context("recording a scanned entry")?;
    Ok(())
}

/// A maintenance alert to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMaintenanceAlert {
    /// `<timeline entry id>:<family>`: one alert per (entry, family).
    pub external_id: String,
    pub client_id: i64,
    pub piano_id: Option<i64>,
    /// The entry's local day.
    pub date_observation: String,
    pub location: Option<String>,
    pub alert_type: String,
    pub description: String,
    pub resolved: bool,
    pub recipient_email: Option<String>,
    pub created_by: Option<String>,
}

/// Creates the alert unless one exists for the same (entry, family); its id when created.
pub async fn insert_maintenance_alert(
    conn: &mut SqliteConnection,
    alert: &NewMaintenanceAlert,
) -> Result<Option<i64>> {
    let now = now_text();
    sqlx::query_scalar(
        "INSERT INTO MaintenanceAlerts (ClientId, PianoId, DateObservation, Location, AlertType,
             Description, IsResolved, ResolvedDate, Archived, RecipientEmail, CreatedBy,
             CreatedAt, UpdatedAt, ExternalId)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?7 = 1 THEN ?3 END, 0, ?8, ?9, ?10, ?10, ?11)
         ON CONFLICT (ExternalId) DO NOTHING
         RETURNING Id",
    )
    .bind(alert.client_id)
    .bind(alert.piano_id)
    .bind(&alert.date_observation)
    .bind(&alert.location)
    .bind(&alert.alert_type)
    .bind(&alert.description)
    .bind(alert.resolved)
    .bind(&alert.recipient_email)
    .bind(&alert.created_by)
    .bind(&now)
    .bind(&alert.external_id)
    .fetch_optional(conn)
    .await
    .context("creating a maintenance alert")
}

/// Which maintenance alerts a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertFilter {
    /// Not resolved and not archived (the default).
    #[default]
    Unresolved,
    /// Resolved, not archived.
    Resolved,
    Archived,
    All,
}

/// A maintenance alert as the CLI and the digest show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct MaintenanceAlert {
    pub id: i64,
    pub external_id: Option<String>,
    pub alert_type: String,
    pub date_observation: String,
    pub description: Option<String>,
    pub is_resolved: bool,
    pub resolved_date: Option<String>,
    pub archived: bool,
    pub notes: Option<String>,
    pub recipient_email: Option<String>,
    pub created_by: Option<String>,
    pub created_at: Option<String>,
    pub location: Option<String>,
    pub client_id: i64,
    pub client_external_id: Option<String>,
    pub company_name: String,
    pub client_tags: Option<String>,
    pub client_type: Option<String>,
    pub piano_external_id: Option<String>,
    pub piano_make: Option<String>,
    pub piano_model: Option<String>,
}

const ALERT_SELECT: &str = "SELECT a.Id, a.ExternalId, a.AlertType, a.DateObservation, a.Description,
        COALESCE(a.IsResolved, 0) AS IsResolved, a.ResolvedDate, COALESCE(a.Archived, 0) AS Archived,
        a.Notes, a.RecipientEmail, a.CreatedBy, a.CreatedAt, a.Location,
        c.Id AS ClientId, c.ExternalId AS ClientExternalId, c.CompanyName, c.Tags AS ClientTags,
        c.ClientType, p.ExternalId AS PianoExternalId, p.Make AS PianoMake, p.Model AS PianoModel
     FROM MaintenanceAlerts a
     JOIN Clients c ON c.Id = a.ClientId
     LEFT JOIN Pianos p ON p.Id = a.PianoId";

/// Maintenance alerts, newest observation first.
pub async fn list_alerts(
    pool: &SqlitePool,
    filter: AlertFilter,
    limit: u32,
) -> Result<Vec<MaintenanceAlert>> {
    list_alerts_after(pool, filter, None, limit).await
}

/// The next page of a listing, newest first: the alerts after `after` (the observation
/// date and id of the last one of the previous page). Keyset paging: each page costs the
/// same, however deep in the list.
pub async fn list_alerts_after(
    pool: &SqlitePool,
    filter: AlertFilter,
    after: Option<&(String, i64)>,
    limit: u32,
) -> Result<Vec<MaintenanceAlert>> {
    let condition = match filter {
        AlertFilter::Unresolved => "COALESCE(a.IsResolved, 0) = 0 AND COALESCE(a.Archived, 0) = 0",
        AlertFilter::Resolved => "COALESCE(a.IsResolved, 0) = 1 AND COALESCE(a.Archived, 0) = 0",
        AlertFilter::Archived => "COALESCE(a.Archived, 0) = 1",
        AlertFilter::All => "1",
    };
    let (date, id) = match after {
        Some((date, id)) => (Some(date.as_str()), *id),
        None => (None, 0),
    };
    sqlx::query_as(&format!(
        "{ALERT_SELECT} WHERE {condition}
           AND (?2 IS NULL OR a.DateObservation < ?2 OR (a.DateObservation = ?2 AND a.Id < ?3))
         ORDER BY a.DateObservation DESC, a.Id DESC LIMIT ?1"
    ))
    .bind(limit)
    .bind(date)
    .bind(id)
    .fetch_all(pool)
    .await
    .context("listing maintenance alerts")
}

/// One maintenance alert by local id.
pub async fn alert(pool: &SqlitePool, id: i64) -> Result<Option<MaintenanceAlert>> {
    sqlx::query_as(&format!("{ALERT_SELECT} WHERE a.Id = ?1"))
        .bind(id)
        .fetch_optional(pool)
        .await
        .context("reading a maintenance alert")
}

/// Marks an alert resolved (today, local day given) with a note appended to its notes.
/// Fails with a clear message if there is no such alert or it is already resolved.
pub async fn resolve_alert(
    conn: &mut SqliteConnection,
    id: i64,
    note: &str,
    today: &str,
    by: Option<&str>,
) -> Result<()> {
    let state: Option<(i64,)> =
        sqlx::query_as("SELECT COALESCE(IsResolved, 0) FROM MaintenanceAlerts WHERE Id = ?1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .context("reading a maintenance alert")?;
    match state {
        None => return Err(StoreError::Invalid(format!("there is no alert #{id}"))),
        Some((1,)) => {
            return Err(StoreError::Invalid(format!(
                "alert #{id} is already resolved"
            )));
        }
        Some(_) => {}
    }
    sqlx::query(
        "UPDATE MaintenanceAlerts SET IsResolved = 1, ResolvedDate = ?2, UpdatedAt = ?3,
             Notes = CASE WHEN Notes IS NULL OR Notes = '' THEN ?4 ELSE Notes || char(10) || ?4 END,
             ResolvedBy = ?5
         WHERE Id = ?1",
    )
    .bind(id)
    .bind(today)
    .bind(now_text())
    .bind(note)
    .bind(by)
    .execute(conn)
    .await
    .context("resolving a maintenance alert")?;
    Ok(())
}

/// Archives an alert (it leaves every list but `--archived` and `--all`; nothing is deleted).
pub async fn archive_alert(conn: &mut SqliteConnection, id: i64, note: Option<&str>) -> Result<()> {
    let done = sqlx::query(
        "UPDATE MaintenanceAlerts SET Archived = 1, UpdatedAt = ?2,
             Notes = CASE WHEN ?3 IS NULL THEN Notes
                          WHEN Notes IS NULL OR Notes = '' THEN ?3
                          ELSE Notes || char(10) || ?3 END
         WHERE Id = ?1",
    )
    .bind(id)
    .bind(now_text())
    .bind(note)
    .execute(conn)
    .await
    .context("archiving a maintenance alert")?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Invalid(format!("there is no alert #{id}")));
    }
    Ok(())
}

/// The kind of a [`SystemAlert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemKind {
    Unconfirmed,
    LowStock,
    SyncHealth,
    /// A local edit Gazelle refused (the dead letter).
    Push,
}

impl SystemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemKind::Unconfirmed => "unconfirmed",
            SystemKind::LowStock => "low_stock",
            SystemKind::SyncHealth => "sync_health",
            SystemKind::Push => "push",
        }
    }
}

/// An alert that is not a maintenance alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct SystemAlert {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub severity: String,
    pub summary: String,
    pub details: String,
    pub raised_at: String,
    pub cleared_at: Option<String>,
}

/// Raises an alert unless one of the same kind and key is open; its id when raised.
pub async fn raise_system_alert(
    conn: &mut SqliteConnection,
    kind: SystemKind,
    key: &str,
    critical: bool,
    summary: &str,
    details: &serde_json::Value,
) -> Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO SystemAlerts (Kind, Key, Severity, Summary, Details, RaisedAt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (Kind, Key) WHERE ClearedAt IS NULL DO NOTHING
         RETURNING Id",
    )
    .bind(kind.as_str())
    .bind(key)
    .bind(if critical { "critical" } else { "warning" })
    .bind(summary)
    .bind(details.to_string())
    .bind(now_text())
    .fetch_optional(conn)
    .await
    .context("raising an alert")
}

/// What [`raise_or_update_system_alert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// A new alert (the caller notifies).
    New(i64),
    /// The open alert became critical (the caller notifies again: it is worse).
    Upgraded(i64),
    /// The open alert was kept, its summary and details brought up to date.
    Updated(i64),
}

/// Raises an alert, or keeps the open one of the same kind and key true: its summary and
/// details are the current ones, and it is upgraded (never downgraded) to critical.
pub async fn raise_or_update_system_alert(
    conn: &mut SqliteConnection,
    kind: SystemKind,
    key: &str,
    critical: bool,
    summary: &str,
    details: &serde_json::Value,
) -> Result<Raised> {
    if let Some(id) = raise_system_alert(&mut *conn, kind, key, critical, summary, details).await? {
        return Ok(Raised::New(id));
    }
    let (id, severity): (i64, String) = sqlx::query_as(
        "SELECT Id, Severity FROM SystemAlerts WHERE Kind = ?1 AND Key = ?2 AND ClearedAt IS NULL",
    )
    .bind(kind.as_str())
    .bind(key)
    .fetch_one(&mut *conn)
    .await
    .context("reading an open alert")?;
    let upgrade = critical && severity != "critical";
    sqlx::query(
        "UPDATE SystemAlerts SET Summary = ?2, Details = ?3,
                Severity = CASE WHEN ?4 THEN 'critical' ELSE Severity END
         WHERE Id = ?1",
    )
    .bind(id)
    .bind(summary)
    .bind(details.to_string())
    .bind(upgrade)
    .execute(&mut *conn)
    .await
    .context("updating an open alert")?;
    Ok(if upgrade {
        Raised::Upgraded(id)
    } else {
        Raised::Updated(id)
    })
}

/// Clears the open alerts of `kind` whose key is not in `still_true`; the cleared ones.
pub async fn clear_system_alerts_except(
    conn: &mut SqliteConnection,
    kind: SystemKind,
    still_true: &[String],
) -> Result<Vec<SystemAlert>> {
    let open: Vec<SystemAlert> = sqlx::query_as(
        "SELECT Id, Kind, Key, Severity, Summary, Details, RaisedAt, ClearedAt
         FROM SystemAlerts WHERE Kind = ?1 AND ClearedAt IS NULL",
    )
    .bind(kind.as_str())
    .fetch_all(&mut *conn)
    .await
    .context("reading open alerts")?;
    let now = now_text();
    let mut cleared = Vec::new();
    for mut alert in open {
        if still_true.contains(&alert.key) {
            continue;
        }
        sqlx::query("UPDATE SystemAlerts SET ClearedAt = ?2 WHERE Id = ?1")
            .bind(alert.id)
            .bind(&now)
            .execute(&mut *conn)
            .await
            .context("clearing an alert")?;
        alert.cleared_at = Some(now.clone());
        cleared.push(alert);
    }
    Ok(cleared)
}

/// Open system alerts, newest first.
pub async fn open_system_alerts(pool: &SqlitePool) -> Result<Vec<SystemAlert>> {
    sqlx::query_as(
        "SELECT Id, Kind, Key, Severity, Summary, Details, RaisedAt, ClearedAt
         FROM SystemAlerts WHERE ClearedAt IS NULL ORDER BY RaisedAt DESC, Id DESC",
    )
    .fetch_all(pool)
    .await
    .context("reading open alerts")
}

/// A stock line at or below its reorder threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct LowStock {
    pub product_id: i64,
    pub product_name: String,
    pub technician_id: String,
    pub technician_name: Option<String>,
    pub quantity: i64,
    pub reorder_threshold: i64,
}

/// Every active product's stock line at or below its threshold (zero is critical).
pub async fn low_stock(pool: &SqlitePool) -> Result<Vec<LowStock>> {
    sqlx::query_as(
        "SELECT p.Id AS ProductId, p.Name AS ProductName, i.TechnicianId,
                NULLIF(TRIM(COALESCE(u.FirstName, '') || ' ' || COALESCE(u.LastName, '')), '') AS TechnicianName,
                COALESCE(i.Quantity, 0) AS Quantity, COALESCE(i.ReorderThreshold, 0) AS ReorderThreshold
         FROM Inventory i
         JOIN Products p ON p.Id = i.ProductId
         LEFT JOIN Users u ON u.ExternalId = i.TechnicianId
         WHERE COALESCE(i.Quantity, 0) <= COALESCE(i.ReorderThreshold, 0)
           AND COALESCE(p.Active, 1) = 1 AND p.DeletedAt IS NULL
         ORDER BY COALESCE(i.Quantity, 0), p.Name, i.TechnicianId",
    )
    .fetch_all(pool)
    .await
    .context("reading low stock")
}

/// An appointment the J-1 check looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct UpcomingAppointment {
    pub external_id: String,
    pub technician_id: String,
    pub start_at: String,
    pub duration: Option<i64>,
    pub description: Option<String>,
    pub notes: Option<String>,
    pub client_external_id: Option<String>,
    pub company_name: String,
    pub client_tags: Option<String>,
    pub client_type: Option<String>,
    /// Every piano of the appointment, in order.
    #[sqlx(json)]
    pub pianos: Vec<crate::appointment_pianos::AppointmentPiano>,
    pub technician_first_name: Option<String>,
    pub technician_email: Option<String>,
}

/// Active, unconfirmed appointments with a technician starting in `[from, to)` (UTC text),
/// without "MEMO" in their title or notes.
pub async fn unconfirmed_appointments(
    pool: &SqlitePool,
    from: &str,
    to: &str,
) -> Result<Vec<UpcomingAppointment>> {
    sqlx::query_as(&format!(
        "SELECT a.ExternalId, a.TechnicianId, a.StartAt, a.Duration, a.Description, a.Notes,
                c.ExternalId AS ClientExternalId, c.CompanyName, c.Tags AS ClientTags, c.ClientType,
                {} AS Pianos,
                u.FirstName AS TechnicianFirstName, u.Email AS TechnicianEmail
         FROM Appointments a
         JOIN Clients c ON c.Id = a.ClientId
         LEFT JOIN Users u ON u.ExternalId = a.TechnicianId
         WHERE a.StartAt >= ?1 AND a.StartAt < ?2
           AND a.EventType = 'APPOINTMENT' AND a.AppointmentStatus = 'ACTIVE'
           AND COALESCE(a.ConfirmedByClient, 0) = 0 AND a.DeletedAt IS NULL
           AND a.ExternalId IS NOT NULL
           AND a.TechnicianId <> '' AND a.TechnicianId <> 'unassigned'
           AND instr(upper(COALESCE(a.Description, '') || ' ' || COALESCE(a.Notes, '')), 'MEMO') = 0
         ORDER BY a.StartAt, a.Id",
        crate::appointment_pianos::PIANOS_JSON
    ))
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .context("reading tomorrow's appointments")
}

/// A user's name and address, for routing and greetings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct UserContact {
    pub external_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

pub async fn user_contact(pool: &SqlitePool, external_id: &str) -> Result<Option<UserContact>> {
    sqlx::query_as("SELECT ExternalId, FirstName, LastName, Email FROM Users WHERE ExternalId = ?1")
        .bind(external_id)
        .fetch_optional(pool)
        .await
        .context("reading a user")
}
