//! Deletion detection by complete scans.
//!
//! Gazelle has no tombstones: a deleted record simply vanishes. A complete scan of a stream
//! records every id it sees (with each page, so a resumed scan remembers what it saw before
//! a crash); at its end, the rows of the mirrored tables that were not seen were deleted
//! upstream and get a `DeletedAt`. Rows without an `ExternalId` (local drafts) are never
//! swept. More deletions than the configured threshold are held for a later run to confirm.

use sqlx::SqliteConnection;

use crate::error::{Result, SqlContext};
use crate::time::now_text;
use crate::upsert::TableSpec;

/// Remembers ids seen by the complete scan of `stream` in progress (a few multi-row
/// statements per page, not one per id).
pub async fn record_seen<'a>(
    conn: &mut SqliteConnection,
    stream: &str,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let ids: Vec<&str> = ids.into_iter().collect();
    for chunk in ids.chunks(400) {
        let rows = (0..chunk.len())
            .map(|i| format!("(?1, ?{})", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT OR IGNORE INTO ReconcileSeen (Stream, ExternalId) VALUES {rows}");
        let mut query = sqlx::query(&sql).bind(stream);
        for id in chunk {
            query = query.bind(*id);
        }
        query
            .execute(&mut *conn)
            .await
            .context("recording seen ids")?;
    }
    Ok(())
}

/// Forgets the ids of `stream`'s previous scan (at the start of a new one).
pub async fn clear_seen(conn: &mut SqliteConnection, stream: &str) -> Result<()> {
    sqlx::query("DELETE FROM ReconcileSeen WHERE Stream = ?1")
        .bind(stream)
        .execute(conn)
        .await
        .context("clearing seen ids")?;
    Ok(())
}

/// The live rows of `table` that the scan of `stream` did not see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unseen {
    pub ids: Vec<String>,
}

impl Unseen {
    /// A digest of the ids: a later run confirms a held change by finding the same set.
    pub fn fingerprint(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for id in &self.ids {
            for byte in id.bytes().chain([0]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        format!("{hash:016x}:{}", self.ids.len())
    }
}

fn unseen_condition(table: &str) -> String {
    // `table` comes from a static TableSpec, never from input.
    format!(
        "FROM {table} WHERE ExternalId IS NOT NULL AND DeletedAt IS NULL
           AND NOT EXISTS (SELECT 1 FROM ReconcileSeen s WHERE s.Stream = ?1 AND s.ExternalId = {table}.ExternalId)"
    )
}

/// The rows of `tables` not seen by the scan recorded under `seen_as`.
pub async fn unseen(
    conn: &mut SqliteConnection,
    seen_as: &str,
    table: &TableSpec,
) -> Result<Unseen> {
    let ids: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT ExternalId {} ORDER BY ExternalId",
        unseen_condition(table.table)
    ))
    .bind(seen_as)
    .fetch_all(conn)
    .await
    .context("finding rows deleted upstream")?;
    Ok(Unseen { ids })
}

/// Tombstones the rows of `table` not seen by the scan recorded under `seen_as`.
pub async fn tombstone_unseen(
    conn: &mut SqliteConnection,
    seen_as: &str,
    table: &TableSpec,
) -> Result<u64> {
    let done = sqlx::query(&format!(
        "UPDATE {} SET DeletedAt = ?2 WHERE Id IN (SELECT Id {})",
        table.table,
        unseen_condition(table.table)
    ))
    .bind(seen_as)
    .bind(now_text())
    .execute(conn)
    .await
    .context("tombstoning rows deleted upstream")?;
    Ok(done.rows_affected())
}

/// What to do with a large set of deletions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MassChange {
    /// Under the threshold, or confirmed by an earlier run: apply.
    Apply,
    /// Held for a later run to confirm; nothing is deleted now.
    Held { count: usize },
}

/// Decides whether `count` deletions of `stream` (digest `fingerprint`) may be applied: under
/// `threshold` they may; above it, only if an earlier run held the very same set. A different
/// set replaces the held one.
pub async fn hold_or_apply(
    conn: &mut SqliteConnection,
    stream: &str,
    unseen: &Unseen,
    threshold: usize,
    run_id: i64,
) -> Result<MassChange> {
    let count = unseen.ids.len();
    if count <= threshold {
        return Ok(MassChange::Apply);
    }
    let fingerprint = unseen.fingerprint();
    let held: Option<(i64, String)> = sqlx::query_as(
        "SELECT Id, Fingerprint FROM HeldChanges WHERE Stream = ?1 AND Kind = 'deletions' AND ResolvedAt IS NULL
         ORDER BY Id DESC LIMIT 1",
    )
    .bind(stream)
    .fetch_optional(&mut *conn)
    .await
    .context("reading held changes")?;
    match held {
        Some((id, held_fp)) if held_fp == fingerprint => {
            sqlx::query(
                "UPDATE HeldChanges SET ResolvedAt = ?2, Resolution = 'applied' WHERE Id = ?1",
            )
            .bind(id)
            .bind(now_text())
            .execute(&mut *conn)
            .await
            .context("confirming held changes")?;
            Ok(MassChange::Apply)
        }
        other => {
            if let Some((id, _)) = other {
                sqlx::query("UPDATE HeldChanges SET ResolvedAt = ?2, Resolution = 'discarded' WHERE Id = ?1")
                    .bind(id)
                    .bind(now_text())
                    .execute(&mut *conn)
                    .await
                    .context("replacing held changes")?;
            }
            let sample: Vec<&String> = unseen.ids.iter().take(10).collect();
            sqlx::query(
                "INSERT INTO HeldChanges (Stream, Kind, Count, Fingerprint, Sample, DetectedAt, RunId)
                 VALUES (?1, 'deletions', ?2, ?3, ?4, ?5, ?6)",
            )
            .bind(stream)
            .bind(i64::try_from(count).unwrap_or(i64::MAX))
            .bind(&fingerprint)
            .bind(serde_json::to_string(&sample).unwrap_or_else(|_| "[]".into()))
            .bind(now_text())
            .bind(run_id)
            .execute(&mut *conn)
            .await
            .context("holding a mass change")?;
            Ok(MassChange::Held { count })
        }
    }
}

/// Tombstones the live rows of `table` with these upstream ids: records an incremental pass
/// found missing from its window and a lookup by id confirmed gone.
pub async fn tombstone_ids(
    conn: &mut SqliteConnection,
    table: &TableSpec,
    ids: &[String],
) -> Result<u64> {
    let mut done = 0;
    let now = now_text();
    for chunk in ids.chunks(400) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "UPDATE {} SET DeletedAt = ? WHERE DeletedAt IS NULL AND ExternalId IN ({marks})",
            table.table
        );
        let mut query = sqlx::query(&sql).bind(&now);
        for id in chunk {
            query = query.bind(id);
        }
        done += query
            .execute(&mut *conn)
            .await
            .context("tombstoning records confirmed deleted upstream")?
            .rows_affected();
    }
    Ok(done)
}
