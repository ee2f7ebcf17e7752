//! `gazellectl status`: the daemon at a glance.

use std::path::Path;
use std::process::ExitCode;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use protocol::Authorization;
use protocol::calls::Status;
use protocol::status::{DaemonStatus, RunView};

use super::daemon::call;
use crate::shop_time::ShopTime;

pub fn run(file: Option<&Path>, json: bool) -> ExitCode {
    let status = match call(file, Status {}) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if json {
        super::print_json(&status);
    } else {
        print_human(&status, &ShopTime::of(file));
    }
    ExitCode::SUCCESS
}

fn or_dash(text: Option<&str>) -> String {
    text.unwrap_or("—").to_owned()
}

fn authorization(a: &Authorization) -> String {
    match a {
        Authorization::ApiKey => "API key".into(),
        Authorization::Authorized { .. } => "authorized".into(),
        Authorization::NeedsReauthorization => "LOST (run `gazellectl auth login`)".into(),
        Authorization::NotAuthorized => "not authorized (run `gazellectl auth login`)".into(),
        Authorization::NotConfigured { reason } => format!("not configured ({reason})"),
    }
}

fn print_human(s: &DaemonStatus, clock: &ShopTime) {
    println!(
        "gazelled {} — up {}h{:02}m — authorization: {}{}{}",
        s.daemon_version,
        s.uptime_seconds / 3600,
        (s.uptime_seconds % 3600) / 60,
        authorization(&s.authorization),
        if s.sync_running {
            " — a sync is running"
        } else {
            ""
        },
        if s.paused { " — PAUSED" } else { "" }
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
    for stream in &s.streams {
        let state = &stream.state;
        table.add_row([
            state.stream.clone(),
            clock.show_opt(state.last_success_at.as_deref()),
            clock.show_opt(state.last_failure_at.as_deref()),
            or_dash(state.last_error.as_deref()),
            if state.cursor.is_some() { "yes" } else { "—" }.to_owned(),
            match (&stream.next_run, state.stream.as_str()) {
                (Some(at), "timeline") => format!(
                    "every {} (reconcile {})",
                    s.timeline_every,
                    clock.show_text(at)
                ),
                (Some(at), _) => clock.show_text(at),
                (None, _) => "—".into(),
            },
        ]);
    }
    println!("{table}");
    match &s.last_run {
        Some(run) => print_last_run(run),
        None => println!("no sync has run yet: `gazellectl force-sync --wait`"),
    }
    let b = &s.backlog;
    println!(
        "outbox: {} pending, {} dead — conflicts: {} — open alerts: {} maintenance, {} other",
        b.outbox_pending, b.outbox_dead, b.open_conflicts, b.open_alerts, b.open_system_alerts
    );
    match &s.email.server {
        Some(server) => println!(
            "e-mail: {} waiting, {} dead — through {server}",
            b.emails_pending, b.emails_dead
        ),
        None => println!("e-mail: not configured (set smtp.host): alerts are recorded and logged"),
    }
    match &s.dashboard {
        Some(url) => println!("dashboard: {url} (`gazellectl open`)"),
        None => println!("dashboard: not served (web.enabled, or see `gazellectl logs`)"),
    }
    println!(
        "database: {} ({:.1} MiB)",
        s.database.path.display(),
        s.database.size_bytes as f64 / 1_048_576.0
    );
    if let Some(trouble) = &s.storage {
        println!(
            "STORAGE TROUBLE ({}) since {}: {} — runs and edits fail until it is fixed; nothing needs a restart",
            serde_json::to_value(trouble.fault)
                .ok()
                .and_then(|v| v.as_str().map(|f| f.replace('_', " ")))
                .unwrap_or_default(),
            clock.show_text(&trouble.since),
            trouble.error
        );
    }
}

/// The last run, its counts per stream and, under each stream that writes more than one
/// table, per table (clients and contacts, invoices and their lines are not added up).
fn print_last_run(view: &RunView) {
    let run = &view.run;
    println!(
        "last run #{} ({}, {}): {} in {} ms",
        run.id,
        run.mode,
        run.trigger,
        run.status,
        run.duration_ms
            .map_or_else(|| "—".into(), |ms| ms.to_string())
    );
    println!("{}", super::runs::counts_table(view));
}
