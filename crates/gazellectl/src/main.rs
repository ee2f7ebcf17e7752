//! `gazellectl`, the Assistant Gazelle command line.
//!
//! Exit codes are the same for every verb: 0 success, 1 the operation failed, 2 bad usage
//! (clap), 78 invalid configuration.

mod cmd;
mod shop_time;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(version, about = "Assistant Gazelle: control the gazelled daemon")]
struct Cli {
    /// Configuration file (default: $GAZELLE_CONFIG, else the platform's gazelled.toml).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the effective configuration, where each value came from, secrets redacted.
    Config {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Authorize access to Gazelle (OAuth), or show or forget the authorization.
    Auth {
        #[command(subcommand)]
        command: cmd::auth::AuthCommand,
    },
    /// The daemon at a glance: authorization, streams, last run, backlog, database.
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Run a sync now (joins the run in flight, if any).
    ForceSync {
        /// Read everything (a complete scan) instead of what can have changed.
        #[arg(long)]
        full: bool,
        /// Only these streams (users, catalogue, clients, pianos, events, timeline, invoices).
        #[arg(long = "stream", value_name = "NAME")]
        streams: Vec<String>,
        /// Show progress and wait for the end; exit non-zero if the run failed.
        #[arg(long)]
        wait: bool,
    },
    /// The sync-run history, newest first.
    Runs {
        /// How many runs.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Each run's counts per stream, and per table where a stream writes more than one.
        #[arg(long)]
        detail: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Stop scheduled syncs until `resume` (manual force-syncs still run).
    Pause,
    /// Resume scheduled syncs.
    Resume,
    /// Check every part gazelled depends on: configuration, database, daemon, Gazelle API,
    /// mail server, login agent. Exit 1 if any check failed.
    Doctor {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Maintenance alerts (from service notes) and the other open alerts.
    Alerts {
        #[command(subcommand)]
        command: cmd::alerts::AlertsCommand,
    },
    /// Draft invoices with Québec taxes, pushed to Gazelle.
    Invoices {
        #[command(subcommand)]
        command: cmd::manage::InvoicesCommand,
    },
    /// Create, move, reassign, cancel, confirm appointments (times in the shop's zone).
    Appointments {
        #[command(subcommand)]
        command: cmd::manage::AppointmentsCommand,
    },
    /// A technician's day or week, or an iCalendar file (--ics FILE).
    Calendar(cmd::manage::CalendarArgs),
    /// Create a client, or change one (company, status, tags, contact details).
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Change a piano in Gazelle (room, notes, status).
    Piano {
        #[command(subcommand)]
        command: PianoCommand,
    },
    /// Technicians' stock: list, add, remove, correct, transfer.
    Stock {
        #[command(subcommand)]
        command: cmd::manage::StockCommand,
    },
    /// Local edits waiting for Gazelle, and the refused ones.
    Outbox {
        #[command(subcommand)]
        command: cmd::manage::OutboxCommand,
    },
    /// Local edits that met a different edit in Gazelle.
    Conflicts {
        #[command(subcommand)]
        command: cmd::manage::ConflictsCommand,
    },
    /// Open the dashboard in the browser, logged in as the owner (a one-time link).
    Open(cmd::web::OpenArgs),
    /// The dashboard's accounts: invite a technician or the office.
    Web {
        #[command(subcommand)]
        command: cmd::web::WebCommand,
    },
    /// Show the daemon's log (the newest file).
    Logs {
        /// Keep printing new lines as they come.
        #[arg(long, short)]
        follow: bool,
        /// How many lines from the end.
        #[arg(long, short = 'n', default_value_t = 50)]
        lines: usize,
    },
    /// Install gazelled to start at login (LaunchAgent on macOS, systemd user unit elsewhere).
    Install(cmd::install::InstallArgs),
    /// Stop gazelled and remove the agent (the data stays).
    Uninstall(cmd::install::UninstallArgs),
    /// Print shell completions (bash, zsh, fish, …).
    Completions { shell: clap_complete::Shell },
    /// Import a folder of V4 CSV exports into the database (with the daemon stopped).
    #[command(name = "migrate-v4")]
    MigrateV4(cmd::migrate_v4::Args),
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// A new client (and its contact), pushed to Gazelle.
    Create(cmd::manage::ClientCreateArgs),
    /// Change a client's fields or its contact's details.
    Edit(cmd::manage::ClientEditArgs),
}

#[derive(Debug, Subcommand)]
enum PianoCommand {
    Edit(cmd::manage::PianoEditArgs),
}

/// `gazellectl status | head -1`: when whoever reads our output goes away, `println!`
/// panics ("failed printing to stdout: Broken pipe"). That is the reader's choice, not a
/// failure: end quietly with 0, as `grep` or `rg` do, instead of a panic message and 101.
/// Every other panic keeps Rust's report.
fn quiet_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
}

/// Exit code for an invalid configuration (sysexits.h EX_CONFIG).
pub const EXIT_CONFIG: u8 = 78;

/// Exit code when the operation failed.
pub const EXIT_FAILED: u8 = 1;

/// Exit code for bad usage: arguments clap refuses, and values the daemon rejects (an unknown
/// id, an impossible date, a value out of bounds). Clap uses it too.
pub const EXIT_USAGE: u8 = 2;

/// Exit code when the daemon is not running.
pub const EXIT_NOT_RUNNING: u8 = 3;

/// Exit code when `migrate-v4` ran but its own validation failed (sysexits.h EX_DATAERR):
/// the report says which check; a dry run returns the code the real run would.
pub const EXIT_INVALID_DATA: u8 = 65;

/// Exit code when the daemon holds what the verb needs (sysexits.h EX_TEMPFAIL).
pub const EXIT_BUSY: u8 = 75;

/// A single-threaded runtime for the verbs that do I/O themselves, or exit code 1.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("gazellectl: cannot start: {e}");
            ExitCode::from(EXIT_FAILED)
        })
}

