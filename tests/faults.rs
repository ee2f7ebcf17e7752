//! The daemon's life under faults, end to end: `gazelled` and `gazellectl` as processes.
//!
//! * a full disk fails a sync cleanly, and once space is freed the next sync and edit work
//!   without a restart (a tmpfs of a few MiB holds the data directory: root only, as in CI);
//! * a panicking run does not wedge the runner (`gazelled`'s test hook);
//! * every writer of the database takes `<data_dir>/gazelled.lock`, wherever the database is;
//! * the socket's directory is never loosened or tightened unless the daemon owns it, and
//!   only a stale socket is ever removed;
//! * an oversized configuration file is refused, naming it;
//! * a shutdown finishes the e-mail in hand (marked sent), so a restart does not resend it;
//! * the daemon owns the OAuth tokens: a login reaches it at once, the CLI never refreshes
//!   them behind its back (rotating refresh tokens, many rounds);
//! * a read-only database is named, and a failed start leaves nothing that blocks the next.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use e2e::{Sandbox, SimProcess, draft_invoice_args, signal, wait_exit};

fn sandbox_for(sim: &SimProcess, extra: &str) -> Sandbox {
    Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\nrequests_per_second = 1000\n\
         [sync]\nappointments_schedule = \"0 0 3 1 1 *\"\ntimeline_interval = \"1day\"\npush_interval = \"1s\"\n{extra}",
        sim.url(),
        sim.field("api_key")
    ))
}

fn output(sandbox: &Sandbox, args: &[&str]) -> (bool, String) {
    let out = sandbox.run("gazellectl", args);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn ok(sandbox: &Sandbox, args: &[&str]) -> String {
    let (success, text) = output(sandbox, args);
    assert!(success, "{args:?}: {text}");
    text
}

fn start(sandbox: &Sandbox, nth: usize) -> Child {
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log_count(&mut daemon, "gazelled ready", nth);
    daemon
}

fn stop(mut daemon: Child) {
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(15)).success());
}

/// A tmpfs of `size` mounted at a directory, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` when this process may not mount (not root): the caller says it skipped.
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Tmpfs(at.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros into `path` until the file system refuses: it is then full.
fn fill(path: &Path) {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    // The last partial chunk too, byte by byte blocks of 512.
    while file.write_all(&chunk[..512]).is_ok() {}
    let _ = file.sync_all();
}

#[test]
fn a_full_disk_fails_a_sync_cleanly_and_freeing_space_is_enough_to_go_on() {
    let sim = SimProcess::start("tiny");
    let sandbox = sandbox_for(&sim, "");
    let Some(_tmpfs) = Tmpfs::mount(&sandbox.data_dir(), "24m") else {
        eprintln!("skipped: mounting a tmpfs needs root (CI runs as root)");
        return;
    };
    let mut daemon = start(&sandbox, 1);
    let filler = sandbox.data_dir().join("filler");
    fill(&filler);

    let (success, text) = output(&sandbox, &["force-sync", "--full", "--wait"]);
    assert!(!success, "a sync onto a full disk cannot succeed: {text}");
    assert!(text.contains("disk is full"), "{text}");
    // The log says why (its writer is asynchronous: wait for the line, bounded).
    sandbox.wait_for_log(&mut daemon, "disk is full");
    // A state `status` shows at once, not only a line in the log.
    let status: serde_json::Value =
        serde_json::from_str(&ok(&sandbox, &["status", "--json"])).unwrap();
    assert_eq!(status["storage"]["fault"], "full", "{status:#}");
    assert!(ok(&sandbox, &["status"]).contains("STORAGE TROUBLE (full)"));

    // Space comes back: no restart, the very next sync and edit work, and the trouble is
    // over by itself.
    std::fs::remove_file(&filler).unwrap();
    let text = ok(&sandbox, &["force-sync", "--full", "--wait"]);
    assert!(!text.contains("transaction depth"), "{text}");
    ok(&sandbox, &draft_invoice_args(&sim.first_client()));
    let status: serde_json::Value =
        serde_json::from_str(&ok(&sandbox, &["status", "--json"])).unwrap();
    assert!(status["storage"].is_null(), "{status:#}");
    // One sync-health alert names the episode (the full disk could not take it: it is
    // written by the first check that can write), and the next check resolves it.
    let storage_alerts = || {
        let alerts: serde_json::Value =
            serde_json::from_str(&ok(&sandbox, &["alerts", "list", "--all", "--json"])).unwrap();
        alerts["system"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a.to_string().contains("disque plein"))
            .cloned()
            .collect::<Vec<serde_json::Value>>()
    };
    let raised = storage_alerts();
    assert_eq!(raised.len(), 1, "{raised:#?}");
    ok(&sandbox, &["force-sync", "--wait", "--stream", "users"]);
    // Resolved by the next check (the list shows the system alerts still open).
    let after = storage_alerts();
    assert!(after.is_empty(), "{after:#?}");
    stop(daemon);
}

/// Runs `gazellectl` with a bound: a CLI that waits forever on a wedged daemon fails the
/// test instead of hanging it.
fn bounded(sandbox: &Sandbox, args: &[&str], limit: Duration) -> (bool, String) {
    let mut child = sandbox
        .command("gazellectl")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut child, limit);
    let mut text = String::new();
    use std::io::Read as _;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    (status.success(), text)
}

