//! One module per verb; `daemon` is the connection they share.

pub mod alerts;
pub mod auth;
pub mod config;
pub mod daemon;
pub mod doctor;
pub mod force_sync;
pub mod install;
pub mod logs;
pub mod manage;
pub mod migrate_v4;
pub mod runs;
pub mod status;
pub mod web;

/// `--json` output: the answer as the daemon sent it, indented (times in UTC).
pub fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("gazellectl: cannot write JSON: {e}"),
    }
}

/// A JSON array written item by item as the parts of a list arrive: valid JSON at the end,
/// and never the whole list in memory.
pub struct JsonArray {
    started: bool,
}

impl JsonArray {
    /// Writes `[` (after `prefix`, e.g. the opening of an enclosing object).
    pub fn open(prefix: &str) -> JsonArray {
        print!("{prefix}[");
        JsonArray { started: false }
    }

    pub fn items<T: serde::Serialize>(&mut self, items: &[T]) {
        for item in items {
            let text = serde_json::to_string_pretty(item).unwrap_or_else(|_| "null".into());
            print!("{}\n{text}", if self.started { "," } else { "" });
            self.started = true;
        }
    }

    /// Writes `]` and `suffix`.
    pub fn close(self, suffix: &str) {
        println!("{}]{suffix}", if self.started { "\n" } else { "" });
    }
}
