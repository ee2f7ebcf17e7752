//! The dashboard's accounts, invitations, sessions and one-time login links, and the reads
//! its pages need beyond the CLI's.
//!
//! Tokens never reach the database: callers pass [`token_hash`] of them, so a copy of the
//! file logs nobody in. Instants are UTC text, compared as text (one format everywhere).

use serde::{Deserialize, Serialize};
use sqlx::{SqliteConnection, SqlitePool};

use crate::error::{Result, SqlContext};
use crate::time::now_text;

/// The SHA-256 of a token, in hex: what the tables keep.
pub fn token_hash(token: &str) -> String {
    crate::sha256_hex(token.as_bytes())
}

/// A person who may use the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct WebUser {
    pub id: i64,
    pub login: String,
    /// `owner`, `office` or `technician`.
    pub role: String,
    pub technician_id: Option<String>,
    pub language: String,
    pub password_hash: Option<String>,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
}

const USER: &str = "SELECT Id, Login, Role, TechnicianId, Language, PasswordHash, FailedLogins,
    LockedUntil FROM WebUsers";

pub async fn user_by_login(pool: &SqlitePool, login: &str) -> Result<Option<WebUser>> {
    sqlx::query_as(&format!("{USER} WHERE Login = ?1"))
        .bind(login.trim())
        .fetch_optional(pool)
        .await
        .context("reading a dashboard account")
}

/// The owner's account (`login`: the owner's address), created on first use without a
/// password: the owner comes in through one-time links from `gazellectl open`.
pub async fn owner(conn: &mut SqliteConnection, login: &str, language: &str) -> Result<i64> {
    sqlx::query(
        "INSERT INTO WebUsers (Login, Role, Language, CreatedAt) VALUES (?1, 'owner', ?2, ?3)
         ON CONFLICT (Login) DO NOTHING",
    )
    .bind(login)
    .bind(language)
    .bind(now_text())
    .execute(&mut *conn)
    .await
    .context("creating the owner's dashboard account")?;
    sqlx::query_scalar("SELECT Id FROM WebUsers WHERE Login = ?1")
        .bind(login)
        .fetch_one(conn)
        .await
        .context("reading the owner's dashboard account")
}

pub async fn add_login_link(
    conn: &mut SqliteConnection,
    hash: &str,
    user_id: i64,
    expires_at: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO WebLoginLinks (TokenHash, UserId, ExpiresAt) VALUES (?1, ?2, ?3)")
        .bind(hash)
        .bind(user_id)
        .bind(expires_at)
        .execute(conn)
        .await
        .context("recording a login link")?;
    Ok(())
}

/// Uses up a login link: its user, if it exists and has not expired (it is gone either way).
pub async fn take_login_link(
    conn: &mut SqliteConnection,
    hash: &str,
    now: &str,
) -> Result<Option<i64>> {
    let user: Option<(i64, String)> = sqlx::query_as(
        "DELETE FROM WebLoginLinks WHERE TokenHash = ?1 RETURNING UserId, ExpiresAt",
    )
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await
    .context("using a login link")?;
    sqlx::query("DELETE FROM WebLoginLinks WHERE ExpiresAt <= ?1")
        .bind(now)
        .execute(conn)
        .await
        .context("dropping expired login links")?;
    Ok(user
        .filter(|(_, expires)| expires.as_str() > now)
        .map(|(id, _)| id))
}

/// An invitation to make an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct Invitation {
    pub login: String,
    pub role: String,
    pub technician_id: Option<String>,
    pub language: String,
    pub invited_by: String,
    pub expires_at: String,
}

