//! The configuration's shape and its built-in defaults.
//!
//! `config/gazelled.example.toml` documents every key with its default; a test checks that
//! the example and [`Config::default`] agree, key for key.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::platform;
use crate::values::{
    ClockTime, ConfigPath, CronSpec, EmailAddress, Interval, LogFilter, Mailbox, Secret,
    TimeZoneName, WeekDay,
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
    pub smtp: Smtp,
    pub inventory: Inventory,
    pub web: Web,
}

/// The dashboard gazelled serves (`gazellectl open`).
///
/// Private by default: on 127.0.0.1 only, in plain HTTP (nothing leaves the Mac). Serving
/// the shop's network is opt-in: a `listen` address that is not loopback is served only
/// over TLS, with the shop's certificate (`tls_cert`, `tls_key`) or, without one, a
/// certificate the daemon generates once and keeps in `<data_dir>/web/` (its SHA-256
/// fingerprint is shown by `gazellectl open`, to check on first visit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Web {
    pub enabled: bool,
    /// `address:port`; `127.0.0.1:8480` by default.
    pub listen: std::net::SocketAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<ConfigPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<ConfigPath>,
    /// The address people type to reach the dashboard (in invitation e-mails), e.g.
    /// `https://atelier.local:8480`; default: from `listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<Url>,
    /// How long a login lasts.
    pub session: Interval,
    /// After this many wrong passwords in a row an account is locked for `lockout`.
    pub max_failed_logins: u16,
    pub lockout: Interval,
}

impl Default for Web {
    fn default() -> Self {
        Web {
            enabled: true,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8480)),
            tls_cert: None,
            tls_key: None,
            public_url: None,
            session: Interval::from_secs(12 * 3600),
            max_failed_logins: 5,
            lockout: Interval::from_secs(15 * 60),
        }
    }
}

impl Web {
    /// Whether pages are served over TLS: always off loopback, or with a certificate given.
    pub fn tls(&self) -> bool {
        !self.listen.ip().is_loopback() || self.tls_cert.is_some()
    }
    /// The dashboard's base address, without a trailing slash.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!(
                "{}://{}",
                if self.tls() { "https" } else { "http" },
                self.listen
            ),
        }
    }
}

/// A consumption rule: an invoice line whose description contains `when` (case and accents
/// ignored) uses `quantity` of `product` from the invoice's technician's stock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumptionRule {
    pub when: String,
    /// A product's name, SKU, or Gazelle id.
    pub product: String,
    #[serde(default = "one")]
    pub quantity: u32,
}

fn one() -> u32 {
    1
}

/// Stock consumed by the work invoiced in Gazelle (RULES.md: optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Inventory {
    pub consumption: Vec<ConsumptionRule>,
    /// Only invoices dated on or after this day consume stock (`YYYY-MM-DD`): without it the
    /// rules are off, so years of pulled history never drain today's trucks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumption_since: Option<jiff::civil::Date>,
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
    /// The single-writer lock: every process that writes the database (the daemon, the V4
    /// migration) takes it, always in `data_dir` whatever `database` says, so two processes
    /// configured alike can never both write.
    pub fn lock_file(&self) -> std::path::PathBuf {
        self.data_dir.join("gazelled.lock")
    }
    pub fn socket(&self) -> std::path::PathBuf {
        self.socket.as_ref().map_or_else(
            || self.socket_dir().join("gazelled.sock"),
            |p| p.as_path().to_owned(),
        )
    }
    /// The directory the daemon owns for its socket (`<data_dir>/run`): it creates it and
    /// keeps it 0700. A `socket` elsewhere lives in a directory the user owns.
    pub fn socket_dir(&self) -> std::path::PathBuf {
        self.data_dir.join("run")
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
    /// Québec sales taxes on taxable invoice lines, in thousandths of a percent (Gazelle's
    /// unit: 5000 = 5 %), each computed per line and rounded half-up to the cent.
    pub gst_rate: u32,
    pub qst_rate: u32,
    /// Reorder threshold of a new stock line (RULES.md: 5).
    pub default_reorder_threshold: u32,
    /// The days technicians work: the daily agenda is for the next of these days.
    pub working_days: Vec<WeekDay>,
}

impl Default for Business {
    fn default() -> Self {
        Business {
            timezone: serde_plain("America/Montreal"),
            gst_rate: 5000,
            qst_rate: 9975,
            default_reorder_threshold: 5,
            working_days: vec![
                WeekDay::Mon,
                WeekDay::Tue,
                WeekDay::Wed,
                WeekDay::Thu,
                WeekDay::Fri,
            ],
        }
    }
}

