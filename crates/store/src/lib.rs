//! The V5 SQLite database.
//!
//! This crate owns the schema (`migrations/` at the workspace root, embedded at build time)
//! and every statement that touches the database. Other crates get typed records in and
//! typed rows out; none of them writes SQL.
//!
//! * [`Store`]: opening, pragmas, the single writer and the read pool ([`open`]).
//! * [`upsert`]: batched, per-row-reported upserts keyed on `ExternalId`, with foreign keys
//!   resolved from upstream ids; [`records`] holds one record type per mirrored table.
//! * [`sync_log`]: stream cursors and the sync-run log.
//! * [`inventory`]: technicians' stock (local data).
//! * [`alerts`] and [`mail`]: alerts, scanned entries, and the durable e-mail queue.
//! * [`reads`]: typed reads for the daemon, the alerts and the CLI.
//! * [`money`]: exact cents and hundredths.

pub mod agenda;
pub mod alerts;
pub mod appointment_changes;
pub mod appointment_pianos;
pub mod error;
pub mod inventory;
pub mod local;
pub mod mail;
pub mod money;
pub mod open;
pub mod outbox;
pub mod reads;
pub mod reconcile;
pub mod records;
pub mod sync_log;
pub mod time;
pub mod upsert;
pub mod web;

pub use error::{Result, StoreError};
pub use money::{Cents, Hundredths};
pub use open::{Store, WriteTx};

/// A connection, for reads and writes that take one (a [`WriteTx`] derefs to it).
pub type Connection = sqlx::SqliteConnection;
pub use upsert::{Action, BatchReport, Counts, RowOutcome, upsert};

/// The SHA-256 of some bytes, in lower-case hex: fingerprints and token hashes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
