//! The answers of `status` and `runs`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use store::sync_log::{RunSummary, StreamCounts, StreamState};

/// Everything `gazellectl status` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub daemon_version: String,
    pub uptime_seconds: u64,
    pub authorization: crate::Authorization,
    pub sync_running: bool,
    pub paused: bool,
    pub streams: Vec<StreamStatus>,
    pub last_run: Option<RunView>,
    pub backlog: store::reads::Backlog,
    pub schedule: Vec<ScheduledJob>,
    /// How often the timeline is pulled (`sync.timeline_interval`).
    pub timeline_every: String,
    pub email: EmailStatus,
    pub database: DatabaseStatus,
    /// Storage trouble in course, if any.
    pub storage: Option<store::error::StorageTrouble>,
    pub socket: PathBuf,
    /// Where the dashboard is served (`None`: off, or it could not start).
    #[serde(default)]
    pub dashboard: Option<String>,
}

/// A stream's state and when it runs next (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamStatus {
    #[serde(flatten)]
    pub state: StreamState,
    pub next_run: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledJob {
    pub job: String,
    /// UTC; None when the job is off.
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailStatus {
    /// None: e-mail is not configured.
    pub server: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseStatus {
    pub path: PathBuf,
    pub size_bytes: u64,
}

/// A run of the log with its counts, per stream and per table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunView {
    pub run: RunSummary,
    pub streams: Vec<StreamLine>,
    /// Every stream added up.
    pub totals: StreamCounts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamLine {
    pub stream: String,
    pub counts: StreamCounts,
    /// Its time, requests and bytes (`None` for runs logged before they were measured).
    pub cost: Option<store::sync_log::StreamCost>,
    /// The same rows, table by table (a stream writes clients and their contacts, invoices
    /// and their lines).
    pub tables: Vec<store::sync_log::TableCounts>,
}
