//! The outbox: local edits waiting to reach Gazelle, written in the same transaction as the
//! edit itself (the managers call [`enqueue`] inside their write transaction).
//!
//! Life of an entry: `pending` → `in_flight` (committed before its mutation is sent, with
//! `SentAt`) → `done` (Outcome `pushed`, with the upstream id), or back to `pending` with a
//! later `NextAttemptAt` after a transient failure, or `dead` after a refusal (the service's
//! message kept in `LastError`). A manual conflict holds its entry `pending` with
//! `HeldByConflict`; a lost last-write-wins race ends it `done`/`superseded`. Entries are
//! pushed in `Id` order, an entry waiting while an earlier entry of the same row, or the
//! entry it `DependsOn`, is not done.

use serde::Serialize;
use sqlx::{SqliteConnection, SqlitePool};

use crate::error::{Result, SqlContext, StoreError};
use crate::time::now_text;

/// A new outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry<'a> {
    pub operation: &'static str,
    /// The local table: `Invoices`, `Appointments`, `Clients`, `Pianos`.
    pub entity: &'static str,
    pub local_id: i64,
    pub action: Option<&'static str>,
    pub payload: serde_json::Value,
    pub base_updated_at: Option<&'a str>,
    pub depends_on: Option<i64>,
}

/// How long a failed entry waits before its `attempt + 1`-th try: 30 s, doubling, at most an
/// hour. (The e-mail queue uses the same.)
pub fn retry_delay(attempt: i64) -> std::time::Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    std::time::Duration::from_secs(30)
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(std::time::Duration::from_secs(3600))
}

/// The open conflict recorded (by a pull or an earlier push) against an entry.
pub async fn open_conflict_for(conn: &mut SqliteConnection, outbox_id: i64) -> Result<Option<i64>> {
    sqlx::query_scalar("SELECT MAX(Id) FROM Conflicts WHERE OutboxId = ?1 AND ResolvedAt IS NULL")
        .bind(outbox_id)
        .fetch_one(conn)
        .await
        .context("reading conflicts")
}

/// Settles every open conflict of an entry: `local` once its edit went through, `remote`
/// once a newer upstream edit superseded it. (A pull that met the protected row may have
/// recorded one too.)
pub async fn settle_conflicts_of(
    conn: &mut SqliteConnection,
    outbox_id: i64,
    resolution: &str,
) -> Result<()> {
    sqlx::query("UPDATE Conflicts SET ResolvedAt = ?2, Resolution = ?3 WHERE OutboxId = ?1 AND ResolvedAt IS NULL")
        .bind(outbox_id)
        .bind(now_text())
        .bind(resolution)
        .execute(conn)
        .await
        .context("settling conflicts")?;
    Ok(())
}

static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Writes an entry in the caller's transaction; its id.
pub async fn enqueue(conn: &mut SqliteConnection, entry: &NewEntry<'_>) -> Result<i64> {
    let now = now_text();
    // Unique without a random source: the instant to the nanosecond, the row, a counter.
    let key = format!(
        "{}:{}:{}:{}",
        entry.entity,
        entry.local_id,
        jiff::Timestamp::now().as_nanosecond(),
        SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    sqlx::query_scalar(
        "INSERT INTO Outbox (Operation, Entity, LocalId, Action, Payload, BaseUpdatedAt,
             IdempotencyKey, NextAttemptAt, State, CreatedAt, UpdatedAt, DependsOn)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?8, ?8, ?9)
         RETURNING Id",
    )
    .bind(entry.operation)
    .bind(entry.entity)
    .bind(entry.local_id)
    .bind(entry.action)
    .bind(entry.payload.to_string())
    .bind(entry.base_updated_at)
    .bind(key)
    .bind(&now)
    .bind(entry.depends_on)
    .fetch_one(conn)
    .await
    .context("queueing a local edit")
}

/// An outbox entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct Entry {
    pub id: i64,
    pub operation: String,
    pub entity: String,
    pub local_id: i64,
    pub action: Option<String>,
    pub payload: String,
    pub base_updated_at: Option<String>,
    pub idempotency_key: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub state: String,
    pub created_at: String,
    pub updated_at: String,
    pub depends_on: Option<i64>,
    pub sent_at: Option<String>,
    pub upstream_id: Option<String>,
    pub held_by_conflict: Option<i64>,
    pub outcome: Option<String>,
}

