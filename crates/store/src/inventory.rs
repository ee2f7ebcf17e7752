//! Technicians' stock. Local data (Gazelle has none), keyed by (product, technician) rather
//! than by an upstream id; the product is found by its catalogue `ExternalId`.

use sqlx::SqliteConnection;

use crate::error::{Result, SqlContext};
use crate::records::PRODUCTS;
use crate::time::now_text;
use crate::upsert::{Action, RowOutcome, local_id};

/// A stock line as a V4 export carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockRecord {
    pub product_external_id: String,
    pub technician_id: String,
    pub quantity: i64,
    pub reorder_threshold: i64,
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
    if record.quantity < 0 || record.reorder_threshold < 0 {
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
    let existing: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT Id, Quantity, ReorderThreshold FROM Inventory WHERE ProductId = ?1 AND TechnicianId = ?2",
    )
    .bind(product_id)
    .bind(&record.technician_id)
    .fetch_optional(&mut *conn)
    .await
    .context("reading a stock line")?;
    let (id, action) = match existing {
        Some((id, q, t)) if q == record.quantity && t == record.reorder_threshold => {
            (id, Action::Unchanged)
        }
        Some((id, _, _)) => {
            sqlx::query("UPDATE Inventory SET Quantity = ?2, ReorderThreshold = ?3, UpdatedAt = ?4 WHERE Id = ?1")
                .bind(id)
                .bind(record.quantity)
                .bind(record.reorder_threshold)
                .bind(now_text())
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
            .bind(record.quantity)
            .bind(record.reorder_threshold)
            .bind(now_text())
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
