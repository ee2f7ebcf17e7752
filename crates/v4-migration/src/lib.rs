//! The one-time migration of V4's CSV exports into the V5 database.
//!
//! * Reads every file the export may contain (`read`), with its real-world spellings
//!   (`values`).
//! * Imports in dependency order, all in **one transaction**: a fatal error (an unreadable
//!   file, a file without its `Id` column, a database failure) leaves the database exactly as
//!   it was. `--dry-run` does everything and rolls back.
//! * Never drops a row silently: each rejected row is in the report with file, line, column
//!   and reason, and in the rejects file, whole.
//! * Keyed on `ExternalId` (the V4 id), so a second run changes nothing, and records later
//!   pulled from Gazelle match the imported ones instead of duplicating them.
//! * Validates the result: foreign keys, row counts against the files, invoice totals
//!   against their items.

pub mod read;
pub mod report;
pub mod values;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sqlx::SqliteConnection;
use store::inventory::{StockRecord, upsert_stock};
use store::records::*;
use store::upsert::{Action, Upstream};
use store::{Cents, Store, StoreError};

use crate::read::CsvFile;
use crate::values::{boolean, date, instant, integer, money, normalise, present, quantity};

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
            let file = read::read(&path).map_err(MigrationError::File)?;
            report.file = Some(
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            report.encoding = Some(file.encoding.to_owned());
            report.delimiter = Some(file.delimiter.to_string());
            report.read = file.rows.len() as u64;
            import(&mut tx, table, &path, &file, &clients, &mut report).await?;
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

struct Row<'a> {
    file: &'a CsvFile,
    values: &'a [String],
}

impl<'a> Row<'a> {
    fn get(&self, column: &str) -> Option<&'a str> {
        self.file
            .column(column)
            .and_then(|i| self.values.get(i))
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
    fn client(&self, clients: &ClientIndex) -> Result<String, Fail> {
        if let Some(id) = self
            .get("ClientId")
            .or_else(|| self.get("ClientId_Reference"))
        {
            return Ok(id.to_owned());
        }
        match self.get("ClientCompanyName_Reference") {
            Some(name) => clients
                .find(name)
                .map_err(|e| ("ClientCompanyName_Reference".to_owned(), e)),
            None => Err(("ClientId".into(), "missing required field ClientId".into())),
        }
    }
}

/// A mapped row waiting for its batch, with where it came from.
struct Pending<R> {
    line: u64,
    raw: Vec<String>,
    record: R,
}

