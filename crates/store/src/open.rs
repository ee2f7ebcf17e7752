//! Opening the database: pragmas, the single writer, the read pool, migrations.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::error::{Result, SqlContext, StoreError};

/// Creates `dir` (and missing parents) readable by the user only: the database holds the
/// shop's clients, and tokens live beside it. An existing directory is left as it is.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// The migrations of `migrations/` at the workspace root, embedded at compile time so the
/// binaries carry their schema with them.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// How long a connection waits for a lock held by another before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Read connections. Readers never block the writer under WAL.
const READERS: u32 = 4;

/// A reader unused this long is closed (with its page cache) at the pool's next check
/// (they come every `READER_IDLE`), so within twice this; one is reopened on demand.
pub const READER_IDLE: Duration = Duration::from_secs(15);

/// The V5 database.
///
/// There is exactly one writer connection: SQLite serialises writers anyway, and a single
/// connection turns lock contention into an orderly queue inside the process. Every write
/// transaction starts with `BEGIN IMMEDIATE`, so a read-then-write transaction can never fail
/// half-way on a lock upgrade. Reads go through a separate pool and see the last commit.
#[derive(Clone, Debug)]
pub struct Store {
    writer: SqlitePool,
    readers: SqlitePool,
    path: PathBuf,
    /// The (device, inode) of the file opened: a write first checks the path still names it.
    identity: Option<(u64, u64)>,
}

/// The (device, inode) a path names now, `None` if nothing is there.
fn file_identity(path: &Path) -> std::io::Result<Option<(u64, u64)>> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(meta) => Ok(Some((meta.dev(), meta.ino()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Checks, before SQLite opens anything, that the database can be written.
///
/// SQLite opens a file it cannot write read-only, and only the first write fails
/// ("attempt to write a readonly database", no path); by then it has created `-wal` and
/// `-shm` with the database's own mode, and a 0444 `-shm` left so keeps every later start
/// failing after the database itself is fixed. So the database and its directory are
/// checked first and named; and a companion file of ours left unwritable by such a start
/// (while the database is writable again) is given the database's mode back: it is only an
/// index SQLite rebuilds, and the daemon's lock is held, so no one else has it open.
fn ensure_writable(path: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let refused = |file: &Path, why: String| StoreError::NotWritable {
        path: file.to_owned(),
        why,
    };
    let writable = |file: &Path| std::fs::OpenOptions::new().write(true).open(file).map(drop);
    match writable(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            let mode = std::fs::metadata(path)
                .map(|m| m.mode() & 0o7777)
                .unwrap_or(0);
            return Err(refused(
                path,
                format!("is not writable (mode {mode:o}: {e})"),
            ));
        }
    }
    // SQLite creates the companions (and the database itself) in the directory.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let probe = dir.join(format!(".gazelled-write-check-{}", std::process::id()));
        match std::fs::File::create(&probe) {
            Ok(_) => {
                let _ = std::fs::remove_file(&probe);
            }
            Err(e) => {
                return Err(refused(
                    dir,
                    format!("(the database's directory) does not let files be created: {e}"),
                ));
            }
        }
    }
    let database_mode = std::fs::metadata(path).ok().map(|m| m.mode() & 0o666);
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let companion = PathBuf::from(name);
        let Err(e) = writable(&companion) else {
            continue;
        };
        if e.kind() == std::io::ErrorKind::NotFound {
            continue;
        }
        let ours = std::fs::metadata(&companion)
            .is_ok_and(|m| std::fs::metadata(path).is_ok_and(|db| db.uid() == m.uid()));
        match database_mode {
            Some(mode) if ours => {
                std::fs::set_permissions(&companion, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| {
                        refused(
                            &companion,
                            format!("is not writable and cannot be fixed: {e}"),
                        )
                    })?;
                tracing::warn!(file = %companion.display(), mode = format!("{mode:o}"), "an unwritable SQLite companion file (left by a failed start) was given the database's mode");
            }
            _ => return Err(refused(&companion, format!("is not writable ({e})"))),
        }
    }
    Ok(())
}

/// A write transaction. Dropping it without `commit` rolls back.
pub type WriteTx = Transaction<'static, Sqlite>;

