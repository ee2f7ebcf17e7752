//! The dashboard from the terminal: `open` (a one-time login link for the owner, opened in
//! the browser) and `web invite` (an account for a technician or the office).

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use protocol::calls::{WebInvite, WebLink, WebOpen};

use super::daemon::call;

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// Print the link instead of opening the browser.
    #[arg(long)]
    print: bool,
    /// Machine-readable output (implies --print).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum WebCommand {
    /// Invite a person: the link goes by e-mail (if e-mail is configured) and is printed.
    Invite {
        /// Their e-mail address: their login.
        email: String,
        /// A technician's Gazelle user id (`usr_…`): they see their own day, stock and
        /// alerts. Without it: an office account, which sees everything.
        #[arg(long, value_name = "USR_ID")]
        technician: Option<String>,
        /// fr or en (default: alerts.language).
        #[arg(long)]
        language: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn fingerprint_line(link: &WebLink) {
    if let Some(f) = &link.fingerprint {
        println!("Certificate SHA-256 (check it in the browser on first visit):\n  {f}");
    }
}

pub fn open(file: Option<&Path>, args: OpenArgs) -> ExitCode {
    let link = match call(file, WebOpen {}) {
        Ok(link) => link,
        Err(code) => return code,
    };
    if args.json {
        super::print_json(&link);
        return ExitCode::SUCCESS;
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let opened = !args.print
        && std::process::Command::new(opener)
            .arg(&link.url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if opened {
        println!(
            "Opened the dashboard in the browser (the link works once, for {} minutes).",
            link.valid_minutes
        );
    } else {
        println!(
            "Open this link in the browser (it works once, for {} minutes):\n  {}",
            link.valid_minutes, link.url
        );
    }
    fingerprint_line(&link);
    ExitCode::SUCCESS
}

pub fn run(file: Option<&Path>, command: WebCommand) -> ExitCode {
    match command {
        WebCommand::Invite {
            email,
            technician,
            language,
            json,
        } => {
            let link = match call(
                file,
                WebInvite {
                    email: email.clone(),
                    technician,
                    language,
                    author: super::manage::author(),
                },
            ) {
                Ok(link) => link,
                Err(code) => return code,
            };
            if json {
                super::print_json(&link);
                return ExitCode::SUCCESS;
            }
            if link.emailed {
                println!("Invitation e-mailed to {email}.");
            } else {
                println!("E-mail is not configured: give {email} this link yourself.");
            }
            println!(
                "The link works once, for {} days:\n  {}",
                link.valid_minutes / (24 * 60),
                link.url
            );
            fingerprint_line(&link);
            ExitCode::SUCCESS
        }
    }
}
