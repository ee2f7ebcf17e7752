//! `gazellectl doctor`: every part the daemon depends on, each with a clear verdict.
//!
//! It reads and asks: the database is opened without migrating, the API is asked for its
//! user list (the smallest authorized query) by the daemon when it runs, since the daemon
//! owns the tokens (else by this process, under the daemon's lock), the mail server is
//! greeted without sending anything.

use std::path::Path;
use std::process::ExitCode;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use protocol::{Request, Response};

use super::daemon::{Daemon, TokenOwner};
use crate::EXIT_FAILED;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    verdict: Verdict,
    detail: String,
}

fn check(check: &'static str, verdict: Verdict, detail: impl Into<String>) -> Check {
    Check {
        check,
        verdict,
        detail: detail.into(),
    }
}

pub fn run(file: Option<&Path>, json: bool) -> ExitCode {
    let runtime = match crate::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let checks = runtime.block_on(checks(file));
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&checks).unwrap_or_default()
        );
    } else {
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["check", "verdict", "detail"]);
        for c in &checks {
            let verdict = match c.verdict {
                Verdict::Ok => "ok",
                Verdict::Warn => "warning",
                Verdict::Fail => "FAILED",
            };
            table.add_row([c.check, verdict, &c.detail]);
        }
        println!("{table}");
    }
    if checks.iter().any(|c| c.verdict == Verdict::Fail) {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

async fn checks(file: Option<&Path>) -> Vec<Check> {
    let mut out = Vec::new();
    let loaded = match config::load(file) {
        Ok(l) => l,
        Err(e) => {
            out.push(check("configuration", Verdict::Fail, e.to_string()));
            return out;
        }
    };
    out.push(check(
        "configuration",
        Verdict::Ok,
        match &loaded.file {
            Some(f) => format!("{} is valid", f.display()),
            None => "no file: built-in defaults and environment".into(),
        },
    ));
    let config = loaded.config;

    let database = config.paths.database();
    out.push(if !database.exists() {
        check(
            "database",
            Verdict::Warn,
            format!(
                "{} does not exist yet: gazelled creates it when it starts",
                database.display()
            ),
        )
    } else {
        match store::Store::open_existing(&database).await {
            Err(e) => check("database", Verdict::Fail, e.to_string()),
            Ok(db) => {
                let result = db.check_integrity().await;
                let size = db.size_bytes();
                db.close().await;
                match result {
                    Ok(problems) if problems.is_empty() => check(
                        "database",
                        Verdict::Ok,
                        format!(
                            "{}: integrity and foreign keys sound ({:.1} MiB)",
                            database.display(),
                            size as f64 / 1_048_576.0
                        ),
                    ),
                    Ok(problems) => check("database", Verdict::Fail, problems.join("; ")),
                    Err(e) => check("database", Verdict::Fail, e.to_string()),
                }
            }
        }
    });

    let socket = config.paths.socket();
    out.push(match Daemon::probe(&socket).await {
        Ok(version) => check(
            "daemon",
            Verdict::Ok,
            format!("gazelled {version} answers on {}", socket.display()),
        ),
        Err(why) => check("daemon", Verdict::Warn, why),
    });

    out.push(api_check(&config).await);

    out.push(
        match alerts::mailer::Mailer::from_config(&config.smtp, config.alerts.owner_email.as_ref())
        {
            Err(e) => check("smtp", Verdict::Fail, e),
            Ok(None) => check(
                "smtp",
                Verdict::Warn,
                "no smtp.host: alerts are recorded and logged, not e-mailed",
            ),
            Ok(Some(mailer)) => match mailer.check().await {
                Ok(()) => check("smtp", Verdict::Ok, format!("{} answers", mailer.server())),
                Err(e) => check("smtp", Verdict::Fail, e),
            },
        },
    );
    if config.alerts.owner_email.is_none() {
        out.push(check(
            "alert recipient",
            Verdict::Warn,
            "no alerts.owner_email: low-stock and sync alerts have nobody to go to",
        ));
    }

    out.push(agent_check());
    out
}

fn agent_check() -> Check {
    let Some(home) = super::install::home() else {
        return check("login agent", Verdict::Warn, "no HOME: cannot tell");
    };
    let path = super::install::agent_path(&home);
    if !path.exists() {
        return check(
            "login agent",
            Verdict::Warn,
            format!(
                "{} is not installed: `gazellectl install` starts gazelled at login",
                path.display()
            ),
        );
    }
    let loaded = if cfg!(target_os = "macos") {
        match super::install::uid() {
            Ok(uid) => std::process::Command::new("launchctl")
                .args(["print", &format!("gui/{uid}/{}", super::install::LABEL)])
                .output()
                .map(|o| o.status.success()),
            Err(why) => Err(std::io::Error::other(why)),
        }
    } else {
        std::process::Command::new("systemctl")
            .args(["--user", "is-enabled", "--quiet", "gazelled.service"])
            .status()
            .map(|s| s.success())
    };
    match loaded {
        Ok(true) => check(
            "login agent",
            Verdict::Ok,
            format!("{} installed and loaded", path.display()),
        ),
        Ok(false) => check(
            "login agent",
            Verdict::Warn,
            format!(
                "{} installed but not loaded: `gazellectl install` loads it",
                path.display()
            ),
        ),
        Err(e) => check(
            "login agent",
            Verdict::Warn,
            format!(
                "{} installed; cannot ask the service manager: {e}",
                path.display()
            ),
        ),
    }
}

/// The API check, made by whoever owns the tokens: the daemon when it runs (its client
/// refreshes an expired token), else this process under the daemon's lock.
async fn api_check(config: &config::Config) -> Check {
    if let Err(e) = api_client::from_config::credentials(config) {
        return check("gazelle api", Verdict::Fail, format!("not usable: {e}"));
    }
    let (ok, detail) = match super::daemon::token_owner(config).await {
        Err(_) => {
            return check(
                "gazelle api",
                Verdict::Warn,
                "not checked: the daemon holds the tokens but does not answer",
            );
        }
        Ok(TokenOwner::Daemon(mut daemon)) => match daemon.request(&Request::ApiCheck).await {
            Ok(Response::ApiCheck { ok, detail }) => (ok, detail),
            Ok(Response::Error { message, .. }) => (false, message),
            Ok(other) => (false, format!("unexpected answer: {other:?}")),
            Err(_) => (false, "the daemon did not answer the check".to_owned()),
        },
        Ok(TokenOwner::Here(_lock)) => match api_client::from_config::client(config) {
            Err(e) => (false, format!("not usable: {e}")),
            Ok(client) => match client
                .execute::<serde_json::Value>(api_client::documents::USERS, serde_json::json!({}))
                .await
            {
                Ok(data) => (
                    true,
                    format!(
                        "{} reachable and authorized ({:?}; {} users)",
                        config.api.base_url,
                        client.auth_state().await,
                        data["allUsers"].as_array().map_or(0, Vec::len)
                    ),
                ),
                Err(e) => (false, e.to_string()),
            },
        },
    };
    check(
        "gazelle api",
        if ok { Verdict::Ok } else { Verdict::Fail },
        detail,
    )
}
