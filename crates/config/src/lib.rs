//! The daemon's configuration.
//!
//! Layered with figment: built-in defaults < the TOML file < `GAZELLE_` environment
//! variables (`__` nests: `GAZELLE_SYNC__PUSH_INTERVAL=10m`). Unknown keys are errors, and
//! every invalid value (URL, path, interval, cron spec, e-mail address, time zone, log
//! filter) is reported with its key and the file or variable it came from.
//! `config/gazelled.example.toml` documents every key with its default.

mod load;
mod model;
pub mod platform;
mod values;

pub use load::{CONFIG_ENV, ConfigError, LoadedConfig, Setting, load};
pub use model::{
    Alerts, Api, AuthMode, Business, Config, ConflictPolicy, ConsumptionRule, Inventory, Language,
    Logging, Paths, PhraseList, Phrases, Smtp, SmtpSecurity, Sync, Technician, Web,
};
pub use values::{
    ClockTime, ConfigPath, CronSpec, EmailAddress, Interval, LogFilter, Mailbox, REDACTED, Secret,
    TimeZoneName, WeekDay,
};
