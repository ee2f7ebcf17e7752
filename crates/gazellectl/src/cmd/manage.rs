//! The local managers' verbs: `invoices`, `appointments`, `calendar`, `client`, `piano`,
//! `stock`, `outbox`, `conflicts`. Each is one `manage` request to the daemon (which owns the
//! database); edits are pushed to Gazelle right after, or on the next cycle when paused.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use protocol::Request;
use serde_json::{Value, json};

use super::daemon::ask_data;

fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn money(v: &Value) -> String {
    v.as_i64()
        .map_or_else(|| "—".into(), managers::taxes::format_cents)
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

fn manage(file: Option<&Path>, verb: &str, args: Value) -> Result<Value, ExitCode> {
    ask_data(
        file,
        Request::Manage {
            verb: verb.into(),
            args,
        },
    )
}

fn warnings(outcome: &Value) {
    for w in outcome["warnings"].as_array().into_iter().flatten() {
        eprintln!("warning: {}", text(w));
    }
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub struct LineArgs {
    /// What the line is for.
    #[arg(long)]
    description: String,
    /// 1, 1.5, 0,25 …
    #[arg(long, default_value = "1")]
    quantity: String,
    /// Unit price: 120, 120.00, 120,00 $.
    #[arg(long, value_name = "AMOUNT")]
    price: String,
    /// Not subject to TPS/TVQ.
    #[arg(long)]
    untaxed: bool,
    /// LABOR_FIXED_RATE, LABOR_HOURLY, EXPENSE, MILEAGE, OTHER.
    #[arg(long = "type", default_value = "LABOR_FIXED_RATE")]
    item_type: String,
}

impl LineArgs {
    fn json(&self) -> Value {
        json!({"description": self.description, "quantity": self.quantity, "unit_price": self.price,
               "taxable": !self.untaxed, "type": self.item_type})
    }
}

#[derive(Debug, Subcommand)]
pub enum InvoicesCommand {
    /// Invoices, drafts not yet in Gazelle first.
    List {
        #[arg(long, default_value_t = 30)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// An invoice with its lines and taxes.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// A draft for a client (local id or cli_… id), with its first line.
    Create {
        #[arg(long)]
        client: String,
        #[command(flatten)]
        line: LineArgs,
        #[arg(long)]
        notes: Option<String>,
        /// YYYY-MM-DD
        #[arg(long)]
        due: Option<String>,
        /// The technician (usr_…).
        #[arg(long)]
        assigned_to: Option<String>,
    },
    /// Adds a line; the totals and taxes follow.
    AddLine {
        id: String,
        #[command(flatten)]
        line: LineArgs,
    },
    /// DRAFT, OPEN, OVERDUE, PAID, DELETED, CANCELED.
    SetStatus { id: String, status: String },
}

fn print_invoice(data: &Value) {
    let i = &data["invoice"];
    println!(
        "Invoice {} ({}) — {} — {} — {}",
        text(&i["number"]),
        text(&i["id"]),
        text(&i["company_name"]),
        text(&i["status"]),
        text(&i["invoice_date"])
    );
    let mut t = table(&[
        "#",
        "description",
        "qty",
        "unit price",
        "amount",
        "taxes",
        "total",
    ]);
    for l in data["lines"].as_array().into_iter().flatten() {
        let qty = l["quantity_hundredths"].as_i64().unwrap_or(0);
        t.add_row([
            text(&l["sequence_number"]),
            text(&l["description"]),
            format!("{}.{:02}", qty / 100, qty % 100),
            money(&l["unit_price_cents"]),
            money(&l["amount_cents"]),
            if l["taxable"] == true {
                money(&l["tax_total_cents"])
            } else {
                "exempt".into()
            },
            money(&l["total_cents"]),
        ]);
    }
    println!("{t}");
    println!(
        "sub-total {}   taxes {}   total {}   {}",
        money(&i["sub_total_cents"]),
        money(&i["tax_total_cents"]),
        money(&i["total_cents"]),
        if i["external_id"].is_null() {
            "(not in Gazelle yet)".to_owned()
        } else {
            format!("Gazelle {}", text(&i["external_id"]))
        }
    );
}

pub fn invoices(file: Option<&Path>, command: InvoicesCommand) -> ExitCode {
    let result = match command {
        InvoicesCommand::List { limit, json } => manage(file, "invoices.list", json!({"limit": limit})).map(|data| {
            if json {
                println!("{data:#}");
                return;
            }
            let mut t = table(&["id", "number", "date", "client", "status", "total", "in Gazelle"]);
            for i in data.as_array().into_iter().flatten() {
                t.add_row([
                    text(&i["id"]),
                    text(&i["number"]),
                    text(&i["invoice_date"]),
                    text(&i["company_name"]),
                    text(&i["status"]),
                    money(&i["total_cents"]),
                    if i["external_id"].is_null() { "not yet".into() } else { text(&i["external_id"]) },
                ]);
            }
            println!("{t}");
        }),
        InvoicesCommand::Show { id, json } => manage(file, "invoices.show", json!({"id": id})).map(|d| {
            if json { println!("{d:#}") } else { print_invoice(&d) }
        }),
        InvoicesCommand::Create { client, line, notes, due, assigned_to } => manage(
            file,
            "invoices.create",
            json!({"client": client, "lines": [line.json()], "notes": notes, "due_on": due, "assigned_to": assigned_to}),
        )
        .map(|d| print_invoice(&d)),
        InvoicesCommand::AddLine { id, line } => {
            manage(file, "invoices.add-line", json!({"id": id, "line": line.json()})).map(|d| print_invoice(&d["invoice"]))
        }
        InvoicesCommand::SetStatus { id, status } => {
            manage(file, "invoices.set-status", json!({"id": id, "status": status})).map(|d| print_invoice(&d))
        }
    };
    result.map_or_else(|c| c, |()| ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum AppointmentsCommand {
    /// A new appointment; warns if the technician is busy then.
    Create {
        #[arg(long)]
        client: String,
        /// The technician's Gazelle user id (usr_…).
        #[arg(long)]
        tech: String,
        /// Local date and time, in the shop's zone: "2026-03-09 14:30".
        #[arg(long)]
        start: String,
        /// Minutes.
        #[arg(long, default_value_t = 120)]
        duration: i64,
        #[arg(long, default_value = "Accord")]
        title: String,
        #[arg(long)]
        piano: Option<String>,
        #[arg(long)]
        notes: Option<String>,
    },
    /// To another time (local), optionally with another duration.
    Move {
        id: String,
        #[arg(long)]
        start: String,
        #[arg(long)]
        duration: Option<i64>,
    },
    /// To another technician.
    Reassign {
        id: String,
        #[arg(long)]
        tech: String,
    },
    Cancel {
        id: String,
    },
    /// The client confirmed.
    Confirm {
        id: String,
    },
}

pub fn appointments(file: Option<&Path>, command: AppointmentsCommand) -> ExitCode {
    let (verb, args) = match command {
        AppointmentsCommand::Create {
            client,
            tech,
            start,
            duration,
            title,
            piano,
            notes,
        } => (
            "appointments.create",
            json!({"client": client, "technician": tech, "start": start, "duration": duration, "title": title, "piano": piano, "notes": notes}),
        ),
        AppointmentsCommand::Move {
            id,
            start,
            duration,
        } => (
            "appointments.move",
            json!({"id": id, "start": start, "duration": duration}),
        ),
        AppointmentsCommand::Reassign { id, tech } => (
            "appointments.reassign",
            json!({"id": id, "technician": tech}),
        ),
        AppointmentsCommand::Cancel { id } => ("appointments.cancel", json!({"id": id})),
        AppointmentsCommand::Confirm { id } => ("appointments.confirm", json!({"id": id})),
    };
    match manage(file, verb, args) {
        Ok(outcome) => {
            warnings(&outcome);
            println!(
                "Appointment #{} at {} ({} UTC).",
                text(&outcome["id"]),
                text(&outcome["start_local"]),
                text(&outcome["start_utc"])
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

#[derive(Debug, Args)]
pub struct CalendarArgs {
    /// One technician (usr_…); default: everyone.
    #[arg(long)]
    tech: Option<String>,
    /// First day (local), default today.
    #[arg(long)]
    from: Option<String>,
    /// Seven days instead of one.
    #[arg(long)]
    week: bool,
    /// Write an iCalendar file instead (a Mac's Calendar can subscribe to it).
    #[arg(long, value_name = "FILE")]
    ics: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn calendar(file: Option<&Path>, args: CalendarArgs) -> ExitCode {
    let days = if args.week { 7 } else { 1 };
    let request = json!({"technician": args.tech, "from": args.from, "days": if args.ics.is_some() { 60 } else { days }});
    if let Some(path) = &args.ics {
        return match manage(file, "calendar.ics", request) {
            Ok(data) => {
                let body = data["ics"].as_str().unwrap_or_default();
                // Written whole under a temporary name, then renamed: a subscriber never
                // reads half a calendar.
                let tmp = path.with_extension("ics.tmp");
                match std::fs::write(&tmp, body).and_then(|()| std::fs::rename(&tmp, path)) {
                    Ok(()) => {
                        println!(
                            "{} written ({} events).",
                            path.display(),
                            body.matches("BEGIN:VEVENT").count()
                        );
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("gazellectl: cannot write {}: {e}", path.display());
                        ExitCode::from(crate::EXIT_FAILED)
                    }
                }
            }
            Err(code) => code,
        };
    }
    match manage(file, "calendar", request) {
        Ok(rows) => {
            if args.json {
                println!("{rows:#}");
                return ExitCode::SUCCESS;
            }
            let mut t = table(&[
                "#",
                "when",
                "min",
                "technician",
                "client",
                "what",
                "status",
                "confirmed",
            ]);
            for r in rows.as_array().into_iter().flatten() {
                let a = &r["appointment"];
                t.add_row([
                    text(&a["id"]),
                    text(&r["local"]),
                    text(&a["duration"]),
                    text(&a["technician_id"]),
                    text(&a["company_name"]),
                    text(&a["description"]),
                    text(&a["appointment_status"]),
                    if a["confirmed_by_client"] == true {
                        "yes".into()
                    } else {
                        "no".into()
                    },
                ]);
            }
            println!("{t}");
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub struct ClientEdit {
    /// Local id or cli_… id.
    id: String,
    #[arg(long)]
    company: Option<String>,
    /// ACTIVE, INACTIVE, PROSPECT, NEW.
    #[arg(long)]
    status: Option<String>,
    /// Comma-separated.
    #[arg(long)]
    tags: Option<String>,
    #[command(flatten)]
    contact: ContactArgs,
}

/// A client's contact details, for `client create` and `client edit`.
#[derive(Debug, Args)]
pub struct ContactArgs {
    /// The contact's first name.
    #[arg(long)]
    first_name: Option<String>,
    #[arg(long)]
    last_name: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    phone: Option<String>,
}

#[derive(Debug, Args)]
pub struct PianoEdit {
    /// Local id or ins_… id.
    id: String,
    /// The room.
    #[arg(long)]
    location: Option<String>,
    #[arg(long)]
    notes: Option<String>,
    /// ACTIVE, INACTIVE, TEMPORARY_STORAGE, UNDER_RESTORATION.
    #[arg(long)]
    status: Option<String>,
}

#[derive(Debug, Args)]
pub struct ClientCreate {
    /// The account's name (default: the contact's name).
    #[arg(long)]
    company: Option<String>,
    /// ACTIVE (default), INACTIVE, PROSPECT, NEW.
    #[arg(long)]
    status: Option<String>,
    #[command(flatten)]
    contact: ContactArgs,
}

pub fn client_create(file: Option<&Path>, c: ClientCreate) -> ExitCode {
    match manage(
        file,
        "clients.create",
        json!({"company": c.company, "status": c.status, "first_name": c.contact.first_name,
               "last_name": c.contact.last_name, "email": c.contact.email, "phone": c.contact.phone}),
    ) {
        Ok(d) => {
            println!(
                "Client #{} created; it goes to Gazelle with the next push (appointments and invoices for it wait for it).",
                text(&d["id"])
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

pub fn client_edit(file: Option<&Path>, e: ClientEdit) -> ExitCode {
    edited(manage(
        file,
        "clients.edit",
        json!({"id": e.id, "company": e.company, "status": e.status, "tags": e.tags,
               "first_name": e.contact.first_name, "last_name": e.contact.last_name, "email": e.contact.email, "phone": e.contact.phone}),
    ))
}

pub fn piano_edit(file: Option<&Path>, e: PianoEdit) -> ExitCode {
    edited(manage(
        file,
        "pianos.edit",
        json!({"id": e.id, "location": e.location, "notes": e.notes, "status": e.status}),
    ))
}

fn edited(result: Result<Value, ExitCode>) -> ExitCode {
    match result {
        Ok(d) => {
            let entries = match &d["outbox"] {
                Value::Array(list) => list.iter().map(text).collect::<Vec<_>>().join(", #"),
                one => text(one),
            };
            println!("Saved; queued for Gazelle as outbox entry #{entries}.");
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum StockCommand {
    /// Stock per technician and product (low lines marked).
    List {
        #[arg(long)]
        tech: Option<String>,
        #[arg(long)]
        json: bool,
    },
    Add(Movement),
    Remove(Movement),
    /// Sets the count after a physical count.
    Correct(Movement),
    /// From one truck to another.
    Transfer {
        #[arg(long)]
        product: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        quantity: i64,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct Movement {
    /// Product id, mit_… id, name or SKU.
    #[arg(long)]
    product: String,
    #[arg(long)]
    tech: String,
    #[arg(long)]
    quantity: i64,
    #[arg(long)]
    reason: Option<String>,
}

fn author() -> String {
    std::env::var("USER").unwrap_or_else(|_| "gazellectl".into())
}

pub fn stock(file: Option<&Path>, command: StockCommand) -> ExitCode {
    let change = |kind: &str, m: Movement| json!({"product": m.product, "technician": m.tech, "change": kind, "quantity": m.quantity, "reason": m.reason, "author": author()});
    let moved = |d: Value| {
        let line = |m: &Value| {
            format!(
                "{} — {}: {} → {}",
                text(&m["product"]),
                text(&m["technician"]),
                text(&m["before"]),
                text(&m["after"])
            )
        };
        match d.as_array() {
            Some(halves) => halves.iter().for_each(|m| println!("{}", line(m))),
            None => println!("{}", line(&d)),
        }
    };
    let result = match command {
        StockCommand::List { tech, json } => manage(file, "stock.list", json!({"technician": tech})).map(|d| {
            if json {
                println!("{d:#}");
                return;
            }
            let mut t = table(&["technician", "product", "quantity", "threshold", ""]);
            for s in d.as_array().into_iter().flatten() {
                let (q, th) = (s["quantity"].as_i64().unwrap_or(0), s["reorder_threshold"].as_i64().unwrap_or(0));
                t.add_row([text(&s["technician_id"]), text(&s["product_name"]), q.to_string(), th.to_string(),
                           if q == 0 { "OUT".into() } else if q <= th { "low".into() } else { String::new() }]);
            }
            println!("{t}");
        }),
        StockCommand::Add(m) => manage(file, "stock.change", change("add", m)).map(moved),
        StockCommand::Remove(m) => manage(file, "stock.change", change("remove", m)).map(moved),
        StockCommand::Correct(m) => manage(file, "stock.change", change("correct", m)).map(moved),
        StockCommand::Transfer { product, from, to, quantity, reason } => manage(
            file,
            "stock.transfer",
            json!({"product": product, "from": from, "to": to, "quantity": quantity, "reason": reason, "author": author()}),
        )
        .map(moved),
    };
    result.map_or_else(|c| c, |()| ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Local edits not yet in Gazelle (pending, in flight, dead), or one state.
    List {
        /// pending, in_flight, done, dead.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Sends a dead (refused) edit again, after fixing what Gazelle refused.
    Retry { id: i64 },
    /// Gives up an edit (it stays in the history).
    Discard { id: i64 },
}

/// Printed under `outbox list` when an entry is stuck in flight: what each choice means.
const STUCK_NOTE: &str = "A stuck entry was being sent when its push stopped: Gazelle may have applied it.\n  \
     `gazellectl outbox retry <#>` sends it again (a creation is first looked for in Gazelle, so it is not made twice);\n  \
     `gazellectl outbox discard <#>` drops it (what Gazelle applied stays there and comes back with the next pull).";

pub fn outbox(file: Option<&Path>, command: OutboxCommand) -> ExitCode {
    let result = match command {
        OutboxCommand::List { state, json } => manage(file, "outbox.list", json!({"state": state}))
            .map(|d| {
                if json {
                    println!("{d:#}");
                    return;
                }
                let clock = crate::shop_time::ShopTime::of(file);
                let mut t = table(&["#", "edit", "record", "state", "since", "tries", "last error"]);
                let mut stuck = false;
                for e in d.as_array().into_iter().flatten() {
                    let held = if !e["held_by_conflict"].is_null() {
                        format!(" (held: conflict #{})", text(&e["held_by_conflict"]))
                    } else if e["stuck"].as_bool() == Some(true) {
                        stuck = true;
                        " (stuck)".to_owned()
                    } else {
                        String::new()
                    };
                    t.add_row([
                        text(&e["id"]),
                        format!(
                            "{} {}",
                            text(&e["operation"]),
                            e["action"].as_str().unwrap_or("")
                        ),
                        format!("{} #{}", text(&e["entity"]), text(&e["local_id"])),
                        format!("{}{held}", text(&e["state"])),
                        clock.show(&e["updated_at"]),
                        text(&e["attempts"]),
                        text(&e["last_error"]),
                    ]);
                }
                println!("{t}");
                if stuck {
                    println!("{STUCK_NOTE}");
                }
            }),
        OutboxCommand::Retry { id } => manage(file, "outbox.retry", json!({"id": id}))
            .map(|_| println!("Entry #{id} will be sent again.")),
        OutboxCommand::Discard { id } => manage(file, "outbox.discard", json!({"id": id}))
            .map(|_| println!("Entry #{id} discarded. If it had been sent, whatever Gazelle applied stays there and comes back with the next pull.")),
    };
    result.map_or_else(|c| c, |()| ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub enum ConflictsCommand {
    /// Open conflicts (--all: settled ones too).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Both versions, field by field.
    Show { id: i64 },
    /// Settles a conflict: keep the local edit (it is sent) or the remote version.
    Resolve {
        id: i64,
        #[arg(long, value_parser = ["local", "remote"])]
        keep: String,
    },
}

pub fn conflicts(file: Option<&Path>, command: ConflictsCommand) -> ExitCode {
    let result = match command {
        ConflictsCommand::List { all, json } => manage(file, "conflicts.list", json!({"all": all}))
            .map(|d| {
                if json {
                    println!("{d:#}");
                    return;
                }
                let clock = crate::shop_time::ShopTime::of(file);
                let mut t = table(&["#", "record", "fields", "detected", "resolution"]);
                for c in d.as_array().into_iter().flatten() {
                    t.add_row([
                        text(&c["id"]),
                        format!(
                            "{} #{} ({})",
                            text(&c["entity"]),
                            text(&c["local_id"]),
                            text(&c["external_id"])
                        ),
                        text(&c["fields"]),
                        clock.show(&c["detected_at"]),
                        text(&c["resolution"]),
                    ]);
                }
                println!("{t}");
            }),
        ConflictsCommand::Show { id } => {
            manage(file, "conflicts.show", json!({"id": id})).map(|c| {
                let parse = |v: &Value| {
                    serde_json::from_str::<Value>(v.as_str().unwrap_or("{}")).unwrap_or(Value::Null)
                };
                let (local, remote) = (parse(&c["local_version"]), parse(&c["remote_version"]));
                println!(
                    "Conflict #{id}: {} #{} ({})",
                    text(&c["entity"]),
                    text(&c["local_id"]),
                    text(&c["external_id"])
                );
                let mut t = table(&["field", "local", "remote"]);
                let mut keys: Vec<String> = local
                    .as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                for k in remote
                    .as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
                {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
                for k in keys {
                    let (l, r) = (text(&local[&k]), text(&remote[&k]));
                    if l != r {
                        t.add_row([k, l, r]);
                    }
                }
                println!("{t}");
            })
        }
        ConflictsCommand::Resolve { id, keep } => {
            manage(file, "conflicts.resolve", json!({"id": id, "keep": keep}))
                .map(|_| println!("Conflict #{id} resolved: {keep} version kept."))
        }
    };
    result.map_or_else(|c| c, |()| ExitCode::SUCCESS)
}
