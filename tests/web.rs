//! The dashboard in a real browser: headless Chromium (Debian's `chromium`, driven through
//! `chromedriver` by fantoccini) against the real gazelled, syncing gazelle-sim, with
//! invitations delivered by smtp-sink.
//!
//! `make screenshots` runs the ignored test at the end: the main pages at phone and desktop
//! widths, as PNG files in `target/screenshots/`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{Sandbox, SimProcess, SmtpSink, signal, wait_exit};
use fantoccini::{Client, ClientBuilder, Locator};

const OWNER: &str = "owner@example.test";
const TECH: &str = "tech-a@example.test";
const PASSWORD: &str = "un mot de passe solide";

/// chromedriver on a free port, ended with the test.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn driver() -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian's chromium-driver; `.ci/run` installs it)");
    Driver { child, port }
}

/// A headless Chromium at `width`×`height`, through `driver` (retried while it starts, 30 s).
async fn browser(driver: &Driver, width: u32, height: u32) -> Client {
    browser_with(driver, width, height, false).await
}

/// [`browser`], accepting a self-signed certificate when `self_signed`.
async fn browser_with(driver: &Driver, width: u32, height: u32, self_signed: bool) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("acceptInsecureCerts".into(), self_signed.into());
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     format!("--window-size={width},{height}")],
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
        {
            Ok(client) => return client,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start Chromium through chromedriver: {e}"),
        }
    }
}

/// [`Sandbox::query_one`] (which runs a runtime of its own) from inside the test's runtime.
fn query<T>(sandbox: &Sandbox, sql: &str, binds: &[&str]) -> T
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    tokio::task::block_in_place(|| sandbox.query_one(sql, binds))
}

fn ctl(sandbox: &Sandbox, args: &[&str]) -> String {
    let out = sandbox.run("gazellectl", args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ctl_json(sandbox: &Sandbox, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ctl(sandbox, args)).expect("JSON")
}

async fn text_of(client: &Client) -> String {
    client
        .find(Locator::Css("body"))
        .await
        .expect("a page")
        .text()
        .await
        .expect("its text")
}

async fn fill(client: &Client, css: &str, value: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(value)
        .await
        .expect("typed");
}

/// Clicks what submits a form, and waits (at most 10 s) for the page it leads to.
async fn click(client: &Client, css: &str) {
    client
        .execute("window.__gazelle_before = true;", vec![])
        .await
        .expect("marking the page");
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("clicked");
    loaded(client).await;
}

/// Waits until the marked page was replaced by a fully loaded one (at most 10 s).
async fn loaded(client: &Client) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = client
            .execute(
                "return [window.__gazelle_before === true, document.readyState];",
                vec![],
            )
            .await;
        if let Ok(v) = &state
            && v[0] == false
            && v[1] == "complete"
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no new page within 10 s: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The shop: the simulator, e-mail, and a daemon synced once, with technician A given an
/// appointment tomorrow at 10:00 on a piano that has an open cover alert.
struct Shop {
    _sim: SimProcess,
    _sink: SmtpSink,
    mail: tempfile::TempDir,
    sandbox: Sandbox,
    daemon: Child,
    a: String,
    b: String,
    client_name: String,
}

fn shop() -> Shop {
    let sim = SimProcess::start("tiny");
    let mail = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(mail.path(), 0);
    let technicians = sim.technicians();
    let (a, b) = (technicians[0].clone(), technicians[1].clone());
    let client = sim.first_client();
    let pianos = sim.graphql(
        "{ allPianos(first: 1) { nodes { id } } }",
        serde_json::json!({}),
    );
    let piano = pianos["data"]["allPianos"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tz = jiff::tz::TimeZone::get("America/Montreal").unwrap();
    let tomorrow = jiff::Timestamp::now()
        .to_zoned(tz.clone())
        .date()
        .tomorrow()
        .unwrap();
    let start = tomorrow.at(10, 0, 0, 0).to_zoned(tz).unwrap().timestamp();
    let created = sim.graphql(
        "mutation C($input: PrivateEventInput!) { createEvent(input: $input) { event { id } mutationErrors { messages } } }",
        serde_json::json!({"input": {
            "title": "Accord au tableau de bord", "start": start.to_string(), "duration": 60,
            "type": "APPOINTMENT", "userId": a, "clientId": client,
            "timezone": "America/Montreal", "pianos": [{"pianoId": piano}],
        }}),
    );
    assert!(
        created["data"]["createEvent"]["event"]["id"].is_string(),
        "{created}"
    );
    let (status, text) = sim.post(
        "/_sim/records/timeline",
        &serde_json::json!({
            "clientId": client, "pianoId": piano, "userId": a, "type": "SERVICE_ENTRY_MANUAL",
            "summary": "Service", "comment": "Housse enlevée, à replacer.",
        })
        .to_string(),
        &[],
    );
    assert_eq!(status, 200, "{text}");
    let sandbox = Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\nrequests_per_second = 1000\n\
         [sync]\nappointments_schedule = \"0 0 3 1 1 *\"\ntimeline_interval = \"1day\"\n\
         [alerts]\nowner_email = \"{OWNER}\"\nchange_notices = false\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nfrom = \"Assistant Gazelle <alerts@example.test>\"\ntimeout = \"5s\"\n\
         [web]\nlisten = \"127.0.0.1:0\"\nmax_failed_logins = 3\nlockout = \"15m\"\n",
        sim.url(),
        sim.field("api_key"),
        sink.port
    ));
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    ctl(&sandbox, &["force-sync", "--full", "--wait"]);
    let (client_name,): (String,) = sandbox.query_one(
        "SELECT CompanyName FROM Clients WHERE ExternalId = ?1",
        &[&client],
    );
    Shop {
        _sim: sim,
        _sink: sink,
        mail,
        sandbox,
        daemon,
        a,
        b,
        client_name,
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        signal(&self.daemon, "TERM");
        wait_exit(&mut self.daemon, Duration::from_secs(10));
    }
}

