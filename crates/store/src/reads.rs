//! Typed reads for the daemon, the alerts and the CLI. All go through the read pool.

use serde::Serialize;
use sqlx::SqlitePool;

use crate::error::{Result, SqlContext};
use crate::money::Cents;

/// The mirrored tables, in foreign-key order.
pub const MIRRORED_TABLES: [&str; 10] = [
    "Users",
    "Clients",
    "Contacts",
    "Pianos",
    "Products",
    "Invoices",
    "InvoiceItems",
    "Appointments",
    "TimelineEntries",
    "MaintenanceAlerts",
];

/// How many rows a table holds, and how many of them are tombstones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TableCount {
    pub table: &'static str,
    pub rows: i64,
    pub deleted: i64,
}

/// Row counts of every mirrored table.
pub async fn table_counts(pool: &SqlitePool) -> Result<Vec<TableCount>> {
    let mut counts = Vec::with_capacity(MIRRORED_TABLES.len());
    for table in MIRRORED_TABLES {
        // Table names come from the constant above, never from input.
        let deleted_expr = if table == "MaintenanceAlerts" {
            "0"
        } else {
            "COUNT(DeletedAt)"
        };
        let (rows, deleted): (i64, i64) =
            sqlx::query_as(&format!("SELECT COUNT(*), {deleted_expr} FROM {table}"))
                .fetch_one(pool)
                .await
                .context("counting rows")?;
        counts.push(TableCount {
            table,
            rows,
            deleted,
        });
    }
    Ok(counts)
}

/// A client as the CLI and the alerts show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct Client {
    pub id: i64,
    pub external_id: Option<String>,
    pub company_name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: String,
    pub tags: Option<String>,
    pub client_type: Option<String>,
    pub default_contact_id: Option<i64>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub updated_at: Option<String>,
    pub deleted_at: Option<String>,
    pub local_notes: Option<String>,
    pub local_tags: Option<String>,
}

const CLIENT_COLUMNS: &str =
    "Id, ExternalId, CompanyName, FirstName, LastName, Status, Tags, ClientType,
    DefaultContactId, Email, Phone, Address, UpdatedAt, DeletedAt, LocalNotes, LocalTags";

/// A client by its upstream id.
pub async fn client_by_external_id(pool: &SqlitePool, external_id: &str) -> Result<Option<Client>> {
    sqlx::query_as(&format!(
        "SELECT {CLIENT_COLUMNS} FROM Clients WHERE ExternalId = ?1"
    ))
    .bind(external_id)
    .fetch_optional(pool)
    .await
    .context("reading a client")
}

/// A piano as the CLI and the alerts show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct Piano {
    pub id: i64,
    pub external_id: Option<String>,
    pub client_id: i64,
    pub make: String,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    #[sqlx(rename = "Type")]
    pub piano_type: Option<String>,
    pub year: Option<i64>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub has_humidity_control: bool,
    pub deleted_at: Option<String>,
}

/// The pianos of a client (by local id), tombstones included, by make and model.
pub async fn pianos_of_client(pool: &SqlitePool, client_id: i64) -> Result<Vec<Piano>> {
    sqlx::query_as(
        "SELECT Id, ExternalId, ClientId, Make, Model, SerialNumber, Type, Year, Location, Notes,
                HasHumidityControl, DeletedAt
         FROM Pianos WHERE ClientId = ?1 ORDER BY Make, Model, Id",
    )
    .bind(client_id)
    .fetch_all(pool)
    .await
    .context("reading a client's pianos")
}

/// Exact totals of an invoice: its own, and the sum of its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct InvoiceTotals {
    pub sub_total: Cents,
    pub tax_total: Cents,
    pub total: Cents,
    pub items_total: Cents,
}

/// The totals of an invoice by its upstream id, summed in integer cents.
pub async fn invoice_totals(pool: &SqlitePool, external_id: &str) -> Result<Option<InvoiceTotals>> {
    let row: Option<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT i.SubTotalCents, i.TaxTotalCents, i.TotalCents,
                (SELECT COALESCE(SUM(TotalCents), 0) FROM InvoiceItems
                 WHERE InvoiceId = i.Id AND DeletedAt IS NULL)
         FROM Invoices i WHERE i.ExternalId = ?1",
    )
    .bind(external_id)
    .fetch_optional(pool)
    .await
    .context("reading an invoice's totals")?;
    Ok(row.map(|(sub, tax, total, items)| InvoiceTotals {
        sub_total: Cents(sub),
        tax_total: Cents(tax),
        total: Cents(total),
        items_total: Cents(items),
    }))
}

