//! `gazellectl migrate-v4 DIR [--db FILE] [--dry-run] [--report FILE]`.
//!
//! The one verb that writes the database itself rather than asking the daemon: it runs once,
//! before the daemon's first start, and refuses to run while a daemon holds the data
//! directory's lock (two writers would each see half of the other's work).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::{EXIT_BUSY, EXIT_FAILED, EXIT_INVALID_DATA};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder holding the V4 export (Clients.csv, Pianos.csv, …).
    dir: PathBuf,
    /// The database to import into (default: the configured one).
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// Do everything and report, but write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Where to write the Markdown report; the JSON report and the rejects CSV go beside it
    /// (default: DIR/migration-report.md).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

pub fn run(file: Option<&Path>, args: Args) -> ExitCode {
    let loaded = match crate::load_config(file) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let config = loaded.config;
    let database = args.db.clone().unwrap_or_else(|| config.paths.database());
    // The daemon's own lock (always in `data_dir`), held for the whole import.
    let _lock = match super::daemon::daemon_lock(&config.paths.lock_file()) {
        Ok(super::daemon::DaemonLock::Held(lock)) => lock,
        Ok(super::daemon::DaemonLock::Busy) => {
            eprintln!(
                "gazellectl: gazelled is running on this database; stop it first (`launchctl bootout gui/$(id -u)/ca.assistantgazelle.gazelled`, or Ctrl-C), then run the migration"
            );
            return ExitCode::from(EXIT_BUSY);
        }
        Err(message) => {
            eprintln!("gazellectl: {message}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| args.dir.join("migration-report.md"));
    let runtime = match crate::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let store = match store::Store::open(&database).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("gazellectl: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
        };
        let result = v4_migration::migrate(&args.dir, &store, args.dry_run).await;
        store.close().await;
        let report = match result {
            Ok(r) => r,
            Err(e) => {
                eprintln!("gazellectl: migration stopped, nothing was changed: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
        };
        println!(
            "{:<18} {:>8} {:>9} {:>8} {:>10} {:>9}",
            "table", "read", "imported", "updated", "unchanged", "rejected"
        );
        for t in report.tables.iter().filter(|t| t.file.is_some()) {
            println!(
                "{:<18} {:>8} {:>9} {:>8} {:>10} {:>9}",
                t.table, t.read, t.imported, t.updated, t.unchanged, t.rejected
            );
        }
        for t in report
            .tables
            .iter()
            .filter(|t| !t.dropped_columns.is_empty())
        {
            for d in &t.dropped_columns {
                println!(
                    "not imported: {}.{}: {}",
                    t.file.as_deref().unwrap_or(&t.table),
                    d.column,
                    d.reason
                );
            }
        }
        let warnings: usize = report.tables.iter().map(|t| t.warnings.len()).sum();
        if warnings > 0 {
            println!("{warnings} rows stored with a value left out: see the report");
        }
        for v in &report.validation {
            println!(
                "{} {}: {}",
                if v.ok { "ok  " } else { "FAIL" },
                v.check,
                v.detail
            );
        }
        if args.dry_run {
            println!("Dry run: nothing was written.");
        } else if !report.changed() {
            println!("Nothing changed: the database already holds this export.");
        } else {
            println!("Imported into {}.", database.display());
        }
        match v4_migration::report::write_all(&report, &report_path) {
            Ok((json, rejects)) => {
                println!(
                    "Report: {} (and {}); rejected rows: {}",
                    report_path.display(),
                    json.display(),
                    rejects.display()
                );
                if report.valid() {
                    ExitCode::SUCCESS
                } else {
                    eprintln!(
                        "gazellectl: the migration's checks failed (FAIL above): see {}",
                        report_path.display()
                    );
                    ExitCode::from(EXIT_INVALID_DATA)
                }
            }
            Err(e) => {
                eprintln!(
                    "gazellectl: cannot write the report {}: {e}",
                    report_path.display()
                );
                ExitCode::from(EXIT_FAILED)
            }
        }
    })
}
