//! Batched upserts keyed on `ExternalId`.
//!
//! One engine serves every mirrored table. A table is described once by a static
//! [`TableSpec`] (its upstream columns, money columns, parents); a record type says how to
//! turn itself into values ([`Upstream`]). The engine then, inside the caller's transaction:
//!
//! * resolves each parent's upstream id (`cli_…`) to its local integer `Id`, rejecting a child
//!   whose required parent is unknown, with a reason;
//! * inserts new rows, updates changed ones, and leaves identical ones untouched (so a second
//!   pull of the same page reports everything "unchanged");
//! * writes only the columns of the spec: local-only columns (`Local*`, alert state, stock)
//!   are absent from every statement and so can never be overwritten by a pull;
//! * clears the tombstone of a row that reappears upstream;
//! * reports per row what happened.
//!
//! A row that SQLite refuses (a CHECK, a NOT NULL) is reported as rejected and the batch goes
//! on: a failed statement in SQLite rolls back only itself, not the transaction.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use sqlx::sqlite::{Sqlite, SqliteArguments};
use sqlx::{Row as _, SqliteConnection};

use crate::error::{Result, SqlContext, StoreError};

/// A value bound to a statement. Money and quantities arrive as integers (cents, hundredths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Text(Cow<'a, str>),
}

impl Value<'_> {
    fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// How a column of the spec is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Stored as bound.
    Plain,
    /// Bound as integer cents into `<Name>Cents`; the legacy dollar column `<Name>` is derived.
    Money,
    /// Bound as hundredths into `<Name>Hundredths`; the legacy column `<Name>` is derived.
    Hundredths,
}

/// A column written from upstream data.
#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnKind,
    /// A row without a value here is rejected (the column is NOT NULL without a default that
    /// would make sense for upstream data).
    pub required: bool,
}

impl Column {
    pub const fn plain(name: &'static str) -> Column {
        Column {
            name,
            kind: ColumnKind::Plain,
            required: false,
        }
    }
    pub const fn required(name: &'static str) -> Column {
        Column {
            name,
            kind: ColumnKind::Plain,
            required: true,
        }
    }
    pub const fn money(name: &'static str) -> Column {
        Column {
            name,
            kind: ColumnKind::Money,
            required: false,
        }
    }
    pub const fn hundredths(name: &'static str) -> Column {
        Column {
            name,
            kind: ColumnKind::Hundredths,
            required: true,
        }
    }
}

/// A foreign key resolved from an upstream id to a local `Id`.
#[derive(Debug)]
pub struct Parent {
    /// The local column (`ClientId`).
    pub column: &'static str,
    /// The parent table (`Clients`).
    pub table: &'static str,
    /// What the parent is, for messages (`client`).
    pub noun: &'static str,
    /// A required parent that is unknown rejects the row; an optional one is stored as NULL
    /// with a warning, and filled in by a later pull once the parent is known.
    pub required: bool,
    /// Whether an unknown optional parent is worth a warning. Not when the parent normally
    /// arrives after the child and a trigger links it (a client's default contact).
    pub warn_when_unknown: bool,
}

/// The static description of a mirrored table.
#[derive(Debug)]
pub struct TableSpec {
    pub table: &'static str,
    pub columns: &'static [Column],
    pub parents: &'static [Parent],
    /// Whether the table has a `DeletedAt` tombstone that a reappearing row clears.
    pub tombstoned: bool,
    statements: OnceLock<Statements>,
}

impl TableSpec {
    pub const fn new(
        table: &'static str,
        columns: &'static [Column],
        parents: &'static [Parent],
        tombstoned: bool,
    ) -> TableSpec {
        TableSpec {
            table,
            columns,
            parents,
            tombstoned,
            statements: OnceLock::new(),
        }
    }

    fn statements(&self) -> &Statements {
        self.statements.get_or_init(|| Statements::build(self))
    }
}

/// A record that arrives from upstream (Gazelle or a V4 export) and is stored by `ExternalId`.
pub trait Upstream {
    const SPEC: &'static TableSpec;

    /// The upstream id, stored as `ExternalId`.
    fn external_id(&self) -> &str;

    /// One value per column of the spec, in the spec's order.
    fn values(&self) -> Vec<Value<'_>>;

    /// One upstream id per parent of the spec, in the spec's order.
    fn parent_ids(&self) -> Vec<Option<&str>>;
}

