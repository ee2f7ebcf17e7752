//! Logging for `gazelled`.
//!
//! * Daily rotated files `gazelled.YYYY-MM-DD.log` in the log directory, keeping
//!   `logging.retention_days` of them. The writer is non-blocking but *not lossy*: when the
//!   disk is slow a log call waits rather than dropping the line, because a daemon that runs
//!   unattended is only as debuggable as its logs are complete.
//! * In the foreground (`gazelled --foreground`) every line also goes to stderr. Under
//!   launchd it does not: launchd captures stderr into its own file, which would double
//!   every line.
//! * The level comes from `RUST_LOG` when set, else from `logging.level`.
//!
//! Secrets never reach a log line: configuration secrets are [`config::Secret`], whose
//! `Debug` is `[redacted]`, and tokens are never formatted.

use std::io;
use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{InitError, RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry, fmt};

/// The log files' name: `gazelled.2026-11-24.log`.
pub const FILE_PREFIX: &str = "gazelled";
pub const FILE_SUFFIX: &str = "log";

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot create the log directory {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot open a log file in {path}: {source}")]
    Appender { path: PathBuf, source: InitError },
    #[error("invalid RUST_LOG: {0}")]
    Filter(String),
    #[error("a global logger is already installed")]
    AlreadyInstalled,
}

/// Keeps the background log writer alive; dropping it flushes every pending line.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    _file: WorkerGuard,
}

/// A built subscriber and its guard, not yet installed (tests scope it with
/// `tracing::subscriber::with_default`).
pub struct Telemetry {
    pub subscriber: Box<dyn tracing::Subscriber + Send + Sync>,
    pub guard: LogGuard,
}

/// Builds the subscriber: rotated files in `log_dir`, plus stderr when `foreground`.
pub fn build(
    logging: &config::Logging,
    log_dir: &Path,
    foreground: bool,
) -> Result<Telemetry, TelemetryError> {
    std::fs::create_dir_all(log_dir).map_err(|source| TelemetryError::CreateDir {
        path: log_dir.to_owned(),
        source,
    })?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(FILE_PREFIX)
        .filename_suffix(FILE_SUFFIX)
        .max_log_files(usize::from(logging.retention_days.max(1)))
        .build(log_dir)
        .map_err(|source| TelemetryError::Appender {
            path: log_dir.to_owned(),
            source,
        })?;
    let (file_writer, file_guard) = NonBlockingBuilder::default().lossy(false).finish(appender);

    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::builder()
            .parse(&directives)
            .map_err(|e| TelemetryError::Filter(e.to_string()))?,
        // `logging.level` was validated when the configuration was loaded. Dependencies'
        // chatter stays out of the log unless asked for by name: the scheduler says "Job
        // creator created" at info for every job.
        _ => {
            let level = logging.level.as_str();
            let directives = if level.contains(QUIET_TARGET) {
                level.to_owned()
            } else {
                format!("{level},{QUIET_TARGET}=warn")
            };
            EnvFilter::builder()
                .parse(directives)
                .map_err(|e| TelemetryError::Filter(e.to_string()))?
        }
    };

    let file_layer = fmt::layer()
        .with_writer(file_writer)
        .with_ansi(false)
        .with_target(true);
    let stderr_layer = foreground.then(|| fmt::layer().with_writer(io::stderr).with_target(false));
    let subscriber = Registry::default()
        .with(filter)
        .with(file_layer)
        .with(stderr_layer);
    Ok(Telemetry {
        subscriber: Box::new(subscriber),
        guard: LogGuard { _file: file_guard },
    })
}

/// A dependency that logs its routine at info.
const QUIET_TARGET: &str = "tokio_cron_scheduler";

/// Builds and installs the subscriber for the whole process.
pub fn init(
    logging: &config::Logging,
    log_dir: &Path,
    foreground: bool,
) -> Result<LogGuard, TelemetryError> {
    let telemetry = build(logging, log_dir, foreground)?;
    tracing::subscriber::set_global_default(telemetry.subscriber)
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(telemetry.guard)
}