impl Store {
    /// Opens (creating it and its directory if needed) and migrates the database at `path`.
    ///
    /// Only the daemon and the one-time migration call this: the CLI talks to the daemon.
    pub async fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        ensure_writable(path)?;
        let store = Self::connect(path, true).await?;
        MIGRATOR
            .run(&store.writer)
            .await
            .map_err(|source| StoreError::Migrate {
                path: path.to_owned(),
                source,
            })?;
        Ok(store)
    }

    /// Opens an existing database without migrating it (for inspection tools such as
    /// `gazellectl doctor`). Fails if the file does not exist.
    pub async fn open_existing(path: &Path) -> Result<Store> {
        Self::connect(path, false).await
    }

    async fn connect(path: &Path, create: bool) -> Result<Store> {
        let open_err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(open_err)?
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);

        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // A writer is never reaped: idle reconnects would only cost time.
            .idle_timeout(None)
            .max_lifetime(None)
            // A transaction whose COMMIT failed (disk full, I/O error) may have been rolled
            // back by SQLite itself; sqlx's own rollback then fails and its count of open
            // transactions stays at one, so every later `BEGIN` would be refused
            // ("non-zero transaction depth") until a restart. Such a connection is never
            // reused: the pool closes it and opens a fresh one for the next writer. The ping
            // first lets the rollback queued by the dropped transaction run.
            .after_release(|conn, _meta| {
                Box::pin(async move {
                    use sqlx::Connection as _;
                    conn.ping().await?;
                    if conn.is_in_transaction() {
                        tracing::warn!(
                            "the writer connection was left inside a failed transaction: replaced"
                        );
                        return Ok(false);
                    }
                    Ok(true)
                })
            })
            // The writer is tuned for bulk pulls (issue 4's benchmark, `large`, 1.9M rows):
            // * 64 MiB of page cache (SQLite's default is 2 MiB): a full pull inserts into
            //   tables of a million rows whose ExternalId indexes are random, and evicted index
            //   pages were read again for every page of records (12 GB read, 134 s → 3 GB).
            //   Readers keep the default: their caches would only multiply the memory.
            // * a checkpoint every 65,536 WAL pages (256 MiB) rather than 1,000: each
            //   checkpoint copies the WAL into the database and fsyncs, and a page rewritten by
            //   many commits is copied once; `journal_size_limit` gives the space back after.
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", "-65536")
                    .pragma("wal_autocheckpoint", "65536")
                    .pragma("journal_size_limit", "67108864")
                    .pragma("temp_store", "memory"),
            )
            .await
            .map_err(open_err)?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            // An idle daemon keeps no reader (each holds its own page cache): they are
            // closed after `READER_IDLE` unused and reopened on demand (a millisecond).
            .min_connections(0)
            .idle_timeout(Some(READER_IDLE))
            .connect_with(options.read_only(true))
            .await
            .map_err(open_err)?;
        let identity = file_identity(path).map_err(|e| open_err(sqlx::Error::Io(e)))?;
        Ok(Store {
            writer,
            readers,
            path: path.to_owned(),
            identity,
        })
    }

    /// Whether the database path still names the file this store opened. A file deleted or
    /// replaced under a running daemon would otherwise take writes that vanish on restart.
    pub fn check_file(&self) -> Result<()> {
        let gone = |what| StoreError::FileGone {
            path: self.path.clone(),
            what,
        };
        match file_identity(&self.path) {
            Ok(now) if now == self.identity => Ok(()),
            Ok(None) => Err(gone("was deleted")),
            Ok(Some(_)) => Err(gone("was replaced by another file")),
            // Unreadable path (a parent's permissions changed): SQLite will say more.
            Err(_) => Ok(()),
        }
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on the single writer), once the path
    /// is known to still name the database opened.
    pub async fn begin_write(&self) -> Result<WriteTx> {
        self.check_file()?;
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("starting a write transaction")
    }

    /// A connection of the read pool, for reads that take a connection.
    pub async fn read_connection(&self) -> Result<sqlx::pool::PoolConnection<Sqlite>> {
        self.readers
            .acquire()
            .await
            .context("taking a read connection")
    }

    /// The read pool.
    pub fn reader(&self) -> &SqlitePool {
        &self.readers
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies the WAL into the database and empties it (`wal_checkpoint(TRUNCATE)`), after
    /// a sync run: the writer checkpoints rarely on its own (see its pragmas), and a WAL of
    /// a full pull would otherwise keep its hundreds of MiB until the next restart of the
    /// log. Returns whether the checkpoint completed; a reader in the middle of a long read
    /// can keep it from finishing, which is harmless (the next run tries again).
    pub async fn checkpoint(&self) -> Result<bool> {
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.writer)
            .await
            .context("checkpointing the WAL")?;
        Ok(busy == 0)
    }

    /// Gives back the memory a bulk pull needed: the writer connection, with its page cache
    /// (64 MiB when full, see its pragmas) and its prepared statements, is closed and
    /// replaced. (On glibc the daemon then trims its heap, `heap-trim`: measured on `small`
    /// with `make bench`, 96 MiB resident after a full sync before, under 25 MiB after.)
    /// The readers keep their default 2 MiB caches while in use, and are closed after 15–30 s
    /// idle.
    pub async fn release_memory(&self) -> Result<()> {
        // The writer connection itself is closed, and the pool opens a fresh one for the
        // next write: its page cache and its prepared statements (a few hundred, for the
        // upserts of every table) go with it.
        let connection = self
            .writer
            .acquire()
            .await
            .context("taking the writer to release its memory")?;
        sqlx::Connection::close(connection.detach())
            .await
            .context("closing the writer to release its memory")?;
        Ok(())
    }

    /// Size of the database file and its WAL, in bytes.
    pub fn size_bytes(&self) -> u64 {
        let wal = {
            let mut p = self.path.clone().into_os_string();
            p.push("-wal");
            PathBuf::from(p)
        };
        [self.path.as_path(), wal.as_path()]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// `PRAGMA integrity_check` and `PRAGMA foreign_key_check`: the problems found, empty
    /// when the database is sound.
    pub async fn check_integrity(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.readers)
            .await
            .context("running PRAGMA integrity_check")?;
        problems.extend(integrity.into_iter().filter(|line| line != "ok"));
        let fk_rows: Vec<(String, Option<i64>, String)> =
            sqlx::query_as(r#"SELECT "table", rowid, parent FROM pragma_foreign_key_check"#)
                .fetch_all(&self.readers)
                .await
                .context("running PRAGMA foreign_key_check")?;
        problems.extend(fk_rows.into_iter().map(|(table, rowid, parent)| {
            format!(
                "{table} row {} refers to a missing {parent} row",
                rowid.map_or_else(|| "?".to_owned(), |r| r.to_string())
            )
        }));
        Ok(problems)
    }

    /// Closes both pools, checkpointing the WAL.
    pub async fn close(self) {
        self.readers.close().await;
        self.writer.close().await;
    }
}