async fn import(
    conn: &mut SqliteConnection,
    table: &str,
    path: &Path,
    file: &CsvFile,
    clients: &ClientIndex,
    report: &mut TableReport,
) -> Result<(), MigrationError> {
    let name = report.file.clone().unwrap_or_default();
    let key = if table == "Inventory" {
        "ProductId"
    } else {
        "Id"
    };
    if file.column(key).is_none() {
        return Err(MigrationError::File(format!(
            "{}: no `{key}` column (columns: {})",
            path.display(),
            file.headers.join(", ")
        )));
    }
    let mut first_line_of: HashMap<String, u64> = HashMap::new();
    let reject = |report: &mut TableReport, line: u64, raw: &[String], (column, reason): Fail| {
        report.rejected += 1;
        report.rejections.push(Rejection {
            file: name.clone(),
            line,
            column,
            reason,
            raw: raw.to_vec(),
        });
    };
    macro_rules! rows_of {
        ($map:expr) => {{
            let mut pending = Vec::new();
            for (line, values) in &file.rows {
                let row = Row { file, values };
                if let Some(id) = row.get("Id") {
                    if let Some(first) = first_line_of.get(id) {
                        reject(
                            report,
                            *line,
                            values,
                            (
                                "Id".into(),
                                format!("duplicate Id `{id}` (first on line {first})"),
                            ),
                        );
                        continue;
                    }
                    first_line_of.insert(id.to_owned(), *line);
                }
                match $map(&row) {
                    Ok(record) => pending.push(Pending {
                        line: *line,
                        raw: values.clone(),
                        record,
                    }),
                    Err(fail) => reject(report, *line, values, fail),
                }
            }
            store_all(conn, pending, report, &name).await?
        }};
    }
    match table {
        "Users" => rows_of!(|r: &Row| -> Result<UserRecord, Fail> {
            Ok(UserRecord {
                external_id: r.required("Id")?.to_owned(),
                first_name: r.text("FirstName"),
                last_name: r.text("LastName"),
                email: r.text("Email"),
                status: r.text("Status"),
                access_level: r.text("AccessLevel"),
                is_schedulable: r.parse("IsSchedulable", boolean)?.unwrap_or(true),
                timezone: r.text("Timezone"),
                created_at: r.parse("CreatedAt", instant)?,
                updated_at: r.parse("UpdatedAt", instant)?,
            })
        }),
        "Clients" => rows_of!(|r: &Row| -> Result<ClientRecord, Fail> {
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
        }),
        "Contacts" => rows_of!(|r: &Row| -> Result<ContactRecord, Fail> {
            Ok(ContactRecord {
                external_id: r.required("Id")?.to_owned(),
                client_external_id: r.client(clients)?,
                first_name: r.text("FirstName"),
                last_name: r.text("LastName"),
                email: r.text("Email"),
                phone: r.text("Phone"),
                address: None,
                archived: false,
                updated_at: r.parse("UpdatedAt", instant)?,
            })
        }),
        "Pianos" => rows_of!(|r: &Row| -> Result<PianoRecord, Fail> {
            Ok(PianoRecord {
                external_id: r.required("Id")?.to_owned(),
                client_external_id: r.client(clients)?,
                make: r.required("Make")?.to_owned(),
                model: r.text("Model"),
                serial_number: r.text("SerialNumber"),
                piano_type: r.text("Type"),
                year: r.parse("Year", integer)?,
                location: r.text("Location"),
                notes: r.text("Notes"),
                status: r.text("Status"),
                has_humidity_control: r.parse("HasHumidityControl", boolean)?.unwrap_or(false),
                created_at: r.parse("CreatedAt", instant)?,
                updated_at: r.parse("UpdatedAt", instant)?,
            })
        }),
        "Products" => {
            rows_of!(|r: &Row| -> Result<ProductRecord, Fail> {
                Ok(ProductRecord {
                    external_id: r.required("Id")?.to_owned(),
                    name: r.required("Name")?.to_owned(),
                    description: r.text("Description"),
                    retail_price: r.parse("RetailPrice", money)?.unwrap_or(Cents::ZERO),
                    active: r.parse("Active", boolean)?.unwrap_or(true),
                    product_type: r.text("Type"),
                    group_name: r.text("GroupName"),
                    created_at: r.parse("CreatedAt", instant)?,
                    updated_at: r.parse("UpdatedAt", instant)?,
                })
            });
            product_local_fields(conn, file, report, &name).await?;
        }
        "Inventory" => {
            for (line, values) in &file.rows {
                let row = Row { file, values };
                let parsed = (|| -> Result<StockRecord, Fail> {
                    Ok(StockRecord {
                        product_external_id: row.required("ProductId")?.to_owned(),
                        technician_id: row.required("TechnicianId")?.to_owned(),
                        quantity: row.parse("Quantity", integer)?.unwrap_or(0),
                        reorder_threshold: row.parse("ReorderThreshold", integer)?.unwrap_or(0),
                    })
                })();
                match parsed {
                    Ok(stock) => {
                        let outcome = upsert_stock(conn, &stock).await?;
                        count(report, &outcome.action, *line, values, &name);
                    }
                    Err(fail) => reject(report, *line, values, fail),
                }
            }
        }
        "Invoices" => rows_of!(|r: &Row| -> Result<InvoiceRecord, Fail> {
            let sub_total = r.parse("SubTotal", money)?.unwrap_or(Cents::ZERO);
            let total = r.parse("Total", money)?.unwrap_or(sub_total);
            Ok(InvoiceRecord {
                external_id: r.required("Id")?.to_owned(),
                client_external_id: r.client(clients)?,
                number: r.required("Number")?.to_owned(),
                invoice_date: Some(
                    date(r.required("InvoiceDate")?).map_err(|e| ("InvoiceDate".to_owned(), e))?,
                ),
                status: r.text("Status").unwrap_or_else(|| "UNPAID".into()),
                sub_total,
                tax_total: total - sub_total,
                total,
                notes: r.text("Notes"),
                assigned_to_id: r.text("AssignedToId"),
                created_at: r.parse("CreatedAt", instant)?,
                due_on: r.parse("DueOn", date)?,
                updated_at: r.parse("UpdatedAt", instant)?,
            })
        }),
        "InvoiceItems" => rows_of!(|r: &Row| -> Result<InvoiceItemRecord, Fail> {
            let total = r.parse("Total", money)?;
            let amount = r.parse("Amount", money)?;
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
                tax_total: Cents(
                    total.or(amount).unwrap_or(Cents::ZERO).0 - amount.unwrap_or(Cents::ZERO).0,
                )
                .max(Cents::ZERO),
                total: total.or(amount).unwrap_or(Cents::ZERO),
                item_type: r.text("Type"),
                taxable: r.parse("Taxable", boolean)?.unwrap_or(false),
                billable: r.parse("Billable", boolean)?.unwrap_or(true),
                sequence_number: r.parse("SequenceNumber", integer)?,
            })
        }),
        "Appointments" => rows_of!(|r: &Row| -> Result<AppointmentRecord, Fail> {
            Ok(AppointmentRecord {
                external_id: r.required("Id")?.to_owned(),
                client_external_id: r.client(clients)?,
                technician_id: r.required("TechnicianId")?.to_owned(),
                piano_external_id: r.text("PianoId"),
                description: r.text("Description"),
                status: r
                    .text("AppointmentStatus")
                    .unwrap_or_else(|| "ACTIVE".into()),
                event_type: r.text("EventType").unwrap_or_else(|| "APPOINTMENT".into()),
                start_at: Some(
                    instant(r.required("StartAt")?).map_err(|e| ("StartAt".to_owned(), e))?,
                ),
                duration_minutes: r.parse("Duration", integer)?,
                is_all_day: r.parse("IsAllDay", boolean)?.unwrap_or(false),
                notes: r.text("Notes"),
                confirmed_by_client: r.parse("ConfirmedByClient", boolean)?.unwrap_or(false),
                created_at: r.parse("CreatedAt", instant)?,
                updated_at: r.parse("UpdatedAt", instant)?,
            })
        }),
        "TimelineEntries" => rows_of!(|r: &Row| -> Result<TimelineEntryRecord, Fail> {
            Ok(TimelineEntryRecord {
                external_id: r.required("Id")?.to_owned(),
                client_external_id: r.client(clients)?,
                piano_external_id: r.text("PianoId"),
                invoice_id: r.text("InvoiceId"),
                estimate_id: r.text("EstimateId"),
                occurred_at: Some(
                    instant(r.required("OccurredAt")?).map_err(|e| ("OccurredAt".to_owned(), e))?,
                ),
                entry_type: r.required("EntryType")?.to_owned(),
                title: r.text("Title"),
                details: r.text("Details"),
                user_id: r.text("UserId"),
            })
        }),
        _ => rows_of!(|r: &Row| -> Result<MaintenanceAlertRecord, Fail> {
            Ok(MaintenanceAlertRecord {
                external_id: r.required("Id")?.to_owned(),
                client_external_id: r.client(clients)?,
                piano_external_id: r.text("PianoId"),
                date_observation: Some(
                    date(r.required("DateObservation")?)
                        .map_err(|e| ("DateObservation".to_owned(), e))?,
                ),
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
        }),
    }
    Ok(())
}

