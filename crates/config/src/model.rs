//! The configuration's shape and its built-in defaults.
//!
//! `config/gazelled.example.toml` documents every key with its default; a test checks that
//! the example and [`Config::default`] agree, key for key.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::platform;
use crate::values::{
    ConfigPath, CronSpec, EmailAddress, Interval, LogFilter, Secret, TimeZoneName,
};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub paths: Paths,
    pub logging: Logging,
    pub business: Business,
    pub api: Api,
    pub sync: Sync,
    pub alerts: Alerts,
}

/// Where the daemon keeps its files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Paths {
    /// Database, tokens and the control socket live here unless given their own path.
    pub data_dir: ConfigPath,
    pub log_dir: ConfigPath,
    /// Default: `<data_dir>/gazelle.sqlite3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<ConfigPath>,
    /// Default: `<data_dir>/run/gazelled.sock`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket: Option<ConfigPath>,
    /// Where tokens are kept when the Keychain is not available. Default:
    /// `<data_dir>/tokens.json` (mode 0600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<ConfigPath>,
}

impl Paths {
    pub fn database(&self) -> std::path::PathBuf {
        self.database.as_ref().map_or_else(
            || self.data_dir.join("gazelle.sqlite3"),
            |p| p.as_path().to_owned(),
        )
    }
    pub fn socket(&self) -> std::path::PathBuf {
        self.socket.as_ref().map_or_else(
            || self.data_dir.join("run/gazelled.sock"),
            |p| p.as_path().to_owned(),
        )
    }
    pub fn token_file(&self) -> std::path::PathBuf {
        self.token_file.as_ref().map_or_else(
            || self.data_dir.join("tokens.json"),
            |p| p.as_path().to_owned(),
        )
    }
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            data_dir: ConfigPath::new(platform::data_dir()),
            log_dir: ConfigPath::new(platform::log_dir()),
            database: None,
            socket: None,
            token_file: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Logging {
    /// A level or `tracing` directives; `RUST_LOG`, when set, wins.
    pub level: LogFilter,
    /// How many daily log files to keep.
    pub retention_days: u16,
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            level: serde_plain("info"),
            retention_days: 14,
        }
    }
}

/// The shop's business settings (RULES.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Business {
    /// Every business rule ("tomorrow", "16:00", schedules) is read in this zone.
    pub timezone: TimeZoneName,
}

impl Default for Business {
    fn default() -> Self {
        Business {
            timezone: serde_plain("America/Montreal"),
        }
    }
}

/// How the daemon authenticates to Gazelle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// OAuth2 authorization code, refreshed automatically (`gazellectl auth login`).
    Oauth,
    /// An account API key sent as `x-gazelle-api-key`.
    ApiKey,
}

/// The Gazelle API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Api {
    /// Scheme and host of the service; the GraphQL and OAuth paths are fixed.
    pub base_url: Url,
    pub auth: AuthMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// Must be HTTPS: Gazelle refuses out-of-band redirects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<Url>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// Records per page of a connection (Gazelle's maximum is undocumented; 100 and 200 work).
    pub page_size: u16,
    /// At most this many requests per second.
    pub requests_per_second: u16,
    pub connect_timeout: Interval,
    pub request_timeout: Interval,
}

impl Default for Api {
    fn default() -> Self {
        Api {
            base_url: Url::parse("https://gazelleapp.io/").expect("a valid built-in URL"),
            auth: AuthMode::Oauth,
            client_id: None,
            client_secret: None,
            redirect_uri: None,
            api_key: None,
            page_size: 100,
            requests_per_second: 5,
            connect_timeout: Interval::from_secs(10),
            request_timeout: Interval::from_secs(60),
        }
    }
}

/// What is pulled when (schedules are read in `business.timezone`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sync {
    /// Incremental pull of appointments: hourly from 07:00 to 21:00.
    pub appointments_schedule: CronSpec,
    /// Incremental pull of timeline entries.
    pub timeline_interval: Interval,
    /// Incremental pull of users, catalogue, clients, pianos and invoices: nightly.
    pub nightly_schedule: CronSpec,
    /// Complete scan catching old edits and deletions.
    pub reconcile_schedule: CronSpec,
    /// How often local edits are pushed.
    pub push_interval: Interval,
    /// Incremental event window around today.
    pub event_window_days_back: u16,
    pub event_window_days_ahead: u16,
    /// Technicians enter notes late: 7 days lost notes in practice, 30 did not.
    pub timeline_lookback_days: u16,
    /// More deletions or cancellations than this in one run are held for confirmation.
    pub mass_change_threshold: u32,
}

impl Default for Sync {
    fn default() -> Self {
        Sync {
            appointments_schedule: serde_plain("0 0 7-21 * * *"),
            timeline_interval: Interval::from_secs(3 * 3600),
            nightly_schedule: serde_plain("0 0 2 * * *"),
            reconcile_schedule: serde_plain("0 30 3 * * *"),
            push_interval: Interval::from_secs(5 * 60),
            event_window_days_back: 30,
            event_window_days_ahead: 120,
            timeline_lookback_days: 30,
            mass_change_threshold: 10,
        }
    }
}

/// Who hears about what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Alerts {
    /// The fallback recipient of every alert (the owner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_email: Option<EmailAddress>,
    /// An alert when the last successful sync is older than this.
    pub sync_stale_after: Interval,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            owner_email: None,
            sync_stale_after: Interval::from_secs(30 * 3600),
        }
    }
}

/// Builds a default of a validated type from its text, through the same validation a file
/// value goes through. Only used with literals that are tested valid.
fn serde_plain<T: serde::de::DeserializeOwned>(text: &str) -> T {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(text))
        .unwrap_or_else(|e| unreachable!("built-in default `{text}` is invalid: {e}"))
}
