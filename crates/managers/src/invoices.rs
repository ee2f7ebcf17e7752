//! Draft invoices made on the Mac: lines, automatic totals with Québec taxes, statuses.
//!
//! A draft is numbered `BROUILLON-<id>` until the push brings back Gazelle's number. Its
//! Gazelle id is chosen at creation (`createInvoice` takes one), so a creation resent after
//! a crash is the same invoice. The push sends the current lines with their taxes explicitly
//! (Gazelle applies none otherwise); an edit made before the creation went out is folded into
//! it, one made after is an `updateInvoice`.

use serde_json::json;
use store::local::{self, NewInvoice, NewLine};
use store::outbox::{self, NewEntry};
use store::{Connection, Store};

use crate::taxes::{Rates, totals};
use crate::{Result, commit, invalid};

/// Gazelle's invoice statuses (RULES.md).
pub const STATUSES: [&str; 6] = ["DRAFT", "OPEN", "OVERDUE", "PAID", "DELETED", "CANCELED"];
/// Gazelle's invoice item types.
pub const ITEM_TYPES: [&str; 6] = [
    "LABOR_FIXED_RATE",
    "LABOR_HOURLY",
    "EXPENSE",
    "MILEAGE",
    "OTHER",
    "LEGACY_GROUP",
];

/// Bounds on what a person types on a line: far beyond any piano shop's invoice, and small
/// enough that no product or sum of lines can leave `i64` cents.
pub const MAX_QUANTITY_HUNDREDTHS: i64 = 10_000 * 100;
pub const MAX_UNIT_PRICE_CENTS: i64 = 1_000_000 * 100;

/// A line as a person enters it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    pub description: String,
    pub quantity_hundredths: i64,
    pub unit_price_cents: i64,
    pub taxable: bool,
    pub item_type: String,
}

pub struct Invoices<'a> {
    store: &'a Store,
    rates: Rates,
    timezone: jiff::tz::TimeZone,
}