#[test]
fn a_panicking_run_is_reported_failed_and_frees_the_runner() {
    let sim = SimProcess::start("tiny");
    let sandbox = sandbox_for(&sim, "");
    let mut daemon = sandbox
        .command("gazelled")
        .env("GAZELLED_FAULT", "panic-in-run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    for round in 0..3 {
        let (success, text) = bounded(&sandbox, &["force-sync", "--wait"], Duration::from_secs(30));
        assert!(!success, "round {round}: {text}");
        assert!(text.contains("internal error"), "round {round}: {text}");
    }
    sandbox.wait_for_log(&mut daemon, "sync run panicked");
    let (success, text) = bounded(&sandbox, &["status"], Duration::from_secs(30));
    assert!(success, "{text}");
    stop(daemon);
}

/// Starts the daemon expecting it to refuse to start: its exit code and stderr.
fn refused_start(sandbox: &Sandbox) -> (Option<i32>, String) {
    let mut daemon = sandbox
        .command("gazelled")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut daemon, Duration::from_secs(30));
    let mut stderr = String::new();
    use std::io::Read as _;
    daemon
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stderr)
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn the_socket_directory_is_never_chmod_ed_unless_the_daemon_owns_it() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().unwrap();
    // A home-like directory, readable by others: refused, left as it was.
    let home = root.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = home.join("gazelled.sock");
    let sandbox = Sandbox::new(&format!("socket = \"{}\"\n", socket.display()));
    let (code, stderr) = refused_start(&sandbox);
    assert_eq!(code, Some(73), "{stderr}");
    assert!(
        stderr.contains(&home.display().to_string()) && stderr.contains("not private"),
        "{stderr}"
    );
    assert_eq!(mode_of(&home), 0o755, "the user's directory keeps its mode");

    // Made private by its owner: the daemon starts there and changes nothing.
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o710)).unwrap();
    let (code, stderr) = refused_start(&sandbox);
    assert_eq!(code, Some(73), "group access is not private: {stderr}");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    assert_eq!(mode_of(&socket), 0o600);
    ok(&sandbox, &["status"]);
    stop(daemon);
    assert_eq!(mode_of(&home), 0o700);
}

