//! Local edits: the rows the managers write (draft invoices, appointments, client and piano
//! edits, stock movements) and what the push reads back. Every write takes the caller's
//! transaction, so an edit and its outbox entry commit together.

use std::sync::LazyLock;

use serde::Serialize;
use sqlx::{SqliteConnection, SqlitePool};

use crate::error::{Result, SqlContext, StoreError};
use crate::time::now_text;

// ---------------------------------------------------------------------------------------
// Invoices
// ---------------------------------------------------------------------------------------

/// A draft invoice to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvoice {
    pub client_id: i64,
    /// The id it will have in Gazelle (createInvoice takes it), chosen now.
    pub pending_external_id: String,
    pub invoice_date: String,
    pub status: String,
    pub notes: Option<String>,
    pub due_on: Option<String>,
    pub assigned_to: Option<String>,
}

pub async fn insert_invoice(conn: &mut SqliteConnection, invoice: &NewInvoice) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        // UpdatedAt stays NULL: a draft has no upstream version yet.
        "INSERT INTO Invoices (ClientId, Number, InvoiceDate, Status, Notes, DueOn, AssignedToId,
             PendingExternalId, CreatedAt)
         VALUES (?1, 'BROUILLON', ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING Id",
    )
    .bind(invoice.client_id)
    .bind(&invoice.invoice_date)
    .bind(&invoice.status)
    .bind(&invoice.notes)
    .bind(&invoice.due_on)
    .bind(&invoice.assigned_to)
    .bind(&invoice.pending_external_id)
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await
    .context("creating an invoice")?;
    sqlx::query("UPDATE Invoices SET Number = 'BROUILLON-' || Id WHERE Id = ?1")
        .bind(id)
        .execute(conn)
        .await
        .context("numbering a draft invoice")?;
    Ok(id)
}

/// An invoice line as stored (amounts exact).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct LocalLine {
    pub id: i64,
    pub description: String,
    pub quantity_hundredths: i64,
    pub unit_price_cents: Option<i64>,
    pub amount_cents: Option<i64>,
    pub tax_total_cents: i64,
    pub total_cents: i64,
    #[sqlx(rename = "Type")]
    pub item_type: Option<String>,
    pub taxable: bool,
    pub sequence_number: Option<i64>,
    pub piano_external_id: Option<String>,
}

/// A line to add: quantity in hundredths, money in cents, taxes already computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub description: String,
    pub quantity_hundredths: i64,
    pub unit_price_cents: i64,
    pub amount_cents: i64,
    pub tax_total_cents: i64,
    pub item_type: String,
    pub taxable: bool,
}

pub async fn insert_line(
    conn: &mut SqliteConnection,
    invoice_id: i64,
    line: &NewLine,
) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO InvoiceItems (InvoiceId, Description, QuantityHundredths, Quantity, UnitPriceCents, UnitPrice,
             AmountCents, Amount, TaxTotalCents, TotalCents, Total, Type, Taxable, Billable, SequenceNumber)
         VALUES (?1, ?2, ?3, ?3 / 100.0, ?4, ?4 / 100.0, ?5, ?5 / 100.0, ?6, ?5 + ?6, (?5 + ?6) / 100.0, ?7, ?8, 1,
                 (SELECT COALESCE(MAX(SequenceNumber), -1) + 1 FROM InvoiceItems WHERE InvoiceId = ?1))
         RETURNING Id",
    )
    .bind(invoice_id)
    .bind(&line.description)
    .bind(line.quantity_hundredths)
    .bind(line.unit_price_cents)
    .bind(line.amount_cents)
    .bind(line.tax_total_cents)
    .bind(&line.item_type)
    .bind(line.taxable)
    .fetch_one(conn)
    .await
    .context("adding an invoice line")
}