/// Upserts mapped rows in batches and turns outcomes into counts and rejections.
async fn store_all<R: Upstream>(
    conn: &mut SqliteConnection,
    pending: Vec<Pending<R>>,
    report: &mut TableReport,
    file: &str,
) -> Result<(), MigrationError> {
    for chunk in pending.chunks(1000) {
        let records: Vec<&R> = chunk.iter().map(|p| &p.record).collect();
        let outcome = store::upsert(
            conn,
            &records.iter().map(|r| RecordRef(*r)).collect::<Vec<_>>(),
        )
        .await?;
        for (p, o) in chunk.iter().zip(outcome.outcomes) {
            count(report, &o.action, p.line, &p.raw, file);
        }
    }
    Ok(())
}

fn count(report: &mut TableReport, action: &Action, line: u64, raw: &[String], file: &str) {
    match action {
        Action::Inserted => report.imported += 1,
        Action::Updated | Action::Conflict => report.updated += 1,
        Action::Unchanged => report.unchanged += 1,
        Action::Rejected(reason) => {
            report.rejected += 1;
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
            report.rejections.push(Rejection {
                file: file.to_owned(),
                line,
                column,
                reason: reason.clone(),
                raw: raw.to_vec(),
            });
        }
    }
}

/// Lets a batch of borrowed records go through the upsert engine.
struct RecordRef<'a, R>(&'a R);