#[test]
fn only_a_stale_socket_is_ever_removed() {
    let sandbox = Sandbox::new("");
    let socket = sandbox.data_dir().join("run/gazelled.sock");
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    std::fs::write(&socket, "a file of the user's, not a socket").unwrap();
    let (code, stderr) = refused_start(&sandbox);
    assert_eq!(code, Some(73), "{stderr}");
    assert!(stderr.contains("is not a socket"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&socket).unwrap(),
        "a file of the user's, not a socket"
    );

    // A stale socket (its daemon killed) is replaced.
    std::fs::remove_file(&socket).unwrap();
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    signal(&daemon, "KILL");
    wait_exit(&mut daemon, Duration::from_secs(10));
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log_count(&mut daemon, "gazelled ready", 2);
    ok(&sandbox, &["status"]);
    stop(daemon);
}

#[test]
fn an_oversized_configuration_file_is_refused_at_once_naming_it() {
    let sandbox = Sandbox::new("");
    // Valid TOML, 2 MiB of comments: the wrong file, say, or a runaway script.
    let mut text = std::fs::read_to_string(sandbox.config()).unwrap();
    let line = format!("# {}\n", "x".repeat(1022));
    text.push_str(&line.repeat(2048));
    std::fs::write(sandbox.config(), text).unwrap();
    let config = sandbox.config().display().to_string();

    let (code, stderr) = refused_start(&sandbox);
    assert_eq!(code, Some(78), "EX_CONFIG: {stderr}");
    assert!(
        stderr.contains(&config) && stderr.contains("is refused"),
        "{stderr}"
    );
    let (success, text) = bounded(&sandbox, &["config"], Duration::from_secs(30));
    assert!(!success, "{text}");
    assert!(
        text.contains(&config) && text.contains("is refused"),
        "{text}"
    );
    assert!(!sandbox.database().exists(), "nothing was touched");
}

#[test]
fn a_database_deleted_or_replaced_under_the_daemon_takes_no_more_writes() {
    let sim = SimProcess::start("tiny");
    let sandbox = sandbox_for(&sim, "");
    let daemon = start(&sandbox, 1);
    ok(&sandbox, &["force-sync", "--full", "--wait"]);
    let client = sim.first_client();
    let create = draft_invoice_args(&client);
    let database = sandbox.database();
    let database_text = database.display().to_string();

    // Deleted (a cleaning tool, a person): the edit is refused, not written into a file
    // that disappears at the next restart; status says so.
    let aside = sandbox.root().join("aside.sqlite3");
    std::fs::rename(&database, &aside).unwrap();
    let (success, text) = output(&sandbox, &create);
    assert!(!success, "{text}");
    assert!(
        text.contains(&database_text) && text.contains("was deleted"),
        "{text}"
    );
    let (success, status) = output(&sandbox, &["status"]);
    assert!(
        !success && status.contains(&database_text) && status.contains("was deleted"),
        "{status}"
    );
    let (success, text) = output(&sandbox, &["force-sync", "--wait"]);
    assert!(!success && text.contains("was deleted"), "{text}");

    // Replaced by another file at the same path: refused too.
    std::fs::copy(&aside, &database).unwrap();
    let (success, text) = output(&sandbox, &create);
    assert!(!success, "{text}");
    assert!(text.contains("was replaced by another file"), "{text}");
    stop(daemon);

    // A restart opens the file now at the path and works.
    let daemon = start(&sandbox, 2);
    ok(&sandbox, &create);
    ok(&sandbox, &["status"]);
    stop(daemon);
}

/// The messages the sink kept for `to`.
fn received_by(dir: &Path, to: &str) -> usize {
    e2e::SmtpSink::received(dir)
        .iter()
        .filter(|m| m.to.iter().any(|t| t == to))
        .count()
}