pub async fn lines(conn: &mut SqliteConnection, invoice_id: i64) -> Result<Vec<LocalLine>> {
    sqlx::query_as(
        "SELECT i.Id, i.Description, i.QuantityHundredths, i.UnitPriceCents, i.AmountCents, i.TaxTotalCents,
                i.TotalCents, i.Type, i.Taxable, i.SequenceNumber, p.ExternalId AS PianoExternalId
         FROM InvoiceItems i LEFT JOIN Pianos p ON p.Id = i.PianoId
         WHERE i.InvoiceId = ?1 AND i.DeletedAt IS NULL ORDER BY i.SequenceNumber, i.Id",
    )
    .bind(invoice_id)
    .fetch_all(conn)
    .await
    .context("reading invoice lines")
}

/// Sets the totals (sums of the lines, computed by the caller in cents).
pub async fn set_invoice_totals(
    conn: &mut SqliteConnection,
    id: i64,
    sub_total: i64,
    tax_total: i64,
    total: i64,
) -> Result<()> {
    sqlx::query(
        // Not UpdatedAt: that is the upstream version the next edit is based on.
        "UPDATE Invoices SET SubTotalCents = ?2, SubTotal = ?2 / 100.0, TaxTotalCents = ?3,
             TotalCents = ?4, Total = ?4 / 100.0 WHERE Id = ?1",
    )
    .bind(id)
    .bind(sub_total)
    .bind(tax_total)
    .bind(total)
    .execute(conn)
    .await
    .context("setting invoice totals")?;
    Ok(())
}

pub async fn set_invoice_status(conn: &mut SqliteConnection, id: i64, status: &str) -> Result<()> {
    sqlx::query("UPDATE Invoices SET Status = ?2 WHERE Id = ?1")
        .bind(id)
        .bind(status)
        .execute(conn)
        .await
        .context("setting an invoice's status")?;
    Ok(())
}

/// An invoice as the managers, the push and the CLI see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct LocalInvoice {
    pub id: i64,
    pub external_id: Option<String>,
    pub pending_external_id: Option<String>,
    pub number: String,
    pub invoice_date: String,
    pub status: String,
    pub notes: Option<String>,
    pub due_on: Option<String>,
    pub assigned_to_id: Option<String>,
    pub sub_total_cents: i64,
    pub tax_total_cents: i64,
    pub total_cents: i64,
    pub updated_at: Option<String>,
    pub client_id: i64,
    pub client_external_id: Option<String>,
    pub company_name: String,
}

const INVOICE_SELECT: &str = "SELECT i.Id, i.ExternalId, i.PendingExternalId, i.Number, i.InvoiceDate, i.Status,
        i.Notes, i.DueOn, i.AssignedToId, i.SubTotalCents, i.TaxTotalCents, i.TotalCents, i.UpdatedAt,
        c.Id AS ClientId, c.ExternalId AS ClientExternalId, c.CompanyName
     FROM Invoices i JOIN Clients c ON c.Id = i.ClientId";