/// What happened to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Inserted,
    Updated,
    Unchanged,
    /// The row has a local edit waiting to be pushed and upstream differs: the local edit is
    /// kept and the divergence recorded in `Conflicts`.
    Conflict,
    Rejected(String),
}

/// The outcome of one row of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOutcome {
    pub external_id: String,
    /// The local `Id`, unless the row was rejected.
    pub id: Option<i64>,
    pub action: Action,
    /// Things worth knowing that did not stop the row (an optional parent not yet known).
    pub warnings: Vec<String>,
}

/// Counts of a batch, by action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    #[serde(default)]
    pub conflicts: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.inserted + self.updated + self.unchanged + self.rejected + self.conflicts
    }

    pub fn add(&mut self, other: Counts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.rejected += other.rejected;
        self.conflicts += other.conflicts;
    }
}

/// The outcomes of a batch, in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub outcomes: Vec<RowOutcome>,
}

impl BatchReport {
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for outcome in &self.outcomes {
            match outcome.action {
                Action::Inserted => counts.inserted += 1,
                Action::Updated => counts.updated += 1,
                Action::Unchanged => counts.unchanged += 1,
                Action::Conflict => counts.conflicts += 1,
                Action::Rejected(_) => counts.rejected += 1,
            }
        }
        counts
    }

    /// The rejected rows with their reasons.
    pub fn rejected(&self) -> impl Iterator<Item = (&str, &str)> {
        self.outcomes.iter().filter_map(|o| match &o.action {
            Action::Rejected(reason) => Some((o.external_id.as_str(), reason.as_str())),
            _ => None,
        })
    }
}

/// The SQL of one table, built once from its spec.
///
/// Parameter `?1` is the `ExternalId` (insert) or the `Id` (update); the values of the spec's
/// columns follow from `?2`, then the parents' local ids. Money columns bind their cents once
/// and derive the dollar column in SQL, so the two can never disagree.
#[derive(Debug)]
struct Statements {
    select_id: String,
    insert: String,
    update: String,
    /// `SELECT 1 … WHERE Id = ?1 AND (<any column differs>)`: the update's test, alone.
    differs: String,
    /// The row's upstream columns as a JSON object, for a conflict's local version.
    local_json: String,
    /// `SELECT ExternalId, json_array(<the spec's columns>)` of the rows whose `ExternalId`
    /// is in the JSON array `?1`.
    current_values: String,
    /// The table, for lookups.
    table: &'static str,
    /// `INSERT INTO T (…)`, one row's value expressions with anonymous `?` parameters, and
    /// which of the row's values each `?` takes (0 = ExternalId, then the spec's values and
    /// parents). Anonymous parameters matter: sqlx asks SQLite for every parameter's name
    /// while binding, and SQLite finds numbered names (`?123`) by a linear scan, which made
    /// binding a 100-row insert quadratic.
    insert_head: String,
    insert_row_anonymous: String,
    insert_bind_order: Vec<usize>,
}

