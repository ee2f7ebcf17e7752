//! `gazellectl auth login | status | logout`.
//!
//! Login follows Gazelle's authorization-code flow with a pasted redirect: Gazelle refuses
//! out-of-band redirects, so the owner opens the printed URL, approves, and pastes back the
//! URL the browser lands on (or just its `code`). The tokens go to the Keychain on macOS,
//! else to the 0600 token file. A running daemon picks new tokens up at its next start
//! (the control socket's reload verb will make that immediate).

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use rand::Rng as _;

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

pub fn run(file: Option<&Path>, command: AuthCommand) -> ExitCode {
    let loaded = match crate::load_config(file) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let config = loaded.config;
    let client = match api_client::from_config::client(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gazellectl: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match crate::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async {
        match command {
            AuthCommand::Status => {
                let state = client.auth_state().await;
                match &state {
                    api_client::AuthState::ApiKey => println!("API key (no authorization needed)"),
                    api_client::AuthState::Authorized { expires_at } => {
                        println!("authorized (access token valid until {expires_at}, renewed automatically)")
                    }
                    api_client::AuthState::NeedsReauthorization => {
                        println!("authorization lost: run `gazellectl auth login`")
                    }
                    api_client::AuthState::NotAuthorized => println!("not authorized: run `gazellectl auth login`"),
                }
                if matches!(state, api_client::AuthState::ApiKey | api_client::AuthState::Authorized { .. }) {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(EXIT_FAILED)
                }
            }
            AuthCommand::Logout => match api_client::from_config::token_store(&config).clear() {
                Ok(()) => {
                    println!("tokens removed");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("gazellectl: {e}");
                    ExitCode::from(EXIT_FAILED)
                }
            },
            AuthCommand::Login { code, redirect_url } => {
                let state: String = rand::rng()
                    .sample_iter(rand::distr::Alphanumeric)
                    .take(24)
                    .map(char::from)
                    .collect();
                let (answer, expected_state) = match (code, redirect_url) {
                    (Some(code), _) => (code, None),
                    (None, Some(url)) => (url, None),
                    (None, None) => {
                        let url = match client.authenticator().authorize_url(&state) {
                            Ok(u) => u,
                            Err(e) => {
                                eprintln!("gazellectl: {e}");
                                return ExitCode::from(EXIT_CONFIG);
                            }
                        };
                        println!("1. Open this address in a browser and approve Assistant Gazelle:\n\n   {url}\n");
                        print!("2. Paste the address the browser was sent to (or the code): ");
                        let _ = std::io::stdout().flush();
                        let mut line = String::new();
                        if std::io::stdin().lock().read_line(&mut line).is_err() || line.trim().is_empty() {
                            eprintln!("\ngazellectl: nothing was pasted; run `gazellectl auth login` again");
                            return ExitCode::from(EXIT_FAILED);
                        }
                        let pasted = line.trim().to_owned();
                        // The state guards a pasted URL against an old or foreign login.
                        let expected = pasted.contains("://").then_some(state.clone());
                        (pasted, expected)
                    }
                };
                match client.authenticator().exchange(&answer, expected_state.as_deref()).await {
                    Ok(_) => {
                        println!(
                            "Authorized. Tokens are stored in the {}.",
                            api_client::from_config::token_store(&config).describe()
                        );
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("gazellectl: {e}");
                        ExitCode::from(EXIT_FAILED)
                    }
                }
            }
        }
    })
}
