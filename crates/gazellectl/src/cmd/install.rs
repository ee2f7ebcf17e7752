//! `gazellectl install` / `uninstall`: start gazelled at login, or stop doing so.
//!
//! macOS: a LaunchAgent in `~/Library/LaunchAgents/`, generated with absolute paths (the
//! `launchd/` folder holds a commented reference copy), loaded with
//! `launchctl bootstrap gui/$UID` (restart: `kickstart -k`; removal: `bootout`).
//! Elsewhere: a systemd user unit, `systemctl --user enable --now`.
//! Uninstalling removes the agent and stops the daemon; the database, tokens and logs stay.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use plist::{Dictionary, Value};

use crate::EXIT_FAILED;

/// The agent's label (reverse DNS).
pub const LABEL: &str = "ca.assistantgazelle.gazelled";

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// The gazelled binary to run (default: the one beside this gazellectl).
    #[arg(long, value_name = "FILE")]
    gazelled: Option<PathBuf>,
    /// Print the agent definition instead of installing it.
    #[arg(long)]
    print: bool,
    /// Write the agent but do not load it.
    #[arg(long)]
    no_load: bool,
}

#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// Remove the agent without asking the service manager to stop it.
    #[arg(long)]
    no_unload: bool,
}

/// What goes into the agent.
pub struct Agent {
    pub gazelled: PathBuf,
    pub config: Option<PathBuf>,
    pub log_dir: PathBuf,
    pub home: PathBuf,
}

/// The LaunchAgent definition.
pub fn launch_agent(agent: &Agent) -> Value {
    let mut program = vec![Value::String(agent.gazelled.display().to_string())];
    if let Some(config) = &agent.config {
        program.push(Value::String("--config".into()));
        program.push(Value::String(config.display().to_string()));
    }
    let mut keep_alive = Dictionary::new();
    // Restarted after a crash, not after a clean exit (e.g. an invalid configuration).
    keep_alive.insert("SuccessfulExit".into(), Value::Boolean(false));
    let mut env = Dictionary::new();
    env.insert(
        "PATH".into(),
        Value::String("/usr/bin:/bin:/usr/sbin:/sbin".into()),
    );
    env.insert(
        "HOME".into(),
        Value::String(agent.home.display().to_string()),
    );
    let mut d = Dictionary::new();
    d.insert("Label".into(), Value::String(LABEL.into()));
    d.insert("ProgramArguments".into(), Value::Array(program));
    d.insert("RunAtLoad".into(), Value::Boolean(true));
    d.insert("KeepAlive".into(), Value::Dictionary(keep_alive));
    d.insert("ThrottleInterval".into(), Value::Integer(30.into()));
    d.insert("ProcessType".into(), Value::String("Background".into()));
    d.insert("LowPriorityIO".into(), Value::Boolean(true));
    d.insert(
        "StandardOutPath".into(),
        Value::String(agent.log_dir.join("gazelled.out.log").display().to_string()),
    );
    d.insert(
        "StandardErrorPath".into(),
        Value::String(agent.log_dir.join("gazelled.err.log").display().to_string()),
    );
    d.insert("EnvironmentVariables".into(), Value::Dictionary(env));
    // 077: files the daemon creates are the user's alone.
    d.insert("Umask".into(), Value::Integer(0o077.into()));
    Value::Dictionary(d)
}

/// The systemd user unit, for systems without launchd.
pub fn systemd_unit(agent: &Agent) -> String {
    let config = agent
        .config
        .as_ref()
        .map(|c| format!(" --config {}", c.display()))
        .unwrap_or_default();
    format!(
        "[Unit]\nDescription=Assistant Gazelle daemon\n\n[Service]\nExecStart={}{config}\nRestart=on-failure\nRestartSec=30\nUMask=0077\nNice=10\nIOSchedulingClass=idle\n\n[Install]\nWantedBy=default.target\n",
        agent.gazelled.display()
    )
}

pub(crate) fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|h| h.is_absolute())
}

