//! `gazellectl alerts …`: the maintenance alerts and the other open alerts.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use protocol::calls::{
    AlertArchive, AlertList, AlertResolve, AlertShow, AlertsList, AlertsScan, TestEmail,
};
use store::alerts::{AlertFilter, MaintenanceAlert, SystemAlert};

use super::daemon::{call, call_each};
use crate::shop_time::ShopTime;

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List maintenance alerts (unresolved by default) and the other open alerts.
    List(ListArgs),
    /// Everything about one alert.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Mark an alert resolved, with a note saying what was done.
    Resolve {
        id: i64,
        #[arg(long, value_name = "TEXT")]
        note: String,
    },
    /// Archive an alert (kept, but out of the lists).
    Archive {
        id: i64,
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// Scan the service notes not yet scanned (since a local date, default: the scan window).
    Scan {
        #[arg(long, value_name = "YYYY-MM-DD")]
        since: Option<String>,
    },
    /// Send a test e-mail through the configured server and say whether it went.
    TestEmail {
        #[arg(long, value_name = "ADDRESS")]
        to: Option<String>,
    },
}

#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct Which {
    /// Not resolved and not archived (the default).
    #[arg(long)]
    unresolved: bool,
    #[arg(long)]
    resolved: bool,
    #[arg(long)]
    archived: bool,
    #[arg(long)]
    all: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    which: Which,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// At most this many maintenance alerts (newest first); default: all of them.
    #[arg(long)]
    limit: Option<u32>,
}

fn or_dash(text: Option<&str>) -> String {
    text.unwrap_or("—").to_owned()
}

fn state(alert: &MaintenanceAlert) -> &'static str {
    if alert.archived {
        "archived"
    } else if alert.is_resolved {
        "resolved"
    } else {
        "open"
    }
}

fn piano(alert: &MaintenanceAlert) -> String {
    [&alert.piano_make, &alert.piano_model]
        .iter()
        .filter_map(|v| v.as_deref())
        .collect::<Vec<_>>()
        .join(" ")
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}

pub fn run(file: Option<&Path>, command: AlertsCommand) -> ExitCode {
    let result = match command {
        AlertsCommand::List(args) => list(file, &args),
        AlertsCommand::Show { id, json } => call(file, AlertShow { id }).map(|a| {
            if json {
                super::print_json(&a);
                return;
            }
            for (label, value) in [
                ("alert", a.id.to_string()),
                ("type", a.alert_type.clone()),
                ("state", state(&a).to_owned()),
                ("observed", a.date_observation.clone()),
                ("client", a.company_name.clone()),
                ("piano", piano(&a)),
                ("room", or_dash(a.location.as_deref())),
                ("technician", or_dash(a.created_by.as_deref())),
                ("recipient", or_dash(a.recipient_email.as_deref())),
                ("resolved on", or_dash(a.resolved_date.as_deref())),
                ("description", or_dash(a.description.as_deref())),
                ("notes", or_dash(a.notes.as_deref())),
                ("source", or_dash(a.external_id.as_deref())),
            ] {
                println!("{label:>12}: {value}");
            }
        }),
        AlertsCommand::Resolve { id, note } => call(
            file,
            AlertResolve {
                id,
                note,
                author: Some(super::manage::author()),
            },
        )
        .map(|a| {
            println!(
                "Alert #{id} resolved on {}.",
                or_dash(a.resolved_date.as_deref())
            );
        }),
        AlertsCommand::Archive { id, note } => call(file, AlertArchive { id, note })
            .map(|_| println!("Alert #{id} archived (kept; see `alerts list --archived`).")),
        AlertsCommand::Scan { since } => call(file, AlertsScan { since }).map(|r| {
            println!(
                "Scanned {} service note(s): {} new alert(s), {} of them resolved in the note; {} e-mail(s) queued.",
                r.scanned, r.raised, r.resolved_at_creation, r.emails_queued
            );
        }),
        AlertsCommand::TestEmail { to } => call(file, TestEmail { to })
            .map(|r| println!("Test e-mail {}.", r.result)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// Prints the list part by part as the daemon sends it (a table per part of up to 500
/// alerts): any number of alerts, in bounded memory.
fn list(file: Option<&Path>, args: &ListArgs) -> Result<(), ExitCode> {
    let w = &args.which;
    let filter = if w.all {
        AlertFilter::All
    } else if w.archived {
        AlertFilter::Archived
    } else if w.resolved {
        AlertFilter::Resolved
    } else {
        AlertFilter::Unresolved
    };
    let request = AlertsList {
        filter,
        limit: args.limit,
    };
    let clock = ShopTime::of(file);
    if args.json {
        let mut array: Option<super::JsonArray> = None;
        let mut each = |part: AlertList| {
            let array = array.get_or_insert_with(|| {
                let head = serde_json::json!({"filter": part.filter, "system": part.system});
                let head = serde_json::to_string_pretty(&head).unwrap_or_default();
                // The object without its closing brace, then the maintenance list.
                let open = head.trim_end().trim_end_matches('}').trim_end();
                super::JsonArray::open(&format!("{open},\n  \"maintenance\": "))
            });
            array.items(&part.maintenance);
        };
        let last = call_each(file, request, &mut each)?;
        each(last);
        if let Some(array) = array {
            array.close("\n}");
        }
        return Ok(());
    }
    let mut printer = ListPrinter {
        shown: 0,
        system: Vec::new(),
    };
    let last = call_each(file, request, |part| printer.part(part))?;
    printer.part(last);
    if printer.shown == 0 {
        println!("No {}maintenance alert.", filter_name(filter));
    }
    if !printer.system.is_empty() {
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["kind", "severity", "since", "what"]);
        for a in &printer.system {
            table.add_row([
                a.kind.clone(),
                a.severity.clone(),
                clock.show_text(&a.raised_at),
                a.summary.clone(),
            ]);
        }
        println!("Other open alerts:\n{table}");
    }
    Ok(())
}

fn filter_name(filter: AlertFilter) -> &'static str {
    match filter {
        AlertFilter::Unresolved => "unresolved ",
        AlertFilter::Resolved => "resolved ",
        AlertFilter::Archived => "archived ",
        AlertFilter::All => "",
    }
}

struct ListPrinter {
    shown: usize,
    system: Vec<SystemAlert>,
}

impl ListPrinter {
    fn part(&mut self, part: AlertList) {
        self.system.extend(part.system);
        if part.maintenance.is_empty() {
            return;
        }
        self.shown += part.maintenance.len();
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header([
                "#", "observed", "type", "state", "client", "piano", "room", "what",
            ]);
        for a in &part.maintenance {
            table.add_row([
                a.id.to_string(),
                a.date_observation.clone(),
                a.alert_type.clone(),
                state(a).to_owned(),
                a.company_name.clone(),
                piano(a),
                or_dash(a.location.as_deref()),
                shorten(a.description.as_deref().unwrap_or("—"), 60),
            ]);
        }
        println!("{table}");
    }
}
