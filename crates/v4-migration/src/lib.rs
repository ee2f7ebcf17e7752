//! The one-time migration of V4's CSV exports into the V5 database.
//!
//! * Reads every file the export may contain as a stream (`read`), in batches of
//!   [`BATCH`] rows, with its real-world spellings (`values`): memory does not grow with a
//!   file's length. A file that ends inside a quoted field (truncated) or whose bytes are not
//!   text in its encoding stops the migration before anything is written.
//! * Imports in dependency order, all in **one transaction**: a fatal error (an unreadable
//!   file, a file without its `Id` column, a database failure) leaves the database exactly as
//!   it was. `--dry-run` does everything and rolls back.
//! * Never drops a row or a value silently: a value that cannot be read (money, quantity,
//!   date, yes/no, a status outside its list) rejects its row, as does a row with more or
//!   fewer fields than the header; each rejected row is in the report with file, line,
//!   column and reason, and in the rejects file, whole. Columns with no V5 home are listed
//!   in the report (`columns`).
//! * Changes only what a file carries: a column absent from a file leaves the stored value
//!   as it is when a row is updated (a new row gets the column's default).
//! * Keyed on `ExternalId` (the V4 id), so a second run changes nothing, and records later
//!   pulled from Gazelle match the imported ones instead of duplicating them.
//! * Validates the result: foreign keys, row counts against the files, invoice totals
//!   against their items.

pub mod columns;
pub mod read;
pub mod report;
pub mod values;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sqlx::SqliteConnection;
use store::inventory::{StockRecord, upsert_stock};
use store::records::*;
use store::upsert::{Action, Upstream, Value};
use store::{Cents, Store, StoreError};

use crate::columns::FileColumns;
use crate::read::{CsvReader, RawRow};
use crate::values::{boolean, bounded, date, instant, money, normalise, one_of, present, quantity};

/// Rows read, mapped and written at a time: the most a file holds in memory.
pub const BATCH: usize = 1000;

/// The files, in the order they are imported (parents first).
pub const FILES: [&str; 11] = [
    "Users",
    "Clients",
    "Contacts",
    "Pianos",
    "Products",
    "Inventory",
    "Invoices",
    "InvoiceItems",
    "Appointments",
    "TimelineEntries",
    "MaintenanceAlerts",
];

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub reason: String,
    /// The row as read, so nothing is lost.
    #[serde(skip)]
    pub raw: Vec<String>,
}

/// What happened to one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableReport {
    pub table: String,
    pub file: Option<String>,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub read: u64,
    pub imported: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub rejections: Vec<Rejection>,
    /// The file's columns that were not imported, and why.
    pub dropped_columns: Vec<DroppedColumn>,
    /// Columns of the V5 table the file does not carry: left as they were on updated rows.
    pub absent_columns: Vec<String>,
    /// Rows stored with one value left out, and why (never a rejected row: those are in
    /// `rejections`).
    pub warnings: Vec<Rejection>,
}

/// A column of a V4 file that has no V5 home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedColumn {
    pub column: String,
    pub reason: String,
}

/// A validation check and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub check: String,
    pub ok: bool,
    pub detail: String,
}

/// The migration's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub source: PathBuf,
    pub database: PathBuf,
    pub dry_run: bool,
    pub tables: Vec<TableReport>,
    pub validation: Vec<Verdict>,
}

impl Report {
    /// Whether the run inserted or updated anything.
    pub fn changed(&self) -> bool {
        self.tables.iter().any(|t| t.imported + t.updated > 0)
    }
    pub fn rejected(&self) -> u64 {
        self.tables.iter().map(|t| t.rejected).sum()
    }
    /// Whether every validation check passed.
    pub fn valid(&self) -> bool {
        self.validation.iter().all(|v| v.ok)
    }
}

/// Why the migration stopped (and changed nothing).
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("{0}")]
    File(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0} is not a folder")]
    NotAFolder(PathBuf),
}

fn sql_error(context: &'static str) -> impl Fn(sqlx::Error) -> MigrationError {
    move |source| MigrationError::Store(StoreError::Sql { context, source })
}