/// What happens when Gazelle changed a record that has a local edit waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// The later of the two edits wins (both versions are kept in the conflicts table).
    LastWriteWins,
    /// The local edit waits until `gazellectl conflicts resolve`.
    Manual,
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
    /// Conflict policy per entity: `clients`, `pianos`, `appointments`, `invoices`
    /// (default: last-write-wins).
    pub conflicts: std::collections::BTreeMap<String, ConflictPolicy>,
}

impl Sync {
    /// The policy for a local table (`Clients`, `Appointments`, …).
    pub fn conflict_policy(&self, table: &str) -> ConflictPolicy {
        self.conflicts
            .get(&table.to_ascii_lowercase())
            .copied()
            .unwrap_or(ConflictPolicy::LastWriteWins)
    }
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
            conflicts: Default::default(),
        }
    }
}

/// A language of alert e-mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Fr,
    En,
}

/// Where one technician's alerts go (keyed by the Gazelle user id in `[alerts.technicians]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Technician {
    /// Default: the user's e-mail address in Gazelle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailAddress>,
    /// Default: `alerts.language`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// E-mail this technician their next working day's agenda at `alerts.agenda_time`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub agenda: bool,
}

/// Problem and resolution phrases of one maintenance-alert family. Matching ignores case
/// and accents, so `debranche` in a list matches "débranché" in a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhraseList {
    pub problems: Vec<String>,
    pub resolutions: Vec<String>,
}

fn phrases(problems: &[&str], resolutions: &[&str]) -> PhraseList {
    let own = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
    PhraseList {
        problems: own(problems),
        resolutions: own(resolutions),
    }
}

/// The four families of RULES.md, with its phrases as defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Phrases {
    pub cover: PhraseList,
    pub power: PhraseList,
    pub reservoir: PhraseList,
    /// Besides these phrases, "humidité" or "température" next to a word of
    /// `environment_problem_words` is an environment problem.
    pub environment: PhraseList,
    pub environment_problem_words: Vec<String>,
}