impl<R: Upstream> Upstream for RecordRef<'_, R> {
    const SPEC: &'static store::upsert::TableSpec = R::SPEC;
    fn external_id(&self) -> &str {
        self.0.external_id()
    }
    fn values(&self) -> Vec<store::upsert::Value<'_>> {
        self.0.values()
    }
    fn parent_ids(&self) -> Vec<Option<&str>> {
        self.0.parent_ids()
    }
}

/// `Sku` and `UnitCost` are local-only columns (Gazelle has neither), so the upstream upsert
/// never writes them: V4's values are set here, only when they differ.
async fn product_local_fields(
    conn: &mut SqliteConnection,
    file: &CsvFile,
    report: &mut TableReport,
    name: &str,
) -> Result<(), MigrationError> {
    for (line, values) in &file.rows {
        let row = Row { file, values };
        let Some(id) = row.get("Id") else { continue };
        if report.rejections.iter().any(|r| r.line == *line) {
            continue;
        }
        let sku = row.get("Sku");
        let Ok(cost) = row.parse("UnitCost", money) else {
            continue;
        };
        let cost = cost.unwrap_or(Cents::ZERO);
        let done = sqlx::query(
            "UPDATE Products SET Sku = ?2, UnitCostCents = ?3, UnitCost = ?3 / 100.0
             WHERE ExternalId = ?1 AND (Sku IS NOT ?2 OR UnitCostCents IS NOT ?3)",
        )
        .bind(id)
        .bind(sku)
        .bind(cost.0)
        .execute(&mut *conn)
        .await;
        match done {
            Ok(d) if d.rows_affected() > 0 => {
                // A row counted unchanged upstream-wise did change locally.
                if report.unchanged > 0 && !report.rejections.iter().any(|r| r.line == *line) {
                    report.unchanged -= 1;
                    report.updated += 1;
                }
            }
            Ok(_) => {}
            Err(sqlx::Error::Database(db)) => {
                report.rejected += 1;
                report.rejections.push(Rejection {
                    file: name.to_owned(),
                    line: *line,
                    column: "Sku".into(),
                    reason: format!("refused by the database: {}", db.message()),
                    raw: values.clone(),
                });
            }
            Err(e) => return Err(sql_error("setting a product's SKU and cost")(e)),
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
