//! The local managers. Each edit changes its local rows and queues its outbox entry in one
//! write transaction, so an edit is never lost and never pushed half-made; the push
//! (`sync-engine::push`) takes it to Gazelle.
//!
//! * [`taxes`]: Québec taxes on a line, exact cents, half-up (pure).
//! * [`invoices`]: drafts with lines, totals, statuses.
//! * [`appointments`]: create, move, reassign, cancel, confirm; Montréal local time in, UTC
//!   stored; the technician's overlap check; the calendar and its iCalendar export.
//! * [`edits`]: client and piano fields a technician changes on the Mac.
//! * [`inventory`]: stock movements, each logged with before and after.

pub mod appointments;
pub mod edits;
pub mod inventory;
pub mod invoices;
pub mod taxes;

/// Why an edit was not made. Messages name the record and the field.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Store(#[from] store::StoreError),
}

pub type Result<T> = std::result::Result<T, ManagerError>;

pub(crate) fn invalid<T>(message: impl Into<String>) -> Result<T> {
    Err(ManagerError::Invalid(message.into()))
}

pub(crate) async fn commit(tx: store::WriteTx) -> Result<()> {
    tx.commit().await.map_err(|source| {
        ManagerError::Store(store::StoreError::Sql {
            context: "committing a local edit",
            source,
        })
    })
}

/// A Gazelle-style id (`prefix_` + 16 base-62 characters) for a record created here that
/// Gazelle lets the client name (clients, invoices): resending the creation is then harmless.
pub fn new_external_id(prefix: &str) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let tail: String = (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}_{tail}")
}