pub(crate) fn agent_path(home: &Path) -> PathBuf {
    if cfg!(target_os = "macos") {
        home.join("Library/LaunchAgents")
            .join(format!("{LABEL}.plist"))
    } else {
        home.join(".config/systemd/user/gazelled.service")
    }
}

fn fail(message: String) -> ExitCode {
    eprintln!("gazellectl: {message}");
    ExitCode::from(EXIT_FAILED)
}

pub fn install(file: Option<&Path>, args: InstallArgs) -> ExitCode {
    let loaded = match crate::load_config(file) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let Some(home) = home() else {
        return fail("HOME is not set to an absolute path".into());
    };
    let gazelled = match args.gazelled.clone().or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|d| d.join("gazelled")))
    }) {
        Some(p) => p,
        None => return fail("cannot tell where gazelled is: pass --gazelled FILE".into()),
    };
    let gazelled = match gazelled.canonicalize() {
        Ok(p) => p,
        Err(e) => {
            return fail(format!(
                "{}: {e} (pass --gazelled FILE)",
                gazelled.display()
            ));
        }
    };
    let config = loaded
        .file
        .as_ref()
        .map(|f| f.canonicalize().unwrap_or_else(|_| f.clone()));
    let agent = Agent {
        gazelled,
        config,
        log_dir: loaded.config.paths.log_dir.as_path().to_owned(),
        home: home.clone(),
    };
    let (text, path) = if cfg!(target_os = "macos") {
        let mut bytes = Vec::new();
        if let Err(e) = launch_agent(&agent).to_writer_xml(&mut bytes) {
            return fail(format!("cannot write the agent: {e}"));
        }
        (
            String::from_utf8_lossy(&bytes).into_owned(),
            agent_path(&home),
        )
    } else {
        (systemd_unit(&agent), agent_path(&home))
    };
    if args.print {
        println!("{text}");
        return ExitCode::SUCCESS;
    }
    if let Some(dir) = path.parent()
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return fail(format!("cannot create {}: {e}", dir.display()));
    }
    if let Err(e) = std::fs::create_dir_all(&agent.log_dir) {
        return fail(format!("cannot create {}: {e}", agent.log_dir.display()));
    }
    if let Err(e) = std::fs::write(&path, text) {
        return fail(format!("cannot write {}: {e}", path.display()));
    }
    println!("Wrote {}", path.display());
    if args.no_load {
        return ExitCode::SUCCESS;
    }
    let loaded = if cfg!(target_os = "macos") {
        uid().and_then(|uid| {
            let domain = format!("gui/{uid}");
            // Replace a previous installation: bootout may fail if none was loaded.
            let _ = Command::new("launchctl")
                .args(["bootout", &format!("{domain}/{LABEL}")])
                .status();
            run(Command::new("launchctl").args(["bootstrap", &domain, &path.display().to_string()]))
        })
    } else {
        run(Command::new("systemctl").args(["--user", "daemon-reload"])).and_then(|()| {
            run(Command::new("systemctl").args(["--user", "enable", "--now", "gazelled.service"]))
        })
    };
    match loaded {
        Ok(()) => {
            println!(
                "gazelled will start at login, and is starting now. Check with `gazellectl status`."
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!(
            "{e} (the agent is written; load it by hand or run `gazellectl install` again)"
        )),
    }
}

pub fn uninstall(_file: Option<&Path>, args: UninstallArgs) -> ExitCode {
    let Some(home) = home() else {
        return fail("HOME is not set to an absolute path".into());
    };
    let path = agent_path(&home);
    if !args.no_unload {
        let _ = if cfg!(target_os = "macos") {
            uid().and_then(|uid| {
                run(Command::new("launchctl").args(["bootout", &format!("gui/{uid}/{LABEL}")]))
            })
        } else {
            run(Command::new("systemctl").args(["--user", "disable", "--now", "gazelled.service"]))
        };
    }
    match std::fs::remove_file(&path) {
        Ok(()) => println!(
            "Removed {}. Your data, tokens and logs are kept.",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("Nothing to remove: {} does not exist.", path.display())
        }
        Err(e) => return fail(format!("cannot remove {}: {e}", path.display())),
    }
    ExitCode::SUCCESS
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{shown} failed ({s})")),
        Err(e) => Err(format!("{shown} could not run: {e}")),
    }
}

