//! The durable e-mail queue (`EmailQueue`).
//!
//! States: `pending` (waiting for its `NextAttemptAt`) → `sending` (committed before the SMTP
//! transaction starts) → `sent`, or back to `pending` with a later `NextAttemptAt` after a
//! failure, or `dead` after too many. A message found `sending` at start-up was interrupted
//! mid-transaction: it goes back to `pending` and is sent again with the same `Message-ID`
//! (the only case where a recipient can see it twice, and then their mail client shows one).

use serde::Serialize;
use sqlx::{SqliteConnection, SqlitePool};

use crate::error::{Result, SqlContext};
use crate::time::now_text;

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct NewEmail {
    pub dedup_key: String,
    pub message_id: String,
    pub thread_id: Option<String>,
    pub kind: &'static str,
    pub alert_id: Option<i64>,
    pub system_alert_id: Option<i64>,
    pub recipient: String,
    pub language: &'static str,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

/// A file sent with a message (the agenda's `.ics`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub body: String,
}

/// Queues a message unless one with the same `DedupKey` was ever queued; whether it was.
pub async fn queue(conn: &mut SqliteConnection, email: &NewEmail) -> Result<bool> {
    queue_with(conn, email, &[]).await
}

/// [`queue`] with attachments, written in the same transaction as the message.
pub async fn queue_with(
    conn: &mut SqliteConnection,
    email: &NewEmail,
    attachments: &[Attachment],
) -> Result<bool> {
    let now = now_text();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO EmailQueue (DedupKey, MessageId, ThreadId, Kind, AlertId, SystemAlertId,
             Recipient, Language, Subject, BodyText, BodyHtml, NextAttemptAt, CreatedAt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
         ON CONFLICT (DedupKey) DO NOTHING
         RETURNING Id",
    )
    .bind(&email.dedup_key)
    .bind(&email.message_id)
    .bind(&email.thread_id)
    .bind(email.kind)
    .bind(email.alert_id)
    .bind(email.system_alert_id)
    .bind(&email.recipient)
    .bind(email.language)
    .bind(&email.subject)
    .bind(&email.body_text)
    .bind(&email.body_html)
    .bind(&now)
    .fetch_optional(&mut *conn)
    .await
    .context("queueing an e-mail")?;
    let Some(id) = id else {
        return Ok(false);
    };
    for (position, file) in attachments.iter().enumerate() {
        sqlx::query(
            "INSERT INTO EmailAttachments (EmailId, Position, FileName, ContentType, Body)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(id)
        .bind(position as i64)
        .bind(&file.file_name)
        .bind(&file.content_type)
        .bind(&file.body)
        .execute(&mut *conn)
        .await
        .context("queueing an e-mail's attachment")?;
    }
    Ok(true)
}

/// The attachments of a queued message, in order.
pub async fn attachments(pool: &SqlitePool, email_id: i64) -> Result<Vec<Attachment>> {
    sqlx::query_as(
        "SELECT FileName, ContentType, Body FROM EmailAttachments WHERE EmailId = ?1
         ORDER BY Position",
    )
    .bind(email_id)
    .fetch_all(pool)
    .await
    .context("reading an e-mail's attachments")
}

/// A queued message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct QueuedEmail {
    pub id: i64,
    pub dedup_key: String,
    pub message_id: String,
    pub thread_id: Option<String>,
    pub kind: String,
    pub recipient: String,
    pub language: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

const COLUMNS: &str =
    "Id, DedupKey, MessageId, ThreadId, Kind, Recipient, Language, Subject, BodyText,
    BodyHtml, State, Attempts, NextAttemptAt, LastError, CreatedAt, SentAt";

/// Pending messages whose time has come (`now`, UTC text), oldest first.
pub async fn due(pool: &SqlitePool, now: &str, limit: u32) -> Result<Vec<QueuedEmail>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM EmailQueue WHERE State = 'pending' AND NextAttemptAt <= ?1
         ORDER BY NextAttemptAt, Id LIMIT ?2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("reading due e-mails")
}

/// Every message, newest first (for tests and `gazellectl`).
pub async fn recent(pool: &SqlitePool, limit: u32) -> Result<Vec<QueuedEmail>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM EmailQueue ORDER BY Id DESC LIMIT ?1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("reading the e-mail queue")
}

/// The earliest `NextAttemptAt` of a pending message, if any.
pub async fn next_due_at(pool: &SqlitePool) -> Result<Option<String>> {
    sqlx::query_scalar("SELECT MIN(NextAttemptAt) FROM EmailQueue WHERE State = 'pending'")
        .fetch_one(pool)
        .await
        .context("reading the e-mail queue")
}

/// Claims a pending message for sending (counts the attempt); false if another took it.
pub async fn claim(conn: &mut SqliteConnection, id: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE EmailQueue SET State = 'sending', Attempts = Attempts + 1
         WHERE Id = ?1 AND State = 'pending'",
    )
    .bind(id)
    .execute(conn)
    .await
    .context("claiming an e-mail")?;
    Ok(done.rows_affected() > 0)
}

pub async fn mark_sent(conn: &mut SqliteConnection, id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE EmailQueue SET State = 'sent', SentAt = ?2, LastError = NULL WHERE Id = ?1",
    )
    .bind(id)
    .bind(now_text())
    .execute(conn)
    .await
    .context("recording a sent e-mail")?;
    Ok(())
}

/// Records a failed attempt: back to pending at `next_attempt_at`, or dead.
pub async fn mark_failed(
    conn: &mut SqliteConnection,
    id: i64,
    error: &str,
    next_attempt_at: &str,
    dead: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE EmailQueue SET State = CASE WHEN ?4 THEN 'dead' ELSE 'pending' END,
             LastError = ?2, NextAttemptAt = ?3
         WHERE Id = ?1",
    )
    .bind(id)
    .bind(error)
    .bind(next_attempt_at)
    .bind(dead)
    .execute(conn)
    .await
    .context("recording a failed e-mail")?;
    Ok(())
}

/// At start-up: puts back messages interrupted mid-send, and makes every pending message due
/// now (a restart is when a fixed mail setting or a server back up is most likely); how many
/// were interrupted.
pub async fn release_interrupted(conn: &mut SqliteConnection) -> Result<u64> {
    let done = sqlx::query("UPDATE EmailQueue SET State = 'pending' WHERE State = 'sending'")
        .execute(&mut *conn)
        .await
        .context("releasing interrupted e-mails")?;
    sqlx::query(
        "UPDATE EmailQueue SET NextAttemptAt = ?1 WHERE State = 'pending' AND NextAttemptAt > ?1",
    )
    .bind(now_text())
    .execute(conn)
    .await
    .context("releasing interrupted e-mails")?;
    Ok(done.rows_affected())
}

/// Counts by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct QueueCounts {
    pub pending: i64,
    pub sent: i64,
    pub dead: i64,
}

pub async fn counts(pool: &SqlitePool) -> Result<QueueCounts> {
    let (pending, sent, dead) = sqlx::query_as(
        "SELECT COALESCE(SUM(State IN ('pending', 'sending')), 0), COALESCE(SUM(State = 'sent'), 0),
                COALESCE(SUM(State = 'dead'), 0)
         FROM EmailQueue",
    )
    .fetch_one(pool)
    .await
    .context("counting e-mails")?;
    Ok(QueueCounts {
        pending,
        sent,
        dead,
    })
}