const COLUMNS: &str =
    "Id, Operation, Entity, LocalId, Action, Payload, BaseUpdatedAt, IdempotencyKey,
    Attempts, NextAttemptAt, LastError, State, CreatedAt, UpdatedAt, DependsOn, SentAt, UpstreamId,
    HeldByConflict, Outcome";

/// Entries ready to push now, in order: due, not held, nothing earlier of the same row or
/// their dependency still open. `in_flight` entries (an interrupted push) come back too.
pub async fn ready(pool: &SqlitePool, now: &str, limit: u32) -> Result<Vec<Entry>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM Outbox o
         WHERE o.State IN ('pending', 'in_flight') AND o.HeldByConflict IS NULL
           AND (o.NextAttemptAt IS NULL OR o.NextAttemptAt <= ?1)
           AND NOT EXISTS (SELECT 1 FROM Outbox e WHERE e.Entity = o.Entity AND e.LocalId = o.LocalId
                           AND e.Id < o.Id AND e.State IN ('pending', 'in_flight', 'dead'))
           AND (o.DependsOn IS NULL OR EXISTS (SELECT 1 FROM Outbox d WHERE d.Id = o.DependsOn AND d.State = 'done'))
         ORDER BY o.Id LIMIT ?2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("reading the outbox")
}

/// Entries by state (`None`: every open one: pending, in flight, dead), newest first.
pub async fn list(pool: &SqlitePool, state: Option<&str>, limit: u32) -> Result<Vec<Entry>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM Outbox
         WHERE (?1 IS NULL AND State IN ('pending', 'in_flight', 'dead')) OR State = ?1
         ORDER BY Id DESC LIMIT ?2"
    ))
    .bind(state)
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("reading the outbox")
}

pub async fn entry(pool: &SqlitePool, id: i64) -> Result<Option<Entry>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM Outbox WHERE Id = ?1"))
        .bind(id)
        .fetch_optional(pool)
        .await
        .context("reading an outbox entry")
}

/// The open `create` entry of a row, if its creation has not been sent yet (a later edit of
/// a draft is folded into it rather than queued as an update of a record that does not exist).
pub async fn unsent_create(
    conn: &mut SqliteConnection,
    entity: &str,
    local_id: i64,
) -> Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT Id FROM Outbox WHERE Entity = ?1 AND LocalId = ?2 AND Operation = 'create'
           AND State = 'pending' AND SentAt IS NULL",
    )
    .bind(entity)
    .bind(local_id)
    .fetch_optional(conn)
    .await
    .context("reading the outbox")
}

/// The id of the latest entry of a row that is not done (for `DependsOn`).
pub async fn open_entry_of(
    conn: &mut SqliteConnection,
    entity: &str,
    local_id: i64,
) -> Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT MAX(Id) FROM Outbox WHERE Entity = ?1 AND LocalId = ?2 AND State IN ('pending', 'in_flight', 'dead')",
    )
    .bind(entity)
    .bind(local_id)
    .fetch_one(conn)
    .await
    .context("reading the outbox")
}

pub async fn replace_payload(
    conn: &mut SqliteConnection,
    id: i64,
    payload: &serde_json::Value,
) -> Result<()> {
    sqlx::query("UPDATE Outbox SET Payload = ?2, UpdatedAt = ?3 WHERE Id = ?1")
        .bind(id)
        .bind(payload.to_string())
        .bind(now_text())
        .execute(conn)
        .await
        .context("updating an outbox entry")?;
    Ok(())
}

/// Marks an entry about to be sent (committed before the mutation goes out).
pub async fn mark_in_flight(conn: &mut SqliteConnection, id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE Outbox SET State = 'in_flight', Attempts = Attempts + 1,
             SentAt = COALESCE(SentAt, ?2), UpdatedAt = ?2 WHERE Id = ?1",
    )
    .bind(id)
    .bind(now_text())
    .execute(conn)
    .await
    .context("marking an outbox entry in flight")?;
    Ok(())
}

/// Ends an entry: `pushed` with the upstream id, or `superseded` / `discarded`.
pub async fn mark_done(
    conn: &mut SqliteConnection,
    id: i64,
    outcome: &str,
    upstream_id: Option<&str>,
    note: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE Outbox SET State = 'done', Outcome = ?2, UpstreamId = COALESCE(?3, UpstreamId),
             LastError = ?4, HeldByConflict = NULL, UpdatedAt = ?5 WHERE Id = ?1",
    )
    .bind(id)
    .bind(outcome)
    .bind(upstream_id)
    .bind(note)
    .bind(now_text())
    .execute(conn)
    .await
    .context("ending an outbox entry")?;
    Ok(())
}