impl Statements {
    /// A multi-row INSERT of `rows` rows.
    fn multi_insert(&self, rows: usize) -> String {
        let mut sql = String::with_capacity(
            self.insert_head.len() + rows * (self.insert_row_anonymous.len() + 2),
        );
        sql.push_str(&self.insert_head);
        sql.push_str(" VALUES ");
        for row in 0..rows {
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&self.insert_row_anonymous);
        }
        sql
    }

    fn build(spec: &TableSpec) -> Statements {
        let table = spec.table;
        let mut insert_columns = vec!["ExternalId".to_owned()];
        let mut insert_values = vec!["?1".to_owned()];
        let mut assignments = Vec::new();
        let mut differences = Vec::new();
        let mut param = 2;
        for column in spec.columns {
            let name = column.name;
            let p = format!("?{param}");
            param += 1;
            match column.kind {
                ColumnKind::Plain => {
                    insert_columns.push(name.to_owned());
                    insert_values.push(p.clone());
                    assignments.push(format!("{name} = {p}"));
                    differences.push(format!("{name} IS NOT {p}"));
                }
                ColumnKind::Money | ColumnKind::Hundredths => {
                    let suffix = if column.kind == ColumnKind::Money {
                        "Cents"
                    } else {
                        "Hundredths"
                    };
                    let exact = format!("{name}{suffix}");
                    insert_columns.extend([exact.clone(), name.to_owned()]);
                    insert_values.extend([p.clone(), format!("{p} / 100.0")]);
                    assignments.push(format!("{exact} = {p}, {name} = {p} / 100.0"));
                    differences.push(format!("{exact} IS NOT {p}"));
                }
            }
        }
        for parent in spec.parents {
            let p = format!("?{param}");
            param += 1;
            insert_columns.push(parent.column.to_owned());
            insert_values.push(p.clone());
            assignments.push(format!("{} = {p}", parent.column));
            differences.push(format!("{} IS NOT {p}", parent.column));
        }
        if spec.tombstoned {
            assignments.push("DeletedAt = NULL".to_owned());
            differences.push("DeletedAt IS NOT NULL".to_owned());
        }
        let mut update = format!("UPDATE {table} SET ");
        update.push_str(&assignments.join(", "));
        let _ = write!(update, " WHERE Id = ?1 AND ({})", differences.join(" OR "));
        let json_pairs: Vec<String> = spec
            .columns
            .iter()
            .map(|c| match c.kind {
                ColumnKind::Plain => format!("'{0}', {0}", c.name),
                ColumnKind::Money => format!("'{0}', {0}Cents", c.name),
                ColumnKind::Hundredths => format!("'{0}', {0}Hundredths", c.name),
            })
            .collect();
        let stored: Vec<String> = spec
            .columns
            .iter()
            .map(|c| match c.kind {
                ColumnKind::Plain => c.name.to_owned(),
                ColumnKind::Money => format!("{}Cents", c.name),
                ColumnKind::Hundredths => format!("{}Hundredths", c.name),
            })
            .collect();
        let mut insert_bind_order = Vec::new();
        let anonymous: Vec<String> = insert_values
            .iter()
            .map(|expr| {
                let (number, rest) = expr
                    .trim_start_matches('?')
                    .split_once(' ')
                    .unwrap_or((expr.trim_start_matches('?'), ""));
                insert_bind_order.push(number.parse::<usize>().unwrap_or(1) - 1);
                if rest.is_empty() {
                    "?".to_owned()
                } else {
                    format!("? {rest}")
                }
            })
            .collect();
        Statements {
            table,
            insert_head: format!("INSERT INTO {table} ({})", insert_columns.join(", ")),
            insert_row_anonymous: format!("({})", anonymous.join(", ")),
            insert_bind_order,
            differs: format!(
                "SELECT 1 FROM {table} WHERE Id = ?1 AND ({})",
                differences.join(" OR ")
            ),
            // The ids drive the loop (CROSS JOIN keeps that order), each found by the
            // ExternalId index: `IN (SELECT … json_each)` scanned the whole table.
            current_values: format!(
                "SELECT t.ExternalId, json_array({}) FROM json_each(?1) AS j
                 CROSS JOIN {table} AS t ON t.ExternalId = j.value",
                stored
                    .iter()
                    .map(|c| format!("t.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            local_json: format!(
                "SELECT json_object({}) FROM {table} WHERE Id = ?1",
                json_pairs.join(", ")
            ),
            select_id: format!("SELECT Id FROM {table} WHERE ExternalId = ?1"),
            insert: format!(
                "INSERT INTO {table} ({}) VALUES ({}) RETURNING Id",
                insert_columns.join(", "),
                insert_values.join(", ")
            ),
            update,
        }
    }
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

fn bind<'q>(query: Query<'q>, value: &'q Value<'q>) -> Query<'q> {
    match value {
        Value::Null => query.bind(None::<i64>),
        Value::Int(i) => query.bind(*i),
        Value::Text(s) => query.bind(s.as_ref()),
    }
}

/// Looks up the local `Id` of a row by its `ExternalId`.
pub async fn local_id(
    conn: &mut SqliteConnection,
    table: &'static TableSpec,
    external_id: &str,
) -> Result<Option<i64>> {
    sqlx::query_scalar(&table.statements().select_id)
        .bind(external_id)
        .fetch_optional(conn)
        .await
        .context("looking up a row by ExternalId")
}

