//! `gazellectl status`: the daemon at a glance.

use std::path::Path;
use std::process::ExitCode;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use protocol::{Request, Response};
use serde_json::Value;

use super::daemon::Daemon;
use crate::EXIT_FAILED;

pub fn run(file: Option<&Path>, json: bool) -> ExitCode {
    let runtime = match crate::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let mut daemon = match Daemon::connect_configured(file).await {
            Ok(d) => d,
            Err(code) => return code,
        };
        let status = match daemon.request(&Request::Status).await {
            Ok(Response::Status { status }) => status,
            Ok(Response::Error { message, .. }) => {
                eprintln!("gazellectl: {message}");
                return ExitCode::from(EXIT_FAILED);
            }
            Ok(other) => {
                eprintln!("gazellectl: unexpected answer: {other:?}");
                return ExitCode::from(EXIT_FAILED);
            }
            Err(code) => return code,
        };
        if json {
            println!("{status:#}");
        } else {
            print_human(&status, &crate::shop_time::ShopTime::of(file));
        }
        ExitCode::SUCCESS
    })
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_human(s: &Value, clock: &crate::shop_time::ShopTime) {
    let uptime = s["uptime_seconds"].as_u64().unwrap_or(0);
    println!(
        "gazelled {} — up {}h{:02}m — authorization: {}{}",
        text(&s["daemon_version"]),
        uptime / 3600,
        (uptime % 3600) / 60,
        text(&s["authorization"]["state"]),
        if s["sync_running"].as_bool() == Some(true) {
            " — a sync is running"
        } else {
            ""
        }
    );
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "stream",
            "last success",
            "last failure",
            "last error",
            "resume cursor",
            "next run",
        ]);
    for stream in s["streams"].as_array().into_iter().flatten() {
        table.add_row([
            text(&stream["stream"]),
            clock.show(&stream["last_success_at"]),
            clock.show(&stream["last_failure_at"]),
            text(&stream["last_error"]),
            if stream["cursor"].is_null() {
                "—".into()
            } else {
                "yes".into()
            },
            match (&stream["next_run"], stream["stream"].as_str()) {
                (Value::String(at), Some("timeline")) => format!(
                    "every {} (reconcile {})",
                    text(&s["timeline_every"]),
                    clock.show_text(at)
                ),
                (Value::String(at), _) => clock.show_text(at),
                _ => "—".into(),
            },
        ]);
    }
    println!("{table}");
    let run = &s["last_run"]["run"];
    if !run.is_null() {
        println!(
            "last run #{} ({}, {}): {} in {} ms",
            text(&run["id"]),
            text(&run["mode"]),
            text(&run["trigger"]),
            text(&run["status"]),
            text(&run["duration_ms"])
        );
        let mut counts = Table::new();
        counts.load_preset(UTF8_FULL_CONDENSED).set_header([
            "stream",
            "fetched",
            "inserted",
            "updated",
            "unchanged",
            "deleted",
            "rejected",
        ]);
        for line in s["last_run"]["streams"].as_array().into_iter().flatten() {
            let c = &line["counts"];
            counts.add_row([
                text(&line["stream"]),
                text(&c["fetched"]),
                text(&c["rows"]["inserted"]),
                text(&c["rows"]["updated"]),
                text(&c["rows"]["unchanged"]),
                text(&c["deleted"]),
                text(&c["rows"]["rejected"]),
            ]);
        }
        println!("{counts}");
    } else {
        println!("no sync has run yet: `gazellectl force-sync --wait`");
    }
    let b = &s["backlog"];
    println!(
        "outbox: {} pending, {} dead — conflicts: {} — open alerts: {} maintenance, {} other",
        text(&b["outbox_pending"]),
        text(&b["outbox_dead"]),
        text(&b["open_conflicts"]),
        text(&b["open_alerts"]),
        text(&b["open_system_alerts"])
    );
    match s["email"]["server"].as_str() {
        Some(server) => println!(
            "e-mail: {} waiting, {} dead — through {server}",
            text(&b["emails_pending"]),
            text(&b["emails_dead"])
        ),
        None => println!("e-mail: not configured (set smtp.host): alerts are recorded and logged"),
    }
    println!(
        "database: {} ({:.1} MiB)",
        text(&s["database"]["path"]),
        s["database"]["size_bytes"].as_f64().unwrap_or(0.0) / 1_048_576.0
    );
    if let Some(trouble) = s["storage"].as_object() {
        println!(
            "STORAGE TROUBLE ({}) since {}: {} — runs and edits fail until it is fixed; nothing needs a restart",
            text(&trouble["fault"]).replace('_', " "),
            text(&trouble["since"]),
            text(&trouble["error"])
        );
    }
}