pub async fn add_invitation(conn: &mut SqliteConnection, hash: &str, i: &Invitation) -> Result<()> {
    sqlx::query(
        "INSERT INTO WebInvitations (TokenHash, Login, Role, TechnicianId, Language, InvitedBy,
             CreatedAt, ExpiresAt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .bind(hash)
    .bind(&i.login)
    .bind(&i.role)
    .bind(&i.technician_id)
    .bind(&i.language)
    .bind(&i.invited_by)
    .bind(now_text())
    .bind(&i.expires_at)
    .execute(conn)
    .await
    .context("recording an invitation")?;
    Ok(())
}

/// An invitation still open (not used, not expired).
pub async fn open_invitation(
    pool: &SqlitePool,
    hash: &str,
    now: &str,
) -> Result<Option<Invitation>> {
    sqlx::query_as(
        "SELECT Login, Role, TechnicianId, Language, InvitedBy, ExpiresAt FROM WebInvitations
         WHERE TokenHash = ?1 AND UsedAt IS NULL AND ExpiresAt > ?2",
    )
    .bind(hash)
    .bind(now)
    .fetch_optional(pool)
    .await
    .context("reading an invitation")
}

/// Turns an open invitation into an account with this password hash; the account's id, or
/// `None` if the invitation was used or expired meanwhile, or the login already exists.
pub async fn accept_invitation(
    conn: &mut SqliteConnection,
    hash: &str,
    password_hash: &str,
    now: &str,
) -> Result<Option<i64>> {
    let used = sqlx::query(
        "UPDATE WebInvitations SET UsedAt = ?2 WHERE TokenHash = ?1 AND UsedAt IS NULL
         AND ExpiresAt > ?2",
    )
    .bind(hash)
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("using an invitation")?;
    if used.rows_affected() == 0 {
        return Ok(None);
    }
    sqlx::query_scalar(
        "INSERT INTO WebUsers (Login, Role, TechnicianId, Language, PasswordHash, CreatedAt)
         SELECT Login, Role, TechnicianId, Language, ?2, ?3 FROM WebInvitations
         WHERE TokenHash = ?1
         ON CONFLICT (Login) DO NOTHING
         RETURNING Id",
    )
    .bind(hash)
    .bind(password_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
    .context("creating an account from an invitation")
}

/// A wrong password: counted, and the account locked until `lock_until` once `limit`
/// failures follow each other. Returns whether it is now locked.
pub async fn login_failed(
    conn: &mut SqliteConnection,
    user_id: i64,
    limit: i64,
    lock_until: &str,
) -> Result<bool> {
    let locked: Option<String> = sqlx::query_scalar(
        "UPDATE WebUsers SET FailedLogins = FailedLogins + 1,
             LockedUntil = CASE WHEN FailedLogins + 1 >= ?2 THEN ?3 ELSE LockedUntil END
         WHERE Id = ?1 RETURNING LockedUntil",
    )
    .bind(user_id)
    .bind(limit)
    .bind(lock_until)
    .fetch_optional(conn)
    .await
    .context("counting a failed login")?
    .flatten();
    Ok(locked.as_deref() == Some(lock_until))
}

pub async fn login_succeeded(conn: &mut SqliteConnection, user_id: i64) -> Result<()> {
    sqlx::query("UPDATE WebUsers SET FailedLogins = 0, LockedUntil = NULL WHERE Id = ?1")
        .bind(user_id)
        .execute(conn)
        .await
        .context("recording a login")?;
    Ok(())
}

pub async fn add_session(
    conn: &mut SqliteConnection,
    hash: &str,
    user_id: i64,
    csrf: &str,
    expires_at: &str,
) -> Result<()> {
    let now = now_text();
    sqlx::query("DELETE FROM WebSessions WHERE ExpiresAt <= ?1")
        .bind(&now)
        .execute(&mut *conn)
        .await
        .context("dropping expired sessions")?;
    sqlx::query(
        "INSERT INTO WebSessions (TokenHash, UserId, CsrfToken, CreatedAt, ExpiresAt)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(hash)
    .bind(user_id)
    .bind(csrf)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await
    .context("opening a session")?;
    Ok(())
}

/// The account of a live session, and the session's CSRF token.
pub async fn session(
    pool: &SqlitePool,
    hash: &str,
    now: &str,
) -> Result<Option<(WebUser, String)>> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT UserId, CsrfToken FROM WebSessions WHERE TokenHash = ?1 AND ExpiresAt > ?2",
    )
    .bind(hash)
    .bind(now)
    .fetch_optional(pool)
    .await
    .context("reading a session")?;
    let Some((user_id, csrf)) = row else {
        return Ok(None);
    };
    let user: Option<WebUser> = sqlx::query_as(&format!("{USER} WHERE Id = ?1"))
        .bind(user_id)
        .fetch_optional(pool)
        .await
        .context("reading a session's account")?;
    Ok(user.map(|u| (u, csrf)))
}

pub async fn end_session(conn: &mut SqliteConnection, hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM WebSessions WHERE TokenHash = ?1")
        .bind(hash)
        .execute(conn)
        .await
        .context("closing a session")?;
    Ok(())
}

/// An open maintenance alert as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct AlertRow {
    pub id: i64,
    pub date_observation: String,
    pub alert_type: String,
    pub description: Option<String>,
    pub client_id: i64,
    pub client_external_id: Option<String>,
    pub company_name: String,
    pub client_tags: Option<String>,
    pub piano_make: Option<String>,
    pub piano_model: Option<String>,
    pub location: Option<String>,
    pub created_by: Option<String>,
}

