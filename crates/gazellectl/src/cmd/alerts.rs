//! `gazellectl alerts …`: the maintenance alerts and the other open alerts.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use protocol::Request;
use serde_json::Value;

use super::daemon::ask_data;

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
    #[arg(long, default_value_t = 200)]
    limit: u32,
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn state(alert: &Value) -> &'static str {
    if alert["archived"].as_bool() == Some(true) {
        "archived"
    } else if alert["is_resolved"].as_bool() == Some(true) {
        "resolved"
    } else {
        "open"
    }
}

fn piano(alert: &Value) -> String {
    [&alert["piano_make"], &alert["piano_model"]]
        .iter()
        .filter_map(|v| v.as_str())
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
        AlertsCommand::Show { id, json } => ask_data(file, Request::AlertShow { id }).map(|a| {
            if json {
                println!("{a:#}");
            } else {
                for (label, key) in [
                    ("alert", "id"),
                    ("type", "alert_type"),
                    ("state", ""),
                    ("observed", "date_observation"),
                    ("client", "company_name"),
                    ("piano", ""),
                    ("room", "location"),
                    ("technician", "created_by"),
                    ("recipient", "recipient_email"),
                    ("resolved on", "resolved_date"),
                    ("description", "description"),
                    ("notes", "notes"),
                    ("source", "external_id"),
                ] {
                    let value = match label {
                        "state" => state(&a).to_owned(),
                        "piano" => piano(&a),
                        _ => text(&a[key]),
                    };
                    println!("{label:>12}: {value}");
                }
            }
        }),
        AlertsCommand::Resolve { id, note } => {
            ask_data(file, Request::AlertResolve { id, note }).map(|a| {
                println!("Alert #{id} resolved on {}.", text(&a["resolved_date"]));
            })
        }
        AlertsCommand::Archive { id, note } => ask_data(file, Request::AlertArchive { id, note })
            .map(|_| println!("Alert #{id} archived (kept; see `alerts list --archived`).")),
        AlertsCommand::Scan { since } => ask_data(file, Request::AlertsScan { since }).map(|r| {
            println!(
                "Scanned {} service note(s): {} new alert(s), {} of them resolved in the note; {} e-mail(s) queued.",
                text(&r["scanned"]),
                text(&r["raised"]),
                text(&r["resolved_at_creation"]),
                text(&r["emails_queued"])
            );
        }),
        AlertsCommand::TestEmail { to } => ask_data(file, Request::TestEmail { to })
            .map(|r| println!("Test e-mail {}.", text(&r["result"]))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn list(file: Option<&Path>, args: &ListArgs) -> Result<(), ExitCode> {
    let w = &args.which;
    let filter = if w.all {
        "all"
    } else if w.archived {
        "archived"
    } else if w.resolved {
        "resolved"
    } else {
        "unresolved"
    };
    let data = ask_data(
        file,
        Request::Alerts {
            filter: Some(filter.into()),
            limit: args.limit,
        },
    )?;
    if args.json {
        println!("{data:#}");
        return Ok(());
    }
    let alerts = data["maintenance"].as_array().cloned().unwrap_or_default();
    if alerts.is_empty() {
        println!("No {filter} maintenance alert.");
    } else {
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header([
                "#", "observed", "type", "state", "client", "piano", "room", "what",
            ]);
        for a in &alerts {
            table.add_row([
                text(&a["id"]),
                text(&a["date_observation"]),
                text(&a["alert_type"]),
                state(a).to_owned(),
                text(&a["company_name"]),
                piano(a),
                text(&a["location"]),
                shorten(&text(&a["description"]), 60),
            ]);
        }
        println!("{table}");
    }
    let system = data["system"].as_array().cloned().unwrap_or_default();
    if !system.is_empty() {
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["kind", "severity", "since", "what"]);
        let clock = crate::shop_time::ShopTime::of(file);
        for a in &system {
            table.add_row([
                text(&a["kind"]),
                text(&a["severity"]),
                clock.show(&a["raised_at"]),
                text(&a["summary"]),
            ]);
        }
        println!("Other open alerts:\n{table}");
    }
    Ok(())
}