/// Loads the configuration or says why not (exit code 78).
pub fn load_config(file: Option<&std::path::Path>) -> Result<config::LoadedConfig, ExitCode> {
    config::load(file).map_err(|e| {
        eprintln!("gazellectl: {e}");
        ExitCode::from(EXIT_CONFIG)
    })
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    match cli.command {
        Command::Config { json } => cmd::config::run(cli.config.as_deref(), json),
        Command::Auth { command } => cmd::auth::run(cli.config.as_deref(), command),
        Command::MigrateV4(args) => cmd::migrate_v4::run(cli.config.as_deref(), args),
        Command::Status { json } => cmd::status::run(cli.config.as_deref(), json),
        Command::Runs {
            limit,
            detail,
            json,
        } => cmd::runs::run(cli.config.as_deref(), limit, detail, json),
        Command::Invoices { command } => cmd::manage::invoices(cli.config.as_deref(), command),
        Command::Appointments { command } => {
            cmd::manage::appointments(cli.config.as_deref(), command)
        }
        Command::Calendar(args) => cmd::manage::calendar(cli.config.as_deref(), args),
        Command::Client {
            command: ClientCommand::Edit(e),
        } => cmd::manage::client_edit(cli.config.as_deref(), e),
        Command::Client {
            command: ClientCommand::Create(c),
        } => cmd::manage::client_create(cli.config.as_deref(), c),
        Command::Piano {
            command: PianoCommand::Edit(e),
        } => cmd::manage::piano_edit(cli.config.as_deref(), e),
        Command::Stock { command } => cmd::manage::stock(cli.config.as_deref(), command),
        Command::Open(args) => cmd::web::open(cli.config.as_deref(), args),
        Command::Web { command } => cmd::web::run(cli.config.as_deref(), command),
        Command::Outbox { command } => cmd::manage::outbox(cli.config.as_deref(), command),
        Command::Conflicts { command } => cmd::manage::conflicts(cli.config.as_deref(), command),
        Command::Doctor { json } => cmd::doctor::run(cli.config.as_deref(), json),
        Command::Alerts { command } => cmd::alerts::run(cli.config.as_deref(), command),
        Command::Pause => cmd::runs::pause(cli.config.as_deref(), true),
        Command::Resume => cmd::runs::pause(cli.config.as_deref(), false),
        Command::Logs { follow, lines } => cmd::logs::run(cli.config.as_deref(), follow, lines),
        Command::Install(args) => cmd::install::install(cli.config.as_deref(), args),
        Command::Uninstall(args) => cmd::install::uninstall(cli.config.as_deref(), args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            use std::io::Write as _;
            // Generated into memory: clap_complete panics on a failed write, and a reader
            // that stops early (`| head -1`) is no failure.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "gazellectl", &mut script);
            match std::io::stdout().write_all(&script) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("gazellectl: cannot write the completions: {e}");
                    ExitCode::from(EXIT_FAILED)
                }
            }
        }
        Command::ForceSync {
            full,
            streams,
            wait,
        } => cmd::force_sync::run(cli.config.as_deref(), full, streams, wait),
    }
}