/// The invitation's link, as the technician receives it by e-mail.
fn invitation_link(shop: &Shop) -> String {
    let link = ctl_json(
        &shop.sandbox,
        &["web", "invite", TECH, "--technician", &shop.a, "--json"],
    );
    assert_eq!(link["emailed"], true, "{link}");
    let got = SmtpSink::wait_for_matching(shop.mail.path(), 1, Duration::from_secs(30), |m| {
        m.to == [TECH]
    });
    assert_eq!(got.len(), 1, "the invitation e-mail");
    let raw = String::from_utf8_lossy(&got[0].raw).replace("=\r\n", "");
    let url = link["url"].as_str().unwrap().to_owned();
    assert!(raw.contains(&url), "the e-mail carries the link {url}");
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_invited_by_e_mail_sees_their_day_acts_and_is_kept_to_their_own() {
    let shop = tokio::task::block_in_place(shop);
    let driver = driver();
    let browser = browser(&driver, 390, 844).await;
    let base = ctl_json(&shop.sandbox, &["open", "--json"])["url"]
        .as_str()
        .unwrap()
        .split("/login/")
        .next()
        .unwrap()
        .to_owned();

    assert!(
        ctl(&shop.sandbox, &["status"]).contains(&format!("dashboard: {base} ")),
        "`gazellectl status` says where the dashboard is"
    );

    // The invitation: a password too short is refused, then the account is made.
    let url = invitation_link(&shop);
    browser.goto(&url).await.unwrap();
    fill(&browser, "#password", "court").await;
    fill(&browser, "#confirm", "court").await;
    // The browser's own check (minlength) would stop the form: the server's is what counts.
    browser
        .execute(
            "document.querySelectorAll('input[minlength]').forEach(i => i.removeAttribute('minlength'));",
            vec![],
        )
        .await
        .unwrap();
    click(&browser, "button[type=submit]").await;
    assert!(text_of(&browser).await.contains("10 caractères"));
    fill(&browser, "#password", PASSWORD).await;
    fill(&browser, "#confirm", PASSWORD).await;
    click(&browser, "button[type=submit]").await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/today")
    );

    // Tomorrow: the appointment, its piano and its open alert.
    browser.goto(&format!("{base}/tomorrow")).await.unwrap();
    let tomorrow = text_of(&browser).await;
    assert!(tomorrow.contains("10:00"), "{tomorrow}");
    assert!(tomorrow.contains(&shop.client_name), "{tomorrow}");
    assert!(tomorrow.contains("non confirmé"), "{tomorrow}");
    assert!(tomorrow.contains("Housse"), "the open alert: {tomorrow}");

    // Resolve the alert in the page; `gazellectl alerts` sees it resolved, by this account.
    browser.goto(&format!("{base}/alerts")).await.unwrap();
    let (alert_id,): (i64,) = query(
        &shop.sandbox,
        "SELECT Id FROM MaintenanceAlerts WHERE AlertType = 'cover' AND COALESCE(IsResolved, 0) = 0
         ORDER BY Id DESC LIMIT 1",
        &[],
    );
    fill(
        &browser,
        &format!("#alert-{alert_id} input[name=note]"),
        "Housse replacée",
    )
    .await;
    click(
        &browser,
        &format!("#alert-{alert_id} form[action$=resolve] button"),
    )
    .await;
    assert!(!text_of(&browser).await.contains(&format!("#{alert_id} ")));
    let resolved = ctl_json(&shop.sandbox, &["alerts", "list", "--resolved", "--json"]);
    assert!(
        resolved["maintenance"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == alert_id),
        "`gazellectl alerts list --resolved` lists #{alert_id}: {resolved}"
    );
    let shown = ctl_json(
        &shop.sandbox,
        &["alerts", "show", &alert_id.to_string(), "--json"],
    );
    assert_eq!(shown["is_resolved"], true, "{shown}");
    assert!(
        shown["notes"].as_str().unwrap().contains("Housse replacée"),
        "{shown}"
    );
    let (by,): (Option<String>,) = query(
        &shop.sandbox,
        "SELECT ResolvedBy FROM MaintenanceAlerts WHERE Id = ?1",
        &[&alert_id.to_string()],
    );
    assert_eq!(by.as_deref(), Some(format!("web:{TECH}").as_str()));

    // A stock movement on their own truck.
    browser.goto(&format!("{base}/stock")).await.unwrap();
    let (product, product_name): (i64, String) = query(
        &shop.sandbox,
        "SELECT Id, Name FROM Products ORDER BY Name LIMIT 1",
        &[],
    );
    fill(&browser, "input[name=quantity]", "7").await;
    fill(&browser, "input[name=reason]", "Réassort").await;
    click(&browser, "form[action='/stock/movement'] button").await;
    let after = text_of(&browser).await;
    let stock = ctl_json(
        &shop.sandbox,
        &["stock", "list", "--tech", &shop.a, "--json"],
    );
    let line = stock
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["product_id"] == product)
        .unwrap_or_else(|| panic!("{product_name} in {stock}: {after}"));
    assert_eq!(line["quantity"], 7, "{stock}");
    assert!(text_of(&browser).await.contains(&product_name));

    // Another technician's day, stock or alerts: refused.
    for page in ["today", "stock", "alerts"] {
        browser
            .goto(&format!("{base}/{page}?technician={}", shop.b))
            .await
            .unwrap();
        assert!(
            text_of(&browser).await.contains("autre technicien"),
            "/{page} of another technician"
        );
    }

    // A form without its CSRF token: refused, and nothing happened.
    browser.goto(&format!("{base}/stock")).await.unwrap();
    fill(&browser, "input[name=quantity]", "5").await;
    browser
        .execute(
            "window.__gazelle_before = true;
             document.querySelector(\"form[action='/stock/movement'] input[name=csrf]\").remove();
             document.querySelector(\"form[action='/stock/movement']\").submit();",
            vec![],
        )
        .await
        .unwrap();
    loaded(&browser).await;
    assert!(text_of(&browser).await.contains("CSRF"));
    let stock = ctl_json(
        &shop.sandbox,
        &["stock", "list", "--tech", &shop.a, "--json"],
    );
    assert!(
        stock
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["product_id"] == product && l["quantity"] == 7),
        "{stock}"
    );

    // Log out; three wrong passwords lock the account, the right one included.
    browser.goto(&format!("{base}/today")).await.unwrap();
    click(&browser, "form[action='/logout'] button").await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login")
    );
    for _ in 0..3 {
        fill(&browser, "#login", TECH).await;
        fill(&browser, "#password", "pas le bon mot de passe").await;
        click(&browser, "button[type=submit]").await;
    }
    assert!(text_of(&browser).await.contains("bloqué"));
    fill(&browser, "#login", TECH).await;
    fill(&browser, "#password", PASSWORD).await;
    click(&browser, "button[type=submit]").await;
    assert!(
        text_of(&browser).await.contains("bloqué"),
        "locked, even with the right password"
    );
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login")
    );

    // The owner comes in through `gazellectl open`: everyone's day, and sync health.
    let link = ctl_json(&shop.sandbox, &["open", "--json"]);
    browser.goto(link["url"].as_str().unwrap()).await.unwrap();
    browser.goto(&format!("{base}/health")).await.unwrap();
    let runs = || {
        ctl_json(&shop.sandbox, &["runs", "--json"])
            .as_array()
            .unwrap()
            .len()
    };
    let before = runs();
    click(&browser, "form[action='/health/sync'] button").await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/health")
    );
    assert_eq!(
        runs(),
        before + 1,
        "\"Synchroniser maintenant\" started a run"
    );
    // The owner finds the client by part of its name, accents and case aside, and its page
    // lists what it has.
    let part: String = shop.client_name.chars().skip(2).take(6).collect();
    browser
        .goto(&format!(
            "{base}/clients?q={}",
            part.to_lowercase().replace(' ', "+")
        ))
        .await
        .unwrap();
    assert!(
        text_of(&browser).await.contains(&shop.client_name),
        "search `{part}`"
    );
    let (client_id,): (i64,) = query(
        &shop.sandbox,
        "SELECT ClientId FROM MaintenanceAlerts WHERE Id = ?1",
        &[&alert_id.to_string()],
    );
    browser
        .goto(&format!("{base}/clients/{client_id}"))
        .await
        .unwrap();
    let client_page = text_of(&browser).await;
    for section in [
        "Alertes ouvertes",
        "Contacts",
        "Pianos",
        "Historique",
        "Factures",
    ] {
        assert!(client_page.contains(section), "{section}: {client_page}");
    }
    assert!(
        client_page.contains("Housse enlevée, à replacer."),
        "the service note in the history: {client_page}"
    );
    // The link works once.
    browser.goto(link["url"].as_str().unwrap()).await.unwrap();
    assert!(text_of(&browser).await.contains("déjà servi"));
    browser.close().await.unwrap();
}

