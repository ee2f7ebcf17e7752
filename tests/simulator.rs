//! The simulator as a process, its control API over HTTP, and `gazellectl auth` against it.

use std::io::Write;
use std::process::Stdio;

use e2e::{Sandbox, SimProcess};

#[test]
fn the_simulator_binary_serves_validates_and_takes_faults_over_http() {
    let sim = SimProcess::start("tiny");
    assert!(sim.url().starts_with("http://127.0.0.1:"), "{}", sim.url());
    let key = sim.field("api_key");
    let auth = [("x-gazelle-api-key", key.as_str())];

    let (status, body) = sim.post(
        "/graphql/private/",
        r#"{"query":"{ allClients(first: 2) { totalCount nodes { id } } }"}"#,
        &auth,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"totalCount\":60"), "{body}");

    let (status, body) = sim.post(
        "/graphql/private/",
        r#"{"query":"{ allPianos { nodes { lastTunedDate } } }"}"#,
        &auth,
    );
    assert_eq!(status, 200);
    assert!(
        body.contains("Field 'lastTunedDate' doesn't exist on type 'PrivatePiano'"),
        "{body}"
    );
    assert!(!body.contains("\"data\""), "{body}");

    let (status, _) = sim.post(
        "/graphql/private/",
        r#"{"query":"{ allUsers { id } }"}"#,
        &[],
    );
    assert_eq!(status, 401, "no credentials");

    let (status, _) = sim.post(
        "/_sim/faults",
        r#"{"kind":"status","status":429,"retry_after":7,"count":1}"#,
        &[],
    );
    assert_eq!(status, 204);
    let (status, _) = sim.post(
        "/graphql/private/",
        r#"{"query":"{ allUsers { id } }"}"#,
        &auth,
    );
    assert_eq!(status, 429, "the queued fault is served");
    let (status, _) = sim.post(
        "/graphql/private/",
        r#"{"query":"{ allUsers { id } }"}"#,
        &auth,
    );
    assert_eq!(status, 200, "then service resumes");

    let (status, body) = sim.post("/graphql/private/", "{not json", &auth);
    assert_eq!(status, 400, "{body}");
}

#[test]
fn gazellectl_auth_login_stores_tokens_from_a_pasted_code() {
    let sim = SimProcess::start("tiny");
    let sandbox = Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nredirect_uri = \"https://localhost.example/callback\"\n",
        sim.url(),
        sim.field("client_id"),
        sim.field("client_secret"),
    ));
    let status = sandbox.run("gazellectl", &["auth", "status"]);
    assert_eq!(status.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&status.stdout).contains("not authorized"));

    // The owner approves in a browser; the simulator hands out the code it would redirect with.
    let (_, body) = sim.post("/_sim/oauth/code", "{}", &[]);
    let code = serde_json::from_str::<serde_json::Value>(&body).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut login = sandbox
        .command("gazellectl")
        .args(["auth", "login"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(login.stdin.take().unwrap(), "{code}").unwrap();
    let out = login.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("/developer/oauth/authorize?client_id="),
        "prints the authorize URL: {stdout}"
    );
    assert!(stdout.contains("Authorized."), "{stdout}");

    let token_file = sandbox.data_dir().join("tokens.json");
    if cfg!(not(target_os = "macos")) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let status = sandbox.run("gazellectl", &["auth", "status"]);
    assert!(status.status.success());
    assert!(String::from_utf8_lossy(&status.stdout).starts_with("authorized"));

    // A used code is refused with a clear message.
    let again = sandbox.run("gazellectl", &["auth", "login", "--code", &code]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("the code was refused"));

    let logout = sandbox.run("gazellectl", &["auth", "logout"]);
    assert!(logout.status.success());
    assert!(!token_file.exists());

    // Missing OAuth settings are named.
    let bare = Sandbox::new("");
    let out = bare.run("gazellectl", &["auth", "login", "--code", "x"]);
    assert_eq!(out.status.code(), Some(78));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("api.client_id, api.client_secret, api.redirect_uri")
    );
}

#[test]
fn the_small_data_set_starts_and_reports_its_size() {
    let sim = SimProcess::start("small");
    let (status, body) = sim.post("/graphql/private/", r#"{"query":"{ allClients(first: 1) { totalCount } allTimelineEntries(first: 1) { totalCount } }"}"#, &[("x-gazelle-api-key", &sim.field("api_key"))]);
    assert_eq!(status, 200);
    assert!(body.contains("\"totalCount\":4000"), "{body}");
    assert!(body.contains("\"totalCount\":150000"), "{body}");
}