pub async fn invoice(conn: &mut SqliteConnection, id: i64) -> Result<Option<LocalInvoice>> {
    sqlx::query_as(&format!("{INVOICE_SELECT} WHERE i.Id = ?1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .context("reading an invoice")
}

/// Invoices, newest first; drafts not yet in Gazelle first of all.
pub async fn invoices(pool: &SqlitePool, limit: u32) -> Result<Vec<LocalInvoice>> {
    sqlx::query_as(&format!(
        "{INVOICE_SELECT} WHERE i.DeletedAt IS NULL
         ORDER BY i.ExternalId IS NOT NULL, i.InvoiceDate DESC, i.Id DESC LIMIT ?1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("listing invoices")
}

/// After a push: the invoice's Gazelle id, number and timestamp.
pub async fn invoice_pushed(
    conn: &mut SqliteConnection,
    id: i64,
    external_id: &str,
    number: Option<&str>,
    updated_at: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE Invoices SET ExternalId = ?2, Number = COALESCE(?3, Number), UpdatedAt = COALESCE(?4, UpdatedAt),
             PendingExternalId = NULL WHERE Id = ?1",
    )
    .bind(id)
    .bind(external_id)
    .bind(number)
    .bind(updated_at)
    .execute(conn)
    .await
    .context("recording a pushed invoice")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Appointments
// ---------------------------------------------------------------------------------------

/// An appointment to create (times UTC text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAppointment {
    pub client_id: i64,
    pub technician_id: String,
    pub piano_id: Option<i64>,
    pub title: String,
    pub start_at: String,
    pub duration_minutes: i64,
    pub notes: Option<String>,
}

pub async fn insert_appointment(conn: &mut SqliteConnection, a: &NewAppointment) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO Appointments (ClientId, TechnicianId, PianoId, Description, AppointmentStatus, EventType,
             StartAt, Duration, IsAllDay, Notes, ConfirmedByClient, CreatedAt)
         VALUES (?1, ?2, ?3, ?4, 'ACTIVE', 'APPOINTMENT', ?5, ?6, 0, ?7, 0, ?8) RETURNING Id",
    )
    .bind(a.client_id)
    .bind(&a.technician_id)
    .bind(a.piano_id)
    .bind(&a.title)
    .bind(&a.start_at)
    .bind(a.duration_minutes)
    .bind(&a.notes)
    .bind(now_text())
    .fetch_one(conn)
    .await
    .context("creating an appointment")
}

/// An appointment with what the push needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct LocalAppointment {
    pub id: i64,
    pub external_id: Option<String>,
    pub technician_id: String,
    pub description: Option<String>,
    pub appointment_status: String,
    pub event_type: String,
    pub start_at: String,
    pub duration: Option<i64>,
    pub is_all_day: bool,
    pub notes: Option<String>,
    pub confirmed_by_client: bool,
    pub updated_at: Option<String>,
    pub client_id: i64,
    pub client_external_id: Option<String>,
    pub company_name: String,
    /// Every piano of the appointment, in Gazelle's order (`AppointmentPianos`).
    #[sqlx(json)]
    pub pianos: Vec<crate::appointment_pianos::AppointmentPiano>,
}

static APPOINTMENT_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT a.Id, a.ExternalId, a.TechnicianId, a.Description, a.AppointmentStatus,
        a.EventType, a.StartAt, a.Duration, COALESCE(a.IsAllDay, 0) AS IsAllDay, a.Notes,
        COALESCE(a.ConfirmedByClient, 0) AS ConfirmedByClient, a.UpdatedAt,
        c.Id AS ClientId, c.ExternalId AS ClientExternalId, c.CompanyName,
        {} AS Pianos
     FROM Appointments a JOIN Clients c ON c.Id = a.ClientId",
        crate::appointment_pianos::PIANOS_JSON
    )
});

pub async fn appointment(conn: &mut SqliteConnection, id: i64) -> Result<Option<LocalAppointment>> {
    sqlx::query_as(&format!("{} WHERE a.Id = ?1", *APPOINTMENT_SELECT))
        .bind(id)
        .fetch_optional(conn)
        .await
        .context("reading an appointment")
}

/// Appointments starting in `[from, to)` (UTC text), for a technician or all, by start.
pub async fn appointments_between(
    pool: &SqlitePool,
    technician: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Vec<LocalAppointment>> {
    sqlx::query_as(&format!(
        "{} WHERE a.StartAt >= ?1 AND a.StartAt < ?2 AND a.DeletedAt IS NULL
           AND (?3 IS NULL OR a.TechnicianId = ?3) ORDER BY a.StartAt, a.Id",
        *APPOINTMENT_SELECT
    ))
    .bind(from)
    .bind(to)
    .bind(technician)
    .fetch_all(pool)
    .await
    .context("reading the calendar")
}

/// What changes in an appointment (None: unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppointmentChange {
    pub start_at: Option<String>,
    pub duration_minutes: Option<i64>,
    pub technician_id: Option<String>,
    pub status: Option<String>,
    pub confirmed: Option<bool>,
}

