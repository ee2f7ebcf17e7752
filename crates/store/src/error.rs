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

/// Storage trouble: the database cannot take writes for a reason outside the program (the
/// disk, the file, another process). The daemon shows it in `status` and raises the
/// sync-health alert for it; it ends by itself when the cause is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageFault {
    /// The disk (or SQLite's size limit) is full.
    Full,
    /// The disk failed a read or a write.
    Io,
    /// The file or its directory cannot be written by this user.
    ReadOnly,
    /// Another process holds the database longer than the busy timeout.
    Busy,
    /// The file was deleted or replaced under the daemon.
    FileGone,
}

impl StorageFault {
    /// What the owner reads (French, as the alerts are).
    pub fn describe(self) -> &'static str {
        match self {
            StorageFault::Full => "disque plein : la base de données ne peut plus écrire",
            StorageFault::Io => "erreur d'entrée-sortie du disque",
            StorageFault::ReadOnly => "la base de données est en lecture seule",
            StorageFault::Busy => "la base de données est occupée par un autre programme",
            StorageFault::FileGone => "le fichier de la base de données a été supprimé ou remplacé",
        }
    }
}

impl StoreError {
    /// The storage trouble this error is, if it is one (SQLite's primary result codes).
    pub fn storage_fault(&self) -> Option<StorageFault> {
        let sql = match self {
            StoreError::FileGone { .. } => return Some(StorageFault::FileGone),
            StoreError::NotWritable { .. } => return Some(StorageFault::ReadOnly),
            StoreError::Open { source, .. } | StoreError::Sql { source, .. } => source,
            StoreError::Migrate { .. } | StoreError::CreateDir { .. } | StoreError::Invalid(_) => {
                return None;
            }
        };
        match sql {
            sqlx::Error::Io(_) => Some(StorageFault::Io),
            sqlx::Error::Database(db) => {
                let code: i64 = db.code()?.parse().ok()?;
                match code & 0xff {
                    13 => Some(StorageFault::Full),    // SQLITE_FULL
                    10 | 14 => Some(StorageFault::Io), // SQLITE_IOERR, SQLITE_CANTOPEN
                    8 => Some(StorageFault::ReadOnly), // SQLITE_READONLY
                    5 | 6 => Some(StorageFault::Busy), // SQLITE_BUSY, SQLITE_LOCKED
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// Storage trouble in course: what, since when, the last error (`status` shows it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StorageTrouble {
    pub fault: StorageFault,
    /// When it was first seen (UTC).
    pub since: String,
    /// The last error, as the store said it.
    pub error: String,
}

impl StorageTrouble {
    /// The alert's summary.
    pub fn summary(&self) -> String {
        format!(
            "{} (depuis {}) : {}",
            self.fault.describe(),
            self.since,
            self.error
        )
    }
}