/// A transient failure: back to pending at `next_attempt_at`.
pub async fn mark_retry(
    conn: &mut SqliteConnection,
    id: i64,
    error: &str,
    next_attempt_at: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE Outbox SET State = 'pending', LastError = ?2, NextAttemptAt = ?3, UpdatedAt = ?4 WHERE Id = ?1",
    )
    .bind(id)
    .bind(error)
    .bind(next_attempt_at)
    .bind(now_text())
    .execute(conn)
    .await
    .context("rescheduling an outbox entry")?;
    Ok(())
}

/// A refusal: the dead letter, with the service's message.
pub async fn mark_dead(conn: &mut SqliteConnection, id: i64, error: &str) -> Result<()> {
    sqlx::query("UPDATE Outbox SET State = 'dead', LastError = ?2, UpdatedAt = ?3 WHERE Id = ?1")
        .bind(id)
        .bind(error)
        .bind(now_text())
        .execute(conn)
        .await
        .context("dead-lettering an outbox entry")?;
    Ok(())
}

/// Holds an entry for a manual conflict.
pub async fn hold(conn: &mut SqliteConnection, id: i64, conflict_id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE Outbox SET State = 'pending', HeldByConflict = ?2, UpdatedAt = ?3 WHERE Id = ?1",
    )
    .bind(id)
    .bind(conflict_id)
    .bind(now_text())
    .execute(conn)
    .await
    .context("holding an outbox entry")?;
    Ok(())
}

/// An entry `in_flight` for longer than this is stuck (no push lasts that long: every request
/// has a timeout); a person may retry or discard it. Its mutation may have reached Gazelle:
/// a retry searches for it before resending (creations) or resends an idempotent update; a
/// discard leaves whatever Gazelle applied, for the next pull to bring back.
pub const STUCK_IN_FLIGHT_MINUTES: i64 = 15;

fn stuck_since() -> String {
    crate::time::utc_text(
        jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_mins(STUCK_IN_FLIGHT_MINUTES))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    )
}

impl Entry {
    /// In flight for longer than any push lasts (see [`STUCK_IN_FLIGHT_MINUTES`]).
    pub fn is_stuck(&self) -> bool {
        self.state == "in_flight" && self.updated_at < stuck_since()
    }
}

/// `gazellectl outbox retry`: a dead, held or stuck entry goes back to pending, now, with the
/// upstream version it is now based on when given. A creation already sent keeps its
/// `SentAt`, so the push looks for it upstream before creating it again.
pub async fn retry(
    conn: &mut SqliteConnection,
    id: i64,
    base_updated_at: Option<&str>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE Outbox SET State = 'pending', NextAttemptAt = NULL, HeldByConflict = NULL,
             BaseUpdatedAt = COALESCE(?2, BaseUpdatedAt), UpdatedAt = ?3
         WHERE Id = ?1 AND (State = 'dead' OR HeldByConflict IS NOT NULL
                            OR (State = 'in_flight' AND UpdatedAt < ?4))",
    )
    .bind(id)
    .bind(base_updated_at)
    .bind(now_text())
    .bind(stuck_since())
    .execute(&mut *conn)
    .await
    .context("retrying an outbox entry")?;
    if done.rows_affected() == 0 {
        exists(conn, id).await?;
        return Err(StoreError::Invalid(format!(
            "outbox entry #{id} is not dead, held or stuck in flight: nothing to retry"
        )));
    }
    Ok(())
}

/// "No such entry" rather than a misleading "not in the right state".
async fn exists(conn: &mut SqliteConnection, id: i64) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT Id FROM Outbox WHERE Id = ?1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .context("looking for an outbox entry")?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::Invalid(format!(
            "no such outbox entry #{id} (`gazellectl outbox list --all` lists them)"
        ))),
    }
}

/// `gazellectl outbox discard`: the edit will never be pushed (it stays in the history).
pub async fn discard(conn: &mut SqliteConnection, id: i64) -> Result<()> {
    let done = sqlx::query(
        "UPDATE Outbox SET State = 'done', Outcome = 'discarded', HeldByConflict = NULL, UpdatedAt = ?2
         WHERE Id = ?1 AND (State IN ('pending', 'dead') OR (State = 'in_flight' AND UpdatedAt < ?3))",
    )
    .bind(id)
    .bind(now_text())
    .bind(stuck_since())
    .execute(&mut *conn)
    .await
    .context("discarding an outbox entry")?;
    if done.rows_affected() == 0 {
        exists(conn, id).await?;
        return Err(StoreError::Invalid(format!(
            "outbox entry #{id} is not pending, dead or stuck in flight: nothing to discard (an entry in flight for less than {STUCK_IN_FLIGHT_MINUTES} minutes may be being sent)"
        )));
    }
    Ok(())
}