/// Imports the export in `dir` into `store`, in one transaction (rolled back when `dry_run`).
pub async fn migrate(dir: &Path, store: &Store, dry_run: bool) -> Result<Report, MigrationError> {
    if !dir.is_dir() {
        return Err(MigrationError::NotAFolder(dir.to_owned()));
    }
    let mut tx = store.begin_write().await?;
    let mut tables = Vec::new();
    let mut clients = ClientIndex::default();
    for table in FILES {
        let path = dir.join(format!("{table}.csv"));
        let mut report = TableReport {
            table: table.to_owned(),
            ..TableReport::default()
        };
        if path.is_file() {
            let mut file = CsvReader::open(&path).map_err(MigrationError::File)?;
            report.file = Some(
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            report.encoding = Some(file.encoding.name().to_owned());
            report.delimiter = Some(file.delimiter.to_string());
            report.dropped_columns = FileColumns::of(table)
                .dropped_from(&file.headers)
                .into_iter()
                .map(|(column, reason)| DroppedColumn { column, reason })
                .collect();
            import(&mut tx, table, &path, &mut file, &clients, &mut report).await?;
            if table == "Clients" {
                clients = ClientIndex::load(&mut tx).await?;
            }
        }
        tables.push(report);
    }
    let validation = validate(&mut tx, &tables).await?;
    if dry_run {
        tx.rollback()
            .await
            .map_err(sql_error("rolling back a dry run"))?;
    } else {
        tx.commit()
            .await
            .map_err(sql_error("committing the migration"))?;
    }
    Ok(Report {
        source: dir.to_owned(),
        database: store.path().to_owned(),
        dry_run,
        tables,
        validation,
    })
}

/// Company names of the imported clients, for `ClientCompanyName_Reference`.
#[derive(Default)]
struct ClientIndex {
    exact: HashMap<String, Vec<String>>,
    normalised: HashMap<String, Vec<String>>,
}

impl ClientIndex {
    async fn load(conn: &mut SqliteConnection) -> Result<ClientIndex, MigrationError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT ExternalId, CompanyName FROM Clients WHERE ExternalId IS NOT NULL",
        )
        .fetch_all(conn)
        .await
        .map_err(sql_error("indexing client names"))?;
        let mut index = ClientIndex::default();
        for (id, name) in rows {
            index
                .exact
                .entry(name.trim().to_owned())
                .or_default()
                .push(id.clone());
            index
                .normalised
                .entry(normalise(&name))
                .or_default()
                .push(id);
        }
        Ok(index)
    }

    /// Exact match first, then normalised; ambiguous or unmatched is an error, never a guess.
    fn find(&self, name: &str) -> Result<String, String> {
        for (how, candidates) in [
            ("", self.exact.get(name.trim())),
            (
                " (ignoring case, accents and punctuation)",
                self.normalised.get(&normalise(name)),
            ),
        ] {
            match candidates.map(Vec::as_slice) {
                Some([one]) => return Ok(one.clone()),
                Some(many) if many.len() > 1 => {
                    return Err(format!(
                        "ambiguous company name `{name}`{how}: matches {}",
                        many.join(", ")
                    ));
                }
                _ => {}
            }
        }
        Err(format!("no client named `{name}`"))
    }
}

/// A field that could not be read: the column and why.
type Fail = (String, String);

/// Gazelle's enumerations that V4 stored as text, and V4's own invoice status `UNPAID`.
const EVENT_TYPES: &[&str] = &["APPOINTMENT", "PERSONAL", "MEMO", "SYNCED"];
const EVENT_STATUSES: &[&str] = &["ACTIVE", "CANCELED", "NO_SHOW", "COMPLETE"];
const INVOICE_STATUSES: &[&str] = &[
    "UNPAID", "DRAFT", "OPEN", "OVERDUE", "PAID", "DELETED", "CANCELED",
];
const ACCESS_LEVELS: &[&str] = &["ADMIN", "TECHNICIAN", "ASSISTANT"];

/// The header of a file, indexed by lower-case column name.
struct Columns {
    file: &'static FileColumns,
    index: HashMap<String, usize>,
    width: usize,
}

impl Columns {
    fn new(table: &str, headers: &[String]) -> Columns {
        let mut index = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            // The first of two same-named columns wins, as the reader always did.
            index.entry(h.trim().to_ascii_lowercase()).or_insert(i);
        }
        Columns {
            file: FileColumns::of(table),
            index,
            width: headers.len(),
        }
    }

    fn has(&self, column: &str) -> bool {
        self.index.contains_key(&column.to_ascii_lowercase())
    }
}

/// One row being mapped.
struct Row<'a> {
    columns: &'a Columns,
    values: &'a [String],
    clients: &'a ClientIndex,
}

