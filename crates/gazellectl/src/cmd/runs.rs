//! `gazellectl runs`, `pause`, `resume`.

use std::path::Path;
use std::process::ExitCode;

use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use protocol::{Request, Response};

use super::daemon::ask;
use crate::EXIT_FAILED;

pub fn run(file: Option<&Path>, limit: u32, json: bool) -> ExitCode {
    let runtime = match crate::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let runs = match runtime.block_on(ask(file, Request::Runs { limit })) {
        Ok(Response::Runs { runs }) => runs,
        Ok(other) => {
            eprintln!("gazellectl: unexpected answer: {other:?}");
            return ExitCode::from(EXIT_FAILED);
        }
        Err(code) => return code,
    };
    if json {
        println!("{runs:#}");
        return ExitCode::SUCCESS;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "run", "started", "trigger", "mode", "status", "ms", "fetched", "inserted", "updated",
        "deleted", "rejected", "errors",
    ]);
    let n = |v: &serde_json::Value| v.as_u64().map_or_else(|| "—".to_owned(), |n| n.to_string());
    let clock = crate::shop_time::ShopTime::of(file);
    for entry in runs.as_array().into_iter().flatten() {
        let (r, t) = (&entry["run"], &entry["totals"]);
        let errors: Vec<serde_json::Value> =
            serde_json::from_str(r["errors"].as_str().unwrap_or("[]")).unwrap_or_default();
        table.add_row([
            n(&r["id"]),
            clock.show(&r["started_at"]),
            r["trigger"].as_str().unwrap_or("—").to_owned(),
            r["mode"].as_str().unwrap_or("—").to_owned(),
            r["status"].as_str().unwrap_or("—").to_owned(),
            n(&r["duration_ms"]),
            n(&t["fetched"]),
            n(&t["rows"]["inserted"]),
            n(&t["rows"]["updated"]),
            n(&t["deleted"]),
            n(&t["rows"]["rejected"]),
            errors.len().to_string(),
        ]);
    }
    println!("{table}");
    ExitCode::SUCCESS
}

pub fn pause(file: Option<&Path>, paused: bool) -> ExitCode {
    let runtime = match crate::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let request = if paused {
        Request::Pause
    } else {
        Request::Resume
    };
    match runtime.block_on(ask(file, request)) {
        Ok(Response::Paused { paused: true }) => {
            println!(
                "Scheduled syncs are paused until `gazellectl resume` (or the daemon restarts)."
            );
            ExitCode::SUCCESS
        }
        Ok(Response::Paused { paused: false }) => {
            println!("Scheduled syncs resumed.");
            ExitCode::SUCCESS
        }
        Ok(other) => {
            eprintln!("gazellectl: unexpected answer: {other:?}");
            ExitCode::from(EXIT_FAILED)
        }
        Err(code) => code,
    }
}
