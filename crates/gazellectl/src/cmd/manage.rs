//! The local managers' verbs: `invoices`, `appointments`, `calendar`, `client`, `piano`,
//! `stock`, `outbox`, `conflicts`. Each is one typed verb of the daemon (which owns the
//! database); edits are pushed to Gazelle right after, or on the next cycle when paused.
//! Values are read here, at the edge (amounts, quantities, states): a bad one is a usage
//! error (exit 2) before anything is sent.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use managers::appointments::Outcome;
use managers::inventory::Moved;
use managers::taxes::format_cents;
use protocol::calls::*;
use store::local::{ClientChange, ContactChange, NewClient, PianoChange};

use super::daemon::{call, call_all, call_each};

fn or_dash(text: Option<&str>) -> String {
    text.unwrap_or("—").to_owned()
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

fn done(result: Result<(), ExitCode>) -> ExitCode {
    result.map_or_else(|c| c, |()| ExitCode::SUCCESS)
}

/// `--price`: 120, 120.00, 120,00 $ (bounded by the managers' maximum).
fn price(text: &str) -> Result<i64, String> {
    managers::taxes::parse_cents(text)
}

/// `--quantity` of a line: 1, 1.5, 0,25.
fn quantity(text: &str) -> Result<i64, String> {
    managers::taxes::parse_hundredths(text)
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub struct LineArgs {
    /// What the line is for.
    #[arg(long)]
    description: String,
    /// 1, 1.5, 0,25 …
    #[arg(long, default_value = "1", value_parser = quantity)]
    quantity: i64,
    /// Unit price: 120, 120.00, 120,00 $.
    #[arg(long, value_name = "AMOUNT", value_parser = price)]
    price: i64,
    /// Not subject to TPS/TVQ.
    #[arg(long)]
    untaxed: bool,
    /// LABOR_FIXED_RATE, LABOR_HOURLY, EXPENSE, MILEAGE, OTHER.
    #[arg(long = "type", default_value = "LABOR_FIXED_RATE")]
    item_type: String,
}

impl LineArgs {
    fn line(self) -> Line {
        Line {
            description: self.description,
            quantity_hundredths: self.quantity,
            unit_price_cents: self.price,
            taxable: !self.untaxed,
            item_type: self.item_type,
        }
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

// ---------------------------------------------------------------------------------------

fn print_invoice(view: &InvoiceView) {
    let i = &view.invoice;
    println!(
        "Invoice {} ({}) — {} — {} — {}",
        i.number, i.id, i.company_name, i.status, i.invoice_date
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
    for l in &view.lines {
        let qty = l.quantity_hundredths;
        t.add_row([
            l.sequence_number
                .map_or_else(|| "—".into(), |n| n.to_string()),
            l.description.clone(),
            format!("{}.{:02}", qty / 100, (qty % 100).abs()),
            l.unit_price_cents.map_or_else(|| "—".into(), format_cents),
            l.amount_cents.map_or_else(|| "—".into(), format_cents),
            if l.taxable {
                format_cents(l.tax_total_cents)
            } else {
                "exempt".into()
            },
            format_cents(l.total_cents),
        ]);
    }
    println!("{t}");
    println!(
        "sub-total {}   taxes {}   total {}   {}",
        format_cents(i.sub_total_cents),
        format_cents(i.tax_total_cents),
        format_cents(i.total_cents),
        match &i.external_id {
            None => "(not in Gazelle yet)".to_owned(),
            Some(id) => format!("Gazelle {id}"),
        }
    );
}

pub fn invoices(file: Option<&Path>, command: InvoicesCommand) -> ExitCode {
    done(match command {
        InvoicesCommand::List { limit, json } => {
            call_all(file, InvoicesList { limit }).map(|rows| {
                if json {
                    return super::print_json(&rows);
                }
                let mut t = table(&[
                    "id",
                    "number",
                    "date",
                    "client",
                    "status",
                    "total",
                    "in Gazelle",
                ]);
                for i in &rows {
                    t.add_row([
                        i.id.to_string(),
                        i.number.clone(),
                        i.invoice_date.clone(),
                        i.company_name.clone(),
                        i.status.clone(),
                        format_cents(i.total_cents),
                        or_dash(i.external_id.as_deref()).replace('—', "not yet"),
                    ]);
                }
                println!("{t}");
            })
        }
        InvoicesCommand::Show { id, json } => call(file, InvoiceShow { id }).map(|view| {
            if json {
                super::print_json(&view)
            } else {
                print_invoice(&view)
            }
        }),
        InvoicesCommand::Create {
            client,
            line,
            notes,
            due,
            assigned_to,
        } => call(
            file,
            InvoiceCreate {
                client,
                lines: vec![line.line()],
                notes,
                due_on: due,
                assigned_to,
            },
        )
        .map(|view| print_invoice(&view)),
        InvoicesCommand::AddLine { id, line } => call(
            file,
            InvoiceAddLine {
                id,
                line: line.line(),
            },
        )
        .map(|added| print_invoice(&added.invoice)),
        InvoicesCommand::SetStatus { id, status } => {
            call(file, InvoiceSetStatus { id, status }).map(|view| print_invoice(&view))
        }
    })
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
    let outcome: Result<Outcome, ExitCode> = match command {
        AppointmentsCommand::Create {
            client,
            tech,
            start,
            duration,
            title,
            piano,
            notes,
        } => call(
            file,
            AppointmentCreate {
                client,
                technician: tech,
                piano,
                start,
                duration_minutes: duration,
                title,
                notes,
            },
        ),
        AppointmentsCommand::Move {
            id,
            start,
            duration,
        } => call(
            file,
            AppointmentMove {
                id,
                start,
                duration_minutes: duration,
            },
        ),
        AppointmentsCommand::Reassign { id, tech } => call(
            file,
            AppointmentReassign {
                id,
                technician: tech,
            },
        ),
        AppointmentsCommand::Cancel { id } => call(file, AppointmentCancel { id }),
        AppointmentsCommand::Confirm { id } => call(file, AppointmentConfirm { id }),
    };
    done(outcome.map(|outcome| {
        for w in &outcome.warnings {
            eprintln!("warning: {w}");
        }
        println!(
            "Appointment #{} at {} ({} UTC).",
            outcome.id, outcome.start_local, outcome.start_utc
        );
    }))
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
    /// How many days (1–366); default one, seven with --week, 60 with --ics.
    #[arg(long, conflicts_with = "week")]
    days: Option<u32>,
    /// Write an iCalendar file instead (a Mac's Calendar can subscribe to it).
    #[arg(long, value_name = "FILE")]
    ics: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// How many days `calendar --ics` covers from its first day: a subscriber sees the coming
/// months (the daemon accepts up to 366).
const ICS_DAYS: u32 = 60;

pub fn calendar(file: Option<&Path>, args: CalendarArgs) -> ExitCode {
    if let Some(path) = &args.ics {
        let request = CalendarIcs {
            technician: args.tech,
            from: args.from,
            days: args.days.unwrap_or(ICS_DAYS),
        };
        return write_ics(file, request, path);
    }
    let days = args.days.unwrap_or(if args.week { 7 } else { 1 });
    let request = Calendar {
        technician: args.tech,
        from: args.from,
        days,
    };
    if args.json {
        let mut array = super::JsonArray::open("");
        let last = call_each(file, request, |part| array.items(&part));
        return match last {
            Ok(last) => {
                array.items(&last);
                array.close("");
                ExitCode::SUCCESS
            }
            Err(code) => code,
        };
    }
    let print = |rows: Vec<CalendarEntry>| {
        if rows.is_empty() {
            return;
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
        for r in &rows {
            let a = &r.appointment;
            t.add_row([
                a.id.to_string(),
                r.local.clone(),
                a.duration.map_or_else(|| "—".into(), |d| d.to_string()),
                a.technician_id.clone(),
                a.company_name.clone(),
                or_dash(a.description.as_deref()),
                a.appointment_status.clone(),
                if a.confirmed_by_client { "yes" } else { "no" }.to_owned(),
            ]);
        }
        println!("{t}");
    };
    done(call_each(file, request, print).map(print))
}

/// Writes the document as its pieces arrive, under a temporary name, then renames it: a
/// subscriber never reads half a calendar, and the CLI never holds the whole of it.
fn write_ics(file: Option<&Path>, request: CalendarIcs, path: &Path) -> ExitCode {
    use std::io::Write;
    let tmp = path.with_extension("ics.tmp");
    let mut out = match std::fs::File::create(&tmp) {
        Ok(f) => std::io::BufWriter::new(f),
        Err(e) => {
            eprintln!("gazellectl: cannot write {}: {e}", tmp.display());
            return ExitCode::from(crate::EXIT_FAILED);
        }
    };
    let mut events = 0;
    let mut failed: Option<std::io::Error> = None;
    let mut piece = |text: IcsText| {
        events += text.text.matches("BEGIN:VEVENT").count();
        if failed.is_none() {
            failed = out.write_all(text.text.as_bytes()).err();
        }
    };
    let last = match call_each(file, request, &mut piece) {
        Ok(last) => last,
        Err(code) => {
            let _ = std::fs::remove_file(&tmp);
            return code;
        }
    };
    piece(last);
    let written = match failed {
        Some(e) => Err(e),
        None => out
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&tmp, path)),
    };
    match written {
        Ok(()) => {
            println!("{} written ({events} events).", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            eprintln!("gazellectl: cannot write {}: {e}", path.display());
            ExitCode::from(crate::EXIT_FAILED)
        }
    }
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub struct ClientEditArgs {
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
pub struct PianoEditArgs {
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
pub struct ClientCreateArgs {
    /// The account's name (default: the contact's name).
    #[arg(long)]
    company: Option<String>,
    /// ACTIVE (default), INACTIVE, PROSPECT, NEW.
    #[arg(long)]
    status: Option<String>,
    #[command(flatten)]
    contact: ContactArgs,
}

impl ContactArgs {
    fn change(self) -> ContactChange {
        ContactChange {
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            phone: self.phone,
        }
    }
}

pub fn client_create(file: Option<&Path>, c: ClientCreateArgs) -> ExitCode {
    let contact = c.contact.change();
    let client = NewClient {
        company_name: c.company.unwrap_or_default(),
        status: c.status.unwrap_or_default(),
        first_name: contact.first_name,
        last_name: contact.last_name,
        email: contact.email,
        phone: contact.phone,
    };
    done(call(file, ClientCreate { client }).map(|created| {
        println!(
            "Client #{} created; it goes to Gazelle with the next push (appointments and invoices for it wait for it).",
            created.id
        );
    }))
}

pub fn client_edit(file: Option<&Path>, e: ClientEditArgs) -> ExitCode {
    let request = ClientEdit {
        id: e.id,
        change: ClientChange {
            company_name: e.company,
            status: e.status,
            tags: e.tags,
        },
        contact: e.contact.change(),
    };
    edited(call(file, request))
}

pub fn piano_edit(file: Option<&Path>, e: PianoEditArgs) -> ExitCode {
    let request = PianoEdit {
        id: e.id,
        change: PianoChange {
            location: e.location,
            notes: e.notes,
            status: e.status,
        },
    };
    edited(call(file, request))
}

fn edited(result: Result<Queued, ExitCode>) -> ExitCode {
    done(result.map(|queued| {
        let entries: Vec<String> = queued.outbox.iter().map(i64::to_string).collect();
        println!(
            "Saved; queued for Gazelle as outbox entry #{}.",
            entries.join(", #")
        );
    }))
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

pub(crate) fn author() -> String {
    std::env::var("USER").unwrap_or_else(|_| "gazellectl".into())
}

pub fn stock(file: Option<&Path>, command: StockCommand) -> ExitCode {
    let change = |change: StockMove, m: Movement| StockChange {
        product: m.product,
        technician: m.tech,
        change,
        quantity: m.quantity,
        reason: m.reason,
        author: author(),
    };
    let moved = |moves: Vec<Moved>| {
        for m in moves {
            println!(
                "{} — {}: {} → {}",
                m.product, m.technician, m.before, m.after
            );
        }
    };
    done(match command {
        StockCommand::List { tech, json } => {
            call(file, StockList { technician: tech }).map(|lines| {
                if json {
                    return super::print_json(&lines);
                }
                let mut t = table(&["technician", "product", "quantity", "threshold", ""]);
                for s in &lines {
                    let (q, th) = (s.quantity, s.reorder_threshold);
                    t.add_row([
                        s.technician_id.clone(),
                        s.product_name.clone(),
                        q.to_string(),
                        th.to_string(),
                        if q == 0 {
                            "OUT".into()
                        } else if q <= th {
                            "low".into()
                        } else {
                            String::new()
                        },
                    ]);
                }
                println!("{t}");
            })
        }
        StockCommand::Add(m) => call(file, change(StockMove::Add, m)).map(moved),
        StockCommand::Remove(m) => call(file, change(StockMove::Remove, m)).map(moved),
        StockCommand::Correct(m) => call(file, change(StockMove::Correct, m)).map(moved),
        StockCommand::Transfer {
            product,
            from,
            to,
            quantity,
            reason,
        } => call(
            file,
            StockTransfer {
                product,
                from,
                to,
                quantity,
                reason,
                author: author(),
            },
        )
        .map(moved),
    })
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Local edits not yet in Gazelle (pending, in flight, dead), or one state.
    List {
        /// pending, in_flight, done, dead.
        #[arg(long, value_parser = outbox_state)]
        state: Option<OutboxState>,
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
    done(match command {
        OutboxCommand::List { state, json } => outbox_list(file, OutboxList { state }, json),
        OutboxCommand::Retry { id } => call(file, OutboxRetry { id })
            .map(|_| println!("Entry #{id} will be sent again.")),
        OutboxCommand::Discard { id } => call(file, OutboxDiscard { id })
            .map(|_| println!("Entry #{id} discarded. If it had been sent, whatever Gazelle applied stays there and comes back with the next pull.")),
    })
}

fn outbox_list(file: Option<&Path>, request: OutboxList, json: bool) -> Result<(), ExitCode> {
    if json {
        let mut array = super::JsonArray::open("");
        let last = call_each(file, request, |part| array.items(&part))?;
        array.items(&last);
        array.close("");
        return Ok(());
    }
    let clock = crate::shop_time::ShopTime::of(file);
    let mut stuck = false;
    let mut print = |lines: Vec<OutboxLine>| {
        if lines.is_empty() {
            return;
        }
        let mut t = table(&[
            "#",
            "edit",
            "record",
            "state",
            "since",
            "tries",
            "last error",
        ]);
        for line in &lines {
            let e = &line.entry;
            let held = if let Some(conflict) = e.held_by_conflict {
                format!(" (held: conflict #{conflict})")
            } else if line.stuck {
                stuck = true;
                " (stuck)".to_owned()
            } else {
                String::new()
            };
            t.add_row([
                e.id.to_string(),
                format!("{} {}", e.operation, e.action.as_deref().unwrap_or("")),
                format!("{} #{}", e.entity, e.local_id),
                format!("{}{held}", e.state),
                clock.show_text(&e.updated_at),
                e.attempts.to_string(),
                or_dash(e.last_error.as_deref()),
            ]);
        }
        println!("{t}");
    };
    let last = call_each(file, request, &mut print)?;
    print(last);
    if stuck {
        println!("{STUCK_NOTE}");
    }
    Ok(())
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

fn outbox_state(text: &str) -> Result<OutboxState, String> {
    match text {
        "pending" => Ok(OutboxState::Pending),
        "in_flight" => Ok(OutboxState::InFlight),
        "done" => Ok(OutboxState::Done),
        "dead" => Ok(OutboxState::Dead),
        other => Err(format!("`{other}`: pending, in_flight, done or dead")),
    }
}

pub fn conflicts(file: Option<&Path>, command: ConflictsCommand) -> ExitCode {
    done(match command {
        ConflictsCommand::List { all, json } => call(file, ConflictsList { all }).map(|list| {
            if json {
                return super::print_json(&list);
            }
            let clock = crate::shop_time::ShopTime::of(file);
            let mut t = table(&["#", "record", "fields", "detected", "resolution"]);
            for c in &list {
                t.add_row([
                    c.id.to_string(),
                    format!(
                        "{} #{} ({})",
                        c.entity,
                        c.local_id,
                        or_dash(c.external_id.as_deref())
                    ),
                    c.fields.clone(),
                    clock.show_text(&c.detected_at),
                    or_dash(c.resolution.as_deref()),
                ]);
            }
            println!("{t}");
        }),
        ConflictsCommand::Show { id } => call(file, ConflictShow { id }).map(|c| {
            let parse = |text: &str| {
                serde_json::from_str::<serde_json::Value>(text).unwrap_or(serde_json::Value::Null)
            };
            let (local, remote) = (parse(&c.local_version), parse(&c.remote_version));
            println!(
                "Conflict #{id}: {} #{} ({})",
                c.entity,
                c.local_id,
                or_dash(c.external_id.as_deref())
            );
            let mut t = table(&["field", "local", "remote"]);
            let mut keys: Vec<String> = local
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            for k in remote.as_object().into_iter().flat_map(|o| o.keys()) {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
            let shown = |v: &serde_json::Value| match v {
                serde_json::Value::Null => "—".to_owned(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            for k in keys {
                let (l, r) = (shown(&local[&k]), shown(&remote[&k]));
                if l != r {
                    t.add_row([k, l, r]);
                }
            }
            println!("{t}");
        }),
        ConflictsCommand::Resolve { id, keep } => {
            let keep = if keep == "local" {
                Keep::Local
            } else {
                Keep::Remote
            };
            call(file, ConflictResolve { id, keep })
                .map(|_| println!("Conflict #{id} resolved: {} version kept.", keep.as_str()))
        }
    })
}
