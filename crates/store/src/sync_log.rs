//! The sync bookkeeping: a cursor per stream and the sync-run log.
//!
//! Cursor writes take the caller's connection so that the sync engine can commit a page and
//! its cursor in one transaction: data and position never disagree after a crash.

use serde::Serialize;
use sqlx::{SqliteConnection, SqlitePool};

use crate::error::{Result, SqlContext};
use crate::time::now_text;
use crate::upsert::Counts;

/// At most this many errors are kept per run: a run that fails the same way ten thousand
/// times must not bloat the database.
pub const MAX_ERRORS_PER_RUN: usize = 50;

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    Schedule,
    Manual,
    Startup,
    CatchUp,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Startup => "startup",
            Trigger::CatchUp => "catch-up",
        }
    }
}

/// How much a run reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Full,
    Incremental,
    Reconcile,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Incremental => "incremental",
            Mode::Reconcile => "reconcile",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Succeeded,
    /// Finished, with some streams or rows failing.
    Partial,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }
}

/// Where a stream stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct StreamState {
    pub stream: String,
    pub mode: Option<String>,
    pub cursor: Option<String>,
    pub run_id: Option<i64>,
    pub window_start: Option<String>,
    pub last_success_at: Option<String>,
    pub last_failure_at: Option<String>,
    pub last_error: Option<String>,
    pub updated_at: String,
    pub high_water: Option<String>,
}

/// Per-stream counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StreamCounts {
    pub fetched: u64,
    pub deleted: u64,
    pub rows: Counts,
}

/// Where a stream's time went in a run: its wall time, the GraphQL requests it sent
/// (retries included) and the bytes of the answers it received (as decoded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StreamCost {
    pub duration_ms: u64,
    pub requests: u64,
    pub bytes_received: u64,
}

/// A stream's line of a run: its counts, and its cost (`None` for runs logged before costs
/// were measured).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RunStream {
    pub stream: String,
    pub counts: StreamCounts,
    pub cost: Option<StreamCost>,
}

/// A row of the run log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct RunSummary {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub trigger: String,
    pub mode: String,
    pub status: String,
    pub duration_ms: Option<i64>,
    pub errors: String,
    /// JSON array of the kinds of its errors (`api_client::ErrorKind` names).
    pub error_kinds: String,
}

/// Opens a run in the log and returns its id.
pub async fn begin_run(conn: &mut SqliteConnection, trigger: Trigger, mode: Mode) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO SyncRuns (StartedAt, Trigger, Mode) VALUES (?1, ?2, ?3) RETURNING Id",
    )
    .bind(now_text())
    .bind(trigger.as_str())
    .bind(mode.as_str())
    .fetch_one(conn)
    .await
    .context("opening a sync run")
}

/// Adds a page's counts to a run's stream line.
pub async fn add_stream_counts(
    conn: &mut SqliteConnection,
    run_id: i64,
    stream: &str,
    counts: StreamCounts,
) -> Result<()> {
    let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO SyncRunStreams (RunId, Stream, Fetched, Inserted, Updated, Deleted, Unchanged, Rejected, Conflicts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (RunId, Stream) DO UPDATE SET
            Fetched = Fetched + excluded.Fetched, Inserted = Inserted + excluded.Inserted,
            Updated = Updated + excluded.Updated, Deleted = Deleted + excluded.Deleted,
            Unchanged = Unchanged + excluded.Unchanged, Rejected = Rejected + excluded.Rejected,
            Conflicts = Conflicts + excluded.Conflicts",
    )
    .bind(run_id)
    .bind(stream)
    .bind(as_i64(counts.fetched))
    .bind(as_i64(counts.rows.inserted))
    .bind(as_i64(counts.rows.updated))
    .bind(as_i64(counts.deleted))
    .bind(as_i64(counts.rows.unchanged))
    .bind(as_i64(counts.rows.rejected))
    .bind(as_i64(counts.rows.conflicts))
    .execute(conn)
    .await
    .context("recording a run's counts")?;
    Ok(())
}