/// The user's uid, for launchd's `gui/<uid>` domain (`id -u`: no unsafe code needed). No
/// guess when `id` fails: loading the agent into another user's domain (the first user's
/// 501, say) would be worse than saying so.
pub(crate) fn uid() -> Result<u32, String> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("cannot find your user id (`id -u` could not run: {e})"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .ok()
        .filter(|_| out.status.success())
        .ok_or_else(|| {
            format!(
                "cannot find your user id (`id -u` answered `{}`)",
                text.trim()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> Agent {
        Agent {
            gazelled: "/Users/shop/.local/bin/gazelled".into(),
            config: Some(
                "/Users/shop/Library/Application Support/Assistant Gazelle/gazelled.toml".into(),
            ),
            log_dir: "/Users/shop/Library/Logs/Assistant Gazelle".into(),
            home: "/Users/shop".into(),
        }
    }

    /// The generated plist, read back by a real plist parser, has every key launchd needs.
    #[test]
    fn the_launch_agent_has_every_key() {
        let mut xml = Vec::new();
        launch_agent(&agent()).to_writer_xml(&mut xml).unwrap();
        let parsed = Value::from_reader_xml(&xml[..]).unwrap();
        let d = parsed.as_dictionary().unwrap();
        assert_eq!(d["Label"].as_string(), Some(LABEL));
        let args: Vec<&str> = d["ProgramArguments"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_string)
            .collect();
        assert_eq!(
            args,
            [
                "/Users/shop/.local/bin/gazelled",
                "--config",
                "/Users/shop/Library/Application Support/Assistant Gazelle/gazelled.toml"
            ]
        );
        assert!(
            args.iter().step_by(2).all(|a| a.starts_with('/')),
            "absolute paths"
        );
        assert_eq!(d["RunAtLoad"].as_boolean(), Some(true));
        assert_eq!(
            d["KeepAlive"].as_dictionary().unwrap()["SuccessfulExit"].as_boolean(),
            Some(false)
        );
        assert_eq!(d["ThrottleInterval"].as_signed_integer(), Some(30));
        assert_eq!(d["ProcessType"].as_string(), Some("Background"));
        assert_eq!(d["LowPriorityIO"].as_boolean(), Some(true));
        assert_eq!(
            d["StandardOutPath"].as_string(),
            Some("/Users/shop/Library/Logs/Assistant Gazelle/gazelled.out.log")
        );
        assert_eq!(
            d["StandardErrorPath"].as_string(),
            Some("/Users/shop/Library/Logs/Assistant Gazelle/gazelled.err.log")
        );
        let env = d["EnvironmentVariables"].as_dictionary().unwrap();
        assert!(env["PATH"].as_string().unwrap().contains("/usr/bin"));
        assert_eq!(env["HOME"].as_string(), Some("/Users/shop"));
        assert_eq!(d["Umask"].as_signed_integer(), Some(0o077));
    }

    /// `launchd/` holds a reference copy: it must be what the code generates.
    #[test]
    fn the_reference_plist_in_the_repository_is_current() {
        let reference = Value::from_reader_xml(
            include_str!("../../../../launchd/ca.assistantgazelle.gazelled.plist").as_bytes(),
        )
        .unwrap();
        assert_eq!(
            reference,
            launch_agent(&agent()),
            "regenerate launchd/ca.assistantgazelle.gazelled.plist"
        );
    }

    #[test]
    fn the_systemd_unit_runs_the_daemon_privately() {
        let unit = systemd_unit(&agent());
        assert!(
            unit.contains(
                "ExecStart=/Users/shop/.local/bin/gazelled --config /Users/shop/Library/"
            )
        );
        assert!(unit.contains("UMask=0077") && unit.contains("Restart=on-failure"));
    }
}
