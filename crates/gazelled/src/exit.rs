//! Why the daemon stopped, and the exit code that says so (sysexits.h, which launchd and
//! shell scripts understand).

use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Config(config::ConfigError),
    #[error("{0}")]
    Telemetry(telemetry::TelemetryError),
    #[error("{0}")]
    Store(store::StoreError),
    #[error("another gazelled is already running (lock held on {0})")]
    AlreadyRunning(std::path::PathBuf),
    #[error("cannot take the instance lock {path}: {source}")]
    Lock {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("runtime error: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Api(api_client::ApiError),
    #[error("the sync run {0}")]
    SyncFailed(&'static str),
    #[error("control socket: {0}")]
    Socket(String),
    #[error("schedule: {0}")]
    Schedule(String),
    #[error("alerts: {0}")]
    Alerts(String),
}

impl Failure {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Failure::Config(_) => 78,                                    // EX_CONFIG
            Failure::AlreadyRunning(_) => 75,                            // EX_TEMPFAIL
            Failure::Telemetry(_) | Failure::Lock { .. } => 73,          // EX_CANTCREAT
            Failure::Store(store::StoreError::NotWritable { .. }) => 77, // EX_NOPERM
            Failure::Store(_) | Failure::Runtime(_) => 70,               // EX_SOFTWARE
            Failure::Api(_) => 78, // EX_CONFIG: credentials missing or unusable
            Failure::SyncFailed(_) => 1,
            Failure::Socket(_) => 73, // EX_CANTCREAT
            Failure::Schedule(_) | Failure::Alerts(_) => 78,
        })
    }
}
