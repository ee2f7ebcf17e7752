//! `gazelled`, the Assistant Gazelle daemon.
//!
//! Start-up order matters and is the same every time: configuration (a bad one stops here,
//! before anything is touched), logging, the single-instance lock, the store (migrations run
//! here and only here), then the work. Shutdown on SIGTERM or SIGINT is a broadcast
//! ([`shutdown::Shutdown`]): the work in flight finishes or reaches a safe point within
//! [`shutdown::GRACE`], then the store closes (checkpointing the WAL) and the logs flush.

mod alerting;
mod context;
mod control;
mod exit;
mod handlers;
mod lock;
mod runner;
mod schedule;
mod shutdown;
mod storage;
mod sync_once;
mod web;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::exit::Failure;

/// How long closing the store (checkpointing the WAL) may take at shutdown.
const STORE_CLOSE_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Keeps the local Assistant Gazelle database in sync with Gazelle.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Configuration file (default: $GAZELLE_CONFIG, else the platform's gazelled.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Also log to stderr (for running by hand; launchd captures stderr separately).
    #[arg(long)]
    foreground: bool,

    /// Run one pull (full, incremental or reconcile), print its report as JSON, and exit
    /// (0 if it succeeded). For debugging a setup; a crash or kill resumes next time.
    #[arg(long, value_name = "MODE", value_parser = ["full", "incremental", "reconcile"])]
    sync_once: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("gazelled: {failure}");
            tracing::error!(%failure, "gazelled stopped");
            failure.exit_code()
        }
    }
}

fn run(args: Args) -> Result<(), Failure> {
    let loaded = config::load(args.config.as_deref()).map_err(Failure::Config)?;
    let config = loaded.config;
    let _log_guard = telemetry::init(
        &config.logging,
        config.paths.log_dir.as_path(),
        args.foreground,
    )
    .map_err(Failure::Telemetry)?;
    // A panic anywhere (a request handler, a run) goes to the log file too: stderr is
    // launchd's, and nobody reads it. The task that panicked ends; the daemon goes on.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "internal error (a bug): the task ended, the daemon goes on");
        default_hook(info);
    }));
    let lock = lock::InstanceLock::acquire(&config.paths.lock_file())?;

    // Before the runtime's threads exist: fewer glibc arenas, less memory held in fragments.
    heap_trim::limit_arenas(2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::Runtime)?;
    runtime.block_on(async {
        let mut signals = shutdown::Signals::install().map_err(Failure::Runtime)?;
        let database = config.paths.database();
        let store = store::Store::open(&database)
            .await
            .map_err(Failure::Store)?;
        let mut tx = store.begin_write().await.map_err(Failure::Store)?;
        let interrupted = store::sync_log::interrupt_stale_runs(&mut tx)
            .await
            .map_err(Failure::Store)?;
        tx.commit().await.map_err(|e| {
            Failure::Store(store::StoreError::Sql {
                context: "committing start-up bookkeeping",
                source: e,
            })
        })?;
        if let Some(mode) = &args.sync_once {
            return sync_once::run(&config, store, mode).await;
        }

        // The sync engine, when Gazelle credentials are configured; without them the daemon
        // still serves status and alerts, and says why it cannot sync.
        let config = std::sync::Arc::new(config);
        let client = api_client::from_config::client(&config)
            .map(std::sync::Arc::new)
            .map_err(|e| e.to_string());
        if let Err(why) = &client {
            tracing::warn!(reason = %why, "sync is not configured");
        }
        let storage = std::sync::Arc::new(storage::StorageWatch::default());
        let alerting = alerting::Alerting::new(
            store.clone(),
            std::sync::Arc::clone(&config),
            client.as_ref().ok().cloned(),
            std::sync::Arc::clone(&storage),
        )
        .map_err(Failure::Alerts)?;
        let pusher = client.as_ref().ok().map(|client| {
            sync_engine::Pusher::new(
                store.clone(),
                std::sync::Arc::clone(client),
                std::sync::Arc::clone(&config),
            )
        });
        let engine = client.map(|client| {
            sync_engine::SyncEngine::new(
                store.clone(),
                client,
                sync_engine::SyncSettings::from_config(&config),
            )
        });
        let shutdown = shutdown::Shutdown::new();
        let runner = runner::Runner::new(
            engine,
            pusher,
            Some(std::sync::Arc::clone(&alerting)),
            shutdown.clone(),
            std::sync::Arc::clone(&storage),
        );
        alerting.start(&shutdown);
        schedule::start(
            &config,
            std::sync::Arc::clone(&runner),
            std::sync::Arc::clone(&alerting),
            &shutdown,
        )
        .await
        .map_err(Failure::Schedule)?;
        let socket = config.paths.socket();
        // The daemon's own uid: the owner of the lock file it just created.
        let uid = std::os::unix::fs::MetadataExt::uid(
            &std::fs::metadata(lock.path()).map_err(|e| Failure::Socket(e.to_string()))?,
        );
        let owns_dir = socket.parent() == Some(config.paths.socket_dir().as_path());
        let (listener, owner) = control::bind(&socket, owns_dir, uid)
            .await
            .map_err(Failure::Socket)?;
        let context = std::sync::Arc::new(context::Context {
            runner,
            alerting,
            config: std::sync::Arc::clone(&config),
            store: store.clone(),
            started: std::time::Instant::now(),
            socket: socket.clone(),
            storage,
            web: std::sync::OnceLock::new(),
        });
        // The dashboard is not the daemon's job: one that cannot start is logged (and
        // `gazellectl open` says so), the mirror goes on.
        match web::start(std::sync::Arc::clone(&context), &shutdown).await {
            Ok(Some(served)) => {
                let _ = context.web.set(served);
            }
            Ok(None) => tracing::info!("dashboard off (web.enabled = false)"),
            Err(e) => tracing::error!(error = %e, "dashboard not served"),
        }
        shutdown.spawn(control::serve(listener, owner, context, shutdown.clone()));
        tracing::info!(socket = %socket.display(), "control socket listening");
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            database = %database.display(),
            config = ?loaded.file,
            lock = %lock.path().display(),
            interrupted_runs = interrupted,
            "gazelled ready"
        );

        let signal = signals.recv().await;
        tracing::info!(%signal, grace = ?shutdown::GRACE, "shutting down");
        let left = shutdown.finish(shutdown::GRACE).await;
        let _ = std::fs::remove_file(&socket);
        if left > 0 {
            // Cut with the runtime: a pull resumes, a push entry is sent again (a creation is
            // looked for first), an e-mail in its SMTP exchange may be sent twice.
            tracing::warn!(tasks = left, grace = ?shutdown::GRACE, "work still running after the grace: cut");
        }
        // Bounded too: a connection still held by cut work must not hold the exit.
        if tokio::time::timeout(STORE_CLOSE_WITHIN, store.close()).await.is_err() {
            tracing::warn!("the store did not close in time; SQLite recovers its journal at the next start");
            return Ok(());
        }
        tracing::info!("gazelled stopped cleanly");
        Ok(())
    })
}