impl<'a> Row<'a> {
    fn get(&self, column: &str) -> Option<&'a str> {
        debug_assert!(
            self.columns.file.carries(column),
            "{}: the mapping reads {column}, which `columns` does not list as carried",
            self.columns.file.table
        );
        self.columns
            .index
            .get(&column.to_ascii_lowercase())
            .and_then(|i| self.values.get(*i))
            .and_then(|v| present(v))
    }
    fn text(&self, column: &str) -> Option<String> {
        self.get(column).map(str::to_owned)
    }
    fn required(&self, column: &str) -> Result<&'a str, Fail> {
        self.get(column).ok_or_else(|| {
            (
                column.to_owned(),
                format!("missing required field {column}"),
            )
        })
    }
    fn parse<T>(
        &self,
        column: &str,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, Fail> {
        self.get(column)
            .map(|v| f(v).map_err(|e| (column.to_owned(), e)))
            .transpose()
    }
    fn parse_required<T>(
        &self,
        column: &str,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, Fail> {
        f(self.required(column)?).map_err(|e| (column.to_owned(), e))
    }
    fn client(&self) -> Result<String, Fail> {
        if let Some(id) = self
            .get("ClientId")
            .or_else(|| self.get("ClientId_Reference"))
        {
            return Ok(id.to_owned());
        }
        match self.get("ClientCompanyName_Reference") {
            Some(name) => self
                .clients
                .find(name)
                .map_err(|e| ("ClientCompanyName_Reference".to_owned(), e)),
            None => Err(("ClientId".into(), "missing required field ClientId".into())),
        }
    }
}

/// A mapped row waiting for its batch, with where it came from.
struct Pending<R, E> {
    line: u64,
    raw: Vec<String>,
    record: R,
    /// What the row carries beyond the upstream record (a product's SKU and cost).
    extra: E,
}

/// Reads a file's rows in batches, rejecting at once the rows that cannot be mapped at all:
/// a field count that differs from the header's, a key seen before.
struct Batches<'f> {
    file: &'f mut CsvReader,
    name: String,
    /// The key columns (`Id`, or product and technician for a stock line).
    key: &'static [&'static str],
    key_at: Vec<usize>,
    width: usize,
    seen: HashMap<Box<str>, u64>,
}

impl Batches<'_> {
    /// Up to [`BATCH`] rows; empty at the end of the file.
    fn next(&mut self, report: &mut TableReport) -> Result<Vec<RawRow>, MigrationError> {
        let mut batch = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            let Some(row) = self.file.next_row().map_err(MigrationError::File)? else {
                break;
            };
            report.read += 1;
            if row.fields.len() != self.width {
                let fail = (
                    String::new(),
                    format!(
                        "{} fields where the header has {} (a missing or extra delimiter, or a line break outside quotes)",
                        row.fields.len(),
                        self.width
                    ),
                );
                reject(report, &self.name, row.line, row.fields, fail);
                continue;
            }
            let key: Vec<&str> = self
                .key_at
                .iter()
                .filter_map(|i| row.fields.get(*i).and_then(|v| present(v)))
                .collect();
            if key.len() == self.key.len() {
                let key = key.join(" / ");
                if let Some(first) = self.seen.get(key.as_str()) {
                    let fail = (
                        self.key.join(", "),
                        format!(
                            "duplicate {} `{key}` (first on line {first})",
                            self.key.join(" and ")
                        ),
                    );
                    reject(report, &self.name, row.line, row.fields, fail);
                    continue;
                }
                self.seen.insert(key.into_boxed_str(), row.line);
            }
            batch.push(row);
        }
        Ok(batch)
    }
}

fn reject(report: &mut TableReport, file: &str, line: u64, raw: Vec<String>, fail: Fail) {
    let (column, reason) = fail;
    report.rejected += 1;
    report.rejections.push(Rejection {
        file: file.to_owned(),
        line,
        column,
        reason,
        raw,
    });
}

/// Everything a file's import needs besides its rows.
struct Context<'a> {
    columns: Columns,
    clients: &'a ClientIndex,
    name: String,
}

impl Context<'_> {
    /// Maps a batch: the rows that map wait for the database, the others are rejected.
    fn map<R, E>(
        &self,
        rows: Vec<RawRow>,
        report: &mut TableReport,
        map: impl Fn(&Row) -> Result<(R, E), Fail>,
    ) -> Vec<Pending<R, E>> {
        let mut pending = Vec::with_capacity(rows.len());
        for RawRow { line, fields } in rows {
            let row = Row {
                columns: &self.columns,
                values: &fields,
                clients: self.clients,
            };
            match map(&row) {
                Ok((record, extra)) => pending.push(Pending {
                    line,
                    raw: fields,
                    record,
                    extra,
                }),
                Err(fail) => reject(report, &self.name, line, fields, fail),
            }
        }
        pending
    }
}

