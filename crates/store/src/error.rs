//! The store's error type. Every variant names what failed, so a caller can print it as is.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot open the database {path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },

    #[error("cannot migrate the database {path}: {source}")]
    Migrate {
        path: PathBuf,
        source: sqlx::migrate::MigrateError,
    },

    #[error("database error while {context}: {source}")]
    Sql {
        context: &'static str,
        source: sqlx::Error,
    },

    /// The file the daemon opened is no longer at its path (deleted, or replaced by another
    /// file): writing would go to a file nobody will ever read again.
    #[error(
        "the database {path} {what} while the daemon was running: nothing more is written; restart gazelled (it opens the file now at that path, or creates one and syncs)"
    )]
    FileGone { path: PathBuf, what: &'static str },

    /// The database, its directory or its `-wal`/`-shm` companion cannot be written by this
    /// user; found before SQLite touches anything.
    #[error(
        "the database cannot be written: {path} {why}. Make it writable by this user (`chmod u+w`, or move it to a writable disk), then start gazelled again; nothing was changed"
    )]
    NotWritable { path: PathBuf, why: String },

    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Attaches what the store was doing to a `sqlx::Error`.
pub(crate) trait SqlContext<T> {
    fn context(self, context: &'static str) -> Result<T>;
}

impl<T> SqlContext<T> for std::result::Result<T, sqlx::Error> {
    fn context(self, context: &'static str) -> Result<T> {
        self.map_err(|source| StoreError::Sql { context, source })
    }
}