impl Default for Phrases {
    fn default() -> Self {
        Phrases {
            cover: phrases(
                &[
                    "housse enlevée",
                    "housse enlevé",
                    "housse retirée",
                    "housse retiré",
                    "sans housse",
                    "pas de housse",
                    "housse manquante",
                    "housse absente",
                    "cover removed",
                    "cover off",
                    "no cover",
                    "cover missing",
                    "without cover",
                ],
                &[
                    "housse replacée",
                    "housse remise",
                    "housse repositionnée",
                    "housse installée",
                    "housse remplacée",
                    "cover replaced",
                    "cover back on",
                    "cover put back",
                    "cover reinstalled",
                ],
            ),
            power: phrases(
                &[
                    "débranché",
                    "débranchée",
                    "prise débranchée",
                    "pls débranché",
                    "dampp chaser débranché",
                    "déconnecté",
                    "déconnectée",
                    "pas branché",
                    "non branché",
                    "unplugged",
                    "disconnected",
                    "not plugged",
                ],
                &[
                    "rebranché",
                    "rebranchée",
                    "reconnecté",
                    "reconnectée",
                    "branché à nouveau",
                    "plugged back",
                    "plugged in again",
                    "reconnected",
                ],
            ),
            reservoir: phrases(
                &[
                    "réservoir vide",
                    "réservoir à remplir",
                    "réservoir manquant",
                    "réservoir sec",
                    "tank empty",
                    "empty tank",
                    "no reservoir",
                    "reservoir empty",
                ],
                &[
                    "réservoir rempli",
                    "réservoir remis",
                    "réservoir rempli à nouveau",
                    "tank filled",
                    "tank refilled",
                    "reservoir filled",
                    "reservoir refilled",
                ],
            ),
            environment: phrases(
                &[
                    "fenêtre ouverte",
                    "chauffage",
                    "ventilation",
                    "window open",
                    "open window",
                    "heater",
                    "air conditioning",
                ],
                &[
                    "fenêtre fermée",
                    "humidité normale",
                    "température normale",
                    "corrigé",
                    "corrigée",
                    "résolu",
                    "résolue",
                    "fixed",
                    "resolved",
                    "window closed",
                ],
            ),
            environment_problem_words: [
                "basse",
                "bas",
                "haute",
                "élevée",
                "élevé",
                "anormale",
                "anormal",
                "problème",
                "trop",
                "low",
                "high",
                "abnormal",
                "problem",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        }
    }
}

/// Who hears about what (RULES.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Alerts {
    /// The fallback recipient of every alert (the owner), and of low-stock and sync alerts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_email: Option<EmailAddress>,
    /// The language of e-mails to the owner and to technicians without their own.
    pub language: Language,
    /// Routing by Gazelle user id: `[alerts.technicians.usr_…]` with `email` and `language`.
    pub technicians: std::collections::BTreeMap<String, Technician>,
    /// Institutional clients (conservatories, halls, schools) by Gazelle id…
    pub institutional_client_ids: Vec<String>,
    /// …or by a Gazelle client tag.
    pub institutional_tag: String,
    /// Automatic scans read service notes of the last this many days (a first sync pulls
    /// years of history: those notes are history, not news). `gazellectl alerts scan --since`
    /// reaches further back.
    pub scan_window_days: u16,
    /// Only alerts observed within this many days are e-mailed; older ones are recorded and
    /// shown, not sent.
    pub notify_within_days: u16,
    /// An alert when the last successful sync is older than this.
    pub sync_stale_after: Interval,
    /// The same error this many runs in a row raises a sync alert.
    pub repeated_error_runs: u16,
    /// J-1 check of tomorrow's unconfirmed appointments.
    pub unconfirmed_schedule: CronSpec,
    /// Low-stock check.
    pub low_stock_schedule: CronSpec,
    /// A daily digest of every unresolved maintenance alert, when `digest` is true.
    pub digest: bool,
    pub digest_schedule: CronSpec,
    /// Readings outside this band are an environment alert.
    pub temperature_min_c: i16,
    pub temperature_max_c: i16,
    pub humidity_min_percent: u8,
    pub humidity_max_percent: u8,
    pub phrases: Phrases,
    /// Also write every alert to the log (the console when in the foreground).
    pub log_channel: bool,
    /// Tell technicians of new, reassigned, moved, cancelled and deleted appointments of the
    /// week ahead (held 21:00–07:00, sent at 07:05).
    pub change_notices: bool,
    /// When the daily agenda of the next working day goes to the technicians who asked for
    /// it (`[alerts.technicians.usr_…] agenda = true`), on the shop's clock.
    pub agenda_time: ClockTime,
    /// Also show alerts in macOS Notification Center (through `osascript`).
    pub macos_notifications: bool,
    /// Resolving a maintenance alert by hand adds a comment to the client's timeline in
    /// Gazelle (`createClientLog`) with the resolution note.
    pub client_log_on_resolve: bool,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            owner_email: None,
            language: Language::Fr,
            technicians: Default::default(),
            institutional_client_ids: Vec::new(),
            institutional_tag: "institutional".into(),
            scan_window_days: 45,
            notify_within_days: 7,
            sync_stale_after: Interval::from_secs(30 * 3600),
            repeated_error_runs: 3,
            unconfirmed_schedule: serde_plain("0 0 16 * * *"),
            low_stock_schedule: serde_plain("0 0 8 * * *"),
            digest: false,
            digest_schedule: serde_plain("0 0 7 * * *"),
            temperature_min_c: 18,
            temperature_max_c: 26,
            humidity_min_percent: 30,
            humidity_max_percent: 60,
            phrases: Phrases::default(),
            log_channel: true,
            change_notices: true,
            agenda_time: ClockTime::EVENING,
            macos_notifications: false,
            client_log_on_resolve: false,
        }
    }
}

/// How the connection to the mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this machine (the host must be loopback).
    Plain,
}

/// The mail server alerts are sent through. Without `host`, alerts are kept in the
/// database (and the log channel) but not e-mailed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Smtp {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub port: u16,
    pub security: SmtpSecurity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Default: the macOS Keychain item "Assistant Gazelle SMTP" for `username`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// The sender, e.g. `Assistant Gazelle <alerts@example.com>`. Default: `alerts.owner_email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Mailbox>,
    pub timeout: Interval,
    /// A message that failed this many times is marked dead (and shown in `gazellectl status`).
    pub max_attempts: u16,
    /// A CA certificate (PEM) trusted besides the public roots, for a private relay whose
    /// certificate a public authority did not sign. Never a reason to skip verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for Smtp {
    fn default() -> Self {
        Smtp {
            host: None,
            port: 587,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            from: None,
            timeout: Interval::from_secs(30),
            max_attempts: 8,
            ca_file: None,
        }
    }
}

/// Builds a default of a validated type from its text, through the same validation a file
/// value goes through. Only used with literals that are tested valid.
fn serde_plain<T: serde::de::DeserializeOwned>(text: &str) -> T {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(text))
        .unwrap_or_else(|e| unreachable!("built-in default `{text}` is invalid: {e}"))
}
