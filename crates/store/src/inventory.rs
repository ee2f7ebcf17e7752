//! Technicians' stock. Local data (Gazelle has none), keyed by (product, technician) rather
//! than by an upstream id; the product is found by its catalogue `ExternalId`.

use sqlx::SqliteConnection;

use crate::error::{Result, SqlContext};
use crate::records::PRODUCTS;
use crate::time::{now_text, utc_text};
use crate::upsert::{Action, RowOutcome, local_id};
use jiff::Timestamp;

/// A stock line as a V4 export carries it. `None` is a value the export does not carry: a new
/// line gets the column's default (0, 0, the import's time), an existing line keeps its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockRecord {
    pub product_external_id: String,
    pub technician_id: String,
    pub quantity: Option<i64>,
    pub reorder_threshold: Option<i64>,
    pub updated_at: Option<Timestamp>,
}

/// Sets a stock line, inserting it if new. Movements with a reason and an author are the
/// inventory manager's job; this is the bulk path of the migration.
pub async fn upsert_stock(conn: &mut SqliteConnection, record: &StockRecord) -> Result<RowOutcome> {
    let key = format!("{}/{}", record.product_external_id, record.technician_id);
    let reject = |reason: String| RowOutcome {
        external_id: key.clone(),
        id: None,
        action: Action::Rejected(reason),
        warnings: Vec::new(),
    };
    if record.technician_id.trim().is_empty() {
        return Ok(reject("missing required field TechnicianId".into()));
    }
    if record.quantity.is_some_and(|q| q < 0) || record.reorder_threshold.is_some_and(|t| t < 0) {
        return Ok(reject(
            "Quantity and ReorderThreshold cannot be negative".into(),
        ));
    }
    let Some(product_id) = local_id(conn, &PRODUCTS, &record.product_external_id).await? else {
        return Ok(reject(format!(
            "unknown product `{}` (ProductId): the parent is not in the database",
            record.product_external_id
        )));
    };
    let updated_at = record.updated_at.map(utc_text);
    let existing: Option<(i64, i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT Id, Quantity, ReorderThreshold, UpdatedAt FROM Inventory WHERE ProductId = ?1 AND TechnicianId = ?2",
    )
    .bind(product_id)
    .bind(&record.technician_id)
    .fetch_optional(&mut *conn)
    .await
    .context("reading a stock line")?;
    let (id, action) = match existing {
        Some((id, q, t, at))
            if record.quantity.is_none_or(|x| x == q)
                && record.reorder_threshold.is_none_or(|x| x == t)
                && (updated_at.is_none() || updated_at == at) =>
        {
            (id, Action::Unchanged)
        }
        Some((id, q, t, _)) => {
            // The time of the change the export records, else now: the line changes today.
            let when = updated_at.clone().unwrap_or_else(now_text);
            sqlx::query("UPDATE Inventory SET Quantity = ?2, ReorderThreshold = ?3, UpdatedAt = ?4 WHERE Id = ?1")
                .bind(id)
                .bind(record.quantity.unwrap_or(q))
                .bind(record.reorder_threshold.unwrap_or(t))
                .bind(when)
                .execute(&mut *conn)
                .await
                .context("updating a stock line")?;
            (id, Action::Updated)
        }
        None => {
            let id = sqlx::query_scalar(
                "INSERT INTO Inventory (ProductId, TechnicianId, Quantity, ReorderThreshold, UpdatedAt)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING Id",
            )
            .bind(product_id)
            .bind(&record.technician_id)
            .bind(record.quantity.unwrap_or(0))
            .bind(record.reorder_threshold.unwrap_or(0))
            .bind(updated_at.unwrap_or_else(now_text))
            .fetch_one(&mut *conn)
            .await
            .context("inserting a stock line")?;
            (id, Action::Inserted)
        }
    };
    Ok(RowOutcome {
        external_id: key,
        id: Some(id),
        action,
        warnings: Vec::new(),
    })
}