impl<'a> Invoices<'a> {
    pub fn new(store: &'a Store, config: &config::Config) -> Invoices<'a> {
        Invoices {
            store,
            rates: Rates::from_config(&config.business),
            timezone: config.business.timezone.time_zone(),
        }
    }

    fn check_line(line: &LineInput) -> Result<()> {
        if line.description.trim().is_empty() {
            return invalid("a line needs a description");
        }
        if line.quantity_hundredths <= 0 {
            return invalid("a line's quantity must be more than zero");
        }
        if line.quantity_hundredths > MAX_QUANTITY_HUNDREDTHS {
            return invalid(format!(
                "a line's quantity is at most {}",
                MAX_QUANTITY_HUNDREDTHS / 100
            ));
        }
        if line.unit_price_cents.unsigned_abs() > MAX_UNIT_PRICE_CENTS.unsigned_abs() {
            return invalid(format!(
                "a line's unit price is at most {} (either way)",
                crate::taxes::format_cents(MAX_UNIT_PRICE_CENTS)
            ));
        }
        if !ITEM_TYPES.contains(&line.item_type.as_str()) {
            return invalid(format!(
                "unknown line type `{}` ({})",
                line.item_type,
                ITEM_TYPES.join(", ")
            ));
        }
        Ok(())
    }

    /// Creates a draft for a client (local id or Gazelle id); its local id.
    pub async fn create(
        &self,
        client: &str,
        lines: &[LineInput],
        notes: Option<String>,
        due_on: Option<jiff::civil::Date>,
        assigned_to: Option<String>,
    ) -> Result<i64> {
        for line in lines {
            Self::check_line(line)?;
        }
        let mut tx = self.store.begin_write().await?;
        let Some((client_id, client_external, _)) =
            local::find_row(&mut tx, "Clients", client).await?
        else {
            return invalid(format!("there is no client `{client}`"));
        };
        // A client created on the Mac is pushed first: the invoice waits for it.
        let depends_on = match client_external {
            Some(_) => None,
            None => outbox::open_entry_of(&mut tx, "Clients", client_id).await?,
        };
        let today = jiff::Timestamp::now()
            .to_zoned(self.timezone.clone())
            .date();
        let id = local::insert_invoice(
            &mut tx,
            &NewInvoice {
                client_id,
                pending_external_id: crate::new_external_id("inv"),
                invoice_date: store::time::date_text(today),
                status: "DRAFT".into(),
                notes,
                due_on: due_on.map(store::time::date_text),
                assigned_to,
            },
        )
        .await?;
        for line in lines {
            self.insert_line(&mut tx, id, line).await?;
        }
        self.retotal(&mut tx, id).await?;
        let payload = self.snapshot(&mut tx, id).await?;
        outbox::enqueue(
            &mut tx,
            &NewEntry {
                operation: "create",
                entity: "Invoices",
                local_id: id,
                action: None,
                payload,
                base_updated_at: None,
                depends_on,
            },
        )
        .await?;
        commit(tx).await?;
        Ok(id)
    }

    async fn insert_line(&self, tx: &mut Connection, invoice: i64, line: &LineInput) -> Result<()> {
        let amount = crate::taxes::line_amount(line.quantity_hundredths, line.unit_price_cents);
        let taxes = self.rates.line(amount, line.taxable);
        local::insert_line(
            tx,
            invoice,
            &NewLine {
                description: line.description.trim().to_owned(),
                quantity_hundredths: line.quantity_hundredths,
                unit_price_cents: line.unit_price_cents,
                amount_cents: amount,
                tax_total_cents: taxes.total(),
                item_type: line.item_type.clone(),
                taxable: line.taxable,
            },
        )
        .await?;
        Ok(())
    }

    /// Recomputes the totals from the lines (each line's taxes recomputed, exact).
    async fn retotal(&self, tx: &mut Connection, invoice: i64) -> Result<crate::taxes::Totals> {
        let lines = local::lines(tx, invoice).await?;
        let t = totals(lines.iter().map(|l| {
            let amount = l.amount_cents.unwrap_or(0);
            (amount, self.rates.line(amount, l.taxable))
        }))
        .ok_or_else(|| {
            crate::ManagerError::Invalid(format!(
                "invoice #{invoice}: its total would be beyond what can be counted in cents"
            ))
        })?;
        local::set_invoice_totals(tx, invoice, t.sub_total, t.gst + t.qst, t.total).await?;
        Ok(t)
    }

    /// The invoice and its lines as JSON: the outbox entry's record of the edit.
    async fn snapshot(&self, tx: &mut Connection, invoice: i64) -> Result<serde_json::Value> {
        let row = local::invoice(tx, invoice).await?;
        let lines = local::lines(tx, invoice).await?;
        Ok(json!({"invoice": row, "lines": lines}))
    }

    async fn find(&self, tx: &mut Connection, invoice: &str) -> Result<local::LocalInvoice> {
        let found = match invoice.parse::<i64>() {
            Ok(id) => local::invoice(tx, id).await?,
            Err(_) => match local::find_row(tx, "Invoices", invoice).await? {
                Some((id, _, _)) => local::invoice(tx, id).await?,
                None => None,
            },
        };
        match found {
            Some(i) => Ok(i),
            None => invalid(format!("there is no invoice `{invoice}`")),
        }
    }

    /// Queues the edit: folded into the creation if it has not gone out, else an update
    /// based on the invoice's current upstream version.
    async fn queue_edit(&self, tx: &mut Connection, inv: &local::LocalInvoice) -> Result<()> {
        let snapshot = self.snapshot(tx, inv.id).await?;
        if let Some(create) = outbox::unsent_create(tx, "Invoices", inv.id).await? {
            outbox::replace_payload(tx, create, &snapshot).await?;
            return Ok(());
        }
        let depends_on = outbox::open_entry_of(tx, "Invoices", inv.id).await?;
        outbox::enqueue(
            tx,
            &NewEntry {
                operation: "update",
                entity: "Invoices",
                local_id: inv.id,
                action: None,
                payload: snapshot,
                base_updated_at: inv.updated_at.as_deref(),
                depends_on,
            },
        )
        .await?;
        Ok(())
    }

    /// Adds a line; the totals follow.
    pub async fn add_line(&self, invoice: &str, line: &LineInput) -> Result<crate::taxes::Totals> {
        Self::check_line(line)?;
        let mut tx = self.store.begin_write().await?;
        let inv = self.find(&mut tx, invoice).await?;
        if !matches!(inv.status.as_str(), "DRAFT" | "OPEN") {
            return invalid(format!(
                "invoice {} is {}: only a DRAFT or OPEN invoice takes new lines",
                inv.number, inv.status
            ));
        }
        self.insert_line(&mut tx, inv.id, line).await?;
        let t = self.retotal(&mut tx, inv.id).await?;
        self.queue_edit(&mut tx, &inv).await?;
        commit(tx).await?;
        Ok(t)
    }

    /// Sets the status (DRAFT, OPEN, OVERDUE, PAID, DELETED, CANCELED).
    pub async fn set_status(&self, invoice: &str, status: &str) -> Result<()> {
        let status = status.trim().to_ascii_uppercase();
        if !STATUSES.contains(&status.as_str()) {
            return invalid(format!(
                "unknown status `{status}` ({})",
                STATUSES.join(", ")
            ));
        }
        let mut tx = self.store.begin_write().await?;
        let inv = self.find(&mut tx, invoice).await?;
        local::set_invoice_status(&mut tx, inv.id, &status).await?;
        self.queue_edit(&mut tx, &inv).await?;
        commit(tx).await?;
        Ok(())
    }

    /// An invoice (by local id or Gazelle id) with its lines.
    pub async fn show(
        &self,
        invoice: &str,
    ) -> Result<(local::LocalInvoice, Vec<local::LocalLine>)> {
        let mut conn = self.store.read_connection().await?;
        let inv = self.find(&mut conn, invoice).await?;
        let lines = local::lines(&mut conn, inv.id).await?;
        Ok((inv, lines))
    }
}