pub async fn change_appointment(
    conn: &mut SqliteConnection,
    id: i64,
    c: &AppointmentChange,
) -> Result<()> {
    sqlx::query(
        "UPDATE Appointments SET StartAt = COALESCE(?2, StartAt), Duration = COALESCE(?3, Duration),
             TechnicianId = COALESCE(?4, TechnicianId), AppointmentStatus = COALESCE(?5, AppointmentStatus),
             ConfirmedByClient = COALESCE(?6, ConfirmedByClient)
         WHERE Id = ?1",
    )
    .bind(id)
    .bind(&c.start_at)
    .bind(c.duration_minutes)
    .bind(&c.technician_id)
    .bind(&c.status)
    .bind(c.confirmed)
    .execute(conn)
    .await
    .context("changing an appointment")?;
    Ok(())
}

/// After a push: the event's Gazelle id and timestamp.
pub async fn appointment_pushed(
    conn: &mut SqliteConnection,
    id: i64,
    external_id: &str,
    updated_at: Option<&str>,
) -> Result<()> {
    // A pull that ran between the creation and this write-back (an interrupted push, then
    // a scheduled run: pull first) stored the same Gazelle event as a row of its own. The two
    // rows are one record: the pull's copy goes, the local row (which the outbox, alerts and
    // the shop know by its id) takes the Gazelle id. Nothing references an appointment row.
    let duplicate = sqlx::query("DELETE FROM Appointments WHERE ExternalId = ?2 AND Id <> ?1")
        .bind(id)
        .bind(external_id)
        .execute(&mut *conn)
        .await
        .context("merging the pulled copy of a pushed appointment")?;
    if duplicate.rows_affected() > 0 {
        tracing::info!(
            appointment = id,
            event = external_id,
            "a pull had already mirrored this creation: the two rows merged"
        );
    }
    sqlx::query("UPDATE Appointments SET ExternalId = ?2, UpdatedAt = COALESCE(?3, UpdatedAt), DeletedAt = NULL WHERE Id = ?1")
        .bind(id)
        .bind(external_id)
        .bind(updated_at)
        .execute(conn)
        .await
        .context("recording a pushed appointment")?;
    Ok(())
}

/// Something in a technician's day: an appointment or a personal block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct Busy {
    pub kind: String,
    pub title: Option<String>,
    pub start_at: String,
    pub duration: Option<i64>,
    pub local_id: i64,
    /// An appointment's pianos (none for a personal block).
    #[sqlx(json)]
    pub pianos: Vec<crate::appointment_pianos::AppointmentPiano>,
}

/// The technician's events that may overlap `[from, to)`: anything starting before `to`
/// within the previous day (long personal blocks), cancelled ones excluded.
pub async fn technician_events(
    pool: &SqlitePool,
    technician: &str,
    earliest_start: &str,
    to: &str,
) -> Result<Vec<Busy>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT EventType AS Kind, Description AS Title, StartAt, Duration, Id AS LocalId,
                {} AS Pianos
         FROM Appointments a
         WHERE TechnicianId = ?1 AND StartAt >= ?2 AND StartAt < ?3 AND DeletedAt IS NULL
           AND AppointmentStatus NOT IN ('CANCELED', 'CANCELLED')
         UNION ALL
         SELECT EventType, Title, StartAt, Duration, -Id, '[]' FROM OtherEvents
         WHERE TechnicianId = ?1 AND StartAt >= ?2 AND StartAt < ?3 AND DeletedAt IS NULL
           AND Status NOT IN ('CANCELED', 'CANCELLED')
         ORDER BY StartAt",
            crate::appointment_pianos::PIANOS_JSON
        )
    });
    sqlx::query_as(SQL.as_str())
        .bind(technician)
        .bind(earliest_start)
        .bind(to)
        .fetch_all(pool)
        .await
        .context("reading a technician's calendar")
}

// ---------------------------------------------------------------------------------------
// Clients and pianos
// ---------------------------------------------------------------------------------------

/// The tables the managers edit and the push writes back; the only names that reach the
/// SQL text of [`find_row`] and [`set_updated_at`].
fn editable(table: &str) -> Result<&'static str> {
    const TABLES: [&str; 5] = ["Clients", "Contacts", "Pianos", "Appointments", "Invoices"];
    TABLES
        .into_iter()
        .find(|t| *t == table)
        .ok_or_else(|| StoreError::Invalid(format!("not an editable table: {table}")))
}