/// The stored values of the spec's columns (money in cents, quantities in hundredths) of the
/// rows with these upstream ids, by id. For a source that carries only some columns (a V4
/// file without one of them): it sends the stored value back for the others, so an update
/// changes only what the source carries.
pub async fn current_values(
    conn: &mut SqliteConnection,
    spec: &'static TableSpec,
    external_ids: &[&str],
) -> Result<HashMap<String, Vec<Value<'static>>>> {
    let ids = serde_json::to_string(external_ids)
        .map_err(|e| StoreError::Invalid(format!("{}: ids as JSON: {e}", spec.table)))?;
    let rows: Vec<(String, String)> = sqlx::query_as(&spec.statements().current_values)
        .bind(ids)
        .fetch_all(conn)
        .await
        .context("reading the stored values of a batch")?;
    rows.into_iter()
        .map(|(id, json)| {
            let values: Vec<serde_json::Value> = serde_json::from_str(&json).map_err(|e| {
                StoreError::Invalid(format!("{}: stored values of {id}: {e}", spec.table))
            })?;
            let values = values
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::Null => Value::Null,
                    serde_json::Value::Number(n) => n
                        .as_i64()
                        .map_or_else(|| Value::Text(Cow::Owned(n.to_string())), Value::Int),
                    serde_json::Value::String(s) => Value::Text(Cow::Owned(s)),
                    other => Value::Text(Cow::Owned(other.to_string())),
                })
                .collect();
            Ok((id, values))
        })
        .collect()
}

/// Upserts a batch of records of one table inside the caller's transaction.
///
/// Errors are returned only for failures of the database itself (I/O, a lost connection);
/// a bad row is reported in its outcome and the batch goes on.
pub async fn upsert<R: Upstream>(
    conn: &mut SqliteConnection,
    records: &[R],
) -> Result<BatchReport> {
    let spec = R::SPEC;
    let statements = spec.statements();
    // Parents resolved in this batch: (parent index, upstream id) → local id.
    let mut parents: HashMap<(usize, String), Option<i64>> = HashMap::new();
    // Rows with a local edit waiting in the outbox: a pull must not overwrite them.
    let protected: std::collections::HashSet<i64> = sqlx::query_scalar(
        "SELECT LocalId FROM Outbox WHERE Entity = ?1 AND State IN ('pending', 'in_flight')",
    )
    .bind(spec.table)
    .fetch_all(&mut *conn)
    .await
    .context("reading pending local edits")?
    .into_iter()
    .collect();
    let mut report = BatchReport {
        outcomes: Vec::with_capacity(records.len()),
    };
    // One statement per table for the whole batch, rather than one per row: sqlx talks to
    // SQLite through a worker thread, and the round trip is most of a row's cost.
    prefill_parents(conn, spec, records, &mut parents).await?;
    let mut existing = existing_ids(conn, spec, records).await?;
    let mut pending: Vec<PendingInsert<'_>> = Vec::new();

    for record in records {
        let external_id = record.external_id();
        if pending.iter().any(|p| p.external_id == external_id) {
            // The same id twice in one batch: insert the first before handling the second.
            flush_inserts(conn, statements, &mut pending, &mut existing, &mut report).await?;
        }
        let mut outcome = RowOutcome {
            external_id: external_id.to_owned(),
            id: None,
            action: Action::Unchanged,
            warnings: Vec::new(),
        };
        match upsert_one(
            conn,
            spec,
            statements,
            &parents,
            &existing,
            &protected,
            record,
            &mut outcome,
        )
        .await
        {
            Ok(Step::Done(action)) => outcome.action = action,
            Ok(Step::Insert(values)) => {
                outcome.action = Action::Inserted;
                pending.push(PendingInsert {
                    index: report.outcomes.len(),
                    external_id,
                    values,
                });
            }
            Err(RowError::Rejected(reason)) => {
                outcome.id = None;
                outcome.action = Action::Rejected(reason);
            }
            Err(RowError::Store(e)) => return Err(e),
        }
        report.outcomes.push(outcome);
        if pending.len() >= INSERT_CHUNK {
            flush_inserts(conn, statements, &mut pending, &mut existing, &mut report).await?;
        }
    }
    flush_inserts(conn, statements, &mut pending, &mut existing, &mut report).await?;
    Ok(report)
}

/// Rows per multi-row INSERT: a whole page of 200 in one statement, and well under SQLite's
/// 32,766 parameters for any of our tables (at most about 15 values a row).
const INSERT_CHUNK: usize = 250;

/// A new row waiting for the batch's multi-row INSERT.
struct PendingInsert<'r> {
    index: usize,
    external_id: &'r str,
    /// The spec's column values, then the parents' local ids.
    values: Vec<Value<'r>>,
}

/// What the per-row logic decided.
enum Step<'r> {
    Done(Action),
    Insert(Vec<Value<'r>>),
}