/// Which open alerts to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlertScope<'a> {
    pub family: Option<&'a str>,
    /// Only those the technician raised or on a piano of one of their appointments.
    pub technician: Option<&'a str>,
    /// Only those of one client (local id).
    pub client_id: Option<i64>,
}

/// Open maintenance alerts in `scope`, newest first, at most `limit`.
pub async fn open_alerts(
    pool: &SqlitePool,
    scope: AlertScope<'_>,
    limit: u32,
) -> Result<Vec<AlertRow>> {
    sqlx::query_as(
        "SELECT m.Id, m.DateObservation, m.AlertType, m.Description, c.Id AS ClientId,
                c.ExternalId AS ClientExternalId, c.CompanyName, c.Tags AS ClientTags,
                p.Make AS PianoMake, p.Model AS PianoModel, COALESCE(m.Location, p.Location) AS Location,
                m.CreatedBy
         FROM MaintenanceAlerts m
         JOIN Clients c ON c.Id = m.ClientId
         LEFT JOIN Pianos p ON p.Id = m.PianoId
         WHERE COALESCE(m.IsResolved, 0) = 0 AND COALESCE(m.Archived, 0) = 0
           AND (?1 IS NULL OR m.AlertType = ?1)
           AND (?2 IS NULL OR m.CreatedBy = ?2 OR p.ExternalId IN (
                SELECT ap.PianoExternalId FROM AppointmentPianos ap
                JOIN Appointments a ON a.Id = ap.AppointmentId
                WHERE a.TechnicianId = ?2 AND a.DeletedAt IS NULL))
           AND (?4 IS NULL OR m.ClientId = ?4)
         ORDER BY m.DateObservation DESC, m.Id DESC
         LIMIT ?3",
    )
    .bind(scope.family)
    .bind(scope.technician)
    .bind(limit)
    .bind(scope.client_id)
    .fetch_all(pool)
    .await
    .context("reading open alerts")
}

/// Whether a technician may act on an alert (theirs, or on one of their appointments' pianos).
pub async fn alert_is_technicians(
    pool: &SqlitePool,
    alert_id: i64,
    technician: &str,
) -> Result<bool> {
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT m.Id FROM MaintenanceAlerts m LEFT JOIN Pianos p ON p.Id = m.PianoId
         WHERE m.Id = ?1 AND (m.CreatedBy = ?2 OR p.ExternalId IN (
                SELECT ap.PianoExternalId FROM AppointmentPianos ap
                JOIN Appointments a ON a.Id = ap.AppointmentId
                WHERE a.TechnicianId = ?2 AND a.DeletedAt IS NULL))",
    )
    .bind(alert_id)
    .bind(technician)
    .fetch_optional(pool)
    .await
    .context("reading an alert's technician")?;
    Ok(found.is_some())
}

/// A client found by a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct ClientHit {
    pub id: i64,
    pub company_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
}