fn plain<R>(map: impl Fn(&Row) -> Result<R, Fail>) -> impl Fn(&Row) -> Result<(R, ()), Fail> {
    move |row| map(row).map(|r| (r, ()))
}

async fn import(
    conn: &mut SqliteConnection,
    table: &str,
    path: &Path,
    file: &mut CsvReader,
    clients: &ClientIndex,
    report: &mut TableReport,
) -> Result<(), MigrationError> {
    let key: &'static [&'static str] = if table == "Inventory" {
        &["ProductId", "TechnicianId"]
    } else {
        &["Id"]
    };
    let columns = Columns::new(table, &file.headers);
    if let Some(missing) = key.iter().find(|k| !columns.has(k)) {
        return Err(MigrationError::File(format!(
            "{}: no `{missing}` column (columns: {})",
            path.display(),
            file.headers.join(", ")
        )));
    }
    let key_at = key
        .iter()
        .filter_map(|k| columns.index.get(&k.to_ascii_lowercase()).copied())
        .collect();
    let width = columns.width;
    let context = Context {
        columns,
        clients,
        name: report.file.clone().unwrap_or_default(),
    };
    let mut batches = Batches {
        file,
        name: context.name.clone(),
        key,
        key_at,
        width,
        seen: HashMap::new(),
    };
    let mut keep = Keep::default();
    loop {
        let rows = batches.next(report)?;
        if rows.is_empty() {
            break;
        }
        let c = &context;
        match table {
            "Users" => store_batch(conn, c, c.map(rows, report, plain(user)), report, &mut keep)
                .await
                .map(drop)?,
            "Clients" => store_batch(
                conn,
                c,
                c.map(rows, report, plain(client)),
                report,
                &mut keep,
            )
            .await
            .map(drop)?,
            "Contacts" => store_batch(
                conn,
                c,
                c.map(rows, report, plain(contact)),
                report,
                &mut keep,
            )
            .await
            .map(drop)?,
            "Pianos" => store_batch(
                conn,
                c,
                c.map(rows, report, plain(piano)),
                report,
                &mut keep,
            )
            .await
            .map(drop)?,
            "Products" => {
                let stored =
                    store_batch(conn, c, c.map(rows, report, product), report, &mut keep).await?;
                product_local_fields(conn, c, stored, report).await?;
            }
            "Inventory" => {
                for p in c.map(rows, report, plain(stock)) {
                    let outcome = upsert_stock(conn, &p.record).await?;
                    count(report, &outcome.action, p.line, p.raw, &c.name);
                }
            }
            "Invoices" => store_batch(
                conn,
                c,
                c.map(rows, report, plain(invoice)),
                report,
                &mut keep,
            )
            .await
            .map(drop)?,
            "InvoiceItems" => store_batch(
                conn,
                c,
                c.map(rows, report, plain(invoice_item)),
                report,
                &mut keep,
            )
            .await
            .map(drop)?,
            "Appointments" => store_batch(
                conn,
                c,
                c.map(rows, report, plain(appointment)),
                report,
                &mut keep,
            )
            .await
            .map(drop)?,
            "TimelineEntries" => store_batch(
                conn,
                c,
                c.map(rows, report, plain(timeline_entry)),
                report,
                &mut keep,
            )
            .await
            .map(drop)?,
            _ => store_batch(
                conn,
                c,
                c.map(rows, report, plain(maintenance_alert)),
                report,
                &mut keep,
            )
            .await
            .map(drop)?,
        }
    }
    report.absent_columns = keep.absent;
    Ok(())
}

fn user(r: &Row) -> Result<UserRecord, Fail> {
    Ok(UserRecord {
        external_id: r.required("Id")?.to_owned(),
        first_name: r.text("FirstName"),
        last_name: r.text("LastName"),
        email: r.text("Email"),
        status: r.text("Status"),
        access_level: r.parse("AccessLevel", one_of(ACCESS_LEVELS))?,
        is_schedulable: r.parse("IsSchedulable", boolean)?.unwrap_or(true),
        timezone: r.text("Timezone"),
        created_at: r.parse("CreatedAt", instant)?,
        updated_at: r.parse("UpdatedAt", instant)?,
    })
}

