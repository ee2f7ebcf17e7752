//! The control socket and `gazellectl status` / `force-sync`, through the real binaries.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use e2e::{Sandbox, SimProcess, draft_invoice_args, signal, wait_exit};

fn sandbox_for(sim: &SimProcess) -> Sandbox {
    Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\npage_size = 5\nrequests_per_second = 1000\n",
        sim.url(),
        sim.field("api_key")
    ))
}

/// A daemon of `sandbox`, ready, that has mirrored the simulator once.
fn synced_daemon(sandbox: &Sandbox) -> std::process::Child {
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    assert!(
        sandbox
            .run("gazellectl", &["force-sync", "--full", "--wait"])
            .status
            .success()
    );
    daemon
}

/// SIGTERM, and the daemon's clean exit.
fn stop(mut daemon: std::process::Child) {
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
}

fn socket(sandbox: &Sandbox) -> std::path::PathBuf {
    sandbox.data_dir().join("run/gazelled.sock")
}

fn runs(sandbox: &Sandbox) -> i64 {
    let out = sandbox.run("gazellectl", &["status", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    status["last_run"]["run"]["id"].as_i64().unwrap_or(0)
}

#[test]
fn status_and_force_sync_through_the_control_socket() {
    let sim = SimProcess::start("tiny");
    let sandbox = sandbox_for(&sim);

    let down = sandbox.run("gazellectl", &["status"]);
    assert_eq!(
        down.status.code(),
        Some(3),
        "a distinct exit code when the daemon is not running"
    );
    assert!(String::from_utf8_lossy(&down.stderr).contains("gazelled is not running"));

    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode(&socket(&sandbox)),
        0o600,
        "socket readable by the user only"
    );
    assert_eq!(
        mode(socket(&sandbox).parent().unwrap()),
        0o700,
        "in a directory only the user can enter"
    );

    let out = sandbox.run("gazellectl", &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["authorization"]["state"], "api_key");
    assert!(status["last_run"].is_null());

    let out = sandbox.run("gazellectl", &["force-sync", "--full", "--wait"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Sync started.") && stdout.contains("succeeded"),
        "{stdout}"
    );
    assert!(stdout.contains("timeline   fetched    1200"), "{stdout}");
    let out = sandbox.run("gazellectl", &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = status["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stream"] == "events")
        .unwrap();
    assert!(
        events["next_run"]
            .as_str()
            .is_some_and(|t| t.ends_with(":00:00Z")),
        "the next scheduled pull (hourly): {status:#}"
    );
    assert!(
        status["schedule"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["job"] == "unconfirmed")
    );
    let human = sandbox.run("gazellectl", &["status"]);
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(
        human.contains("last run #1 (full, manual): succeeded"),
        "{human}"
    );
    assert!(human.contains("authorization: API key"), "{human}");
    // Times in the shop's zone, with its abbreviation (UTC stays in --json).
    let zoned = |text: &str| text.contains(" EST") || text.contains(" EDT");
    assert!(zoned(&human), "{human}");

    // The run history, and the log, from the CLI.
    let out = sandbox.run("gazellectl", &["runs"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && table.contains("manual")
            && table.contains("succeeded")
            && zoned(&table),
        "{table}"
    );
    let out = sandbox.run("gazellectl", &["runs", "--json", "--limit", "5"]);
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        history[0]["totals"]["fetched"].as_u64(),
        Some(1538),
        "{history:#}"
    );
    // Counts per table: a client's contacts, an invoice's lines are not added to the
    // clients and invoices they belong to.
    let clients = history[0]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stream"] == "clients")
        .unwrap();
    let tables: Vec<&str> = clients["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(tables, ["Clients", "Contacts"], "{clients:#}");
    let inserted: u64 = clients["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["counts"]["inserted"].as_u64().unwrap())
        .sum();
    assert_eq!(
        Some(inserted),
        clients["counts"]["rows"]["inserted"].as_u64(),
        "the tables add up to the stream"
    );
    let out = sandbox.run("gazellectl", &["runs", "--detail", "--limit", "1"]);
    let detail = String::from_utf8_lossy(&out.stdout);
    assert!(
        detail.contains("· Contacts") && detail.contains("· InvoiceItems"),
        "{detail}"
    );
    let human = sandbox.run("gazellectl", &["status"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("· Contacts"));
    let out = sandbox.run("gazellectl", &["logs", "-n", "500"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("control socket listening"));

    // Two force-syncs at once: the second joins the first; one run, both see it end.
    let a = sandbox
        .command("gazellectl")
        .args(["force-sync", "--full", "--wait"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let b = sandbox
        .command("gazellectl")
        .args(["force-sync", "--full", "--wait"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    let joined = String::from_utf8_lossy(&b.stdout);
    assert!(joined.contains("already running: following it"), "{joined}");
    assert_eq!(
        runs(&sandbox),
        2,
        "the joined request started no run of its own"
    );

    // Malformed frames are answered with an error, and the connection keeps serving.
    let mut raw = UnixStream::connect(socket(&sandbox)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(raw.try_clone().unwrap());
    for bad in ["garbage", "{\"request\":\"reboot\"}", "[1,2,3]"] {
        writeln!(raw, "{bad}").unwrap();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(
            line.contains("\"response\":\"error\"") && line.contains("bad-request"),
            "{bad}: {line}"
        );
    }
    writeln!(raw, "{{\"request\":\"hello\"}}").unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains("\"protocol_version\":4"), "{line}");
    // A frame over a request's cap (1 MiB) is refused and the connection closed.
    raw.write_all(&vec![b'x'; 1024 * 1024 + 10 * 1024]).unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains("longer than"), "{line}");

    // SIGKILL leaves the socket file behind; the next daemon replaces it.
    signal(&daemon, "KILL");
    wait_exit(&mut daemon, Duration::from_secs(10));
    assert!(socket(&sandbox).exists(), "a stale socket");
    assert_eq!(
        sandbox.run("gazellectl", &["status"]).status.code(),
        Some(3)
    );
    let mut again = sandbox.spawn_daemon();
    sandbox.wait_for_log_count(&mut again, "gazelled ready", 2);
    assert!(sandbox.logs().contains("replacing a stale socket"));
    assert_eq!(runs(&sandbox), 2, "the history survived");
    signal(&again, "TERM");
    assert!(wait_exit(&mut again, Duration::from_secs(10)).success());
    assert!(
        !socket(&sandbox).exists(),
        "a clean stop removes the socket"
    );
}

#[test]
fn the_schedule_runs_syncs_unattended() {
    let sim = SimProcess::start("tiny");
    // Appointments every two seconds; the rest far away.
    let sandbox = Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\nrequests_per_second = 1000\n\
         [sync]\nappointments_schedule = \"*/2 * * * * *\"\ntimeline_interval = \"1day\"\n",
        sim.url(),
        sim.field("api_key")
    ));
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "schedule started");
    sandbox.wait_for_log(&mut daemon, "job=\"appointments\"");
    // The scheduled run reaches the run log with its trigger.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = sandbox.run("gazellectl", &["status", "--json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let run = &status["last_run"]["run"];
        if run["trigger"] == "schedule" && run["status"] == "succeeded" {
            assert_eq!(run["mode"], "incremental");
            let streams: Vec<&str> = status["last_run"]["streams"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|s| s["stream"].as_str())
                .collect();
            assert_eq!(
                streams,
                ["events"],
                "the appointments job pulls events only"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no scheduled run: {status:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Paused: the schedule skips its runs, and status says so.
    let out = sandbox.run("gazellectl", &["pause"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("paused"));
    let out = sandbox.run("gazellectl", &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["paused"], true);
    sandbox.wait_for_log(&mut daemon, "scheduled run skipped: paused");
    let out = sandbox.run("gazellectl", &["resume"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("resumed"));
    stop(daemon);
}

/// The socket is private: another user can neither reach it (0700 directory, 0600 socket)
/// nor, if the permissions are loosened by hand, be served (the daemon checks the peer's uid).
/// Switching users needs root, which CI has; run unprivileged, only the modes are checked.
#[test]
fn another_user_cannot_use_the_socket() {
    use std::os::unix::process::CommandExt;
    let sim = SimProcess::start("tiny");
    let sandbox = sandbox_for(&sim);
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    let sock = socket(&sandbox);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&sock), mode(sock.parent().unwrap())), (0o600, 0o700));

    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if is_root {
        // The other user runs its own copy of gazellectl: the checkout may sit in a
        // directory only root can enter.
        let theirs = tempfile::tempdir().unwrap();
        std::fs::set_permissions(theirs.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let their_ctl = theirs.path().join("gazellectl");
        std::fs::copy(e2e::bin("gazellectl"), &their_ctl).unwrap();
        std::fs::set_permissions(&their_ctl, std::fs::Permissions::from_mode(0o755)).unwrap();
        let as_nobody = || {
            let mut cmd = std::process::Command::new(&their_ctl);
            cmd.uid(65534)
                .gid(65534)
                .env_clear()
                .env("HOME", "/tmp")
                .env("GAZELLE_PATHS__SOCKET", &sock)
                .arg("status")
                .stdin(std::process::Stdio::null());
            cmd.output().unwrap()
        };
        let out = as_nobody();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("permission denied"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Loosen every permission on the way: the daemon still refuses the other uid.
        let mut dir = sock.parent().unwrap().to_owned();
        loop {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            if dir == sandbox.root() {
                break;
            }
            dir = dir.parent().unwrap().to_owned();
        }
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
        let out = as_nobody();
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("serves uid 0 only, not uid 65534"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        sandbox.wait_for_log(
            &mut daemon,
            "refused a control connection from another user",
        );
        // The owner is still served.
        assert!(sandbox.run("gazellectl", &["status"]).status.success());
    }
    stop(daemon);
}

/// What a user sees of an incremental pull: with nothing changed upstream, one request per
/// stream (the windows are probed); a note entered late shows up with the next one.
#[test]
fn an_incremental_force_sync_asks_little_and_still_finds_a_late_note() {
    let sim = SimProcess::start("tiny");
    let sandbox = Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\npage_size = 100\nrequests_per_second = 1000\n",
        sim.url(),
        sim.field("api_key")
    ));
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    let sync = |args: &[&str]| {
        let out = sandbox.run("gazellectl", &[&["force-sync", "--wait"], args].concat());
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && stdout.contains("succeeded"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    // Each stream's cost in the run log: its requests add up to what the simulator served
    // (the prefetching task's pages included), with its time and bytes.
    let last_run_streams = || -> Vec<serde_json::Value> {
        let out = sandbox.run("gazellectl", &["runs", "--json", "--limit", "1"]);
        let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        runs[0]["streams"].as_array().unwrap().clone()
    };
    let requests_of = |streams: &[serde_json::Value]| -> Vec<u64> {
        streams
            .iter()
            .map(|s| s["cost"]["requests"].as_u64().unwrap())
            .collect()
    };
    let before = sim.graphql_requests();
    let full = sync(&["--full"]);
    let served = sim.graphql_requests() - before;
    let streams = last_run_streams();
    let names: Vec<&str> = streams
        .iter()
        .map(|s| s["stream"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "users",
            "catalogue",
            "clients",
            "pianos",
            "events",
            "timeline",
            "invoices"
        ],
        "in the order they ran"
    );
    assert_eq!(requests_of(&streams).iter().sum::<u64>(), served);
    assert!(
        streams
            .iter()
            .all(|s| s["cost"]["bytes_received"].as_u64().unwrap() > 0
                && s["cost"]["duration_ms"].is_u64()),
        "{streams:#?}"
    );
    assert!(
        full.contains(" req "),
        "force-sync --wait shows each stream's cost: {full}"
    );

    let before = sim.graphql_requests();
    sync(&[]);
    assert_eq!(
        sim.graphql_requests() - before,
        7,
        "one request per stream when nothing changed upstream"
    );
    assert_eq!(requests_of(&last_run_streams()), [1; 7]);
    let out = sandbox.run("gazellectl", &["runs", "--detail", "--limit", "1"]);
    let detail = String::from_utf8_lossy(&out.stdout);
    let header = detail
        .lines()
        .find(|l| l.contains("stream") && l.contains("fetched"))
        .unwrap_or_else(|| panic!("{detail}"));
    assert!(
        ["time", "requests", "received"]
            .iter()
            .all(|c| header.contains(c)),
        "{detail}"
    );
    let events = detail
        .lines()
        .find(|l| l.contains(" events "))
        .unwrap_or_else(|| panic!("{detail}"));
    assert!(
        events.contains(" ms ") || events.contains(" s "),
        "{events}"
    );

    // A technician enters, today, a note about a visit ten days ago.
    let clients = sim.graphql(
        "{ allClients(first: 1) { nodes { id } } }",
        serde_json::json!({}),
    );
    let client = clients["data"]["allClients"]["nodes"][0]["id"]
        .as_str()
        .unwrap();
    let ten_days_ago = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * 10))
        .unwrap();
    let body = serde_json::json!({
        "clientId": client, "type": "SERVICE_ENTRY_MANUAL", "summary": "Service",
        "comment": "Note tardive : accord et réglage", "occurredAt": ten_days_ago.to_string(),
    })
    .to_string();
    let (status, text) = sim.post("/_sim/records/timeline", &body, &[]);
    assert_eq!(status, 200, "{text}");
    let id = serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let before = sim.graphql_requests();
    sync(&[]);
    let asked = sim.graphql_requests() - before;
    assert!(
        asked <= 8,
        "the probe, then the one piece that changed: {asked} requests"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stored: Option<String> = runtime.block_on(async {
        let url = format!("sqlite://{}?mode=ro", sandbox.database().display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT Details FROM TimelineEntries WHERE ExternalId = ?1")
            .bind(&id)
            .fetch_optional(&pool)
            .await
            .unwrap()
    });
    assert_eq!(stored.as_deref(), Some("Note tardive : accord et réglage"));

    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(20)).success());
}

/// Creates a one-line draft invoice for the simulator's first client; its local id.
fn draft_invoice(sandbox: &Sandbox, sim: &SimProcess) -> String {
    let created = sandbox.run("gazellectl", &draft_invoice_args(&sim.first_client()));
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let list = sandbox.run("gazellectl", &["invoices", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    list[0]["id"].as_i64().unwrap().to_string()
}

/// Output of a `gazellectl` child, waited for with a bound.
fn finished(mut child: std::process::Child, limit: Duration) -> (Option<i32>, String) {
    use std::io::Read as _;
    let status = wait_exit(&mut child, limit);
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut text).unwrap();
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut text).unwrap();
    }
    (status.code(), text)
}

fn piped(sandbox: &Sandbox, args: &[&str]) -> std::process::Child {
    sandbox
        .command("gazellectl")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_stopped_daemon_makes_the_cli_fail_clearly_never_hang() {
    let sandbox = Sandbox::new("");
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    signal(&daemon, "STOP");
    // Both at once: each must give up on its own bound (30 s), well inside the wait here.
    let status = piped(&sandbox, &["status"]);
    let doctor = piped(&sandbox, &["doctor"]);
    for (name, child) in [("status", status), ("doctor", doctor)] {
        let (code, text) = finished(child, Duration::from_secs(90));
        assert_ne!(code, Some(0), "{name}: {text}");
        assert!(text.contains("did not answer within"), "{name}: {text}");
    }
    signal(&daemon, "CONT");
    let ok = sandbox.run("gazellectl", &["status"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    stop(daemon);
}

#[test]
fn a_closed_stdout_ends_the_cli_quietly_never_a_panic() {
    let sandbox = Sandbox::new("");
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    for args in [&["status"][..], &["completions", "bash"], &["runs"]] {
        // The reading end is closed before the CLI writes a byte (`gazellectl … | true`).
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let child = sandbox
            .command("gazellectl")
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (code, stderr) = finished(child, Duration::from_secs(30));
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    stop(daemon);
}

#[test]
fn an_appointment_move_refuses_durations_create_refuses_and_never_panics() {
    let sim = SimProcess::start("tiny");
    let sandbox = sandbox_for(&sim);
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    let sync = sandbox.run("gazellectl", &["force-sync", "--full", "--wait"]);
    assert!(sync.status.success());
    let listed = sandbox.run(
        "gazellectl",
        &["calendar", "--from", "2000-01-01", "--json"],
    );
    let calendar: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap_or_default();
    let id = calendar
        .as_array()
        .and_then(|a| a.first())
        .and_then(|a| a["id"].as_i64())
        .map_or_else(|| "1".to_owned(), |i| i.to_string());
    for duration in ["9223372036854775807", "-5", "0", "100000"] {
        let out = sandbox.run(
            "gazellectl",
            &[
                "appointments",
                "move",
                &id,
                "--start",
                "2027-01-10 10:00",
                &format!("--duration={duration}"),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "bad usage: --duration {duration}: {stderr}"
        );
        assert!(
            stderr.contains("between 1 and 1440"),
            "{duration}: {stderr}"
        );
    }
    // Wrong or unclear answers: each is bad usage (2), with a message that says what is
    // wrong; nothing is queued.
    let tech =
        sim.graphql("{ allUsers { id } }", serde_json::json!({}))["data"]["allUsers"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let client = sim.first_client();
    for (args, says) in [
        (
            vec!["outbox", "retry", "--", "-5"],
            "no such outbox entry #-5",
        ),
        (
            vec!["outbox", "discard", "999999"],
            "no such outbox entry #999999",
        ),
        (
            vec!["force-sync", "--stream", "bogus"],
            "unknown stream `bogus`",
        ),
        (
            vec![
                "appointments",
                "create",
                "--client",
                &client,
                "--tech",
                &tech,
                "--start",
                "2027-02-30 10:00",
                "--duration",
                "60",
                "--title",
                "Accord",
            ],
            "2027-02-30",
        ),
        (
            vec![
                "appointments",
                "create",
                "--client",
                &client,
                "--tech",
                "usr_NOPE",
                "--start",
                "2027-02-10 10:00",
                "--duration",
                "60",
                "--title",
                "Accord",
            ],
            "no such technician `usr_NOPE`",
        ),
    ] {
        let out = sandbox.run("gazellectl", &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert!(!sandbox.logs().contains("panicked"), "{}", sandbox.logs());
    let outbox = sandbox.run("gazellectl", &["outbox", "list", "--json"]);
    assert_eq!(String::from_utf8_lossy(&outbox.stdout).trim(), "[]");
    stop(daemon);
}

/// Answers over 64 KiB (many alerts, a long invoice line) are read whole; a write is never
/// reported failed after it was committed.
#[test]
fn large_answers_are_read_whole_and_a_committed_write_is_reported_as_such() {
    let sim = SimProcess::start("tiny");
    let sandbox = sandbox_for(&sim);
    let daemon = synced_daemon(&sandbox);
    let scan = sandbox.run("gazellectl", &["alerts", "scan", "--since", "2015-01-01"]);
    assert!(
        scan.status.success(),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let all = sandbox.run("gazellectl", &["alerts", "list", "--all", "--json"]);
    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    let alerts: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    let count = alerts["maintenance"].as_array().map_or(0, Vec::len);
    assert!(count > 40, "{count} alerts");
    let table = sandbox.run("gazellectl", &["alerts", "list", "--all"]);
    assert!(
        table.status.success(),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );

    // A 40,000-character line: stored once, reported stored, the invoice readable after.
    let id = draft_invoice(&sandbox, &sim);
    let long = "é".repeat(40_000);
    let added = sandbox.run(
        "gazellectl",
        &[
            "invoices",
            "add-line",
            &id,
            "--description",
            &long,
            "--price",
            "5",
        ],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let shown = sandbox.run("gazellectl", &["invoices", "show", &id, "--json"]);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.stdout.len() > 64 * 1024,
        "{} bytes",
        shown.stdout.len()
    );
    assert_eq!(text.matches(&long).count(), 1, "one line, stored once");
    stop(daemon);
}

/// Quantities and prices are bounded: never a wrapped total, never a column SQLite turns
/// into REAL; the invoice stays readable and unchanged.
#[test]
fn an_invoice_line_beyond_the_bounds_is_refused_and_changes_nothing() {
    let sim = SimProcess::start("tiny");
    let sandbox = sandbox_for(&sim);
    let daemon = synced_daemon(&sandbox);
    let id = draft_invoice(&sandbox, &sim);
    let show = |sandbox: &Sandbox| {
        let out = sandbox.run("gazellectl", &["invoices", "show", &id, "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let before = show(&sandbox);
    for args in [
        &[
            "--quantity",
            "92233720368547758",
            "--price",
            "92233720368547758",
            "--untaxed",
        ][..],
        &["--price", "92233720368547758"],
        &["--price=-92233720368547758"],
        &["--quantity", "10001", "--price", "1"],
        &["--price", "1000000.01"],
    ] {
        let mut full = vec!["invoices", "add-line", &id, "--description", "Hors bornes"];
        full.extend_from_slice(args);
        let out = sandbox.run("gazellectl", &full);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "bad usage: {args:?}: {stderr}");
        assert!(
            stderr.contains("at most") || stderr.contains("too large"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(show(&sandbox), before, "nothing changed");
    stop(daemon);
}

/// A shop after years: 10,000 alerts and a year of a technician's calendar. The answers
/// travel in parts (no frame holds a whole list), and the CLI prints and writes them whole:
/// the JSON is one valid document, the table every alert, the iCalendar file every event.
#[test]
fn ten_thousand_alerts_and_a_year_of_calendar_travel_in_parts() {
    use std::io::{BufRead, BufReader, Write};
    let sim = SimProcess::start("tiny");
    let sandbox = sandbox_for(&sim);
    let daemon = synced_daemon(&sandbox);
    let technician = e2e::seed_long_history(&sandbox, 10_000);
    let (total,): (i64,) = sandbox.query_one("SELECT COUNT(*) FROM MaintenanceAlerts", &[]);
    assert!(total >= 10_000);

    // On the wire: parts of at most 500 alerts, then the last part as the answer.
    let socket = sandbox.data_dir().join("run/gazelled.sock");
    let stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    writeln!(
        &stream,
        r#"{{"request":"call","verb":"alerts-list","filter":"all"}}"#
    )
    .unwrap();
    let (mut parts, mut listed, mut largest) = (0, 0, 0);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        largest = largest.max(line.len());
        let frame: serde_json::Value = serde_json::from_str(&line).unwrap();
        let alerts = frame["data"]["maintenance"].as_array().map_or(0, Vec::len);
        assert!(alerts <= 500, "a part of {alerts} alerts");
        listed += alerts;
        match frame["response"].as_str() {
            Some("part") => parts += 1,
            Some("answer") => break,
            _ => panic!("{line}"),
        }
    }
    assert_eq!(listed as i64, total);
    assert!(parts >= 19, "{parts} parts");
    assert!(
        largest < 1024 * 1024,
        "the largest frame is {largest} bytes"
    );

    // Through the CLI: JSON, table, calendar and iCalendar, each whole.
    let json = sandbox.run("gazellectl", &["alerts", "list", "--all", "--json"]);
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        document["maintenance"].as_array().unwrap().len() as i64,
        total
    );
    assert_eq!(document["filter"], "all");
    let table = sandbox.run("gazellectl", &["alerts", "list", "--all"]);
    assert!(table.status.success());
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("Humidité 10000 "),
        "the oldest alert is shown"
    );
    let limited = sandbox.run(
        "gazellectl",
        &["alerts", "list", "--all", "--limit", "700", "--json"],
    );
    let limited: serde_json::Value = serde_json::from_slice(&limited.stdout).unwrap();
    assert_eq!(limited["maintenance"].as_array().unwrap().len(), 700);

    let ics = sandbox.root().join("year.ics");
    let year = [
        "calendar",
        "--tech",
        &technician,
        "--from",
        "2027-01-01",
        "--days",
        "366",
    ];
    let written = sandbox.run(
        "gazellectl",
        &[&year[..], &["--ics", ics.to_str().unwrap()]].concat(),
    );
    let said = String::from_utf8_lossy(&written.stdout);
    assert!(
        said.contains(&format!("({} events)", e2e::SEEDED_APPOINTMENTS)),
        "{said}{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let text = std::fs::read_to_string(&ics).unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
    assert_eq!(
        text.matches("BEGIN:VEVENT").count(),
        e2e::SEEDED_APPOINTMENTS
    );
    assert_eq!(text.matches("BEGIN:VCALENDAR").count(), 1);
    let listed = sandbox.run("gazellectl", &[&year[..], &["--json"]].concat());
    let entries: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), e2e::SEEDED_APPOINTMENTS);
    stop(daemon);
}

/// Arbitrary arguments for every verb, through the daemon's decoder and its handlers: each
/// answer is the verb's answer or an error with a message, never a panic, never a lost
/// connection, and the daemon serves on after (`Call::samples` has every verb, so a verb
/// added later is fuzzed too).
#[test]
fn arbitrary_arguments_for_every_verb_are_answered_never_a_panic() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use std::io::{BufRead, BufReader, Write};

    let sim = SimProcess::start("tiny");
    let sandbox = sandbox_for(&sim);
    let daemon = synced_daemon(&sandbox);
    let samples: Vec<serde_json::Value> = protocol::Call::samples()
        .into_iter()
        .map(|call| serde_json::to_value(protocol::Request::Call(call)).unwrap())
        .collect();
    assert!(samples.len() >= 30, "{} verbs", samples.len());

    let socket = sandbox.data_dir().join("run/gazelled.sock");
    let stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // The runner's property is `Fn`: the one connection is borrowed per request.
    let reader = std::cell::RefCell::new(BufReader::new(stream.try_clone().unwrap()));
    let ask = |frame: &serde_json::Value| -> serde_json::Value {
        writeln!(&stream, "{frame}").unwrap();
        loop {
            let mut line = String::new();
            reader.borrow_mut().read_line(&mut line).unwrap();
            assert!(
                !line.is_empty(),
                "the daemon closed the connection after {frame}"
            );
            let answer: serde_json::Value = serde_json::from_str(&line).unwrap();
            if answer["response"] != "part" {
                return answer;
            }
        }
    };

    // Values a person, a script or an attacker could put in any field.
    let value = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        prop_oneof![
            Just(i64::MAX),
            Just(i64::MIN),
            Just(0),
            Just(-1),
            Just(1441)
        ]
        .prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "\\PC{0,40}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("2027-02-30"),
            Just("2027-13-01 10:00"),
            Just("9999-12-31 23:59"),
            Just("-5"),
            Just("usr_NOPE"),
            Just("1"),
            Just("all"),
            Just("local"),
        ]
        .prop_map(serde_json::Value::from),
        "[a-z]{0,8}".prop_map(|s| serde_json::json!([s])),
        "[a-z]{0,8}".prop_map(|s| serde_json::json!({ "description": s })),
    ];
    let case = (
        0..samples.len(),
        prop::collection::vec((0..12usize, value), 0..6),
    );
    let (answered, refused) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case, |(verb, changes)| {
            let mut frame = samples[verb].clone();
            let keys: Vec<String> = frame
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "request" && *k != "verb")
                .cloned()
                .collect();
            for (which, value) in changes {
                if !keys.is_empty() {
                    frame[&keys[which % keys.len()]] = value;
                }
            }
            let answer = ask(&frame);
            match answer["response"].as_str() {
                Some("answer") => {
                    prop_assert_eq!(&answer["answer"], &frame["verb"]);
                    answered.set(answered.get() + 1);
                }
                Some("error") => {
                    if answer["code"] == "invalid" {
                        refused.set(refused.get() + 1);
                    }
                    let message = answer["message"].as_str().unwrap_or_default();
                    prop_assert!(!message.trim().is_empty(), "{frame} → {answer}");
                    prop_assert!(answer["code"] != "internal", "{frame} → {answer}");
                }
                _ => prop_assert!(false, "{frame} → {answer}"),
            }
            Ok(())
        })
        .unwrap();
    // The handlers ran, not only the decoder: answers, and refusals of theirs (`invalid`:
    // no such id, a bound passed) besides the decoder's (`bad-request`).
    assert!(
        answered.get() >= 20 && refused.get() >= 20,
        "{} answered, {} refused by a handler",
        answered.get(),
        refused.get()
    );
    assert_eq!(
        ask(&serde_json::json!({"request": "hello"}))["response"],
        "hello"
    );
    let logs = sandbox.logs();
    assert!(!logs.contains("panicked"), "{logs}");
    assert!(!logs.contains("internal error"), "{logs}");
    stop(daemon);
}
