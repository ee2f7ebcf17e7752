//! `gazellectl force-sync [--full] [--stream NAME]… [--wait]`.

use std::path::Path;
use std::process::ExitCode;

use protocol::Progress;
use protocol::{Request, Response};
use store::sync_log::RunStatus;

use super::daemon::{Daemon, RUN_SILENCE_WITHIN};
use crate::EXIT_FAILED;

pub fn run(file: Option<&Path>, full: bool, streams: Vec<String>, wait: bool) -> ExitCode {
    let runtime = match crate::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let mut daemon = match Daemon::connect_configured(file).await {
            Ok(d) => d,
            Err(code) => return code,
        };
        let request = Request::ForceSync {
            mode: Some(if full { "full" } else { "incremental" }.into()),
            streams,
            wait,
        };
        match daemon.request_within(&request, RUN_SILENCE_WITHIN).await {
            Ok(Response::SyncStarted { joined }) => {
                println!("{}", if joined { "A sync was already running: following it." } else { "Sync started." });
            }
            Ok(Response::Error { code, message }) => {
                return super::daemon::refused(code, &message);
            }
            Ok(other) => {
                eprintln!("gazellectl: unexpected answer: {other:?}");
                return ExitCode::from(EXIT_FAILED);
            }
            Err(code) => return code,
        }
        if !wait {
            return ExitCode::SUCCESS;
        }
        loop {
            match daemon.next_within(RUN_SILENCE_WITHIN).await {
                Ok(Response::Progress { event }) => match event {
                    Progress::Pushed { report: r } => println!(
                        "  push       pushed {}  adopted {}  retrying {}  refused {}  superseded {}  held {}",
                        r.pushed, r.adopted, r.retrying, r.dead, r.superseded, r.held
                    ),
                    Progress::StreamFinished {
                        stream,
                        counts: c,
                        error,
                    } => println!(
                        "  {:<10} fetched {:>7}  inserted {:>7}  updated {:>6}  unchanged {:>7}  deleted {:>5}  rejected {:>4}{}",
                        stream.name(),
                        c.fetched,
                        c.rows.inserted,
                        c.rows.updated,
                        c.rows.unchanged,
                        c.deleted,
                        c.rows.rejected,
                        error.map(|e| format!("  ERROR: {e}")).unwrap_or_default()
                    ),
                    _ => {}
                },
                Ok(Response::SyncFinished { report }) => {
                    println!(
                        "Run #{} {} in {} ms.",
                        report.run_id,
                        report.status.as_str(),
                        report.duration_ms
                    );
                    return if report.status == RunStatus::Succeeded {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(EXIT_FAILED)
                    };
                }
                Ok(Response::Error { message, .. }) => {
                    eprintln!("gazellectl: the run failed: {message}");
                    return ExitCode::from(EXIT_FAILED);
                }
                Ok(_) => {}
                Err(code) => return code,
            }
        }
    })
}
