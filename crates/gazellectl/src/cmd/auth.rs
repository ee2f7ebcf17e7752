//! `gazellectl auth login | status | logout`.
//!
//! Login follows Gazelle's authorization-code flow with a pasted redirect: Gazelle refuses
//! out-of-band redirects, so the owner opens the printed URL, approves, and pastes back the
//! URL the browser lands on (or just its `code`).
//!
//! The daemon owns the tokens. While it runs, every `auth` verb is a request to it: the
//! daemon exchanges the code with its own client, stores the tokens (the Keychain on macOS,
//! else the 0600 token file) and uses them at once. Without a daemon, the CLI does the same
//! itself while holding the daemon's lock, so a daemon starting meanwhile waits.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use protocol::{Authorization, Request, Response};
use rand::Rng as _;

use super::daemon::TokenOwner;
use crate::{EXIT_CONFIG, EXIT_FAILED};

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Authorize this Mac to read and write the shop's Gazelle account.
    Login {
        /// The authorization code, if you already have it.
        #[arg(long, conflicts_with = "redirect_url")]
        code: Option<String>,
        /// The URL the browser was redirected to after approving.
        #[arg(long)]
        redirect_url: Option<String>,
    },
    /// Show whether this Mac is authorized.
    Status,
    /// Forget the stored tokens.
    Logout,
}

/// What the verb does, whoever does it.
enum Action {
    Status,
    Login {
        code: String,
        expected_state: Option<String>,
    },
    Logout,
}

pub fn run(file: Option<&Path>, command: AuthCommand) -> ExitCode {
    let config = match crate::load_config(file) {
        Ok(l) => l.config,
        Err(code) => return code,
    };
    // Settings first: a missing key is named before anything is asked of anyone.
    if let Err(e) = api_client::from_config::credentials(&config) {
        eprintln!("gazellectl: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let action = match command {
        AuthCommand::Status => Action::Status,
        AuthCommand::Logout => Action::Logout,
        AuthCommand::Login { code, redirect_url } => match pasted(&config, code, redirect_url) {
            Ok((code, expected_state)) => Action::Login {
                code,
                expected_state,
            },
            Err(exit) => return exit,
        },
    };
    let runtime = match crate::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let answer = match super::daemon::token_owner(&config).await {
            Err(exit) => return exit,
            Ok(TokenOwner::Daemon(mut daemon)) => {
                let request = match &action {
                    Action::Status => Request::AuthStatus,
                    Action::Logout => Request::AuthLogout,
                    Action::Login {
                        code,
                        expected_state,
                    } => Request::AuthLogin {
                        code: code.clone(),
                        expected_state: expected_state.clone(),
                    },
                };
                match daemon.request(&request).await {
                    Ok(Response::Authorization {
                        authorization,
                        stored_in,
                    }) => Ok((authorization, stored_in)),
                    Ok(Response::Error { message, .. }) => Err(message),
                    Ok(other) => Err(format!("unexpected answer: {other:?}")),
                    Err(exit) => return exit,
                }
            }
            Ok(TokenOwner::Here(_lock)) => here(&config, &action).await,
        };
        match answer {
            Ok((authorization, stored_in)) => match action {
                Action::Login { .. } => {
                    println!("Authorized. Tokens are stored in the {stored_in}.");
                    ExitCode::SUCCESS
                }
                Action::Logout => {
                    println!("tokens removed");
                    ExitCode::SUCCESS
                }
                Action::Status => report(&authorization, &stored_in),
            },
            Err(message) => {
                eprintln!("gazellectl: {message}");
                ExitCode::from(EXIT_FAILED)
            }
        }
    })
}

/// The code (or redirect URL) to exchange, asked for when not given, with the `state` a
/// pasted URL must carry.
fn pasted(
    config: &config::Config,
    code: Option<String>,
    redirect_url: Option<String>,
) -> Result<(String, Option<String>), ExitCode> {
    if let Some(given) = code.or(redirect_url) {
        return Ok((given, None));
    }
    let state: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    let url = api_client::from_config::authorize_url(config, &state).map_err(|e| {
        eprintln!("gazellectl: {e}");
        ExitCode::from(EXIT_CONFIG)
    })?;
    println!("1. Open this address in a browser and approve Assistant Gazelle:\n\n   {url}\n");
    print!("2. Paste the address the browser was sent to (or the code): ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() || line.trim().is_empty() {
        eprintln!("\ngazellectl: nothing was pasted; run `gazellectl auth login` again");
        return Err(ExitCode::from(EXIT_FAILED));
    }
    let pasted = line.trim().to_owned();
    // The state guards a pasted URL against an old or foreign login.
    let expected = pasted.contains("://").then_some(state);
    Ok((pasted, expected))
}

/// No daemon runs (the caller holds its lock): the CLI's own client does it.
async fn here(config: &config::Config, action: &Action) -> Result<(Authorization, String), String> {
    let client = api_client::from_config::client(config).map_err(|e| e.to_string())?;
    let auth = client.authenticator();
    match action {
        Action::Status => {}
        Action::Logout => auth.logout().await.map_err(|e| e.to_string())?,
        Action::Login {
            code,
            expected_state,
        } => {
            auth.exchange(code, expected_state.as_deref())
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok((Authorization::from(auth.state().await), auth.stored_in()))
}

/// Prints the state; exit 0 when requests can be made.
fn report(authorization: &Authorization, stored_in: &str) -> ExitCode {
    match authorization {
        Authorization::ApiKey => println!("API key (no authorization needed)"),
        Authorization::Authorized { expires_at } => println!(
            "authorized (access token valid until {expires_at}, renewed automatically; tokens in the {stored_in})"
        ),
        Authorization::NeedsReauthorization => {
            println!("authorization lost: run `gazellectl auth login`")
        }
        Authorization::NotAuthorized => println!("not authorized: run `gazellectl auth login`"),
        Authorization::NotConfigured { reason } => println!("not configured: {reason}"),
    }
    if matches!(
        authorization,
        Authorization::ApiKey | Authorization::Authorized { .. }
    ) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}