/// The local id, upstream id and `UpdatedAt` of a row of `table` (Clients, Pianos), by local
/// id or by upstream id.
pub async fn find_row(
    conn: &mut SqliteConnection,
    table: &'static str,
    key: &str,
) -> Result<Option<(i64, Option<String>, Option<String>)>> {
    let table = editable(table)?;
    let local: Option<i64> = key.parse().ok();
    sqlx::query_as(&format!(
        "SELECT Id, ExternalId, UpdatedAt FROM {table} WHERE (Id = ?1 OR ExternalId = ?2) AND DeletedAt IS NULL"
    ))
    .bind(local)
    .bind(key)
    .fetch_optional(conn)
    .await
    .context("finding a row")
}

/// A client created on the Mac, with its contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct NewClient {
    pub company_name: String,
    pub status: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Inserts a client (no upstream id yet) and, when it has a name or a detail, its default
/// contact; the client's local id.
pub async fn insert_client(conn: &mut SqliteConnection, c: &NewClient) -> Result<i64> {
    let now = now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO Clients (CompanyName, FirstName, LastName, Status, Email, Phone, CreatedAt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING Id",
    )
    .bind(&c.company_name)
    .bind(&c.first_name)
    .bind(&c.last_name)
    .bind(&c.status)
    .bind(&c.email)
    .bind(&c.phone)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await
    .context("creating a client")?;
    if c.first_name.is_some() || c.last_name.is_some() || c.email.is_some() || c.phone.is_some() {
        let contact: i64 = sqlx::query_scalar(
            "INSERT INTO Contacts (ClientId, FirstName, LastName, Email, Phone) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING Id",
        )
        .bind(id)
        .bind(&c.first_name)
        .bind(&c.last_name)
        .bind(&c.email)
        .bind(&c.phone)
        .fetch_one(&mut *conn)
        .await
        .context("creating a contact")?;
        sqlx::query("UPDATE Clients SET DefaultContactId = ?2 WHERE Id = ?1")
            .bind(id)
            .bind(contact)
            .execute(conn)
            .await
            .context("linking a contact")?;
    }
    Ok(id)
}

/// After a push: the client's (and its contact's) Gazelle ids and timestamp.
pub async fn client_pushed(
    conn: &mut SqliteConnection,
    id: i64,
    external_id: &str,
    contact_external_id: Option<&str>,
    updated_at: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE Clients SET ExternalId = ?2, DefaultContactExternalId = ?3, UpdatedAt = COALESCE(?4, UpdatedAt) WHERE Id = ?1",
    )
    .bind(id)
    .bind(external_id)
    .bind(contact_external_id)
    .bind(updated_at)
    .execute(&mut *conn)
    .await
    .context("recording a pushed client")?;
    if let Some(contact) = contact_external_id {
        sqlx::query(
            "UPDATE Contacts SET ExternalId = ?2 WHERE Id = (SELECT DefaultContactId FROM Clients WHERE Id = ?1)",
        )
        .bind(id)
        .bind(contact)
        .execute(conn)
        .await
        .context("recording a pushed contact")?;
    }
    Ok(())
}

/// Client fields a technician may change on the Mac (None: unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ClientChange {
    pub company_name: Option<String>,
    pub status: Option<String>,
    pub tags: Option<String>,
}

pub async fn change_client(conn: &mut SqliteConnection, id: i64, c: &ClientChange) -> Result<()> {
    sqlx::query(
        "UPDATE Clients SET CompanyName = COALESCE(?2, CompanyName), Status = COALESCE(?3, Status),
             Tags = COALESCE(?4, Tags) WHERE Id = ?1",
    )
    .bind(id)
    .bind(&c.company_name)
    .bind(&c.status)
    .bind(&c.tags)
    .execute(conn)
    .await
    .context("changing a client")?;
    Ok(())
}

