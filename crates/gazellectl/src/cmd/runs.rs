//! `gazellectl runs`, `pause`, `resume`.

use std::path::Path;
use std::process::ExitCode;

use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use protocol::calls::Runs;
use protocol::status::RunView;
use protocol::{Request, Response};

use super::daemon::{ask, call};
use crate::EXIT_FAILED;

pub fn run(file: Option<&Path>, limit: u32, detail: bool, json: bool) -> ExitCode {
    let runs = match call(file, Runs { limit }) {
        Ok(runs) => runs,
        Err(code) => return code,
    };
    if json {
        super::print_json(&runs);
        return ExitCode::SUCCESS;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "run", "started", "trigger", "mode", "status", "ms", "fetched", "inserted", "updated",
        "deleted", "rejected", "errors",
    ]);
    let clock = crate::shop_time::ShopTime::of(file);
    for view in &runs {
        let (r, t) = (&view.run, &view.totals);
        let errors: Vec<serde_json::Value> = serde_json::from_str(&r.errors).unwrap_or_default();
        table.add_row([
            r.id.to_string(),
            clock.show_text(&r.started_at),
            r.trigger.clone(),
            r.mode.clone(),
            r.status.clone(),
            r.duration_ms
                .map_or_else(|| "—".into(), |ms| ms.to_string()),
            t.fetched.to_string(),
            t.rows.inserted.to_string(),
            t.rows.updated.to_string(),
            t.deleted.to_string(),
            t.rows.rejected.to_string(),
            errors.len().to_string(),
        ]);
    }
    println!("{table}");
    if detail {
        for view in &runs {
            println!("run #{}:\n{}", view.run.id, counts_table(view));
        }
    }
    ExitCode::SUCCESS
}

/// A run's counts: a line per stream and, under a stream that writes more than one table,
/// a line per table (`clients · contacts`).
pub fn counts_table(view: &RunView) -> Table {
    let mut counts = Table::new();
    counts.load_preset(UTF8_FULL_CONDENSED).set_header([
        "stream",
        "fetched",
        "inserted",
        "updated",
        "unchanged",
        "deleted",
        "rejected",
        "time",
        "requests",
        "received",
    ]);
    for line in &view.streams {
        let c = &line.counts;
        let [time, requests, received] = match line.cost {
            Some(cost) => [
                duration(cost.duration_ms),
                cost.requests.to_string(),
                size(cost.bytes_received),
            ],
            // Runs logged by a version that did not measure.
            None => ["—".into(), "—".into(), "—".into()],
        };
        counts.add_row([
            line.stream.clone(),
            c.fetched.to_string(),
            c.rows.inserted.to_string(),
            c.rows.updated.to_string(),
            c.rows.unchanged.to_string(),
            c.deleted.to_string(),
            c.rows.rejected.to_string(),
            time,
            requests,
            received,
        ]);
        if line.tables.len() > 1 {
            for t in &line.tables {
                let c = &t.counts;
                counts.add_row([
                    format!("  · {}", t.table),
                    String::new(),
                    c.inserted.to_string(),
                    c.updated.to_string(),
                    c.unchanged.to_string(),
                    String::new(),
                    c.rejected.to_string(),
                ]);
            }
        }
    }
    counts
}

/// "812 ms", "14.2 s", "3 min 05 s".
pub fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
    }
}

/// "950 B", "41.0 kB", "3.4 MB" (decimal units, as Finder shows sizes).
pub fn size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", bytes as f64 / 1e6),
        _ => format!("{:.2} GB", bytes as f64 / 1e9),
    }
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
