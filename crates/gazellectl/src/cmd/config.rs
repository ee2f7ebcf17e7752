//! `gazellectl config`: the effective configuration and the origin of each value.
//!
//! It reads the configuration the same way the daemon does (same file, same environment),
//! so what it shows is what `gazelled` started with that environment would use.

use std::path::Path;
use std::process::ExitCode;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

pub fn run(file: Option<&Path>, json: bool) -> ExitCode {
    let loaded = match crate::load_config(file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let settings = loaded.settings();
    if json {
        let doc = serde_json::json!({
            "file": loaded.file,
            "database": loaded.config.paths.database(),
            "socket": loaded.config.paths.socket(),
            "settings": settings,
        });
        println!("{doc:#}");
    } else {
        match &loaded.file {
            Some(f) => println!("Configuration file: {}", f.display()),
            None => println!("Configuration file: none (built-in defaults and environment)"),
        }
        println!("Database: {}", loaded.config.paths.database().display());
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["key", "value", "from"]);
        for s in settings {
            table.add_row([s.key, s.value, s.origin]);
        }
        println!("{table}");
    }
    ExitCode::SUCCESS
}