/// A client's contact details (its default contact; None: unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ContactChange {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// The default contact of a client: (local id, upstream id, UpdatedAt).
pub async fn default_contact(
    conn: &mut SqliteConnection,
    client_id: i64,
) -> Result<Option<(i64, Option<String>, Option<String>)>> {
    sqlx::query_as(
        "SELECT k.Id, k.ExternalId, k.UpdatedAt FROM Clients c JOIN Contacts k ON k.Id = c.DefaultContactId
         WHERE c.Id = ?1 AND k.DeletedAt IS NULL",
    )
    .bind(client_id)
    .fetch_optional(conn)
    .await
    .context("finding a client's contact")
}

/// Changes a contact, and the client's copy of its default contact's details.
pub async fn change_contact(
    conn: &mut SqliteConnection,
    contact_id: i64,
    c: &ContactChange,
) -> Result<()> {
    sqlx::query(
        "UPDATE Contacts SET FirstName = COALESCE(?2, FirstName), LastName = COALESCE(?3, LastName),
             Email = COALESCE(?4, Email), Phone = COALESCE(?5, Phone) WHERE Id = ?1",
    )
    .bind(contact_id)
    .bind(&c.first_name)
    .bind(&c.last_name)
    .bind(&c.email)
    .bind(&c.phone)
    .execute(&mut *conn)
    .await
    .context("changing a contact")?;
    sqlx::query(
        "UPDATE Clients SET FirstName = COALESCE(?2, FirstName), LastName = COALESCE(?3, LastName),
             Email = COALESCE(?4, Email), Phone = COALESCE(?5, Phone) WHERE DefaultContactId = ?1",
    )
    .bind(contact_id)
    .bind(&c.first_name)
    .bind(&c.last_name)
    .bind(&c.email)
    .bind(&c.phone)
    .execute(conn)
    .await
    .context("changing a client's contact details")?;
    Ok(())
}

/// Piano fields a technician may change on the Mac (None: unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PianoChange {
    pub location: Option<String>,
    pub notes: Option<String>,
    pub status: Option<String>,
}

pub async fn change_piano(conn: &mut SqliteConnection, id: i64, c: &PianoChange) -> Result<()> {
    sqlx::query(
        "UPDATE Pianos SET Location = COALESCE(?2, Location), Notes = COALESCE(?3, Notes),
             Status = COALESCE(?4, Status) WHERE Id = ?1",
    )
    .bind(id)
    .bind(&c.location)
    .bind(&c.notes)
    .bind(&c.status)
    .execute(conn)
    .await
    .context("changing a piano")?;
    Ok(())
}

/// After a push of an update: the row's new upstream `UpdatedAt`.
pub async fn set_updated_at(
    conn: &mut SqliteConnection,
    table: &'static str,
    id: i64,
    updated_at: &str,
) -> Result<()> {
    let table = editable(table)?;
    sqlx::query(&format!("UPDATE {table} SET UpdatedAt = ?2 WHERE Id = ?1"))
        .bind(id)
        .bind(updated_at)
        .execute(conn)
        .await
        .context("recording a pushed edit")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Inventory
// ---------------------------------------------------------------------------------------

/// A stock movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement<'a> {
    pub product_id: i64,
    pub technician_id: &'a str,
    /// `add`, `remove`, `transfer_in`, `transfer_out`, `correction`, `consumption`.
    pub kind: &'static str,
    /// The change (add/remove/transfer/consumption), or the new quantity (correction).
    pub quantity: i64,
    pub reason: Option<&'a str>,
    pub author: &'a str,
    pub transfer_id: Option<&'a str>,
    /// The invoice a `consumption` comes from (counted once per invoice).
    pub invoice_external_id: Option<&'a str>,
    pub default_threshold: i64,
}

