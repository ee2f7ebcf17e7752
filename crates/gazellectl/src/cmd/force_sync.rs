//! `gazellectl force-sync [--full] [--stream NAME]… [--wait]`.

use std::path::Path;
use std::process::ExitCode;

use protocol::{Request, Response};

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
                Ok(Response::Progress { event }) => {
                    if event["event"] == "pushed" {
                        let r = &event["report"];
                        let n = |k: &str| r[k].as_u64().unwrap_or(0);
                        println!(
                            "  push       pushed {}  adopted {}  retrying {}  refused {}  superseded {}  held {}",
                            n("pushed"), n("adopted"), n("retrying"), n("dead"), n("superseded"), n("held")
                        );
                    }
                    if event["event"] == "stream_finished" {
                        let c = &event["counts"];
                        let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
                        println!(
                            "  {:<10} fetched {:>7}  inserted {:>7}  updated {:>6}  unchanged {:>7}  deleted {:>5}  rejected {:>4}{}",
                            event["stream"].as_str().unwrap_or("?"),
                            n(&c["fetched"]),
                            n(&c["rows"]["inserted"]),
                            n(&c["rows"]["updated"]),
                            n(&c["rows"]["unchanged"]),
                            n(&c["deleted"]),
                            n(&c["rows"]["rejected"]),
                            event["error"].as_str().map(|e| format!("  ERROR: {e}")).unwrap_or_default()
                        );
                    }
                }
                Ok(Response::SyncFinished { report }) => {
                    let status = report["status"].as_str().unwrap_or("unknown");
                    println!("Run #{} {status} in {} ms.", report["run_id"], report["duration_ms"]);
                    return if status == "succeeded" { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAILED) };
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