/// Records a divergence between a local edit and Gazelle; its id.
pub async fn record_conflict(
    conn: &mut SqliteConnection,
    entry: &Entry,
    external_id: &str,
    local: &serde_json::Value,
    remote: &serde_json::Value,
    resolution: Option<&str>,
) -> Result<i64> {
    let fields: Vec<&String> = local
        .as_object()
        .map(|l| {
            l.iter()
                .filter(|(k, v)| remote.get(k.as_str()) != Some(v))
                .map(|(k, _)| k)
                .collect()
        })
        .unwrap_or_default();
    let now = now_text();
    sqlx::query_scalar(
        "INSERT INTO Conflicts (Entity, LocalId, ExternalId, OutboxId, LocalVersion, RemoteVersion, Fields,
             DetectedAt, ResolvedAt, Resolution)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, CASE WHEN ?9 IS NULL THEN NULL ELSE ?8 END, ?9)
         RETURNING Id",
    )
    .bind(&entry.entity)
    .bind(entry.local_id)
    .bind(external_id)
    .bind(entry.id)
    .bind(local.to_string())
    .bind(remote.to_string())
    .bind(serde_json::to_string(&fields).unwrap_or_else(|_| "[]".into()))
    .bind(&now)
    .bind(resolution)
    .fetch_one(conn)
    .await
    .context("recording a conflict")
}

/// A conflict as `gazellectl conflicts` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct Conflict {
    pub id: i64,
    pub entity: String,
    pub local_id: i64,
    pub external_id: Option<String>,
    pub outbox_id: Option<i64>,
    pub local_version: String,
    pub remote_version: String,
    pub fields: String,
    pub detected_at: String,
    pub resolved_at: Option<String>,
    pub resolution: Option<String>,
}

pub async fn conflicts(pool: &SqlitePool, open_only: bool) -> Result<Vec<Conflict>> {
    sqlx::query_as(
        "SELECT Id, Entity, LocalId, ExternalId, OutboxId, LocalVersion, RemoteVersion, Fields, DetectedAt,
                ResolvedAt, Resolution
         FROM Conflicts WHERE ?1 = 0 OR ResolvedAt IS NULL ORDER BY Id DESC",
    )
    .bind(open_only)
    .fetch_all(pool)
    .await
    .context("reading conflicts")
}

pub async fn conflict(pool: &SqlitePool, id: i64) -> Result<Option<Conflict>> {
    Ok(conflicts(pool, false)
        .await?
        .into_iter()
        .find(|c| c.id == id))
}

/// Settles a conflict: `local` sends the held edit (now based on the remote version),
/// `remote` discards it (the next pull brings the remote version in).
pub async fn resolve_conflict(
    conn: &mut SqliteConnection,
    id: i64,
    keep: &str,
    remote_updated_at: Option<&str>,
) -> Result<()> {
    let row: Option<(Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT OutboxId, ResolvedAt FROM Conflicts WHERE Id = ?1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .context("reading a conflict")?;
    let Some((outbox_id, resolved)) = row else {
        return Err(StoreError::Invalid(format!("there is no conflict #{id}")));
    };
    if resolved.is_some() {
        return Err(StoreError::Invalid(format!(
            "conflict #{id} is already resolved"
        )));
    }
    let resolution = match keep {
        "local" => "local",
        "remote" => "remote",
        other => {
            return Err(StoreError::Invalid(format!(
                "--keep {other}: keep local or remote"
            )));
        }
    };
    sqlx::query("UPDATE Conflicts SET ResolvedAt = ?2, Resolution = ?3 WHERE Id = ?1")
        .bind(id)
        .bind(now_text())
        .bind(resolution)
        .execute(&mut *conn)
        .await
        .context("resolving a conflict")?;
    if let Some(outbox_id) = outbox_id {
        if resolution == "local" {
            retry(conn, outbox_id, remote_updated_at).await?;
        } else {
            sqlx::query(
                "UPDATE Outbox SET State = 'done', Outcome = 'discarded', HeldByConflict = NULL, UpdatedAt = ?2
                 WHERE Id = ?1 AND State <> 'done'",
            )
            .bind(outbox_id)
            .bind(now_text())
            .execute(&mut *conn)
            .await
            .context("discarding a conflicting edit")?;
        }
    }
    Ok(())
}