/// Clients whose name, phone, e-mail or address (the city is in it) contains `q` (case and
/// accents ignored), or who own a piano with that exact serial number; at most `limit`, by
/// name. Three characters or more go through the trigram index (`ClientSearch`); shorter
/// ones scan (they are rare, and match too much to matter).
pub async fn search_clients(pool: &SqlitePool, q: &str, limit: u32) -> Result<Vec<ClientHit>> {
    let q = q.trim();
    let matching = if q.chars().count() >= 3 {
        // One FTS5 phrase: the text in double quotes, its own quotes doubled.
        "c.Id IN (SELECT rowid FROM ClientSearch WHERE ClientSearch MATCH ?1)"
    } else {
        "(c.CompanyName LIKE ?1 ESCAPE '\\' OR c.Phone LIKE ?1 ESCAPE '\\'
          OR c.Email LIKE ?1 ESCAPE '\\' OR c.Address LIKE ?1 ESCAPE '\\')"
    };
    let pattern = if q.chars().count() >= 3 {
        format!("\"{}\"", q.replace('"', "\"\""))
    } else {
        format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    };
    sqlx::query_as(&format!(
        "SELECT c.Id, c.CompanyName, c.Phone, c.Email, c.Address FROM Clients c
         WHERE c.DeletedAt IS NULL AND ({matching}
            OR c.Id IN (SELECT p.ClientId FROM Pianos p WHERE p.SerialNumber = ?2))
         ORDER BY c.CompanyName, c.Id LIMIT ?3"
    ))
    .bind(pattern)
    .bind(q)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("searching clients")
}

/// A client's page: the client, its pianos, its recent timeline and invoices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct ClientPage {
    pub id: i64,
    pub external_id: Option<String>,
    pub company_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub tags: Option<String>,
    pub local_notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct PianoRow {
    pub id: i64,
    pub external_id: Option<String>,
    pub make: String,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct TimelineRow {
    pub occurred_at: String,
    pub entry_type: String,
    pub title: Option<String>,
    pub details: Option<String>,
    pub piano_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct InvoiceRow {
    pub id: i64,
    pub number: String,
    pub status: String,
    pub invoice_date: String,
    pub total_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct ContactRow {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

pub async fn client_page(
    pool: &SqlitePool,
    id: i64,
) -> Result<
    Option<(
        ClientPage,
        Vec<ContactRow>,
        Vec<PianoRow>,
        Vec<TimelineRow>,
        Vec<InvoiceRow>,
    )>,
> {
    let client: Option<ClientPage> = sqlx::query_as(
        "SELECT Id, ExternalId, CompanyName, Phone, Email, Address, Tags, LocalNotes
         FROM Clients WHERE Id = ?1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .context("reading a client")?;
    let Some(client) = client else {
        return Ok(None);
    };
    let contacts = sqlx::query_as(
        "SELECT FirstName, LastName, Email, Phone FROM Contacts
         WHERE ClientId = ?1 AND DeletedAt IS NULL ORDER BY Id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .context("reading a client's contacts")?;
    let pianos = sqlx::query_as(
        "SELECT Id, ExternalId, Make, Model, SerialNumber, Location FROM Pianos
         WHERE ClientId = ?1 AND DeletedAt IS NULL ORDER BY Id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .context("reading a client's pianos")?;
    let timeline = sqlx::query_as(
        "SELECT OccurredAt, EntryType, Title, Details, PianoId FROM TimelineEntries
         WHERE ClientId = ?1 AND DeletedAt IS NULL ORDER BY OccurredAt DESC, Id DESC LIMIT 50",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .context("reading a client's timeline")?;
    let invoices = sqlx::query_as(
        "SELECT Id, Number, Status, InvoiceDate, TotalCents FROM Invoices
         WHERE ClientId = ?1 AND DeletedAt IS NULL ORDER BY InvoiceDate DESC, Id DESC LIMIT 50",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .context("reading a client's invoices")?;
    Ok(Some((client, contacts, pianos, timeline, invoices)))
}