/// Records what a stream of a run cost (once, when the stream ends; a stream that stored
/// nothing still gets its line).
pub async fn record_stream_cost(
    conn: &mut SqliteConnection,
    run_id: i64,
    stream: &str,
    cost: StreamCost,
) -> Result<()> {
    let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO SyncRunStreams (RunId, Stream, DurationMs, Requests, BytesReceived)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (RunId, Stream) DO UPDATE SET DurationMs = excluded.DurationMs,
            Requests = excluded.Requests, BytesReceived = excluded.BytesReceived",
    )
    .bind(run_id)
    .bind(stream)
    .bind(as_i64(cost.duration_ms))
    .bind(as_i64(cost.requests))
    .bind(as_i64(cost.bytes_received))
    .execute(conn)
    .await
    .context("recording a stream's cost")?;
    Ok(())
}

/// Closes a run: status, duration (measured by the caller on a monotonic clock: the stored
/// times have whole seconds) and its errors, capped at [`MAX_ERRORS_PER_RUN`] (the last one
/// says how many more there were).
pub async fn finish_run(
    conn: &mut SqliteConnection,
    run_id: i64,
    status: RunStatus,
    duration: std::time::Duration,
    errors: &[String],
    kinds: &[&str],
) -> Result<()> {
    let mut kept: Vec<String> = errors.iter().take(MAX_ERRORS_PER_RUN).cloned().collect();
    if errors.len() > MAX_ERRORS_PER_RUN {
        kept.push(format!(
            "… and {} more errors",
            errors.len() - MAX_ERRORS_PER_RUN
        ));
    }
    let errors_json = serde_json::to_string(&kept).unwrap_or_else(|_| "[]".to_owned());
    let now = now_text();
    sqlx::query(
        "UPDATE SyncRuns SET FinishedAt = ?2, Status = ?3, Errors = ?4, DurationMs = ?5, ErrorKinds = ?6 WHERE Id = ?1",
    )
    .bind(run_id)
    .bind(&now)
    .bind(status.as_str())
    .bind(errors_json)
    .bind(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
    .bind(serde_json::to_string(kinds).unwrap_or_else(|_| "[]".to_owned()))
    .execute(conn)
    .await
    .context("closing a sync run")?;
    Ok(())
}

/// Marks the runs left `running` by a process that died as `interrupted`. The daemon calls it
/// at start-up, before any new run.
pub async fn interrupt_stale_runs(conn: &mut SqliteConnection) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE SyncRuns SET Status = 'interrupted', FinishedAt = ?1 WHERE Status = 'running'",
    )
    .bind(now_text())
    .execute(conn)
    .await
    .context("marking interrupted runs")?;
    Ok(done.rows_affected())
}

/// Saves a stream's position. Call it in the transaction that applied the page.
pub async fn save_cursor(
    conn: &mut SqliteConnection,
    stream: &str,
    mode: Mode,
    cursor: Option<&str>,
    run_id: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO SyncState (Stream, Mode, Cursor, RunId, UpdatedAt) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (Stream) DO UPDATE SET Mode = excluded.Mode, Cursor = excluded.Cursor,
            RunId = excluded.RunId, UpdatedAt = excluded.UpdatedAt",
    )
    .bind(stream)
    .bind(mode.as_str())
    .bind(cursor)
    .bind(run_id)
    .bind(now_text())
    .execute(conn)
    .await
    .context("saving a stream cursor")?;
    Ok(())
}