fn client(r: &Row) -> Result<ClientRecord, Fail> {
    let first = r.text("FirstName");
    let last = r.text("LastName");
    // V4 rule: a client without a company name is named "<FirstName> <LastName>".
    let person = [first.clone(), last.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let company = r
        .text("CompanyName")
        .or((!person.is_empty()).then_some(person));
    Ok(ClientRecord {
        external_id: r.required("Id")?.to_owned(),
        company_name: company.ok_or_else(|| {
            (
                "CompanyName".to_owned(),
                "no CompanyName and no FirstName/LastName".to_owned(),
            )
        })?,
        first_name: first,
        last_name: last,
        status: r.text("Status").unwrap_or_else(|| "ACTIVE".into()),
        tags: r.text("Tags"),
        client_type: r.text("ClientType"),
        default_contact_external_id: r.text("DefaultContactId"),
        email: r.text("Email"),
        phone: r.text("Phone"),
        address: r.text("Address"),
        created_at: r.parse("CreatedAt", instant)?,
        updated_at: r.parse("UpdatedAt", instant)?,
    })
}

fn contact(r: &Row) -> Result<ContactRecord, Fail> {
    Ok(ContactRecord {
        external_id: r.required("Id")?.to_owned(),
        client_external_id: r.client()?,
        first_name: r.text("FirstName"),
        last_name: r.text("LastName"),
        email: r.text("Email"),
        phone: r.text("Phone"),
        address: r.text("Address"),
        archived: r.parse("Archived", boolean)?.unwrap_or(false),
        updated_at: r.parse("UpdatedAt", instant)?,
    })
}

fn piano(r: &Row) -> Result<PianoRecord, Fail> {
    Ok(PianoRecord {
        external_id: r.required("Id")?.to_owned(),
        client_external_id: r.client()?,
        make: r.required("Make")?.to_owned(),
        model: r.text("Model"),
        serial_number: r.text("SerialNumber"),
        piano_type: r.text("Type"),
        year: r.parse("Year", bounded(1700, 2100))?,
        location: r.text("Location"),
        notes: r.text("Notes"),
        status: r.text("Status"),
        has_humidity_control: r.parse("HasHumidityControl", boolean)?.unwrap_or(false),
        created_at: r.parse("CreatedAt", instant)?,
        updated_at: r.parse("UpdatedAt", instant)?,
    })
}

/// A product's local-only columns (Gazelle has neither): `None` where the file has no such
/// column, so a file without them leaves them as they are.
struct ProductLocal {
    sku: Option<Option<String>>,
    unit_cost: Option<Cents>,
}

fn product(r: &Row) -> Result<(ProductRecord, ProductLocal), Fail> {
    let record = ProductRecord {
        external_id: r.required("Id")?.to_owned(),
        name: r.required("Name")?.to_owned(),
        description: r.text("Description"),
        retail_price: r.parse("RetailPrice", money)?.unwrap_or(Cents::ZERO),
        active: r.parse("Active", boolean)?.unwrap_or(true),
        product_type: r.text("Type"),
        group_name: r.text("GroupName"),
        created_at: r.parse("CreatedAt", instant)?,
        updated_at: r.parse("UpdatedAt", instant)?,
    };
    let local = ProductLocal {
        sku: r.columns.has("Sku").then(|| r.text("Sku")),
        unit_cost: match r.columns.has("UnitCost") {
            // An empty cost is no cost: the column's default, 0.
            true => Some(r.parse("UnitCost", money)?.unwrap_or(Cents::ZERO)),
            false => None,
        },
    };
    Ok((record, local))
}

fn stock(r: &Row) -> Result<StockRecord, Fail> {
    Ok(StockRecord {
        product_external_id: r.required("ProductId")?.to_owned(),
        technician_id: r.required("TechnicianId")?.to_owned(),
        quantity: r.parse("Quantity", bounded(0, 1_000_000))?,
        reorder_threshold: r.parse("ReorderThreshold", bounded(0, 1_000_000))?,
        updated_at: r.parse("UpdatedAt", instant)?,
    })
}

fn invoice(r: &Row) -> Result<InvoiceRecord, Fail> {
    let sub_total = r.parse("SubTotal", money)?.unwrap_or(Cents::ZERO);
    let total = r.parse("Total", money)?.unwrap_or(sub_total);
    Ok(InvoiceRecord {
        external_id: r.required("Id")?.to_owned(),
        client_external_id: r.client()?,
        number: r.required("Number")?.to_owned(),
        invoice_date: Some(r.parse_required("InvoiceDate", date)?),
        status: r
            .parse("Status", one_of(INVOICE_STATUSES))?
            .unwrap_or_else(|| "UNPAID".into()),
        sub_total,
        // Both bounded by `values::MAX_CENTS`: no overflow.
        tax_total: Cents(total.0 - sub_total.0),
        total,
        notes: r.text("Notes"),
        assigned_to_id: r.text("AssignedToId"),
        created_at: r.parse("CreatedAt", instant)?,
        due_on: r.parse("DueOn", date)?,
        updated_at: r.parse("UpdatedAt", instant)?,
    })
}

fn invoice_item(r: &Row) -> Result<InvoiceItemRecord, Fail> {
    let total = r.parse("Total", money)?;
    let amount = r.parse("Amount", money)?;
    let line_total = total.or(amount).unwrap_or(Cents::ZERO);
    Ok(InvoiceItemRecord {
        external_id: r.required("Id")?.to_owned(),
        invoice_external_id: r.required("InvoiceId")?.to_owned(),
        piano_external_id: r.text("PianoId"),
        description: r.required("Description")?.to_owned(),
        quantity: r
            .parse("Quantity", quantity)?
            .unwrap_or(store::Hundredths::ONE),
        unit_price: r.parse("UnitPrice", money)?,
        amount,
        // Bounded amounts: no overflow.
        tax_total: Cents(line_total.0 - amount.unwrap_or(Cents::ZERO).0).max(Cents::ZERO),
        total: line_total,
        item_type: r.text("Type"),
        taxable: r.parse("Taxable", boolean)?.unwrap_or(false),
        billable: r.parse("Billable", boolean)?.unwrap_or(true),
        sequence_number: r.parse("SequenceNumber", bounded(0, 1_000_000))?,
    })
}

fn appointment(r: &Row) -> Result<AppointmentRecord, Fail> {
    Ok(AppointmentRecord {
        external_id: r.required("Id")?.to_owned(),
        client_external_id: r.client()?,
        technician_id: r.required("TechnicianId")?.to_owned(),
        piano_external_id: r.text("PianoId"),
        description: r.text("Description"),
        status: r
            .parse("AppointmentStatus", one_of(EVENT_STATUSES))?
            .unwrap_or_else(|| "ACTIVE".into()),
        event_type: r
            .parse("EventType", one_of(EVENT_TYPES))?
            .unwrap_or_else(|| "APPOINTMENT".into()),
        start_at: Some(r.parse_required("StartAt", instant)?),
        // Minutes: up to a 31-day event.
        duration_minutes: r.parse("Duration", bounded(0, 31 * 24 * 60))?,
        is_all_day: r.parse("IsAllDay", boolean)?.unwrap_or(false),
        notes: r.text("Notes"),
        confirmed_by_client: r.parse("ConfirmedByClient", boolean)?.unwrap_or(false),
        created_at: r.parse("CreatedAt", instant)?,
        updated_at: r.parse("UpdatedAt", instant)?,
    })
}

fn timeline_entry(r: &Row) -> Result<TimelineEntryRecord, Fail> {
    Ok(TimelineEntryRecord {
        external_id: r.required("Id")?.to_owned(),
        client_external_id: r.client()?,
        piano_external_id: r.text("PianoId"),
        invoice_id: r.text("InvoiceId"),
        estimate_id: r.text("EstimateId"),
        occurred_at: Some(r.parse_required("OccurredAt", instant)?),
        entry_type: r.required("EntryType")?.to_owned(),
        title: r.text("Title"),
        details: r.text("Details"),
        user_id: r.text("UserId"),
    })
}

fn maintenance_alert(r: &Row) -> Result<MaintenanceAlertRecord, Fail> {
    Ok(MaintenanceAlertRecord {
        external_id: r.required("Id")?.to_owned(),
        client_external_id: r.client()?,
        piano_external_id: r.text("PianoId"),
        date_observation: Some(r.parse_required("DateObservation", date)?),
        location: r.text("Location"),
        alert_type: r.required("AlertType")?.to_owned(),
        description: r.text("Description"),
        is_resolved: r.parse("IsResolved", boolean)?.unwrap_or(false),
        resolved_date: r.parse("ResolvedDate", date)?,
        archived: r.parse("Archived", boolean)?.unwrap_or(false),
        notes: r.text("Notes"),
        recipient_email: r.text("RecipientEmail"),
        created_by: r.text("CreatedBy"),
        created_at: r.parse("CreatedAt", instant)?,
        updated_at: r.parse("UpdatedAt", instant)?,
    })
}

/// Which of a table's stored columns a file does not carry, worked out at its first batch.
#[derive(Default)]
struct Keep {
    mask: Option<Vec<bool>>,
    absent: Vec<String>,
}

impl Keep {
    fn mask<R: Upstream>(&mut self, columns: &Columns) -> &[bool] {
        self.mask.get_or_insert_with(|| {
            let mask: Vec<bool> = R::SPEC
                .columns
                .iter()
                .map(|c| !carried(c.name, columns))
                .collect();
            self.absent = R::SPEC
                .columns
                .iter()
                .zip(&mask)
                .filter(|(_, keep)| **keep)
                .map(|(c, _)| c.name.to_owned())
                .collect();
            mask
        })
    }
}

/// Whether a file carries the V4 column(s) a stored column is read from.
fn carried(stored: &str, columns: &Columns) -> bool {
    match stored {
        "DefaultContactExternalId" => columns.has("DefaultContactId"),
        "TaxTotalCents" => columns.has("Total"),
        // An invoice's total defaults to its sub-total, a line's to its amount.
        "Total" => ["Total", "SubTotal", "Amount"]
            .iter()
            .any(|c| columns.has(c)),
        other => columns.has(other),
    }
}

/// Upserts a mapped batch and turns outcomes into counts and rejections. Columns the file
/// does not carry keep their stored values. Returns the rows that were stored, with what
/// happened to each.
async fn store_batch<R: Upstream, E>(
    conn: &mut SqliteConnection,
    context: &Context<'_>,
    pending: Vec<Pending<R, E>>,
    report: &mut TableReport,
    keep: &mut Keep,
) -> Result<Vec<(Pending<R, E>, Action)>, MigrationError> {
    let mask = keep.mask::<R>(&context.columns).to_vec();
    let current = if mask.iter().any(|k| *k) {
        let ids: Vec<&str> = pending.iter().map(|p| p.record.external_id()).collect();
        store::upsert::current_values(conn, R::SPEC, &ids).await?
    } else {
        HashMap::new()
    };
    let records: Vec<Carried<'_, R>> = pending
        .iter()
        .map(|p| Carried {
            record: &p.record,
            stored: current
                .get(p.record.external_id())
                .map(|v| (v.as_slice(), &mask[..])),
        })
        .collect();
    let outcome = store::upsert(conn, &records).await?;
    drop(records);
    let mut stored = Vec::with_capacity(pending.len());
    for (p, o) in pending.into_iter().zip(outcome.outcomes) {
        if matches!(o.action, Action::Rejected(_)) {
            count(report, &o.action, p.line, p.raw, &context.name);
        } else {
            count(report, &o.action, p.line, Vec::new(), &context.name);
            stored.push((p, o.action));
        }
    }
    Ok(stored)
}

fn count(report: &mut TableReport, action: &Action, line: u64, raw: Vec<String>, file: &str) {
    match action {
        Action::Inserted => report.imported += 1,
        Action::Updated | Action::Conflict => report.updated += 1,
        Action::Unchanged => report.unchanged += 1,
        Action::Rejected(reason) => {
            // The store names the column in parentheses (`unknown client … (ClientId)`)
            // or after "field" (`missing required field Make`).
            let column = reason
                .split_once('(')
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(c, _)| c.to_owned())
                .or_else(|| {
                    reason
                        .strip_prefix("missing required field ")
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            reject(report, file, line, raw, (column, reason.clone()));
        }
    }
}

/// A record as a file carries it: the columns it does not carry take the stored values.
struct Carried<'a, R> {
    record: &'a R,
    /// The stored values and which of them to keep, for a row already in the database.
    stored: Option<(&'a [Value<'static>], &'a [bool])>,
}

impl<R: Upstream> Upstream for Carried<'_, R> {
    const SPEC: &'static store::upsert::TableSpec = R::SPEC;
    fn external_id(&self) -> &str {
        self.record.external_id()
    }
    fn values(&self) -> Vec<Value<'_>> {
        let values = self.record.values();
        match self.stored {
            None => values,
            Some((stored, keep)) => values
                .into_iter()
                .enumerate()
                .map(|(i, v)| match (keep.get(i), stored.get(i)) {
                    (Some(true), Some(s)) => s.clone(),
                    _ => v,
                })
                .collect(),
        }
    }
    fn parent_ids(&self) -> Vec<Option<&str>> {
        self.record.parent_ids()
    }
}