/// Applies a movement and logs it with its before and after; (before, after). A movement that
/// would take the stock below zero is refused, naming the product and the technician.
pub async fn move_stock(conn: &mut SqliteConnection, m: &Movement<'_>) -> Result<(i64, i64)> {
    let before: Option<i64> = sqlx::query_scalar(
        "SELECT Quantity FROM Inventory WHERE ProductId = ?1 AND TechnicianId = ?2",
    )
    .bind(m.product_id)
    .bind(m.technician_id)
    .fetch_optional(&mut *conn)
    .await
    .context("reading stock")?
    .flatten();
    let current = before.unwrap_or(0);
    let after = match m.kind {
        "add" | "transfer_in" => current + m.quantity,
        "remove" | "transfer_out" => current - m.quantity,
        // Work was done and invoiced: record it even if the truck's count was short.
        "consumption" => (current - m.quantity).max(0),
        "correction" => m.quantity,
        other => {
            return Err(StoreError::Invalid(format!(
                "unknown stock movement `{other}`"
            )));
        }
    };
    if after < 0 {
        return Err(StoreError::Invalid(format!(
            "{} of product #{} by {}: only {current} in stock",
            m.kind, m.product_id, m.technician_id
        )));
    }
    let now = now_text();
    sqlx::query(
        "INSERT INTO Inventory (ProductId, TechnicianId, Quantity, ReorderThreshold, UpdatedAt)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (ProductId, TechnicianId) DO UPDATE SET Quantity = ?3, UpdatedAt = ?5",
    )
    .bind(m.product_id)
    .bind(m.technician_id)
    .bind(after)
    .bind(m.default_threshold)
    .bind(&now)
    .execute(&mut *conn)
    .await
    .context("writing stock")?;
    sqlx::query(
        "INSERT INTO InventoryTransactions (ProductId, TechnicianId, Kind, QuantityBefore, QuantityAfter,
             Reason, Author, TransferId, InvoiceExternalId, OccurredAt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10, ?9)",
    )
    .bind(m.product_id)
    .bind(m.technician_id)
    .bind(m.kind)
    .bind(current)
    .bind(after)
    .bind(m.reason)
    .bind(m.author)
    .bind(m.transfer_id)
    .bind(&now)
    .bind(m.invoice_external_id)
    .execute(conn)
    .await
    .context("logging a stock movement")?;
    Ok((current, after))
}

/// A product by local id, upstream id or exact name.
pub async fn find_product(conn: &mut SqliteConnection, key: &str) -> Result<Option<(i64, String)>> {
    let local: Option<i64> = key.parse().ok();
    sqlx::query_as(
        "SELECT Id, Name FROM Products WHERE (Id = ?1 OR ExternalId = ?2 OR Name = ?2 OR Sku = ?2)
           AND DeletedAt IS NULL ORDER BY Id LIMIT 1",
    )
    .bind(local)
    .bind(key)
    .fetch_optional(conn)
    .await
    .context("finding a product")
}

/// A stock line as the CLI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct StockLine {
    pub product_id: i64,
    pub product_name: String,
    pub technician_id: String,
    pub quantity: i64,
    pub reorder_threshold: i64,
}

pub async fn stock(pool: &SqlitePool, technician: Option<&str>) -> Result<Vec<StockLine>> {
    sqlx::query_as(
        "SELECT p.Id AS ProductId, p.Name AS ProductName, i.TechnicianId, COALESCE(i.Quantity, 0) AS Quantity,
                COALESCE(i.ReorderThreshold, 0) AS ReorderThreshold
         FROM Inventory i JOIN Products p ON p.Id = i.ProductId
         WHERE ?1 IS NULL OR i.TechnicianId = ?1 ORDER BY i.TechnicianId, p.Name",
    )
    .bind(technician)
    .fetch_all(pool)
    .await
    .context("reading stock")
}