#[test]
fn a_shutdown_waits_for_the_e_mail_in_hand_so_a_restart_does_not_send_it_again() {
    // A slow server: the message is kept at once, acknowledged 3 s later. The daemon is told
    // to stop inside that window.
    let mail = tempfile::tempdir().unwrap();
    let sink = e2e::SmtpSink::start_with(mail.path(), 0, &["--ack-delay-ms", "3000"]);
    let sandbox = Sandbox::new(&format!(
        "[alerts]\nowner_email = \"owner@example.test\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nfrom = \"Assistant Gazelle <alerts@example.test>\"\ntimeout = \"20s\"\n",
        sink.port
    ));
    let daemon = start(&sandbox, 1);
    let first = sandbox
        .command("gazellectl")
        .args(["alerts", "test-email", "--to", "first@example.test"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let kept = e2e::SmtpSink::wait_for(mail.path(), 1, Duration::from_secs(30));
    assert_eq!(kept.len(), 1, "the server never got the message");
    // Delivered, not yet acknowledged: stop now.
    stop(daemon);
    let answer = first.wait_with_output().unwrap();
    assert!(
        answer.status.success()
            && String::from_utf8_lossy(&answer.stdout).contains("sent to first@example.test"),
        "the request in hand is answered before the daemon exits: {}{}",
        String::from_utf8_lossy(&answer.stdout),
        String::from_utf8_lossy(&answer.stderr)
    );
    assert!(
        sandbox.logs().contains("gazelled stopped cleanly"),
        "{}",
        sandbox.logs()
    );
    // Dependencies' routine is not in the info log.
    assert!(
        !sandbox.logs().contains("Job creator created"),
        "{}",
        sandbox.logs()
    );

    // After a restart, a second message goes through the same queue; the first is not sent
    // again (it was marked sent before the daemon exited).
    let daemon = start(&sandbox, 2);
    ok(
        &sandbox,
        &["alerts", "test-email", "--to", "second@example.test"],
    );
    stop(daemon);
    assert_eq!(received_by(mail.path(), "second@example.test"), 1);
    assert_eq!(
        received_by(mail.path(), "first@example.test"),
        1,
        "the first message was sent again after the restart:\n{}",
        sandbox.logs()
    );
}

fn oauth_code(sim: &SimProcess) -> String {
    let (_, body) = sim.post("/_sim/oauth/code", "{}", &[]);
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn authorization(sandbox: &Sandbox) -> String {
    let status: serde_json::Value =
        serde_json::from_str(&ok(sandbox, &["status", "--json"])).unwrap();
    status["authorization"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_daemon_owns_the_tokens_a_login_takes_effect_at_once_and_cli_checks_never_revoke_them() {
    // Rotating refresh tokens (the simulator's default): each refresh revokes the previous
    // refresh token, so two processes refreshing would lock each other out.
    let sim = SimProcess::start("tiny");
    let sandbox = Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nredirect_uri = \"https://localhost.example/callback\"\nrequests_per_second = 1000\n\
         [sync]\nappointments_schedule = \"0 0 3 1 1 *\"\ntimeline_interval = \"1day\"\n",
        sim.url(),
        sim.field("client_id"),
        sim.field("client_secret"),
    ));
    let daemon = start(&sandbox, 1);
    assert_eq!(authorization(&sandbox), "not_authorized");

    // Logged in while the daemon runs: the daemon uses the tokens at once, no restart.
    let login = ok(&sandbox, &["auth", "login", "--code", &oauth_code(&sim)]);
    assert!(login.contains("Authorized."), "{login}");
    assert_eq!(authorization(&sandbox), "authorized");
    ok(&sandbox, &["force-sync", "--wait", "--stream", "users"]);

    // Many rounds of expired access tokens, with the CLI's checks and the daemon's runs
    // interleaved: every refresh is the daemon's, none is refused.
    for round in 0..5 {
        let (status, body) = sim.post("/_sim/oauth/expire", "{}", &[]);
        assert_eq!(status, 204, "{body}");
        let (_, doctor) = output(&sandbox, &["doctor", "--json"]);
        let checks: serde_json::Value = serde_json::from_str(&doctor).unwrap();
        let api = checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "gazelle api")
            .unwrap();
        assert_eq!(api["verdict"], "ok", "round {round}: {api}");
        let (status, body) = sim.post("/_sim/oauth/expire", "{}", &[]);
        assert_eq!(status, 204, "{body}");
        ok(&sandbox, &["force-sync", "--wait", "--stream", "users"]);
        assert!(ok(&sandbox, &["auth", "status"]).starts_with("authorized"));
    }
    let logs = sandbox.logs();
    assert!(!logs.contains("invalid_grant"), "{logs}");
    assert!(
        logs.matches("refreshing the Gazelle access token").count() >= 10,
        "every round refreshed twice, in the daemon: {logs}"
    );

    // Authorization lost upstream (refresh tokens revoked): a sync says so; a new login
    // restores it in the running daemon.
    sim.post("/_sim/oauth/revoke", "{}", &[]);
    sim.post("/_sim/oauth/expire", "{}", &[]);
    let (synced, text) = output(&sandbox, &["force-sync", "--wait", "--stream", "users"]);
    assert!(!synced, "{text}");
    assert_eq!(authorization(&sandbox), "needs_reauthorization");
    ok(&sandbox, &["auth", "login", "--code", &oauth_code(&sim)]);
    assert_eq!(authorization(&sandbox), "authorized");
    ok(&sandbox, &["force-sync", "--wait", "--stream", "users"]);
    stop(daemon);

    // Without a daemon the CLI uses the tokens itself (under the daemon's lock), and the
    // next daemon starts authorized with what it left.
    let out = ok(&sandbox, &["auth", "status"]);
    assert!(out.starts_with("authorized"), "{out}");
    let daemon = start(&sandbox, 2);
    assert_eq!(authorization(&sandbox), "authorized");
    ok(&sandbox, &["auth", "logout"]);
    assert_eq!(authorization(&sandbox), "not_authorized");
    stop(daemon);
}

/// Runs `command` as an unprivileged user when the tests run as root (CI), since root
/// writes a 0444 file as if it were 0644; the sandbox is handed to that user first.
fn unprivileged(sandbox: &Sandbox, mut command: Command) -> Command {
    use std::os::unix::process::CommandExt;
    let me = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&me.stdout).trim() == "0" {
        const NOBODY: u32 = 65534;
        let chown = Command::new("chown")
            .args(["-R", &format!("{NOBODY}:{NOBODY}")])
            .arg(sandbox.root())
            .status()
            .unwrap();
        assert!(chown.success());
        command.uid(NOBODY).gid(NOBODY);
    }
    command
}

#[test]
fn a_read_only_database_is_named_and_a_failed_start_leaves_nothing_that_blocks_the_next() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new("");
    let daemon_command = || {
        let mut command = unprivileged(&sandbox, sandbox.command("gazelled"));
        command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command
    };
    let mut daemon = daemon_command().spawn().unwrap();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    stop(daemon);

    let database = sandbox.database();
    let companion = |suffix: &str| PathBuf::from(format!("{}{suffix}", database.display()));
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut refused = daemon_command().spawn().unwrap();
    let status = wait_exit(&mut refused, Duration::from_secs(30));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut refused.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(77), "{stderr}");
    assert!(
        stderr.contains(&database.display().to_string()) && stderr.contains("cannot be written"),
        "the message names the file: {stderr}"
    );
    for suffix in ["-wal", "-shm"] {
        assert!(
            !companion(suffix).exists(),
            "the failed start left {suffix}"
        );
    }

    // Fixed by the owner; a 0444 -shm left by an older version's failed start does not
    // keep the daemon down.
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(companion("-shm"), b"").unwrap();
    let _ = unprivileged(&sandbox, Command::new("true")); // hands the new file over too
    std::fs::set_permissions(companion("-shm"), std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut daemon = daemon_command().spawn().unwrap();
    sandbox.wait_for_log_count(&mut daemon, "gazelled ready", 2);
    assert!(sandbox.logs().contains("was given the database's mode"));
    stop(daemon);
}