/// `Sku` and `UnitCost` are local-only columns (Gazelle has neither), so the upstream upsert
/// never writes them: V4's values are set here, for the stored rows of a batch, only where
/// the file has the column and the value differs.
async fn product_local_fields(
    conn: &mut SqliteConnection,
    context: &Context<'_>,
    stored: Vec<(Pending<ProductRecord, ProductLocal>, Action)>,
    report: &mut TableReport,
) -> Result<(), MigrationError> {
    for (p, action) in stored {
        let id = p.record.external_id();
        let mut changed = false;
        if let Some(cost) = p.extra.unit_cost {
            let done = sqlx::query(
                "UPDATE Products SET UnitCostCents = ?2, UnitCost = ?2 / 100.0
                 WHERE ExternalId = ?1 AND UnitCostCents IS NOT ?2",
            )
            .bind(id)
            .bind(cost.0)
            .execute(&mut *conn)
            .await
            .map_err(sql_error("setting a product's cost"))?;
            changed |= done.rows_affected() > 0;
        }
        if let Some(sku) = &p.extra.sku {
            let done =
                sqlx::query("UPDATE Products SET Sku = ?2 WHERE ExternalId = ?1 AND Sku IS NOT ?2")
                    .bind(id)
                    .bind(sku)
                    .execute(&mut *conn)
                    .await;
            match done {
                Ok(d) => changed |= d.rows_affected() > 0,
                // The product is stored; only its SKU is refused (another product has it):
                // it keeps the one it had, with a warning.
                Err(sqlx::Error::Database(db)) => report.warnings.push(Rejection {
                    file: context.name.clone(),
                    line: p.line,
                    column: "Sku".into(),
                    reason: format!(
                        "product stored without this SKU: refused by the database: {}",
                        db.message()
                    ),
                    raw: p.raw.clone(),
                }),
                Err(e) => return Err(sql_error("setting a product's SKU")(e)),
            }
        }
        // A row the upstream columns left unchanged did change locally.
        if changed && action == Action::Unchanged {
            report.unchanged -= 1;
            report.updated += 1;
        }
    }
    Ok(())
}

