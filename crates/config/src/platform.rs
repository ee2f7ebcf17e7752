//! Where things live by default, per platform.
//!
//! * macOS: data and tokens in `~/Library/Application Support/Assistant Gazelle/`, logs in
//!   `~/Library/Logs/Assistant Gazelle/`, configuration in
//!   `~/Library/Application Support/Assistant Gazelle/gazelled.toml`.
//! * Linux and others: the XDG directories (`$XDG_DATA_HOME/assistant-gazelle`,
//!   `$XDG_STATE_HOME/assistant-gazelle/logs`, `$XDG_CONFIG_HOME/assistant-gazelle`).
//!
//! Every one of them can be overridden in the configuration.

use std::path::PathBuf;

/// The application's directory name.
#[cfg(target_os = "macos")]
pub const APP_DIR: &str = "Assistant Gazelle";
#[cfg(not(target_os = "macos"))]
pub const APP_DIR: &str = "assistant-gazelle";

fn home() -> PathBuf {
    directories::BaseDirs::new()
        .map(|b| b.home_dir().to_owned())
        // No home directory at all (a bare service account): fall back to the temp dir
        // rather than panicking; `gazellectl doctor` reports the odd location.
        .unwrap_or_else(std::env::temp_dir)
}

/// Database, tokens, and the control socket's directory.
pub fn data_dir() -> PathBuf {
    #[cfg(target_os = "macos")]
    {
        home().join("Library/Application Support").join(APP_DIR)
    }
    #[cfg(not(target_os = "macos"))]
    {
        directories::BaseDirs::new()
            .map(|b| b.data_dir().join(APP_DIR))
            .unwrap_or_else(|| home().join(".local/share").join(APP_DIR))
    }
}

/// Log files.
pub fn log_dir() -> PathBuf {
    #[cfg(target_os = "macos")]
    {
        home().join("Library/Logs").join(APP_DIR)
    }
    #[cfg(not(target_os = "macos"))]
    {
        directories::BaseDirs::new()
            .and_then(|b| b.state_dir().map(|d| d.join(APP_DIR).join("logs")))
            .unwrap_or_else(|| home().join(".local/state").join(APP_DIR).join("logs"))
    }
}

/// The configuration file read when none is given.
pub fn config_file() -> PathBuf {
    #[cfg(target_os = "macos")]
    {
        data_dir().join("gazelled.toml")
    }
    #[cfg(not(target_os = "macos"))]
    {
        directories::BaseDirs::new()
            .map(|b| b.config_dir().join(APP_DIR))
            .unwrap_or_else(|| home().join(".config").join(APP_DIR))
            .join("gazelled.toml")
    }
}