/// Resolves, in one statement per parent table, every parent the batch refers to.
async fn prefill_parents<R: Upstream>(
    conn: &mut SqliteConnection,
    spec: &TableSpec,
    records: &[R],
    cache: &mut HashMap<(usize, String), Option<i64>>,
) -> Result<()> {
    for (index, parent) in spec.parents.iter().enumerate() {
        let mut wanted: Vec<&str> = records
            .iter()
            .filter_map(|r| r.parent_ids().get(index).copied().flatten())
            .filter(|id| !id.is_empty())
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        for chunk in wanted.chunks(500) {
            let found = ids_in(conn, parent.table, chunk).await?;
            for id in chunk {
                cache.insert((index, (*id).to_owned()), found.get(*id).copied());
            }
        }
    }
    Ok(())
}

/// The local ids of the batch's rows that already exist.
async fn existing_ids<R: Upstream>(
    conn: &mut SqliteConnection,
    spec: &TableSpec,
    records: &[R],
) -> Result<HashMap<String, i64>> {
    let wanted: Vec<&str> = records.iter().map(Upstream::external_id).collect();
    let mut found = HashMap::with_capacity(wanted.len());
    for chunk in wanted.chunks(500) {
        found.extend(ids_in(conn, spec.table, chunk).await?);
    }
    Ok(found)
}

/// `ExternalId → Id` for the given ids of `table` (a static table name, never input).
async fn ids_in(
    conn: &mut SqliteConnection,
    table: &str,
    ids: &[&str],
) -> Result<HashMap<String, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // One row holding every pair as JSON, not one row per match: sqlx hands each result row
    // from its SQLite thread to the task through a channel, and those hand-offs (a futex
    // wake each) cost more than the lookups (`large`: about 2M of them per full pull).
    let placeholders = vec!["?"; ids.len()].join(", ");
    let sql = format!(
        "SELECT json_group_array(json_array(ExternalId, Id)) FROM {table} WHERE ExternalId IN ({placeholders})"
    );
    let mut query = sqlx::query_scalar::<_, String>(&sql);
    for id in ids {
        query = query.bind(*id);
    }
    let pairs = query
        .fetch_one(conn)
        .await
        .context("looking up rows by ExternalId")?;
    let pairs: Vec<(String, i64)> = serde_json::from_str(&pairs).map_err(|e| {
        StoreError::Invalid(format!("{table}: unreadable id lookup from SQLite: {e}"))
    })?;
    Ok(pairs.into_iter().collect())
}

/// Inserts the pending rows with multi-row statements. If SQLite refuses a chunk (a CHECK,
/// a duplicate), its rows are inserted one by one so each gets its own outcome.
async fn flush_inserts(
    conn: &mut SqliteConnection,
    statements: &Statements,
    pending: &mut Vec<PendingInsert<'_>>,
    existing: &mut HashMap<String, i64>,
    report: &mut BatchReport,
) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let rows = std::mem::take(pending);
    let sql = statements.multi_insert(rows.len());
    let mut query = sqlx::query(&sql);
    for row in &rows {
        for &index in &statements.insert_bind_order {
            query = match index.checked_sub(1).map(|i| &row.values[i]) {
                None => query.bind(row.external_id),
                Some(Value::Null) => query.bind(None::<i64>),
                Some(Value::Int(i)) => query.bind(*i),
                Some(Value::Text(s)) => query.bind(s.as_ref()),
            };
        }
    }
    match query.execute(&mut *conn).await {
        Ok(done) => {
            // The new ids without a RETURNING row per insert (each a hand-off between
            // threads, see `ids_in`). SQLite gives a row inserted without an Id the largest
            // Id so far plus one, row after row, so the rows of one statement hold the
            // consecutive Ids ending at `last_insert_rowid`. Should the counts not add up,
            // the ids are looked up instead.
            let count = rows.len() as i64;
            let last = done.last_insert_rowid();
            let ids: HashMap<String, i64> =
                if done.rows_affected() == rows.len() as u64 && last >= count {
                    rows.iter()
                        .zip(last - count + 1..)
                        .map(|(row, id)| (row.external_id.to_owned(), id))
                        .collect()
                } else {
                    let external: Vec<&str> = rows.iter().map(|r| r.external_id).collect();
                    ids_in(conn, statements.table, &external).await?
                };
            for row in &rows {
                let id = ids.get(row.external_id).copied();
                report.outcomes[row.index].id = id;
                if let Some(id) = id {
                    existing.insert(row.external_id.to_owned(), id);
                }
            }
            Ok(())
        }
        Err(e) => match classify(e) {
            RowError::Store(e) => Err(e),
            RowError::Rejected(_) => {
                for row in rows {
                    let mut query = sqlx::query(&statements.insert).bind(row.external_id);
                    for value in &row.values {
                        query = bind(query, value);
                    }
                    let outcome = &mut report.outcomes[row.index];
                    match query.fetch_one(&mut *conn).await {
                        Ok(r) => {
                            let id: i64 = r.try_get(0).context("reading an inserted Id")?;
                            outcome.id = Some(id);
                            existing.insert(row.external_id.to_owned(), id);
                        }
                        Err(e) => match classify(e) {
                            RowError::Rejected(reason) => {
                                outcome.id = None;
                                outcome.action = Action::Rejected(reason);
                            }
                            RowError::Store(e) => return Err(e),
                        },
                    }
                }
                Ok(())
            }
        },
    }
}

