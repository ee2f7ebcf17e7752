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
                        cost,
                        error,
                    } => println!(
                        "  {:<10} fetched {:>7}  inserted {:>7}  updated {:>6}  unchanged {:>7}  deleted {:>5}  rejected {:>4}  {:>9}  {:>4} req  {:>8}{}",
                        stream.name(),
                        c.fetched,
                        c.rows.inserted,
                        c.rows.updated,
                        c.rows.unchanged,
                        c.deleted,
                        c.rows.rejected,
                        super::runs::duration(cost.duration_ms),
                        cost.requests,
                        super::runs::size(cost.bytes_received),
                        error.map(|e| format!("  ERROR: {e}")).unwrap_or_default()
                    ),
                    _ => {}
                },
                Ok(Response::SyncFinished { report }) => {
                    let requests: u64 = report.streams.iter().map(|s| s.cost.requests).sum();
                    let received: u64 =
                        report.streams.iter().map(|s| s.cost.bytes_received).sum();
                    println!(
                        "Run #{} {} in {} ms: {requests} requests, {} received.",
                        report.run_id,
                        report.status.as_str(),
                        report.duration_ms,
                        super::runs::size(received)
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