/// The counts `gazellectl status` shows besides the streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Backlog {
    pub outbox_pending: i64,
    pub outbox_dead: i64,
    pub open_conflicts: i64,
    /// Unresolved, unarchived maintenance alerts.
    pub open_alerts: i64,
    /// Open unconfirmed-appointment, low-stock and sync-health alerts.
    pub open_system_alerts: i64,
    pub emails_pending: i64,
    pub emails_dead: i64,
}

pub async fn backlog(pool: &SqlitePool) -> Result<Backlog> {
    let row: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM Outbox WHERE State IN ('pending', 'in_flight')),
                (SELECT COUNT(*) FROM Outbox WHERE State = 'dead'),
                (SELECT COUNT(*) FROM Conflicts WHERE ResolvedAt IS NULL),
                (SELECT COUNT(*) FROM MaintenanceAlerts WHERE COALESCE(IsResolved, 0) = 0 AND COALESCE(Archived, 0) = 0),
                (SELECT COUNT(*) FROM SystemAlerts WHERE ClearedAt IS NULL),
                (SELECT COUNT(*) FROM EmailQueue WHERE State IN ('pending', 'sending')),
                (SELECT COUNT(*) FROM EmailQueue WHERE State = 'dead')",
    )
    .fetch_one(pool)
    .await
    .context("reading the backlog counts")?;
    let (
        outbox_pending,
        outbox_dead,
        open_conflicts,
        open_alerts,
        open_system_alerts,
        emails_pending,
        emails_dead,
    ) = row;
    Ok(Backlog {
        outbox_pending,
        outbox_dead,
        open_conflicts,
        open_alerts,
        open_system_alerts,
        emails_pending,
        emails_dead,
    })
}

/// Whether `table` holds any row that came from upstream.
pub async fn has_upstream_rows(
    pool: &SqlitePool,
    table: &crate::upsert::TableSpec,
) -> Result<bool> {
    // The table name comes from a static spec, never from input.
    sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE ExternalId IS NOT NULL)",
        table.table
    ))
    .fetch_one(pool)
    .await
    .context("checking for mirrored rows")
}

/// A mirrored row as an incremental probe compares it with Gazelle: its upstream id, the
/// instant or date that places it in a window, and its upstream `updatedAt`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Version {
    pub external_id: String,
    pub placed_at: String,
    pub updated_at: Option<String>,
}

/// Live events (appointments and other events) starting in `[from, to)`, UTC text.
pub async fn event_versions(pool: &SqlitePool, from: &str, to: &str) -> Result<Vec<Version>> {
    sqlx::query_as(
        "SELECT ExternalId AS external_id, StartAt AS placed_at, UpdatedAt AS updated_at
           FROM Appointments
          WHERE ExternalId IS NOT NULL AND DeletedAt IS NULL AND StartAt >= ?1 AND StartAt < ?2
         UNION ALL
         SELECT ExternalId, StartAt, UpdatedAt
           FROM OtherEvents
          WHERE ExternalId IS NOT NULL AND DeletedAt IS NULL AND StartAt >= ?1 AND StartAt < ?2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .context("reading the versions of mirrored events")
}

/// Live invoices dated `from` (YYYY-MM-DD) or later.
pub async fn invoice_versions(pool: &SqlitePool, from: &str) -> Result<Vec<Version>> {
    sqlx::query_as(
        "SELECT ExternalId AS external_id, InvoiceDate AS placed_at, UpdatedAt AS updated_at
           FROM Invoices
          WHERE ExternalId IS NOT NULL AND DeletedAt IS NULL AND InvoiceDate >= ?1",
    )
    .bind(from)
    .fetch_all(pool)
    .await
    .context("reading the versions of mirrored invoices")
}

/// Live timeline entries that occurred at `since` (UTC text) or later, oldest first. Entries
/// have no upstream `updatedAt`.
pub async fn timeline_versions(pool: &SqlitePool, since: &str) -> Result<Vec<Version>> {
    sqlx::query_as(
        "SELECT ExternalId AS external_id, OccurredAt AS placed_at, NULL AS updated_at
           FROM TimelineEntries
          WHERE ExternalId IS NOT NULL AND DeletedAt IS NULL AND OccurredAt >= ?1
          ORDER BY OccurredAt, ExternalId",
    )
    .bind(since)
    .fetch_all(pool)
    .await
    .context("reading the mirrored timeline entries")
}

/// `(ExternalId, OccurredAt)` of these timeline entries: where to look for each upstream.
pub async fn timeline_times(pool: &SqlitePool, ids: &[String]) -> Result<Vec<(String, String)>> {
    let mut times = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(400) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT ExternalId, OccurredAt FROM TimelineEntries WHERE ExternalId IN ({marks})"
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        times.extend(
            query
                .fetch_all(pool)
                .await
                .context("reading when timeline entries occurred")?,
        );
    }
    Ok(times)
}