async fn validate(
    conn: &mut SqliteConnection,
    tables: &[TableReport],
) -> Result<Vec<Verdict>, MigrationError> {
    let mut verdicts = Vec::new();
    let fk: Vec<(String, Option<i64>, String)> =
        sqlx::query_as(r#"SELECT "table", rowid, parent FROM pragma_foreign_key_check"#)
            .fetch_all(&mut *conn)
            .await
            .map_err(sql_error("checking foreign keys"))?;
    verdicts.push(Verdict {
        check: "foreign keys".into(),
        ok: fk.is_empty(),
        detail: if fk.is_empty() {
            "every reference resolves".into()
        } else {
            format!(
                "{} broken references, e.g. {} row {:?} → {}",
                fk.len(),
                fk[0].0,
                fk[0].1,
                fk[0].2
            )
        },
    });
    for t in tables.iter().filter(|t| t.file.is_some()) {
        let accounted = t.imported + t.updated + t.unchanged + t.rejected;
        let in_db: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", t.table))
            .fetch_one(&mut *conn)
            .await
            .map_err(sql_error("counting rows"))?;
        let kept = t.imported + t.updated + t.unchanged;
        let ok = accounted == t.read && in_db as u64 >= kept;
        verdicts.push(Verdict {
            check: format!("row count {}", t.table),
            ok,
            detail: format!(
                "{} rows read = {} imported + {} updated + {} unchanged + {} rejected; {in_db} rows in the table",
                t.read, t.imported, t.updated, t.unchanged, t.rejected
            ),
        });
    }
    let mismatched: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT i.ExternalId, i.TotalCents, SUM(ii.TotalCents) FROM Invoices i JOIN InvoiceItems ii ON ii.InvoiceId = i.Id
         GROUP BY i.Id HAVING i.TotalCents != SUM(ii.TotalCents) ORDER BY i.ExternalId",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(sql_error("checking invoice totals"))?;
    verdicts.push(Verdict {
        check: "invoice totals".into(),
        ok: mismatched.is_empty(),
        detail: match mismatched.first() {
            None => "every invoice with items totals the sum of its items".into(),
            Some((id, total, items)) => format!(
                "{} invoices differ from their items, e.g. {id}: {} vs {}",
                mismatched.len(),
                Cents(*total),
                Cents(*items)
            ),
        },
    });
    Ok(verdicts)
}