enum RowError {
    Rejected(String),
    Store(StoreError),
}

impl From<StoreError> for RowError {
    fn from(e: StoreError) -> Self {
        RowError::Store(e)
    }
}

#[allow(clippy::too_many_arguments)]
async fn upsert_one<'r, R: Upstream>(
    conn: &mut SqliteConnection,
    spec: &'static TableSpec,
    statements: &Statements,
    parent_cache: &HashMap<(usize, String), Option<i64>>,
    existing: &HashMap<String, i64>,
    protected: &std::collections::HashSet<i64>,
    record: &'r R,
    outcome: &mut RowOutcome,
) -> std::result::Result<Step<'r>, RowError> {
    let external_id = record.external_id();
    if external_id.trim().is_empty() {
        return Err(RowError::Rejected("empty ExternalId".to_owned()));
    }
    let values = record.values();
    if values.len() != spec.columns.len() {
        return Err(RowError::Store(StoreError::Invalid(format!(
            "{}: a record gave {} values for {} columns",
            spec.table,
            values.len(),
            spec.columns.len()
        ))));
    }
    if let Some(column) = spec
        .columns
        .iter()
        .zip(&values)
        .find(|(c, v)| c.required && v.is_null())
        .map(|(c, _)| c)
    {
        return Err(RowError::Rejected(format!(
            "missing required field {}",
            column.name
        )));
    }

    // Resolve parents.
    let mut parent_values = Vec::with_capacity(spec.parents.len());
    for (index, (parent, upstream)) in spec.parents.iter().zip(record.parent_ids()).enumerate() {
        let Some(upstream) = upstream.filter(|u| !u.is_empty()) else {
            if parent.required {
                return Err(RowError::Rejected(format!(
                    "missing required {} ({})",
                    parent.noun, parent.column
                )));
            }
            parent_values.push(Value::Null);
            continue;
        };
        // Prefilled for the whole batch by `prefill_parents`.
        let local = parent_cache
            .get(&(index, upstream.to_owned()))
            .copied()
            .flatten();
        match local {
            Some(id) => parent_values.push(Value::Int(id)),
            None if parent.required => {
                return Err(RowError::Rejected(format!(
                    "unknown {} `{upstream}` ({}): the parent is not in the database",
                    parent.noun, parent.column
                )));
            }
            None => {
                if parent.warn_when_unknown {
                    outcome.warnings.push(format!(
                        "unknown {} `{upstream}` ({}) stored as empty until it is pulled",
                        parent.noun, parent.column
                    ));
                }
                parent_values.push(Value::Null);
            }
        }
    }

    match existing.get(external_id).copied() {
        None => {
            let mut values = values;
            values.extend(parent_values);
            Ok(Step::Insert(values))
        }
        Some(id) if protected.contains(&id) => {
            outcome.id = Some(id);
            let mut query = sqlx::query(&statements.differs).bind(id);
            for value in values.iter().chain(&parent_values) {
                query = bind(query, value);
            }
            let differs = query
                .fetch_optional(&mut *conn)
                .await
                .context("comparing a protected row")?
                .is_some();
            if !differs {
                return Ok(Step::Done(Action::Unchanged));
            }
            record_conflict(conn, spec, statements, id, external_id, &values).await?;
            Ok(Step::Done(Action::Conflict))
        }
        Some(id) => {
            outcome.id = Some(id);
            let mut query = sqlx::query(&statements.update).bind(id);
            for value in values.iter().chain(&parent_values) {
                query = bind(query, value);
            }
            match query.execute(&mut *conn).await {
                Ok(done) if done.rows_affected() > 0 => Ok(Step::Done(Action::Updated)),
                Ok(_) => Ok(Step::Done(Action::Unchanged)),
                Err(e) => Err(classify(e)),
            }
        }
    }
}

