//! Alerts end to end: service notes in the simulator, a sync through the real daemon, alerts
//! in the database and in `gazellectl alerts`, and e-mails received by a real SMTP server
//! (`smtp-sink`) — once each, across an SMTP outage and daemon restarts, over plain,
//! STARTTLS and implicit TLS.

use std::time::Duration;

use e2e::{Sandbox, SimProcess, SmtpSink, signal, wait_exit};
use mail_parser::{MessageParser, MimeHeaders};

const OWNER: &str = "owner@example.test";
const TECH: &str = "tech@example.test";

fn graphql(sim: &SimProcess, query: &str) -> serde_json::Value {
    sim.graphql(query, serde_json::json!({}))
}

fn add_note(
    sim: &SimProcess,
    client: &str,
    piano: &str,
    user: Option<&str>,
    comment: &str,
) -> String {
    let body = serde_json::json!({
        "clientId": client, "pianoId": piano, "userId": user,
        "type": "SERVICE_ENTRY_MANUAL", "summary": "Service", "comment": comment,
    })
    .to_string();
    let (status, text) = sim.post("/_sim/records/timeline", &body, &[]);
    assert_eq!(status, 200, "{text}");
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn json_of(sandbox: &Sandbox, args: &[&str]) -> serde_json::Value {
    let out = sandbox.run("gazellectl", args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sync(sandbox: &Sandbox, args: &[&str]) {
    let out = sandbox.run("gazellectl", &[&["force-sync", "--wait"], args].concat());
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Mail {
    to: Vec<String>,
    subject: String,
    text: String,
    html: String,
    message_id: String,
    raw: String,
}

fn parse(received: &e2e::Received) -> Mail {
    let message = MessageParser::default()
        .parse(&received.raw)
        .expect("a MIME message");
    Mail {
        to: received.to.clone(),
        subject: message.subject().unwrap_or_default().to_owned(),
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        html: message
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        message_id: message.message_id().unwrap_or_default().to_owned(),
        raw: String::from_utf8_lossy(&received.raw).into_owned(),
    }
}

#[test]
fn service_notes_become_alerts_and_each_e_mail_is_delivered_once() {
    let sim = SimProcess::start("tiny");
    let mail_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(mail_dir.path(), 0);
    let port = sink.port;

    let users = graphql(&sim, "{ allUsers { id isSchedulable } }");
    let tech = users["data"]["allUsers"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pianos = graphql(
        &sim,
        "{ allPianos(first: 1) { nodes { id make model location client { id companyName } } } }",
    );
    let piano = &pianos["data"]["allPianos"]["nodes"][0];
    let piano_id = piano["id"].as_str().unwrap();
    let client_id = piano["client"]["id"].as_str().unwrap();
    let company = piano["client"]["companyName"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let sandbox = Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\npage_size = 50\nrequests_per_second = 1000\n\
         [alerts]\nowner_email = \"{OWNER}\"\nscan_window_days = 2\nclient_log_on_resolve = true\n\
         [alerts.technicians.{tech}]\nemail = \"{TECH}\"\nlanguage = \"en\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\nfrom = \"Assistant Gazelle <alerts@example.test>\"\ntimeout = \"5s\"\n",
        sim.url(),
        sim.field("api_key"),
    ));

    let power = add_note(
        &sim,
        client_id,
        piano_id,
        Some(&tech),
        "PLS débranché derrière le piano. 21C, 39%",
    );
    add_note(
        &sim,
        client_id,
        piano_id,
        None,
        "Housse enlevée pour l'accord, housse replacée.",
    );
    let reservoir = add_note(
        &sim,
        client_id,
        piano_id,
        None,
        "Réservoir vide, voyant clignote.",
    );
    add_note(
        &sim,
        client_id,
        piano_id,
        Some(&tech),
        "Accord standard à 440 Hz. 21C, 39%",
    );

    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");

    // The test e-mail goes through the same queue and server.
    let out = sandbox.run(
        "gazellectl",
        &["alerts", "test-email", "--to", "someone@example.test"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("sent to someone@example.test"));

    sync(&sandbox, &["--full"]);
    let all = json_of(&sandbox, &["alerts", "list", "--all", "--json"]);
    let alerts = all["maintenance"].as_array().unwrap();
    let mut kinds: Vec<(String, bool)> = alerts
        .iter()
        .map(|a| {
            (
                a["alert_type"].as_str().unwrap().to_owned(),
                a["is_resolved"].as_bool().unwrap(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("cover".into(), true),
            ("power".into(), false),
            ("reservoir".into(), false)
        ],
        "{all:#}"
    );
    let power_alert = alerts.iter().find(|a| a["alert_type"] == "power").unwrap();
    assert_eq!(power_alert["external_id"], format!("{power}:power"));
    assert_eq!(power_alert["recipient_email"], TECH);
    assert_eq!(power_alert["created_by"], tech.as_str());
    let table = sandbox.run("gazellectl", &["alerts", "list"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("power") && table.contains("reservoir") && !table.contains("cover"),
        "{table}"
    );

    // Exactly the expected messages: the test, the power alert (technician, English), the
    // reservoir alert (no technician: the owner, French). None for the resolved cover note.
    SmtpSink::wait_for(mail_dir.path(), 3, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(1));
    let got: Vec<Mail> = SmtpSink::received(mail_dir.path())
        .iter()
        .map(parse)
        .collect();
    assert_eq!(
        got.len(),
        3,
        "{:?}",
        got.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let to_tech = got
        .iter()
        .find(|m| m.to == [TECH])
        .expect("a message to the technician");
    assert!(
        to_tech
            .subject
            .starts_with(&format!("PLS alert — {company} — ")),
        "{}",
        to_tech.subject
    );
    assert!(
        to_tech.text.contains("PLS débranché détecté"),
        "{}",
        to_tech.text
    );
    assert!(to_tech.html.contains("PLS débranché"), "{}", to_tech.html);
    assert_eq!(
        to_tech.message_id,
        format!("alert.{power}.power@assistant-gazelle.invalid")
    );
    assert!(
        to_tech.raw.contains("multipart/alternative"),
        "{}",
        to_tech.raw
    );
    assert!(
        to_tech.raw.to_lowercase().contains("charset=utf-8"),
        "{}",
        to_tech.raw
    );
    let to_owner = got
        .iter()
        .find(|m| m.to == [OWNER])
        .expect("a message to the owner");
    assert!(
        to_owner
            .subject
            .starts_with(&format!("Alerte PLS — {company} — ")),
        "{}",
        to_owner.subject
    );
    assert!(
        to_owner.text.contains("Réservoir vide"),
        "{}",
        to_owner.text
    );
    assert!(
        to_owner.text.contains("Alerte d'entretien : Réservoir."),
        "{}",
        to_owner.text
    );
    assert_eq!(
        to_owner.message_id,
        format!("alert.{reservoir}.reservoir@assistant-gazelle.invalid")
    );

    // Running every detector again creates nothing new.
    let out = sandbox.run("gazellectl", &["alerts", "scan"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 new alert(s)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    sync(&sandbox, &[]);
    sync(&sandbox, &["--full"]);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(SmtpSink::received(mail_dir.path()).len(), 3);

    // Resolving and archiving by hand.
    let id = power_alert["id"].as_i64().unwrap().to_string();
    let out = sandbox.run(
        "gazellectl",
        &["alerts", "resolve", &id, "--note", "Rebranché le PLS"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = sandbox.run(
        "gazellectl",
        &["alerts", "resolve", &id, "--note", "encore"],
    );
    assert_eq!(again.status.code(), Some(2), "bad usage");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already resolved"));
    let shown = json_of(&sandbox, &["alerts", "show", &id, "--json"]);
    assert_eq!(shown["is_resolved"], true);
    assert_eq!(shown["notes"], "Rebranché le PLS");
    // The resolution note reaches the client's timeline in Gazelle (createClientLog).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let timeline = sim.graphql(
            "query T($c: String) { allTimelineEntries(first: 200, clientId: $c) { nodes { comment } } }",
            serde_json::json!({"c": client_id}),
        );
        let found = timeline["data"]["allTimelineEntries"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| {
                n["comment"]
                    .as_str()
                    .is_some_and(|c| c.contains("résolue : Rebranché le PLS"))
            });
        if found {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no client log: {timeline:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let missing = sandbox.run("gazellectl", &["alerts", "show", "999999"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("there is no alert #999999"));
    let unresolved = json_of(&sandbox, &["alerts", "list", "--json"]);
    assert_eq!(unresolved["maintenance"].as_array().unwrap().len(), 1);

    // The mail server goes down: the next alert waits in the queue…
    sink.stop();
    let tank = add_note(
        &sim,
        client_id,
        piano_id,
        Some(&tech),
        "Tank empty on the humidity system.",
    );
    sync(&sandbox, &["--stream", "timeline"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = json_of(&sandbox, &["status", "--json"]);
        let log = sandbox.logs();
        if status["backlog"]["emails_pending"] == 1 && log.contains("e-mail not sent; will retry") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // …across a restart of the daemon…
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
    // …and is delivered, once, when the server is back.
    let _sink = SmtpSink::start(mail_dir.path(), port);
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log_count(&mut daemon, "gazelled ready", 2);
    let got = SmtpSink::wait_for(mail_dir.path(), 4, Duration::from_secs(30));
    assert_eq!(got.len(), 4);
    let last = parse(&got[3]);
    assert_eq!(last.to, [TECH]);
    assert_eq!(
        last.message_id,
        format!("alert.{tank}.reservoir@assistant-gazelle.invalid")
    );

    // Another restart sends nothing again.
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log_count(&mut daemon, "gazelled ready", 3);
    std::thread::sleep(Duration::from_secs(2));
    let all: Vec<Mail> = SmtpSink::received(mail_dir.path())
        .iter()
        .map(parse)
        .collect();
    let mut ids: Vec<&str> = all.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((all.len(), ids.len()), (4, 4), "no message twice");
    let status = json_of(&sandbox, &["status", "--json"]);
    assert_eq!(status["backlog"]["emails_pending"], 0);
    assert_eq!(status["backlog"]["open_alerts"], 2);
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
}

#[test]
fn doctor_gives_a_verdict_for_every_part() {
    let sim = SimProcess::start("tiny");
    let mail_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(mail_dir.path(), 0);
    let sandbox = Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\n\
         [alerts]\nowner_email = \"{OWNER}\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\ntimeout = \"3s\"\n",
        sim.url(),
        sim.field("api_key"),
        sink.port
    ));
    let verdicts = |sandbox: &Sandbox| {
        let out = sandbox.run("gazellectl", &["doctor", "--json"]);
        let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let map: std::collections::BTreeMap<String, String> = checks
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["check"].as_str().unwrap().to_owned(),
                    c["verdict"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (out.status.code(), map, checks)
    };
    let (code, v, all) = verdicts(&sandbox);
    assert_eq!(code, Some(0), "{all:#}");
    assert_eq!(v["configuration"], "ok");
    assert_eq!(
        v["database"], "warn",
        "not created before the daemon ran: {all:#}"
    );
    assert_eq!(v["daemon"], "warn");
    assert_eq!(v["gazelle api"], "ok", "{all:#}");
    assert_eq!(v["smtp"], "ok", "{all:#}");
    assert_eq!(v["login agent"], "warn");

    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    sink.stop();
    let (code, v, all) = verdicts(&sandbox);
    assert_eq!(code, Some(1), "a failed check fails the command: {all:#}");
    assert_eq!(
        (v["database"].as_str(), v["daemon"].as_str()),
        ("ok", "ok"),
        "{all:#}"
    );
    assert_eq!(v["smtp"], "fail", "{all:#}");
    let human = sandbox.run("gazellectl", &["doctor"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("FAILED"));
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());

    std::fs::write(sandbox.config(), "[smtp]\nsecurity = \"sometimes\"\n").unwrap();
    let (code, v, all) = verdicts(&sandbox);
    assert_eq!(code, Some(1));
    assert_eq!(v["configuration"], "fail");
    assert!(
        all[0]["detail"].as_str().unwrap().contains("smtp.security"),
        "{all:#}"
    );
}

/// A sandbox syncing `sim` with e-mail to `sink` (the owner: [`OWNER`]) and nothing scheduled.
fn mailing_sandbox(sim: &SimProcess, sink: &SmtpSink, extra: &str) -> Sandbox {
    Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\nrequests_per_second = 1000\n\
         [sync]\nappointments_schedule = \"0 0 3 1 1 *\"\ntimeline_interval = \"1day\"\n\
         [alerts]\nowner_email = \"{OWNER}\"\n{extra}\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nfrom = \"Assistant Gazelle <alerts@example.test>\"\ntimeout = \"5s\"\n",
        sim.url(),
        sim.field("api_key"),
        sink.port
    ))
}

fn subjects(dir: &std::path::Path) -> Vec<String> {
    SmtpSink::received(dir)
        .iter()
        .map(|m| parse(m).subject)
        .collect()
}

#[test]
fn stock_running_out_after_it_was_low_is_upgraded_to_critical_and_e_mailed_once() {
    let sim = SimProcess::start("tiny");
    let mail_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(mail_dir.path(), 0);
    let sandbox = mailing_sandbox(&sim, &sink, "");
    let product =
        graphql(&sim, "{ allMasterServiceItems { id } }")["data"]["allMasterServiceItems"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let tech = graphql(&sim, "{ allUsers { id } }")["data"]["allUsers"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    sync(&sandbox, &["--full"]);
    let stock = |verb: &str, quantity: &str| {
        let out = sandbox.run(
            "gazellectl",
            &[
                "stock",
                verb,
                "--product",
                &product,
                "--tech",
                &tech,
                "--quantity",
                quantity,
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let low = || -> Vec<serde_json::Value> {
        json_of(&sandbox, &["alerts", "list", "--all", "--json"])["system"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "low_stock")
            .cloned()
            .collect()
    };
    stock("correct", "6");
    assert!(low().is_empty());
    // 6 → 5 (threshold 5): low, one warning and one e-mail.
    stock("remove", "1");
    let got = SmtpSink::wait_for(mail_dir.path(), 1, Duration::from_secs(30));
    assert_eq!(got.len(), 1);
    assert!(
        subjects(mail_dir.path())[0].starts_with("Stock bas"),
        "{:?}",
        subjects(mail_dir.path())
    );
    assert_eq!(low()[0]["severity"], "warning", "{:#?}", low());
    // 5 → 0: the open alert becomes critical, says 0, and a "rupture" e-mail goes out.
    stock("remove", "5");
    let got = SmtpSink::wait_for(mail_dir.path(), 2, Duration::from_secs(30));
    assert_eq!(
        got.len(),
        2,
        "{:?} {:#?} {}",
        subjects(mail_dir.path()),
        low(),
        sandbox.logs()
    );
    assert!(
        subjects(mail_dir.path())[1].starts_with("Rupture de stock"),
        "{:?}",
        subjects(mail_dir.path())
    );
    let open = low();
    assert_eq!(open.len(), 1, "{open:#?}");
    assert_eq!(open[0]["severity"], "critical");
    assert!(
        open[0]["summary"]
            .as_str()
            .unwrap()
            .contains(": 0 (seuil 5)"),
        "{open:#?}"
    );
    // Still empty: nothing new to say.
    stock("correct", "0");
    let status = json_of(&sandbox, &["status", "--json"]);
    assert_eq!(status["backlog"]["emails_pending"], 0, "{status:#}");
    assert_eq!(SmtpSink::received(mail_dir.path()).len(), 2);
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(15)).success());
}

#[test]
fn an_outage_answering_mixed_5xx_is_reported_once_and_its_end_once() {
    let sim = SimProcess::start("tiny");
    let mail_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(mail_dir.path(), 0);
    let sandbox = mailing_sandbox(&sim, &sink, "repeated_error_runs = 3\n");
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    sync(&sandbox, &["--full"]);
    // Six runs, each answered by a different server error.
    for status in [500, 502, 503, 500, 502, 503] {
        // `Retry-After: 0`: the client's retries come at once, the run fails fast.
        let fault =
            format!(r#"{{"kind":"status","status":{status},"retry_after":0,"count":1000}}"#);
        let (code, body) = sim.post("/_sim/faults", &fault, &[]);
        assert!(code < 300, "{body}");
        let out = sandbox.run("gazellectl", &["force-sync", "--wait", "--stream", "users"]);
        assert!(!out.status.success());
        sim.delete("/_sim/faults");
    }
    let outage = SmtpSink::wait_for(mail_dir.path(), 1, Duration::from_secs(30));
    assert_eq!(outage.len(), 1, "{:?}", subjects(mail_dir.path()));
    let first = parse(&outage[0]);
    assert!(
        first.text.contains("unavailable") && first.text.contains("HTTP 50"),
        "names the kind and quotes the last message: {}",
        first.text
    );
    // Back: one "rétablie".
    sync(&sandbox, &["--stream", "users"]);
    let all = SmtpSink::wait_for(mail_dir.path(), 2, Duration::from_secs(30));
    assert_eq!(all.len(), 2, "{:?}", subjects(mail_dir.path()));
    sync(&sandbox, &["--stream", "users"]);
    let status = json_of(&sandbox, &["status", "--json"]);
    assert_eq!(status["backlog"]["emails_pending"], 0, "{status:#}");
    assert_eq!(
        SmtpSink::received(mail_dir.path()).len(),
        2,
        "{:?}",
        subjects(mail_dir.path())
    );
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(15)).success());
}

/// A private CA (as a shop's own relay would have) and server keys it signs.
struct PrivateCa {
    dir: tempfile::TempDir,
    /// The CA's certificate (PEM), for `smtp.ca_file`.
    ca: std::path::PathBuf,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl PrivateCa {
    fn new() -> PrivateCa {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Relay test CA");
        let cert = params.self_signed(&key).unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, cert.pem()).unwrap();
        PrivateCa {
            dir,
            ca,
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `name` signed by this CA: (certificate, key) PEM files.
    fn server(&self, name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        let (cert_file, key_file) = (
            self.dir.path().join(format!("{name}.pem")),
            self.dir.path().join(format!("{name}.key")),
        );
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        (
            cert_file.display().to_string(),
            key_file.display().to_string(),
        )
    }
}

/// A sandbox sending through `localhost:port` with `security`, AUTH and `ca_file` (if any).
fn tls_sandbox(
    sim: &SimProcess,
    port: u16,
    security: &str,
    password: &str,
    ca_file: Option<&std::path::Path>,
) -> Sandbox {
    let ca_file = ca_file
        .map(|f| format!("ca_file = \"{}\"\n", f.display()))
        .unwrap_or_default();
    Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\nrequests_per_second = 1000\n\
         [sync]\nappointments_schedule = \"0 0 3 1 1 *\"\ntimeline_interval = \"1day\"\n\
         [alerts]\nowner_email = \"{OWNER}\"\nscan_window_days = 2\n\
         [smtp]\nhost = \"localhost\"\nport = {port}\nsecurity = \"{security}\"\n\
         username = \"relay-user\"\npassword = \"{password}\"\n{ca_file}\
         from = \"Assistant Gazelle <alerts@example.test>\"\ntimeout = \"5s\"\n",
        sim.url(),
        sim.field("api_key"),
    ))
}

#[test]
fn alerts_go_out_over_starttls_and_implicit_tls_with_auth_and_a_wrong_certificate_is_refused() {
    let ca = PrivateCa::new();
    let (cert, key) = ca.server("localhost");
    // Generated for this run: never a real password.
    let password = format!(
        "pw-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_millisecond()
    );
    let auth = format!("relay-user:{password}");

    for (mode, security) in [("starttls", "starttls"), ("implicit", "tls")] {
        let sim = SimProcess::start("tiny");
        let mail_dir = tempfile::tempdir().unwrap();
        let sink = SmtpSink::start_with(
            mail_dir.path(),
            0,
            &[
                "--tls", mode, "--cert", &cert, "--key", &key, "--auth", &auth,
            ],
        );
        let sandbox = tls_sandbox(&sim, sink.port, security, &password, Some(&ca.ca));
        let pianos = graphql(
            &sim,
            "{ allPianos(first: 1) { nodes { id client { id } } } }",
        );
        let piano = &pianos["data"]["allPianos"]["nodes"][0];
        add_note(
            &sim,
            piano["client"]["id"].as_str().unwrap(),
            piano["id"].as_str().unwrap(),
            None,
            "PLS débranché derrière le piano.",
        );
        let mut daemon = sandbox.spawn_daemon();
        sandbox.wait_for_log(&mut daemon, "gazelled ready");
        sync(&sandbox, &["--full"]);
        let got = SmtpSink::wait_for(mail_dir.path(), 1, Duration::from_secs(30));
        assert_eq!(got.len(), 1, "{mode}: the alert was delivered");
        let mail = parse(&got[0]);
        assert_eq!(mail.to, [OWNER]);
        assert!(mail.subject.contains("PLS"), "{mode}: {}", mail.subject);
        assert_eq!(
            got[0].authenticated.as_deref(),
            Some("relay-user"),
            "{mode}"
        );
        let out = sandbox.run("gazellectl", &["alerts", "test-email"]);
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.contains("sent to"),
            "{mode}: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        signal(&daemon, "TERM");
        assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
    }

    // A certificate for another name, or one no trusted CA signed: refused with the reason,
    // and nothing goes out in plain text instead.
    let sim = SimProcess::start("tiny");
    let (other_cert, other_key) = ca.server("mail.example.test");
    let cases = [
        (
            &other_cert,
            &other_key,
            Some(ca.ca.as_path()),
            "not valid for name",
        ),
        (&cert, &key, None, "UnknownIssuer"),
    ];
    for (cert, key, ca_file, reason) in cases {
        let mail_dir = tempfile::tempdir().unwrap();
        let sink = SmtpSink::start_with(
            mail_dir.path(),
            0,
            &[
                "--tls", "starttls", "--cert", cert, "--key", key, "--auth", &auth,
            ],
        );
        let sandbox = tls_sandbox(&sim, sink.port, "starttls", &password, ca_file);
        let out = sandbox.run("gazellectl", &["doctor", "--json"]);
        let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let smtp = checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "smtp")
            .unwrap();
        let detail = smtp["detail"].as_str().unwrap();
        assert_eq!(smtp["verdict"], "fail", "{checks:#}");
        assert!(
            detail.contains(reason) && detail.contains("smtp.ca_file"),
            "{reason}: {detail}"
        );
        assert!(!detail.contains(&password), "{detail}");

        let mut daemon = sandbox.spawn_daemon();
        sandbox.wait_for_log(&mut daemon, "gazelled ready");
        let out = sandbox.run("gazellectl", &["alerts", "test-email"]);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.status.success() && said.contains(reason) && said.contains("not trusted"),
            "{said}"
        );
        assert!(SmtpSink::received(mail_dir.path()).is_empty());
        signal(&daemon, "TERM");
        assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
    }
}

/// gazelled reading its business clock from `clock` (a test is at 22:00, then at 07:05,
/// without waiting for either).
fn daemon_on(sandbox: &Sandbox, clock: &std::path::Path) -> std::process::Child {
    sandbox
        .command("gazelled")
        .env("GAZELLED_BUSINESS_CLOCK", clock)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs a GraphQL mutation against the simulator as another Gazelle user would, and returns
/// its payload.
fn mutate(
    sim: &SimProcess,
    document: &str,
    root: &str,
    variables: serde_json::Value,
) -> serde_json::Value {
    let r = sim.graphql(document, variables);
    assert!(
        r["data"][root]["mutationErrors"]
            .as_array()
            .is_none_or(Vec::is_empty)
            && r["errors"].is_null(),
        "{r}"
    );
    r["data"][root].clone()
}

#[test]
fn appointment_changes_of_the_week_are_noticed_once_and_the_night_s_at_five_past_seven() {
    let sim = SimProcess::start("tiny");
    let mail_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(mail_dir.path(), 0);
    let technicians = sim.technicians();
    let (a, b) = (technicians[0].clone(), technicians[1].clone());
    let (mail_a, mail_b) = ("tech-a@example.test", "tech-b@example.test");
    let clients = graphql(&sim, "{ allClients(first: 1) { nodes { id } } }");
    let client = clients["data"]["allClients"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sandbox = mailing_sandbox(
        &sim,
        &sink,
        &format!(
            "[alerts.technicians.{a}]\nemail = \"{mail_a}\"\n[alerts.technicians.{b}]\nemail = \"{mail_b}\"\n"
        ),
    );

    // The business clock: 22:00 tonight in Montréal, then 07:05 tomorrow.
    let tz = jiff::tz::TimeZone::get("America/Montreal").unwrap();
    let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    let at = |date: jiff::civil::Date, h: i8, m: i8| {
        date.at(h, m, 0, 0)
            .to_zoned(tz.clone())
            .unwrap()
            .timestamp()
    };
    let tonight = at(today, 22, 0);
    let clock = sandbox.root().join("business-clock");
    let set_clock = |t: jiff::Timestamp| std::fs::write(&clock, t.to_string()).unwrap();
    set_clock(tonight);
    let in_days = |d: i64| {
        (tonight + jiff::SignedDuration::from_hours(24 * d))
            .round(jiff::Unit::Minute)
            .unwrap()
    };

    // Five appointments of technician A, in Gazelle before the first sync.
    let input = |tech: &str, start: jiff::Timestamp, title: &str| {
        serde_json::json!({
            "title": title, "start": start.to_string(), "duration": 60, "type": "APPOINTMENT",
            "userId": tech, "clientId": client, "timezone": "America/Montreal",
        })
    };
    let create = |title: &str, start| {
        mutate(
            &sim,
            "mutation C($input: PrivateEventInput!) { createEvent(input: $input) { event { id } mutationErrors { messages } } }",
            "createEvent",
            serde_json::json!({"input": input(&a, start, title)}),
        )["event"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let moved = create("À déplacer", in_days(2));
    let reassigned = create("À réassigner", in_days(3));
    let cancelled = create("À annuler", in_days(4));
    let far = create("Dans deux semaines", in_days(14));
    let deleted = create("À supprimer", in_days(5));

    let mut daemon = daemon_on(&sandbox, &clock);
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    sync(&sandbox, &["--full"]);
    let change_mails = || -> i64 {
        sandbox
            .query_one::<(i64,)>("SELECT count(*) FROM EmailQueue WHERE Kind = 'change'", &[])
            .0
    };
    assert_eq!(change_mails(), 0, "the first sync is history, not news");

    // At 22:00, in Gazelle: moved, reassigned, cancelled, cancelled two weeks ahead, deleted.
    let (status, text) = sim.post("/_sim/clock", r#"{"advance_seconds": 60}"#, &[]);
    assert_eq!(status, 200, "{text}");
    let update = |id: &str, tech: &str, start, title: &str| {
        mutate(
            &sim,
            "mutation U($id: String!, $input: PrivateEventInput!) { updateEvent(id: $id, input: $input) { event { id } mutationErrors { messages } } }",
            "updateEvent",
            serde_json::json!({"id": id, "input": input(tech, start, title)}),
        );
    };
    let cancel = |id: &str| {
        mutate(
            &sim,
            "mutation X($id: String!) { cancelEvent(eventId: $id) { event { id } mutationErrors { messages } } }",
            "cancelEvent",
            serde_json::json!({"id": id}),
        );
    };
    update(
        &moved,
        &a,
        in_days(2) + jiff::SignedDuration::from_hours(2),
        "À déplacer",
    );
    update(&reassigned, &b, in_days(3), "À réassigner");
    cancel(&cancelled);
    cancel(&far);
    let (status, text) = sim.post(
        "/_sim/records/delete",
        &serde_json::json!({"id": deleted}).to_string(),
        &[],
    );
    assert!((200..300).contains(&status), "{status} {text}");
    sync(&sandbox, &[]);
    assert_eq!(change_mails(), 0, "the night's notices wait");
    let (held,): (i64,) = sandbox.query_one("SELECT count(*) FROM AppointmentNotices", &[]);
    assert_eq!(
        held, 5,
        "A: moved, reassigned away, cancelled, deleted; B: new"
    );

    // 07:05: the five go, once each.
    set_clock(at(today.tomorrow().unwrap(), 7, 5));
    sync(&sandbox, &["--stream", "users"]);
    let got = SmtpSink::wait_for(mail_dir.path(), 5, Duration::from_secs(30));
    let mut seen: Vec<(String, String)> = got
        .iter()
        .map(|m| {
            let mail = parse(m);
            (mail.to.join(","), mail.subject)
        })
        .collect();
    seen.sort();
    let expect = |to: &str, what: &str, title_of: &str| {
        assert!(
            seen.iter().any(|(t, s)| t == to && s.starts_with(what)),
            "{what} ({title_of}) to {to}: {seen:#?}"
        );
    };
    assert_eq!(seen.len(), 5, "{seen:#?}");
    expect(mail_a, "RV déplacé", "moved");
    expect(mail_a, "RV retiré de votre horaire", "reassigned");
    expect(mail_b, "Nouveau RV", "reassigned");
    expect(mail_a, "RV annulé", "cancelled");
    expect(mail_a, "RV supprimé", "deleted");

    // A restart, another sync: nothing is sent again.
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
    let mut daemon = daemon_on(&sandbox, &clock);
    sandbox.wait_for_log_count(&mut daemon, "gazelled ready", 2);
    sync(&sandbox, &[]);
    assert_eq!(change_mails(), 5);

    // A move made on the Mac in the daytime: told at once.
    set_clock(at(today.tomorrow().unwrap(), 9, 0));
    let local_id: (i64,) = sandbox.query_one(
        "SELECT Id FROM Appointments WHERE ExternalId = ?1",
        &[&reassigned],
    );
    let new_start = in_days(3) + jiff::SignedDuration::from_hours(1);
    let out = sandbox.run(
        "gazellectl",
        &[
            "appointments",
            "move",
            &local_id.0.to_string(),
            "--start",
            &new_start
                .to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = SmtpSink::wait_for(mail_dir.path(), 6, Duration::from_secs(30));
    assert_eq!(got.len(), 6);
    let last = parse(got.last().unwrap());
    assert_eq!(last.to, [mail_b]);
    assert!(last.subject.starts_with("RV déplacé"), "{}", last.subject);
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
}

/// The issue "The technicians' day", part 2: the agenda of a technician with three
/// appointments carries the right pianos, alerts and confirmation states and an `.ics` that
/// parses; nothing goes to a technician with an empty day; a restart resends nothing; a
/// change in the evening sends an update at once, one at night waits for the morning.
#[test]
fn the_daily_agenda_lists_the_day_with_its_pianos_and_goes_again_only_when_the_day_changed() {
    let sim = SimProcess::start("tiny");
    let mail_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(mail_dir.path(), 0);
    let technicians = sim.technicians();
    let (a, c) = (technicians[0].clone(), technicians[1].clone());
    let (mail_a, mail_c) = ("tech-a@example.test", "tech-c@example.test");
    let pianos = graphql(&sim, "{ allPianos(first: 3) { nodes { id } } }");
    let piano: Vec<String> = pianos["data"]["allPianos"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    let sandbox = mailing_sandbox(
        &sim,
        &sink,
        &format!(
            "change_notices = false\n\
             [alerts.technicians.{a}]\nemail = \"{mail_a}\"\nagenda = true\n\
             [alerts.technicians.{c}]\nemail = \"{mail_c}\"\nlanguage = \"en\"\nagenda = true\n"
        ),
    );

    // The evening before a working day (S: Monday to Thursday), on the business clock.
    let tz = jiff::tz::TimeZone::get("America/Montreal").unwrap();
    let mut evening = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    loop {
        evening = evening.tomorrow().unwrap();
        if (1..=4).contains(&evening.weekday().to_monday_one_offset()) {
            break;
        }
    }
    let day = evening.tomorrow().unwrap();
    let at = |date: jiff::civil::Date, h: i8, m: i8| {
        date.at(h, m, 0, 0)
            .to_zoned(tz.clone())
            .unwrap()
            .timestamp()
    };
    let clock = sandbox.root().join("business-clock");
    let set_clock = |t: jiff::Timestamp| std::fs::write(&clock, t.to_string()).unwrap();
    set_clock(at(evening, 12, 0));
    let mut daemon = daemon_on(&sandbox, &clock);
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    sync(&sandbox, &["--full"]);
    // A client with an address (the map link) and a phone.
    let (client, address): (String, String) = sandbox.query_one(
        "SELECT ExternalId, Address FROM Clients
         WHERE COALESCE(Address, '') <> '' AND COALESCE(Phone, '') <> '' ORDER BY Id LIMIT 1",
        &[],
    );
    // The agendas received, in order (other alerts, to the owner, are not counted).
    let agenda_mails = |count: usize| {
        SmtpSink::wait_for_matching(mail_dir.path(), count, Duration::from_secs(30), |m| {
            let subject = parse(m).subject;
            subject.contains("Votre journée") || subject.contains("Your day")
        })
    };

    // The day is made known: whatever the data set gave A and C that day is cancelled, and A
    // gets three appointments. A service note on the first piano raises a cover alert.
    let (from, to) = (
        store_text(at(day, 0, 0)),
        store_text(at(day.tomorrow().unwrap(), 0, 0)),
    );
    let existing = sandbox.query_one::<(String,)>(
        "SELECT COALESCE(json_group_array(ExternalId), '[]') FROM Appointments
         WHERE TechnicianId IN (?1, ?2) AND StartAt >= ?3 AND StartAt < ?4
           AND ExternalId IS NOT NULL",
        &[&a, &c, &from, &to],
    );
    for id in serde_json::from_str::<Vec<String>>(&existing.0).unwrap() {
        mutate(
            &sim,
            "mutation X($id: String!) { cancelEvent(eventId: $id) { event { id } mutationErrors { messages } } }",
            "cancelEvent",
            serde_json::json!({"id": id}),
        );
    }
    let create = |hour: i8, title: &str, pianos: &[&str], notes: Option<&str>| {
        mutate(
            &sim,
            "mutation C($input: PrivateEventInput!) { createEvent(input: $input) { event { id } mutationErrors { messages } } }",
            "createEvent",
            serde_json::json!({"input": {
                "title": title, "start": at(day, hour, 0).to_string(), "duration": 90,
                "type": "APPOINTMENT", "userId": a, "clientId": client,
                "timezone": "America/Montreal", "notes": notes,
                "pianos": pianos.iter().map(|p| serde_json::json!({"pianoId": p})).collect::<Vec<_>>(),
            }}),
        )["event"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first = create(9, "Accord du matin", &[&piano[0]], None);
    let second = create(
        11,
        "Deux pianos",
        &[&piano[1], &piano[2]],
        Some("Code de porte 4321"),
    );
    let third = create(14, "Accord confirmé", &[&piano[1]], None);
    mutate(
        &sim,
        "mutation K($id: String!) { confirmEvent(id: $id) { event { id } mutationErrors { messages } } }",
        "confirmEvent",
        serde_json::json!({"id": third}),
    );
    add_note(
        &sim,
        &client,
        &piano[0],
        Some(&a),
        "Accord 440. Housse enlevée par le client.",
    );
    sync(&sandbox, &[]);
    let agendas = || -> i64 {
        sandbox
            .query_one::<(i64,)>("SELECT count(*) FROM EmailQueue WHERE Kind = 'agenda'", &[])
            .0
    };
    assert_eq!(agendas(), 0, "noon: the agenda waits for 18:00");

    // 18:00: the agenda goes to A only (C's day is empty).
    set_clock(at(evening, 18, 0));
    sync(&sandbox, &["--stream", "users"]);
    let got = agenda_mails(1);
    assert_eq!(got.len(), 1);
    let mail = parse(&got[0]);
    assert_eq!(mail.to, [mail_a]);
    assert!(
        mail.subject.starts_with("Votre journée du ") && mail.subject.ends_with(": 3 rendez-vous"),
        "{}",
        mail.subject
    );
    let label = |id: &str| {
        let (make, model, room): (String, Option<String>, Option<String>) = sandbox.query_one(
            "SELECT Make, Model, Location FROM Pianos WHERE ExternalId = ?1",
            &[id],
        );
        let name = [Some(make), model]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (name, room)
    };
    // The three appointments in order, each with its pianos and its state.
    let text = mail.text.replace("\r\n", "\n");
    let sections: Vec<&str> = text.split("\n\n").collect();
    let section = |n: usize| -> &str {
        sections
            .iter()
            .find(|s| s.starts_with(&format!("{n}. ")))
            .unwrap_or_else(|| panic!("appointment {n} in\n{text}"))
    };
    // Where to go, and one tap to the map.
    assert!(section(1).contains(&address), "{}", section(1));
    assert!(
        section(1).contains("Carte : https://maps.apple.com/?q="),
        "{}",
        section(1)
    );
    assert!(
        mail.html.contains("<a href=\"https://maps.apple.com/?q="),
        "{}",
        mail.html
    );
    assert!(
        section(1).starts_with("1. 09:00–10:30 (90 min)"),
        "{}",
        section(1)
    );
    assert!(section(2).starts_with("2. 11:00–12:30"), "{}", section(2));
    assert!(section(3).starts_with("3. 14:00–15:30"), "{}", section(3));
    let (p0, _) = label(&piano[0]);
    let (p1, room1) = label(&piano[1]);
    let (p2, _) = label(&piano[2]);
    assert!(section(1).contains(&p0), "{}", section(1));
    assert!(
        section(1).contains("Housse enlevée par le client"),
        "the last service note: {}",
        section(1)
    );
    assert!(
        section(1).contains("Alerte ouverte") && section(1).contains("Housse ("),
        "{}",
        section(1)
    );
    assert!(section(1).contains("NON CONFIRMÉ"), "{}", section(1));
    assert!(
        section(2).contains(&p1) && section(2).contains(&p2),
        "both pianos: {}",
        section(2)
    );
    if let Some(room) = room1.filter(|r| !r.is_empty()) {
        assert!(section(2).contains(&format!("({room})")), "{}", section(2));
    }
    assert!(section(2).contains("Code de porte 4321"), "{}", section(2));
    assert!(!section(2).contains("Alerte ouverte"), "{}", section(2));
    assert!(
        section(3).contains("confirmé par le client") && !section(3).contains("NON"),
        "{}",
        section(3)
    );
    assert!(
        mail.html.contains("Housse enlevée par le client"),
        "{}",
        mail.html
    );

    // The .ics of the day parses, with the three appointments at their times.
    let message = MessageParser::default().parse(&got[0].raw).unwrap();
    let ics = message
        .attachments()
        .find(|p| p.attachment_name().is_some_and(|n| n.ends_with(".ics")))
        .expect("an .ics attachment");
    let ics = String::from_utf8(ics.contents().to_vec()).unwrap();
    let unfolded = icalendar::parser::unfold(&ics);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("an iCalendar file");
    let starts: Vec<String> = calendar
        .components
        .iter()
        .filter(|c| c.name.as_str() == "VEVENT")
        .map(|c| c.find_prop("DTSTART").unwrap().val.as_str().to_owned())
        .collect();
    let utc = |h: i8| at(day, h, 0).strftime("%Y%m%dT%H%M%SZ").to_string();
    assert_eq!(starts, [utc(9), utc(11), utc(14)], "{ics}");

    // Nothing changed: another run, a restart, and nothing goes again.
    sync(&sandbox, &[]);
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
    let mut daemon = daemon_on(&sandbox, &clock);
    sandbox.wait_for_log_count(&mut daemon, "gazelled ready", 2);
    set_clock(at(evening, 19, 0));
    sync(&sandbox, &[]);
    assert_eq!(agendas(), 1);

    // 19:00, the second appointment moves to 16:00: an update, at once, in the thread.
    let (status, text) = sim.post("/_sim/clock", r#"{"advance_seconds": 60}"#, &[]);
    assert_eq!(status, 200, "{text}");
    mutate(
        &sim,
        "mutation U($id: String!, $input: PrivateEventInput!) { updateEvent(id: $id, input: $input) { event { id } mutationErrors { messages } } }",
        "updateEvent",
        serde_json::json!({"id": second, "input": {
            "title": "Deux pianos", "start": at(day, 16, 0).to_string(), "duration": 90,
            "type": "APPOINTMENT", "userId": a, "clientId": client,
            "timezone": "America/Montreal", "notes": "Code de porte 4321",
            "pianos": [{"pianoId": piano[1]}, {"pianoId": piano[2]}],
        }}),
    );
    sync(&sandbox, &[]);
    let got = agenda_mails(2);
    assert_eq!(got.len(), 2);
    let update = parse(&got[1]);
    assert_eq!(update.to, [mail_a]);
    assert!(
        update.subject.starts_with("Mise à jour — Votre journée"),
        "{}",
        update.subject
    );
    assert!(update.text.contains("3. 16:00–17:30"), "{}", update.text);
    let in_reply_to = MessageParser::default()
        .parse(&got[1].raw)
        .unwrap()
        .in_reply_to()
        .as_text()
        .map(str::to_owned);
    assert_eq!(
        in_reply_to.as_deref(),
        Some(mail.message_id.as_str()),
        "threaded under the first"
    );

    // 22:00, the first is cancelled: the night waits; at 07:05 the final day goes.
    set_clock(at(evening, 22, 0));
    let (status, text) = sim.post("/_sim/clock", r#"{"advance_seconds": 60}"#, &[]);
    assert_eq!(status, 200, "{text}");
    mutate(
        &sim,
        "mutation X($id: String!) { cancelEvent(eventId: $id) { event { id } mutationErrors { messages } } }",
        "cancelEvent",
        serde_json::json!({"id": first}),
    );
    sync(&sandbox, &[]);
    assert_eq!(agendas(), 2, "the night's change waits");
    set_clock(at(day, 7, 5));
    sync(&sandbox, &["--stream", "users"]);
    let got = agenda_mails(3);
    assert_eq!(got.len(), 3);
    let morning = parse(&got[2]);
    assert!(
        morning.subject.ends_with(": 2 rendez-vous"),
        "{}",
        morning.subject
    );
    assert!(!morning.text.contains("09:00"), "{}", morning.text);
    // C, with nothing that day, never got anything.
    assert!(got.iter().all(|m| m.to == [mail_a]));
    // At 08:00 the day is no longer watched.
    set_clock(at(day, 8, 0));
    sync(&sandbox, &[]);
    assert_eq!(agendas(), 3);
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
}

fn store_text(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