/// Records the end of a stream's pass: success clears the cursor (the next run starts
/// afresh); failure keeps it (the next run resumes) and records the error.
pub async fn finish_stream(
    conn: &mut SqliteConnection,
    stream: &str,
    error: Option<&str>,
) -> Result<()> {
    let now = now_text();
    let query = match error {
        None => sqlx::query(
            "INSERT INTO SyncState (Stream, Cursor, LastSuccessAt, UpdatedAt) VALUES (?1, NULL, ?2, ?2)
             ON CONFLICT (Stream) DO UPDATE SET Cursor = NULL, Mode = NULL, WindowStart = NULL,
                LastSuccessAt = ?2, UpdatedAt = ?2",
        )
        .bind(stream)
        .bind(&now),
        Some(message) => sqlx::query(
            "INSERT INTO SyncState (Stream, LastFailureAt, LastError, UpdatedAt) VALUES (?1, ?2, ?3, ?2)
             ON CONFLICT (Stream) DO UPDATE SET LastFailureAt = ?2, LastError = ?3, UpdatedAt = ?2",
        )
        .bind(stream)
        .bind(&now)
        .bind(message),
    };
    query
        .execute(conn)
        .await
        .context("recording the end of a stream")?;
    Ok(())
}

/// A stream's state, if it ever ran.
pub async fn stream_state(pool: &SqlitePool, stream: &str) -> Result<Option<StreamState>> {
    sqlx::query_as("SELECT * FROM SyncState WHERE Stream = ?1")
        .bind(stream)
        .fetch_optional(pool)
        .await
        .context("reading a stream's state")
}

/// Every stream's state, by name.
pub async fn stream_states(pool: &SqlitePool) -> Result<Vec<StreamState>> {
    sqlx::query_as("SELECT * FROM SyncState ORDER BY Stream")
        .fetch_all(pool)
        .await
        .context("reading the streams' state")
}

