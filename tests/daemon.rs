//! gazelled and gazellectl as processes: start, stop, single instance, bad configuration.

use std::time::Duration;

use e2e::{Sandbox, signal, wait_exit};

#[test]
fn gazelled_starts_migrates_and_stops_cleanly_on_sigterm_and_sigint() {
    let sandbox = Sandbox::new("");
    for (run, sig) in ["TERM", "INT"].into_iter().enumerate() {
        let mut daemon = sandbox.spawn_daemon();
        sandbox.wait_for_log_count(&mut daemon, "gazelled ready", run + 1);
        assert!(sandbox.database().is_file(), "the database was created");
        signal(&daemon, sig);
        let status = wait_exit(&mut daemon, Duration::from_secs(10));
        assert!(status.success(), "SIG{sig}: exit {status}");
        assert!(
            sandbox.logs().contains(&format!("signal=SIG{sig}")),
            "{}",
            sandbox.logs()
        );
    }
    assert_eq!(
        sandbox.logs().matches("gazelled stopped cleanly").count(),
        2
    );
}

#[test]
fn a_second_daemon_is_refused_and_a_killed_one_leaves_no_stale_lock() {
    let sandbox = Sandbox::new("");
    let mut first = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut first, "gazelled ready");

    let second = sandbox.run("gazelled", &[]);
    assert_eq!(
        second.status.code(),
        Some(75),
        "EX_TEMPFAIL for a second instance"
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("another gazelled is already running"),
        "{stderr}"
    );

    // SIGKILL: no chance to clean up. The kernel drops the lock, so a new daemon starts.
    signal(&first, "KILL");
    wait_exit(&mut first, Duration::from_secs(10));
    let mut third = sandbox.spawn_daemon();
    sandbox.wait_for_log_count(&mut third, "gazelled ready", 2);
    signal(&third, "TERM");
    assert!(wait_exit(&mut third, Duration::from_secs(10)).success());
}

#[test]
fn an_invalid_configuration_stops_the_daemon_with_the_key_and_file() {
    let sandbox = Sandbox::new("[sync]\npush_interval = \"whenever\"\n");
    let out = sandbox.run("gazelled", &[]);
    assert_eq!(out.status.code(), Some(78), "EX_CONFIG");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&sandbox.config().display().to_string()),
        "names the file: {stderr}"
    );
    assert!(
        stderr.contains("key `sync.push_interval`"),
        "names the key: {stderr}"
    );
    assert!(!sandbox.database().exists(), "nothing was touched");

    let missing = sandbox
        .bare_command("gazelled")
        .arg("--config")
        .arg(sandbox.root().join("nope.toml"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.toml does not exist"));
}

#[test]
fn gazellectl_config_shows_values_their_origin_and_hides_secrets() {
    let sandbox =
        Sandbox::new("[api]\npage_size = 200\nclient_secret = \"generated-secret-for-test\"\n");
    let out = sandbox
        .command("gazellectl")
        .env("GAZELLE_SYNC__PUSH_INTERVAL", "10m")
        .args(["config", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.contains("generated-secret-for-test"),
        "a secret was shown"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let setting = |key: &str| {
        doc["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .cloned()
            .unwrap()
    };
    assert_eq!(setting("api.page_size")["value"], "200");
    assert_eq!(
        setting("api.page_size")["origin"],
        sandbox.config().display().to_string()
    );
    assert_eq!(setting("sync.push_interval")["value"], "\"10m\"");
    assert_eq!(
        setting("sync.push_interval")["origin"],
        "environment variable GAZELLE_SYNC__PUSH_INTERVAL"
    );
    assert_eq!(setting("api.client_secret")["value"], "\"[redacted]\"");
    assert_eq!(
        setting("api.requests_per_second")["origin"],
        "built-in default"
    );

    let table = sandbox.run("gazellectl", &["config"]);
    assert!(table.status.success());
    assert!(String::from_utf8_lossy(&table.stdout).contains("api.page_size"));

    let bad = Sandbox::new("[api]\nbase_url = \"::\"\n");
    let out = bad.run("gazellectl", &["config"]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("key `api.base_url`"));
}

#[test]
fn gazellectl_install_writes_the_agent_and_uninstall_removes_it() {
    let sandbox = Sandbox::new("");
    let out = sandbox.run("gazellectl", &["install", "--no-load"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let agent = if cfg!(target_os = "macos") {
        sandbox
            .root()
            .join("Library/LaunchAgents/ca.assistantgazelle.gazelled.plist")
    } else {
        sandbox.root().join(".config/systemd/user/gazelled.service")
    };
    let text = std::fs::read_to_string(&agent).unwrap();
    let gazelled = e2e::bin("gazelled").canonicalize().unwrap();
    assert!(
        text.contains(&gazelled.display().to_string()),
        "absolute path to the daemon: {text}"
    );
    assert!(
        text.contains(&sandbox.config().display().to_string()),
        "the configuration it was installed with"
    );
    let out = sandbox.run("gazellectl", &["uninstall", "--no-unload"]);
    assert!(out.status.success());
    assert!(!agent.exists());
    assert!(String::from_utf8_lossy(&out.stdout).contains("data, tokens and logs are kept"));

    let completions = sandbox.run("gazellectl", &["completions", "bash"]);
    assert!(completions.status.success());
    assert!(String::from_utf8_lossy(&completions.stdout).contains("force-sync"));
}