/// After pushing an invoice's lines: each local line gets the Gazelle id of the line with
/// its sequence number; a line that had a Gazelle id that is no longer there is tombstoned.
/// A line added after the push read the invoice (never sent, no id) is left alone: the
/// update queued with it sends it.
pub async fn invoice_lines_pushed(
    conn: &mut SqliteConnection,
    invoice_id: i64,
    lines: &[(i64, String)],
) -> Result<()> {
    let sent: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT Id, ExternalId FROM InvoiceItems WHERE InvoiceId = ?1 AND SequenceNumber IS NOT NULL")
            .bind(invoice_id)
            .fetch_all(&mut *conn)
            .await
            .context("re-keying invoice lines")?;
    let had_id: Vec<i64> = sent
        .iter()
        .filter(|(_, e)| e.is_some())
        .map(|(id, _)| *id)
        .collect();
    // Free the ids first: a replaced line's new id may be an old line's (UNIQUE).
    sqlx::query("UPDATE InvoiceItems SET ExternalId = NULL WHERE InvoiceId = ?1")
        .bind(invoice_id)
        .execute(&mut *conn)
        .await
        .context("re-keying invoice lines")?;
    let mut keyed = Vec::new();
    for (sequence, external_id) in lines {
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE InvoiceItems SET ExternalId = ?3, DeletedAt = NULL
             WHERE InvoiceId = ?1 AND SequenceNumber = ?2 RETURNING Id",
        )
        .bind(invoice_id)
        .bind(sequence)
        .bind(external_id)
        .fetch_optional(&mut *conn)
        .await
        .context("re-keying invoice lines")?;
        keyed.extend(id);
    }
    for gone in had_id.into_iter().filter(|id| !keyed.contains(id)) {
        sqlx::query("UPDATE InvoiceItems SET DeletedAt = ?2 WHERE Id = ?1 AND DeletedAt IS NULL")
            .bind(gone)
            .bind(now_text())
            .execute(&mut *conn)
            .await
            .context("re-keying invoice lines")?;
    }
    Ok(())
}

/// An invoice line that may consume stock: pulled, dated on or after `since`, with a
/// technician, not a draft and not cancelled or deleted.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
#[sqlx(rename_all = "PascalCase")]
pub struct InvoicedLine {
    pub invoice_external_id: String,
    pub technician_id: String,
    pub description: String,
}

pub async fn invoiced_lines(pool: &SqlitePool, since: &str) -> Result<Vec<InvoicedLine>> {
    sqlx::query_as(
        "SELECT i.ExternalId AS InvoiceExternalId, i.AssignedToId AS TechnicianId, l.Description
         FROM Invoices i JOIN InvoiceItems l ON l.InvoiceId = i.Id
         WHERE i.ExternalId IS NOT NULL AND i.AssignedToId IS NOT NULL AND i.DeletedAt IS NULL
           AND l.DeletedAt IS NULL AND i.InvoiceDate >= ?1
           AND i.Status NOT IN ('DRAFT', 'CANCELED', 'DELETED')
         ORDER BY i.InvoiceDate, i.Id, l.SequenceNumber",
    )
    .bind(since)
    .fetch_all(pool)
    .await
    .context("reading invoiced lines")
}

/// Whether an invoice already consumed a product from a technician's stock.
pub async fn consumed(
    conn: &mut SqliteConnection,
    invoice_external_id: &str,
    product_id: i64,
    technician: &str,
) -> Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM InventoryTransactions WHERE Kind = 'consumption'
             AND InvoiceExternalId = ?1 AND ProductId = ?2 AND TechnicianId = ?3)",
    )
    .bind(invoice_external_id)
    .bind(product_id)
    .bind(technician)
    .fetch_one(conn)
    .await
    .context("reading stock movements")
}

/// The upstream id of the client a contact belongs to (a contact has no read of its own in
/// a lookup: it comes with its client).
pub async fn contact_client_external_id(
    conn: &mut SqliteConnection,
    contact: i64,
) -> Result<Option<String>> {
    let found: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT cl.ExternalId FROM Contacts c JOIN Clients cl ON cl.Id = c.ClientId WHERE c.Id = ?1",
    )
    .bind(contact)
    .fetch_optional(conn)
    .await
    .context("finding a contact's client")?;
    Ok(found.and_then(|(id,)| id))
}

/// Whether `external_id` is a mirrored Gazelle user; `None` before the first pull of users
/// (nothing to check against yet).
pub async fn user_known(pool: &sqlx::SqlitePool, external_id: &str) -> Result<Option<bool>> {
    let (users, matching): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(ExternalId = ?1), 0) FROM Users WHERE DeletedAt IS NULL",
    )
    .bind(external_id)
    .fetch_one(pool)
    .await
    .context("looking for a user")?;
    Ok((users > 0).then_some(matching > 0))
}