/// The most recent runs, newest first.
pub async fn recent_runs(pool: &SqlitePool, limit: u32) -> Result<Vec<RunSummary>> {
    sqlx::query_as(
        "SELECT Id, StartedAt, FinishedAt, Trigger, Mode, Status, DurationMs, Errors, ErrorKinds
         FROM SyncRuns ORDER BY Id DESC LIMIT ?1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("reading the run log")
}

/// A `SyncRunStreams` row as stored (the cost is NULL for runs logged before it was
/// measured).
#[derive(sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
struct StreamRow {
    stream: String,
    fetched: i64,
    inserted: i64,
    updated: i64,
    deleted: i64,
    unchanged: i64,
    rejected: i64,
    conflicts: i64,
    duration_ms: Option<i64>,
    requests: Option<i64>,
    bytes_received: Option<i64>,
}

impl From<StreamRow> for RunStream {
    fn from(r: StreamRow) -> RunStream {
        RunStream {
            stream: r.stream,
            counts: StreamCounts {
                fetched: count(r.fetched),
                deleted: count(r.deleted),
                rows: row_counts([r.inserted, r.updated, r.unchanged, r.rejected, r.conflicts]),
            },
            cost: match (r.duration_ms, r.requests, r.bytes_received) {
                (Some(duration_ms), Some(requests), Some(bytes_received)) => Some(StreamCost {
                    duration_ms: count(duration_ms),
                    requests: count(requests),
                    bytes_received: count(bytes_received),
                }),
                _ => None,
            },
        }
    }
}

/// The per-stream lines of a run, in the order the streams ran (a line is inserted with the
/// stream's first page, or at its end).
pub async fn run_streams(pool: &SqlitePool, run_id: i64) -> Result<Vec<RunStream>> {
    let rows: Vec<StreamRow> = sqlx::query_as(
        "SELECT Stream, Fetched, Inserted, Updated, Deleted, Unchanged, Rejected, Conflicts,
                DurationMs, Requests, BytesReceived
         FROM SyncRunStreams WHERE RunId = ?1 ORDER BY rowid",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await
    .context("reading a run's counts")?;
    Ok(rows.into_iter().map(RunStream::from).collect())
}

/// A stored count (never negative; a corrupt one reads 0).
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

/// Inserted, updated, unchanged, rejected, conflicts, as stored.
fn row_counts([inserted, updated, unchanged, rejected, conflicts]: [i64; 5]) -> Counts {
    Counts {
        inserted: count(inserted),
        updated: count(updated),
        unchanged: count(unchanged),
        rejected: count(rejected),
        conflicts: count(conflicts),
    }
}

/// A table's counts within a stream of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TableCounts {
    /// The table's name (`Clients`, `Contacts`, `InvoiceItems`…).
    pub table: String,
    pub counts: Counts,
}

/// Adds a page's counts for one table of a stream (with the stream's own, in the page's
/// transaction).
pub async fn add_table_counts(
    conn: &mut SqliteConnection,
    run_id: i64,
    stream: &str,
    table: &str,
    counts: Counts,
) -> Result<()> {
    let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO SyncRunTables (RunId, Stream, TableName, Inserted, Updated, Unchanged, Rejected, Conflicts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (RunId, Stream, TableName) DO UPDATE SET
            Inserted = Inserted + excluded.Inserted, Updated = Updated + excluded.Updated,
            Unchanged = Unchanged + excluded.Unchanged, Rejected = Rejected + excluded.Rejected,
            Conflicts = Conflicts + excluded.Conflicts",
    )
    .bind(run_id)
    .bind(stream)
    .bind(table)
    .bind(as_i64(counts.inserted))
    .bind(as_i64(counts.updated))
    .bind(as_i64(counts.unchanged))
    .bind(as_i64(counts.rejected))
    .bind(as_i64(counts.conflicts))
    .execute(conn)
    .await
    .context("recording a table's counts")?;
    Ok(())
}

/// The per-table counts of a run's stream, by table name.
pub async fn run_tables(pool: &SqlitePool, run_id: i64, stream: &str) -> Result<Vec<TableCounts>> {
    let rows: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT TableName, Inserted, Updated, Unchanged, Rejected, Conflicts
         FROM SyncRunTables WHERE RunId = ?1 AND Stream = ?2 ORDER BY TableName",
    )
    .bind(run_id)
    .bind(stream)
    .fetch_all(pool)
    .await
    .context("reading a run's table counts")?;
    let u = |n: i64| u64::try_from(n).unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(
            |(table, inserted, updated, unchanged, rejected, conflicts)| TableCounts {
                table,
                counts: Counts {
                    inserted: u(inserted),
                    updated: u(updated),
                    unchanged: u(unchanged),
                    rejected: u(rejected),
                    conflicts: u(conflicts),
                },
            },
        )
        .collect())
}

/// Saves a stream's high-water mark (newest upstream createdAt seen by a completed pass).
pub async fn save_high_water(
    conn: &mut SqliteConnection,
    stream: &str,
    high_water: &str,
) -> Result<()> {
    save_state_column(conn, stream, StateColumn::HighWater, high_water).await
}

/// Saves the window of an incremental pass in progress, so a resumed pass reads the same one.
pub async fn save_window(
    conn: &mut SqliteConnection,
    stream: &str,
    window_start: &str,
) -> Result<()> {
    save_state_column(conn, stream, StateColumn::WindowStart, window_start).await
}

enum StateColumn {
    HighWater,
    WindowStart,
}

async fn save_state_column(
    conn: &mut SqliteConnection,
    stream: &str,
    column: StateColumn,
    value: &str,
) -> Result<()> {
    // The column name comes from the enum, never from input.
    let column = match column {
        StateColumn::HighWater => "HighWater",
        StateColumn::WindowStart => "WindowStart",
    };
    sqlx::query(&format!(
        "INSERT INTO SyncState (Stream, {column}, UpdatedAt) VALUES (?1, ?2, ?3)
         ON CONFLICT (Stream) DO UPDATE SET {column} = excluded.{column}, UpdatedAt = excluded.UpdatedAt"
    ))
    .bind(stream)
    .bind(value)
    .bind(now_text())
    .execute(conn)
    .await
    .context("saving a stream's state")?;
    Ok(())
}