/// `make screenshots`: the main pages at phone and desktop widths, for a person to look at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by `make screenshots`"]
async fn screenshots() {
    let shop = tokio::task::block_in_place(shop);
    let driver = driver();
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&out).unwrap();
    for (label, width, height) in [("phone", 390, 844), ("desktop", 1280, 900)] {
        let browser = browser(&driver, width, height).await;
        let link = ctl_json(&shop.sandbox, &["open", "--json"]);
        let url = link["url"].as_str().unwrap();
        let base = url.split("/login/").next().unwrap().to_owned();
        browser.goto(url).await.unwrap();
        for page in [
            "today",
            "tomorrow",
            "week",
            "alerts",
            "stock",
            "clients?q=a",
            "health",
        ] {
            browser.goto(&format!("{base}/{page}")).await.unwrap();
            let png = browser.screenshot().await.unwrap();
            let name = page.split('?').next().unwrap();
            std::fs::write(out.join(format!("{name}-{label}.png")), png).unwrap();
        }
        browser.close().await.unwrap();
    }
    println!("screenshots in {}", out.display());
}

/// Off the Mac the dashboard is TLS only: with the shop's certificate, the link
/// `gazellectl open` gives is https with that certificate's fingerprint, a browser logs in
/// through it, and plain HTTP on the same port gets no page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_link_carries_the_certificate_s_fingerprint_and_plain_http_gets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let sandbox = Sandbox::new(&format!(
        "[alerts]\nowner_email = \"{OWNER}\"\n[web]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
        cert.display(),
        key.display()
    ));
    let mut daemon = sandbox.spawn_daemon();
    tokio::task::block_in_place(|| sandbox.wait_for_log(&mut daemon, "gazelled ready"));
    let link = ctl_json(&sandbox, &["open", "--json"]);
    let url = link["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let expected = {
        use sha2::Digest;
        sha2::Sha256::digest(certified.cert.der())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    assert_eq!(link["fingerprint"], expected.as_str());

    let driver = driver();
    let browser = browser_with(&driver, 1280, 900, true).await;
    browser.goto(&url).await.unwrap();
    let here = browser.current_url().await.unwrap();
    assert_eq!((here.scheme(), here.path()), ("https", "/today"));
    assert!(text_of(&browser).await.contains("Aujourd'hui"));
    browser.close().await.unwrap();

    // Plain HTTP to the TLS port: no page.
    let addr = url
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let answer = tokio::task::block_in_place(|| {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        // The server may drop the connection before the request is all written: that too
        // is "no page".
        let _ = write!(
            stream,
            "GET /today HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        );
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        raw
    });
    assert!(
        !String::from_utf8_lossy(&answer).contains("Aujourd"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
}
