//! Loading: built-in defaults < TOML file < `GAZELLE_` environment variables.
//!
//! Environment keys nest with `__`: `GAZELLE_API__PAGE_SIZE=200` sets `api.page_size`.
//! `GAZELLE_CONFIG` names the file when `--config` is not given.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::{Figment, Metadata, Source};

use crate::model::{AuthMode, Config};
use crate::platform;

/// The environment variable that names the configuration file.
pub const CONFIG_ENV: &str = "GAZELLE_CONFIG";

const ENV_PREFIX: &str = "GAZELLE_";

/// The largest configuration file read: a real one is a few KiB, and a parser handed a file
/// of hundreds of MiB (the wrong file, a log) would take gigabytes and minutes.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Why the configuration could not be loaded. Each problem names the key and where its
/// value came from (a file, an environment variable).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {} does not exist", .0.display())]
    Missing(PathBuf),
    #[error(
        "configuration file {} is {size} bytes: a configuration is a few KiB, and anything over {} bytes is refused (is it the right file?)",
        .path.display(),
        MAX_CONFIG_BYTES
    )]
    TooLarge { path: PathBuf, size: u64 },
    #[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<String>),
}

/// A loaded configuration, with what it was loaded from.
#[derive(Debug)]
pub struct LoadedConfig {
    pub config: Config,
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
    figment: Figment,
}

/// One effective setting and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    pub key: String,
    /// The value as TOML, secrets redacted.
    pub value: String,
    pub origin: String,
}

/// Loads the configuration from `explicit` (which must exist), else from `$GAZELLE_CONFIG`
/// (which must exist), else from the platform's default file if there is one.
pub fn load(explicit: Option<&Path>) -> Result<LoadedConfig, ConfigError> {
    let from_env = std::env::var_os(CONFIG_ENV).map(PathBuf::from);
    let file = match explicit.map(Path::to_owned).or(from_env) {
        Some(path) if path.is_file() => Some(path),
        Some(path) => return Err(ConfigError::Missing(path)),
        None => Some(platform::config_file()).filter(|p| p.is_file()),
    };
    if let Some(path) = &file {
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        if size > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                path: path.clone(),
                size,
            });
        }
    }
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(file) = &file {
        figment = figment.merge(Toml::file_exact(file));
    }
    figment = figment.merge(Env::prefixed(ENV_PREFIX).ignore(&["CONFIG"]).split("__"));

    let config: Config = figment
        .extract()
        .map_err(|e| ConfigError::Invalid(describe(e)))?;
    let loaded = LoadedConfig {
        config,
        file,
        figment,
    };
    let problems = loaded.cross_checks();
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

impl LoadedConfig {
    /// Where the value of `key` (`api.page_size`) came from.
    pub fn origin(&self, key: &str) -> String {
        self.figment.find_metadata(key).map_or_else(
            || "built-in default".to_owned(),
            |md| origin(md, &key.split('.').collect::<Vec<_>>()),
        )
    }

    /// Every effective setting, flattened to dotted keys, secrets redacted.
    pub fn settings(&self) -> Vec<Setting> {
        let mut settings = Vec::new();
        if let Ok(toml::Value::Table(table)) = toml::Value::try_from(&self.config) {
            flatten("", &toml::Value::Table(table), &mut |key, value| {
                settings.push(Setting {
                    key: key.to_owned(),
                    value: value.to_string(),
                    origin: self.origin(key),
                });
            });
        }
        settings
    }

    /// Rules that involve more than one key.
    fn cross_checks(&self) -> Vec<String> {
        let c = &self.config;
        let mut problems = Vec::new();
        if let Some(uri) = &c.api.redirect_uri
            && uri.scheme() != "https"
        {
            problems.push(format!(
                "{}: key `api.redirect_uri`: `{uri}` must be an https URL (Gazelle refuses other redirects)",
                self.origin("api.redirect_uri")
            ));
        }
        if !matches!(c.api.base_url.scheme(), "https" | "http") {
            problems.push(format!(
                "{}: key `api.base_url`: `{}` must be an http or https URL",
                self.origin("api.base_url"),
                c.api.base_url
            ));
        }
        if c.api.auth == AuthMode::ApiKey && c.api.api_key.is_none() {
            problems.push(format!(
                "{}: key `api.api_key` is required when `api.auth` is \"api-key\"",
                self.origin("api.auth")
            ));
        }
        for (key, value) in [
            ("api.page_size", c.api.page_size),
            ("api.requests_per_second", c.api.requests_per_second),
            ("logging.retention_days", c.logging.retention_days),
        ] {
            if value == 0 {
                problems.push(format!(
                    "{}: key `{key}` must be at least 1",
                    self.origin(key)
                ));
            }
        }
        problems
    }
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut impl FnMut(&str, &toml::Value)) {
    match value {
        toml::Value::Table(table) => {
            for (k, v) in table {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        leaf => out(prefix, leaf),
    }
}

/// Names where a value came from: the file's path, or the environment variable.
fn origin(metadata: &Metadata, path: &[&str]) -> String {
    match &metadata.source {
        Some(Source::File(file)) => file.display().to_string(),
        _ if metadata.name.contains("environment") => {
            let var: Vec<String> = path.iter().map(|p| p.to_uppercase()).collect();
            format!("environment variable {ENV_PREFIX}{}", var.join("__"))
        }
        // The only other provider is the built-in defaults.
        _ => "built-in default".to_owned(),
    }
}

/// Turns figment's errors into one line each: origin, key, what is wrong.
fn describe(error: figment::Error) -> Vec<String> {
    error
        .into_iter()
        .map(|e| {
            let mut path: Vec<&str> = e.path.iter().map(String::as_str).collect();
            if let figment::error::Kind::UnknownField(field, _) = &e.kind
                && path.last() != Some(&field.as_str())
            {
                path.push(field);
            }
            let from = e
                .metadata
                .as_ref()
                .map_or_else(|| "configuration".to_owned(), |md| origin(md, &path));
            if path.is_empty() {
                format!("{from}: {}", e.kind)
            } else {
                format!("{from}: key `{}`: {}", path.join("."), e.kind)
            }
        })
        .collect()
}