/// Records that upstream changed a row whose local edit is waiting to be pushed: both
/// versions, field by field, unless the same divergence is already open.
async fn record_conflict(
    conn: &mut SqliteConnection,
    spec: &TableSpec,
    statements: &Statements,
    id: i64,
    external_id: &str,
    values: &[Value<'_>],
) -> Result<()> {
    let local_text: String = sqlx::query_scalar(&statements.local_json)
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .context("reading a protected row")?;
    let local: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&local_text).unwrap_or_default();
    let mut remote = serde_json::Map::new();
    for (column, value) in spec.columns.iter().zip(values) {
        let json = match value {
            Value::Null => serde_json::Value::Null,
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Text(t) => serde_json::Value::from(t.as_ref()),
        };
        remote.insert(column.name.to_owned(), json);
    }
    let fields: Vec<&String> = remote
        .keys()
        .filter(|k| local.get(*k) != remote.get(*k))
        .collect();
    let remote_text = serde_json::Value::Object(remote.clone()).to_string();
    let already: Option<i64> = sqlx::query_scalar(
        "SELECT Id FROM Conflicts WHERE Entity = ?1 AND LocalId = ?2 AND RemoteVersion = ?3 AND ResolvedAt IS NULL",
    )
    .bind(spec.table)
    .bind(id)
    .bind(&remote_text)
    .fetch_optional(&mut *conn)
    .await
    .context("looking for an open conflict")?;
    // An edit already based on this upstream version (a person chose `--keep local` over
    // it) overrides it knowingly: that is no new conflict.
    let base: Option<Option<String>> = sqlx::query_scalar(
        "SELECT BaseUpdatedAt FROM Outbox WHERE Entity = ?1 AND LocalId = ?2 AND State IN ('pending', 'in_flight')
         ORDER BY Id DESC LIMIT 1",
    )
    .bind(spec.table)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .context("reading the waiting edit's base")?;
    let same_instant =
        |a: &str, b: &str| match (a.parse::<jiff::Timestamp>(), b.parse::<jiff::Timestamp>()) {
            (Ok(a), Ok(b)) => a.as_second() == b.as_second(),
            _ => a == b,
        };
    let based_on_it = match (
        base.flatten(),
        remote.get("UpdatedAt").and_then(|v| v.as_str()),
    ) {
        (Some(base), Some(upstream)) => same_instant(&base, upstream),
        _ => false,
    };
    if already.is_none() && !based_on_it {
        sqlx::query(
            "INSERT INTO Conflicts (Entity, LocalId, ExternalId, OutboxId, LocalVersion, RemoteVersion, Fields, DetectedAt)
             VALUES (?1, ?2, ?3,
                     (SELECT MAX(Id) FROM Outbox WHERE Entity = ?1 AND LocalId = ?2 AND State IN ('pending', 'in_flight')),
                     ?4, ?5, ?6, ?7)",
        )
        .bind(spec.table)
        .bind(id)
        .bind(external_id)
        .bind(&local_text)
        .bind(&remote_text)
        .bind(serde_json::to_string(&fields).unwrap_or_else(|_| "[]".into()))
        .bind(crate::time::now_text())
        .execute(&mut *conn)
        .await
        .context("recording a conflict")?;
    }
    Ok(())
}

/// A constraint violation is the row's fault: reject it. Anything else is the database's.
fn classify(error: sqlx::Error) -> RowError {
    match &error {
        sqlx::Error::Database(db) if db.kind() != sqlx::error::ErrorKind::Other => {
            RowError::Rejected(format!("refused by the database: {}", db.message()))
        }
        // SQLITE_CONSTRAINT_CHECK maps to ErrorKind::CheckViolation; other constraint
        // codes (e.g. SQLITE_CONSTRAINT_TRIGGER) land in Other but still start with it.
        sqlx::Error::Database(db) if db.message().contains("constraint failed") => {
            RowError::Rejected(format!("refused by the database: {}", db.message()))
        }
        _ => RowError::Store(StoreError::Sql {
            context: "writing a row",
            source: error,
        }),
    }
}
