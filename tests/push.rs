//! The push end to end: edits made with `gazellectl` reach the simulator with the right
//! values; a kill between a mutation and its answer creates no duplicate; a refused write is
//! a dead letter that blocks nothing else; an upstream edit racing a local one ends as
//! configured.

use std::time::Duration;

use e2e::{Sandbox, SimProcess, signal, wait_exit};
use serde_json::{Value, json};

fn sandbox_for(sim: &SimProcess, extra: &str) -> Sandbox {
    Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\npage_size = 50\nrequests_per_second = 1000\n\
         [sync]\nappointments_schedule = \"0 0 3 1 1 *\"\ntimeline_interval = \"1day\"\npush_interval = \"1s\"\n{extra}",
        sim.url(),
        sim.field("api_key")
    ))
}

fn ok(sandbox: &Sandbox, args: &[&str]) -> String {
    let out = sandbox.run("gazellectl", args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_of(sandbox: &Sandbox, args: &[&str]) -> Value {
    serde_json::from_str(&ok(sandbox, args)).unwrap()
}

/// A client with a piano, a schedulable technician and one that is not.
struct World {
    client: String,
    /// A client with a default contact.
    contact_client: String,
    piano: String,
    tech: String,
    office: String,
}

fn world(sim: &SimProcess) -> World {
    let users = sim.graphql("{ allUsers { id isSchedulable } }", json!({}));
    let users = users["data"]["allUsers"].as_array().unwrap().clone();
    let pick = |schedulable: bool| {
        users
            .iter()
            .find(|u| u["isSchedulable"] == schedulable)
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .expect("a user")
    };
    let pianos = sim.graphql(
        "{ allPianos(first: 1) { nodes { id client { id } } } }",
        json!({}),
    );
    let p = &pianos["data"]["allPianos"]["nodes"][0];
    let clients = sim.graphql(
        "{ allClients(first: 100) { nodes { id defaultContact { id } } } }",
        json!({}),
    );
    let contact_client = clients["data"]["allClients"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| !c["defaultContact"].is_null())
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .expect("a client with a contact");
    World {
        contact_client,
        client: p["client"]["id"].as_str().unwrap().to_owned(),
        piano: p["id"].as_str().unwrap().to_owned(),
        tech: pick(true),
        office: pick(false),
    }
}

fn start(sandbox: &Sandbox, nth: usize) -> std::process::Child {
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log_count(&mut daemon, "gazelled ready", nth);
    daemon
}

fn stop(mut daemon: std::process::Child) {
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
}

/// Waits until `check` holds (a readiness wait for asynchronous pushes, not a timing test).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn event(sim: &SimProcess, id: &str) -> Value {
    sim.graphql(
        "query E($id: String!) { event(eventId: $id) { id title start duration status confirmedByClient user { id } client { id } } }",
        json!({"id": id}),
    )["data"]["event"]
        .clone()
}

/// Tomorrow in the shop's zone, as `gazellectl` reads dates.
fn tomorrow() -> String {
    let tz = jiff::tz::TimeZone::get("America/Montreal").unwrap();
    jiff::Timestamp::now()
        .to_zoned(tz)
        .date()
        .tomorrow()
        .unwrap()
        .to_string()
}

#[test]
fn edits_made_with_gazellectl_reach_gazelle() {
    let sim = SimProcess::start("tiny");
    let w = world(&sim);
    let sandbox = sandbox_for(&sim, "");
    let daemon = start(&sandbox, 1);
    ok(&sandbox, &["force-sync", "--full", "--wait"]);

    // An invoice: 120,00 $ taxable, 45,50 $ mileage untaxed, 2,5 × 19,99 $ taxable.
    let out = ok(
        &sandbox,
        &[
            "invoices",
            "create",
            "--client",
            &w.client,
            "--description",
            "Accord",
            "--price",
            "120",
        ],
    );
    assert!(
        out.contains("BROUILLON-") && out.contains("(not in Gazelle yet)"),
        "{out}"
    );
    let list = json_of(&sandbox, &["invoices", "list", "--json"]);
    let id = list[0]["id"].as_i64().unwrap().to_string();
    ok(
        &sandbox,
        &[
            "invoices",
            "add-line",
            &id,
            "--description",
            "Déplacement",
            "--price",
            "45,50",
            "--untaxed",
            "--type",
            "MILEAGE",
        ],
    );
    ok(
        &sandbox,
        &[
            "invoices",
            "add-line",
            &id,
            "--description",
            "Feutres",
            "--quantity",
            "2,5",
            "--price",
            "19.99",
            "--type",
            "EXPENSE",
        ],
    );
    let shown = json_of(&sandbox, &["invoices", "show", &id, "--json"]);
    let i = &shown["invoice"];
    // 120 + 45,50 + 49,98 = 215,48; TPS 6,00 + 2,50, TVQ 11,97 + 4,99 = 25,46; total 240,94.
    assert_eq!(
        (
            i["sub_total_cents"].as_i64(),
            i["tax_total_cents"].as_i64(),
            i["total_cents"].as_i64()
        ),
        (Some(21548), Some(2546), Some(24094)),
        "{shown:#}"
    );
    // The creation may go out before the lines are added: wait for Gazelle's totals.
    eventually("the invoice and its lines pushed", || {
        let shown = json_of(&sandbox, &["invoices", "show", &id, "--json"]);
        let Some(gazelle_id) = shown["invoice"]["external_id"].as_str() else {
            return false;
        };
        sim.graphql(
            "query I($id: String!) { invoice(id: $id) { total } }",
            json!({"id": gazelle_id}),
        )["data"]["invoice"]["total"]
            == 24094
    });
    let shown = json_of(&sandbox, &["invoices", "show", &id, "--json"]);
    let gazelle_id = shown["invoice"]["external_id"].as_str().unwrap().to_owned();
    let upstream = sim.graphql(
        "query I($id: String!) { invoice(id: $id) { number status subTotal taxTotal total client { id } allInvoiceItems { nodes { description quantity amount subTotal taxTotal taxable } } } }",
        json!({"id": gazelle_id}),
    )["data"]["invoice"]
        .clone();
    assert_eq!(
        (
            upstream["subTotal"].as_i64(),
            upstream["taxTotal"].as_i64(),
            upstream["total"].as_i64()
        ),
        (Some(21548), Some(2546), Some(24094)),
        "{upstream:#}"
    );
    assert_eq!(upstream["client"]["id"], w.client.as_str());
    assert_eq!(
        upstream["allInvoiceItems"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        shown["invoice"]["number"],
        upstream["number"].to_string().as_str(),
        "Gazelle's number written back"
    );
    // A pull afterwards matches the invoice and its lines: nothing duplicated.
    ok(&sandbox, &["force-sync", "--full", "--wait"]);
    let again = json_of(&sandbox, &["invoices", "show", &id, "--json"]);
    assert_eq!(again["lines"].as_array().unwrap().len(), 3, "{again:#}");
    ok(&sandbox, &["invoices", "set-status", &id, "open"]);
    eventually("the status pushed", || {
        sim.graphql(
            "query I($id: String!) { invoice(id: $id) { status } }",
            json!({"id": gazelle_id}),
        )["data"]["invoice"]["status"]
            == "OPEN"
    });

    // An appointment at 20:30 local stays on its day; moving it resends the whole event.
    let day = tomorrow();
    let out = sandbox.run(
        "gazellectl",
        &[
            "appointments",
            "create",
            "--client",
            &w.client,
            "--tech",
            &w.tech,
            "--start",
            &format!("{day} 20:30"),
            "--duration",
            "90",
            "--title",
            "Accord du soir",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let local_id = String::from_utf8_lossy(&out.stdout)
        .split('#')
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .to_owned();
    let calendar = || {
        json_of(
            &sandbox,
            &["calendar", "--tech", &w.tech, "--from", &day, "--json"],
        )
    };
    let find = |rows: &Value| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["appointment"]["id"].as_i64() == local_id.parse::<i64>().ok())
            .cloned()
            .unwrap()
    };
    eventually("the appointment pushed", || {
        find(&calendar())["appointment"]["external_id"].is_string()
    });
    let row = find(&calendar());
    assert_eq!(row["local"], format!("{day} 20:30"));
    let evt = row["appointment"]["external_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let upstream = event(&sim, &evt);
    assert_eq!(
        upstream["start"], row["appointment"]["start_at"],
        "stored and pushed in UTC"
    );
    assert!(
        upstream["start"].as_str().unwrap() > format!("{day}T23:00:00Z").as_str(),
        "{upstream}"
    );
    assert_eq!(
        (upstream["title"].as_str(), upstream["duration"].as_i64()),
        (Some("Accord du soir"), Some(90))
    );
    ok(
        &sandbox,
        &[
            "appointments",
            "move",
            &local_id,
            "--start",
            &format!("{day} 10:00"),
        ],
    );
    eventually("the move pushed", || {
        event(&sim, &evt)["start"] != upstream["start"]
    });
    let moved = event(&sim, &evt);
    assert_eq!(
        (moved["title"].as_str(), moved["duration"].as_i64()),
        (Some("Accord du soir"), Some(90)),
        "updateEvent got the whole event: {moved}"
    );
    assert!(
        moved["start"].as_str().unwrap().starts_with(&day),
        "{moved}"
    );
    ok(&sandbox, &["appointments", "confirm", &local_id]);
    eventually("the confirmation pushed", || {
        event(&sim, &evt)["confirmedByClient"] == true
    });
    ok(&sandbox, &["appointments", "cancel", &local_id]);
    eventually("the cancellation pushed", || {
        event(&sim, &evt)["status"] == "CANCELED"
    });
    let ics = sandbox.root().join("cal.ics");
    ok(
        &sandbox,
        &[
            "calendar",
            "--tech",
            &w.tech,
            "--ics",
            ics.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&ics).unwrap();
    assert!(
        text.contains(&format!("UID:{evt}@gazelleapp.io")) && text.contains("STATUS:CANCELLED"),
        "{text}"
    );

    // Client and piano edits.
    ok(
        &sandbox,
        &["client", "edit", &w.client, "--status", "inactive"],
    );
    ok(
        &sandbox,
        &[
            "piano",
            "edit",
            &w.piano,
            "--location",
            "Salle Bourgie",
            "--notes",
            "Régulé à 42 %",
        ],
    );
    eventually("the client edit pushed", || {
        sim.graphql(
            "query C($id: String!) { client(id: $id) { status } }",
            json!({"id": w.client}),
        )["data"]["client"]["status"]
            == "INACTIVE"
    });
    eventually("the piano edit pushed", || {
        let p = sim.graphql(
            "query P($id: String!) { piano(id: $id) { location notes } }",
            json!({"id": w.piano}),
        );
        p["data"]["piano"]["location"] == "Salle Bourgie"
            && p["data"]["piano"]["notes"] == "Régulé à 42 %"
    });
    // Contact details: names, e-mail and phone of the client's contact.
    ok(
        &sandbox,
        &[
            "client",
            "edit",
            &w.contact_client,
            "--email",
            "nouvelle.adresse@example.test",
            "--phone",
            "514 555-0199",
            "--first-name",
            "Hélène",
        ],
    );
    eventually("the contact edit pushed", || {
        let c = sim.graphql(
            "query C($id: String!) { client(id: $id) { defaultContact { firstName defaultEmail { email } defaultPhone { phoneNumber } } } }",
            json!({"id": w.contact_client}),
        );
        let k = &c["data"]["client"]["defaultContact"];
        k["firstName"] == "Hélène"
            && k["defaultEmail"]["email"] == "nouvelle.adresse@example.test"
            && k["defaultPhone"]["phoneNumber"] == "514 555-0199"
    });
    let bad_email = sandbox.run(
        "gazellectl",
        &[
            "client",
            "edit",
            &w.contact_client,
            "--email",
            "pas une adresse",
        ],
    );
    assert!(String::from_utf8_lossy(&bad_email.stderr).contains("is not an e-mail address"));
    let bad = sandbox.run(
        "gazellectl",
        &["client", "edit", &w.client, "--status", "SLEEPING"],
    );
    assert_eq!(bad.status.code(), Some(2), "bad usage");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown client status `SLEEPING`"));

    // A refused write (a technician who cannot be scheduled) is a dead letter with
    // Gazelle's message and an alert, and does not block the rest of the queue.
    ok(
        &sandbox,
        &[
            "appointments",
            "create",
            "--client",
            &w.client,
            "--tech",
            &w.office,
            "--start",
            &format!("{day} 13:00"),
            "--title",
            "Refusé",
        ],
    );
    ok(
        &sandbox,
        &[
            "appointments",
            "create",
            "--client",
            &w.client,
            "--tech",
            &w.tech,
            "--start",
            &format!("{day} 15:00"),
            "--title",
            "Accepté",
        ],
    );
    eventually("the refusal recorded", || {
        !json_of(&sandbox, &["outbox", "list", "--state", "dead", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    });
    let dead = json_of(&sandbox, &["outbox", "list", "--state", "dead", "--json"]);
    assert!(
        dead[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("Le technicien sélectionné ne peut pas être planifié"),
        "{dead:#}"
    );
    eventually("the valid one pushed anyway", || {
        json_of(&sandbox, &["calendar", "--from", &day, "--json"])
            .as_array()
            .unwrap()
            .iter()
            .any(|r| {
                r["appointment"]["description"] == "Accepté"
                    && r["appointment"]["external_id"].is_string()
            })
    });
    let alerts = json_of(&sandbox, &["alerts", "list", "--json"]);
    assert!(
        alerts["system"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "push"),
        "{alerts:#}"
    );
    let status = json_of(&sandbox, &["status", "--json"]);
    assert_eq!(status["backlog"]["outbox_dead"], 1);
    let dead_id = dead[0]["id"].as_i64().unwrap().to_string();
    ok(&sandbox, &["outbox", "discard", &dead_id]);
    let alerts = json_of(&sandbox, &["alerts", "list", "--json"]);
    assert!(
        !alerts["system"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "push"),
        "{alerts:#}"
    );
    stop(daemon);
}

#[test]
fn a_kill_between_a_mutation_and_its_answer_creates_no_duplicate() {
    let sim = SimProcess::start("tiny");
    let w = world(&sim);
    let sandbox = sandbox_for(&sim, "");
    let daemon = start(&sandbox, 1);
    ok(&sandbox, &["force-sync", "--full", "--wait"]);
    ok(&sandbox, &["pause"]);
    let day = tomorrow();
    ok(
        &sandbox,
        &[
            "appointments",
            "create",
            "--client",
            &w.client,
            "--tech",
            &w.tech,
            "--start",
            &format!("{day} 09:15"),
            "--title",
            "Une seule fois",
        ],
    );
    // The next request (the creation) is applied, then its answer waits; the daemon dies.
    let (code, body) = sim.post(
        "/_sim/faults",
        &json!({"kind": "stall", "millis": 60000, "operation": "CreateEvent"}).to_string(),
        &[],
    );
    assert!(code == 200 || code == 204, "{code} {body}");
    ok(&sandbox, &["resume"]);
    let count = || {
        let events = sim.graphql(
            "query E($f: PrivateAllEventsFilter) { allEventsBatched(first: 100, filters: $f) { nodes { id title } } }",
            json!({"f": {"startOn": day, "endOn": day, "userId": [w.tech]}}),
        );
        events["data"]["allEventsBatched"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["title"] == "Une seule fois")
            .count()
    };
    eventually("Gazelle applied the creation", || count() == 1);
    signal(&daemon, "KILL");
    let mut daemon = daemon;
    wait_exit(&mut daemon, Duration::from_secs(10));
    // The restarted daemon finds the creation upstream and adopts it instead of resending.
    let daemon = start(&sandbox, 2);
    eventually("the entry ended", || {
        json_of(&sandbox, &["outbox", "list", "--state", "done", "--json"])
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "pushed" && e["entity"] == "Appointments")
    });
    assert!(
        sandbox.logs().contains("adopted, not resent"),
        "{}",
        sandbox.logs()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count(), 1, "exactly one event upstream");
    let rows = json_of(&sandbox, &["calendar", "--from", &day, "--json"]);
    let ours: Vec<&Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["appointment"]["description"] == "Une seule fois")
        .collect();
    assert_eq!(ours.len(), 1);
    assert!(ours[0]["appointment"]["external_id"].is_string());
    ok(&sandbox, &["force-sync", "--wait"]);
    let rows = json_of(&sandbox, &["calendar", "--from", &day, "--json"]);
    assert_eq!(
        rows.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["appointment"]["description"] == "Une seule fois")
            .count(),
        1,
        "a pull afterwards duplicates nothing"
    );
    stop(daemon);
}

fn upstream_location(sim: &SimProcess, piano: &str) -> String {
    sim.graphql(
        "query P($id: String!) { piano(id: $id) { location } }",
        json!({"id": piano}),
    )["data"]["piano"]["location"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Sends a mutation to the simulator as another Gazelle user would; it must be accepted.
fn mutate_upstream(sim: &SimProcess, document: &str, root: &str, variables: Value) -> Value {
    let r = sim.graphql(document, variables);
    assert!(
        r["data"][root]["mutationErrors"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "{r}"
    );
    r["data"][root].clone()
}

fn edit_upstream(sim: &SimProcess, piano: &str, location: &str) {
    mutate_upstream(
        sim,
        "mutation U($id: String!, $input: PrivatePianoInput!) { updatePiano(id: $id, input: $input) { piano { id } mutationErrors { messages } } }",
        "updatePiano",
        json!({"id": piano, "input": {"location": location}}),
    );
}

/// A column of the local row with this upstream id, read from the database file.
fn local_value(sandbox: &Sandbox, table: &str, column: &str, external_id: &str) -> String {
    let (value,): (Option<String>,) = sandbox.query_one(
        &format!("SELECT {column} FROM {table} WHERE ExternalId = ?1"),
        &[external_id],
    );
    value.unwrap_or_default()
}

fn edit_client_upstream(sim: &SimProcess, client: &str, company: &str) {
    mutate_upstream(
        sim,
        "mutation U($id: String!, $input: PrivateClientInput!) { updateClient(id: $id, input: $input) { client { id } mutationErrors { messages } } }",
        "updateClient",
        json!({"id": client, "input": {"companyName": company}}),
    );
}

#[test]
fn an_upstream_edit_racing_a_local_edit_ends_as_configured() {
    let sim = SimProcess::start("tiny");
    let w = world(&sim);
    let sandbox = sandbox_for(&sim, "");
    let daemon = start(&sandbox, 1);
    ok(&sandbox, &["force-sync", "--full", "--wait"]);

    // Last-write-wins, Gazelle's edit later: Gazelle's stays, the local one is superseded
    // (and kept in the conflicts table).
    ok(&sandbox, &["pause"]);
    ok(
        &sandbox,
        &["piano", "edit", &w.piano, "--location", "Local A"],
    );
    std::thread::sleep(Duration::from_millis(1100));
    edit_upstream(&sim, &w.piano, "Gazelle B");
    ok(&sandbox, &["force-sync", "--wait"]);
    assert_eq!(upstream_location(&sim, &w.piano), "Gazelle B");
    // The mirror shows the winner at once, not the Mac's losing value (an incremental run:
    // the pull skipped the row while the edit waited).
    assert_eq!(
        local_value(&sandbox, "Pianos", "Location", &w.piano),
        "Gazelle B"
    );
    let done = json_of(&sandbox, &["outbox", "list", "--state", "done", "--json"]);
    assert_eq!(done[0]["outcome"], "superseded", "{done:#}");
    let conflicts = json_of(&sandbox, &["conflicts", "list", "--all", "--json"]);
    assert!(
        conflicts
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["resolution"] == "remote"),
        "{conflicts:#}"
    );
    // The same for a client's company name.
    ok(
        &sandbox,
        &["client", "edit", &w.client, "--company", "Mac Perdant"],
    );
    std::thread::sleep(Duration::from_millis(1100));
    edit_client_upstream(&sim, &w.client, "Gazelle Gagnant");
    ok(&sandbox, &["force-sync", "--wait"]);
    assert_eq!(
        local_value(&sandbox, "Clients", "CompanyName", &w.client),
        "Gazelle Gagnant"
    );
    // And for an appointment: moved on the Mac, retitled in Gazelle later.
    let (appointment, local_id): (String, i64) = sandbox.query_one(
        "SELECT ExternalId, Id FROM Appointments WHERE DeletedAt IS NULL AND ExternalId IS NOT NULL ORDER BY StartAt DESC LIMIT 1",
        &[],
    );
    ok(
        &sandbox,
        &[
            "appointments",
            "move",
            &local_id.to_string(),
            "--start",
            &format!("{} 10:00", tomorrow()),
        ],
    );
    std::thread::sleep(Duration::from_millis(1100));
    let before = event(&sim, &appointment);
    let retitled = mutate_upstream(
        &sim,
        "mutation U($id: String!, $input: PrivateEventInput!) { updateEvent(id: $id, input: $input) { event { id } mutationErrors { messages } } }",
        "updateEvent",
        json!({"id": appointment, "input": {
            "title": "Titre Gazelle", "start": before["start"], "duration": before["duration"],
            "clientId": before["client"]["id"], "userId": before["user"]["id"],
        }}),
    );
    assert!(retitled["event"]["id"].is_string(), "{retitled}");
    ok(&sandbox, &["force-sync", "--wait"]);
    let upstream = event(&sim, &appointment);
    assert_eq!(
        local_value(&sandbox, "Appointments", "Description", &appointment),
        "Titre Gazelle",
        "upstream: {upstream}"
    );
    assert_eq!(
        local_value(&sandbox, "Appointments", "StartAt", &appointment),
        upstream["start"].as_str().unwrap(),
        "the Mac's move lost: the row has Gazelle's start"
    );
    // Last-write-wins, the local edit later: it is pushed over Gazelle's.
    edit_upstream(&sim, &w.piano, "Gazelle C");
    std::thread::sleep(Duration::from_millis(1100));
    ok(
        &sandbox,
        &["piano", "edit", &w.piano, "--location", "Local D"],
    );
    ok(&sandbox, &["force-sync", "--wait"]);
    assert_eq!(upstream_location(&sim, &w.piano), "Local D");
    stop(daemon);

    // Manual: the edit waits for a person, who keeps the local version.
    let config = std::fs::read_to_string(sandbox.config()).unwrap();
    std::fs::write(
        sandbox.config(),
        format!("{config}[sync.conflicts]\npianos = \"manual\"\n"),
    )
    .unwrap();
    let daemon = start(&sandbox, 2);
    ok(&sandbox, &["pause"]);
    ok(
        &sandbox,
        &["piano", "edit", &w.piano, "--location", "Local E"],
    );
    std::thread::sleep(Duration::from_millis(1100));
    edit_upstream(&sim, &w.piano, "Gazelle F");
    ok(&sandbox, &["force-sync", "--wait"]);
    assert_eq!(
        upstream_location(&sim, &w.piano),
        "Gazelle F",
        "nothing pushed over it"
    );
    let open = json_of(&sandbox, &["conflicts", "list", "--json"]);
    assert_eq!(open.as_array().unwrap().len(), 1, "{open:#}");
    let conflict = open[0]["id"].as_i64().unwrap().to_string();
    let shown = ok(&sandbox, &["conflicts", "show", &conflict]);
    assert!(
        shown.contains("Local E") && shown.contains("Gazelle F"),
        "{shown}"
    );
    let outbox = ok(&sandbox, &["outbox", "list"]);
    assert!(
        outbox.contains(&format!("held: conflict #{conflict}")),
        "{outbox}"
    );
    let recorded = json_of(&sandbox, &["conflicts", "list", "--all", "--json"])
        .as_array()
        .unwrap()
        .len();
    ok(
        &sandbox,
        &["conflicts", "resolve", &conflict, "--keep", "local"],
    );
    ok(&sandbox, &["force-sync", "--wait"]);
    assert_eq!(upstream_location(&sim, &w.piano), "Local E");
    // The pull before the push saw Gazelle's version again: the edit is based on it now,
    // so no second (already settled) conflict is recorded.
    let after = json_of(&sandbox, &["conflicts", "list", "--all", "--json"]);
    assert_eq!(after.as_array().unwrap().len(), recorded, "{after:#}");
    assert!(
        json_of(&sandbox, &["conflicts", "list", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Manual, Gazelle's version kept: the row takes it at once.
    ok(
        &sandbox,
        &["piano", "edit", &w.piano, "--location", "Local G"],
    );
    std::thread::sleep(Duration::from_millis(1100));
    edit_upstream(&sim, &w.piano, "Gazelle H");
    ok(&sandbox, &["force-sync", "--wait"]);
    let open = json_of(&sandbox, &["conflicts", "list", "--json"]);
    let conflict = open[0]["id"].as_i64().unwrap().to_string();
    ok(
        &sandbox,
        &["conflicts", "resolve", &conflict, "--keep", "remote"],
    );
    assert_eq!(
        local_value(&sandbox, "Pianos", "Location", &w.piano),
        "Gazelle H"
    );
    assert_eq!(upstream_location(&sim, &w.piano), "Gazelle H");
    stop(daemon);
}

#[test]
fn a_client_created_on_the_mac_goes_first_and_its_work_follows() {
    let sim = SimProcess::start("tiny");
    let w = world(&sim);
    let sandbox = sandbox_for(&sim, "");
    let daemon = start(&sandbox, 1);
    ok(&sandbox, &["force-sync", "--full", "--wait"]);
    // Paused: nothing goes out until the force-sync below, so the three edits queue together.
    ok(&sandbox, &["pause"]);
    let out = ok(
        &sandbox,
        &[
            "client",
            "create",
            "--first-name",
            "Zoé",
            "--last-name",
            "Lévesque-Unique",
            "--email",
            "gcote@example.test",
            "--phone",
            "438 555-0101",
        ],
    );
    let client = out
        .split('#')
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .to_owned();
    let day = tomorrow();
    ok(
        &sandbox,
        &[
            "appointments",
            "create",
            "--client",
            &client,
            "--tech",
            &w.tech,
            "--start",
            &format!("{day} 11:00"),
            "--title",
            "Premier accord",
        ],
    );
    ok(
        &sandbox,
        &[
            "invoices",
            "create",
            "--client",
            &client,
            "--description",
            "Accord",
            "--price",
            "120",
        ],
    );
    let pending = json_of(&sandbox, &["outbox", "list", "--json"]);
    assert_eq!(pending.as_array().unwrap().len(), 3, "{pending:#}");
    ok(&sandbox, &["force-sync", "--wait"]);
    let done = json_of(&sandbox, &["outbox", "list", "--state", "done", "--json"]);
    let ours: Vec<&Value> = done
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "pushed")
        .collect();
    assert_eq!(
        ours.len(),
        3,
        "client, then its appointment and invoice: {done:#}"
    );
    let client_id = ours.iter().find(|e| e["entity"] == "Clients").unwrap()["upstream_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let upstream = sim.graphql(
        "query C($id: String!) { client(id: $id) { companyName status defaultContact { firstName lastName defaultEmail { email } defaultPhone { phoneNumber } } } }",
        json!({"id": client_id}),
    )["data"]["client"]
        .clone();
    assert_eq!(
        upstream["companyName"], "Zoé Lévesque-Unique",
        "{upstream:#}"
    );
    assert_eq!(
        upstream["defaultContact"]["defaultEmail"]["email"],
        "gcote@example.test"
    );
    let events = sim.graphql(
        "query E($f: PrivateAllEventsFilter) { allEventsBatched(first: 50, filters: $f) { nodes { title client { id } } } }",
        json!({"f": {"startOn": day, "endOn": day, "clientId": [client_id]}}),
    );
    assert_eq!(
        events["data"]["allEventsBatched"]["nodes"][0]["title"], "Premier accord",
        "{events:#}"
    );
    // The next pull matches the client and its contact by their ids: no second copy.
    ok(&sandbox, &["force-sync", "--full", "--wait"]);
    let out = sandbox.run("gazellectl", &["invoices", "list", "--json"]);
    let invoices: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        invoices
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["company_name"] == "Zoé Lévesque-Unique" && i["external_id"].is_string())
    );
    let (copies,): (i64,) = sandbox.query_one(
        "SELECT COUNT(*) FROM Clients WHERE CompanyName = ?1",
        &["Zoé Lévesque-Unique"],
    );
    assert_eq!(copies, 1);
    let bad = sandbox.run("gazellectl", &["client", "create", "--status", "ACTIVE"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("a client needs --company"));
    stop(daemon);
}

/// The issue "Every piano of an appointment": an event with three pianos created upstream is
/// mirrored with its three links; moved on the Mac, it keeps its three pianos upstream
/// (`updateEvent` replaces the list); a piano removed upstream leaves the mirror.
#[test]
fn every_piano_of_an_appointment_is_mirrored_and_kept_by_a_move_on_the_mac() {
    let sim = SimProcess::start("tiny");
    let w = world(&sim);
    let pianos = sim.graphql("{ allPianos(first: 3) { nodes { id } } }", json!({}));
    let pianos: Vec<String> = pianos["data"]["allPianos"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(pianos.len(), 3);
    let sandbox = sandbox_for(&sim, "");
    let daemon = start(&sandbox, 1);
    ok(&sandbox, &["force-sync", "--full", "--wait"]);

    let day = tomorrow();
    let input = |pianos: &[String]| {
        json!({
            "title": "Conservatoire : trois pianos", "start": format!("{day}T14:00:00Z"),
            "duration": 180, "type": "APPOINTMENT", "userId": w.tech, "clientId": w.client,
            "timezone": "America/Montreal",
            "pianos": pianos.iter().map(|p| json!({"pianoId": p})).collect::<Vec<_>>(),
        })
    };
    let created = mutate_upstream(
        &sim,
        "mutation C($input: PrivateEventInput!) { createEvent(input: $input) { event { id } mutationErrors { messages } } }",
        "createEvent",
        json!({"input": input(&pianos)}),
    );
    let evt = created["event"]["id"].as_str().unwrap().to_owned();
    let links = || -> Vec<String> {
        let (list,): (Option<String>,) = sandbox.query_one(
            "SELECT group_concat(PianoExternalId, ' ') FROM (SELECT ap.PianoExternalId
               FROM AppointmentPianos ap JOIN Appointments a ON a.Id = ap.AppointmentId
              WHERE a.ExternalId = ?1 ORDER BY ap.Position)",
            &[&evt],
        );
        list.unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    ok(&sandbox, &["force-sync", "--wait"]);
    assert_eq!(links(), pianos, "three links after an incremental run");
    let calendar = json_of(
        &sandbox,
        &["calendar", "--tech", &w.tech, "--from", &day, "--json"],
    );
    let row = calendar
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["appointment"]["external_id"] == evt.as_str())
        .cloned()
        .unwrap();
    assert_eq!(row["appointment"]["pianos"].as_array().unwrap().len(), 3);

    // Moved on the Mac: the push resends the event with its three pianos.
    let local_id = row["appointment"]["id"].as_i64().unwrap().to_string();
    ok(
        &sandbox,
        &[
            "appointments",
            "move",
            &local_id,
            "--start",
            &format!("{day} 11:00"),
        ],
    );
    let upstream = || {
        sim.graphql(
            "query E($id: String!) { event(eventId: $id) { start allEventPianos { nodes { piano { id } } } } }",
            json!({"id": evt}),
        )["data"]["event"]
            .clone()
    };
    eventually("the move pushed", || {
        upstream()["start"] != format!("{day}T14:00:00Z").as_str()
    });
    let kept: Vec<String> = upstream()["allEventPianos"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["piano"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kept, pianos, "the move kept every piano upstream");

    // One piano removed upstream a minute later (Gazelle's `updatedAt` has whole seconds:
    // an edit within the second of the push would look unchanged to the probe, as it would
    // against Gazelle): gone from the mirror after the next run.
    let (status, text) = sim.post("/_sim/clock", r#"{"advance_seconds": 60}"#, &[]);
    assert_eq!(status, 200, "{text}");
    let start = upstream()["start"].as_str().unwrap().to_owned();
    let mut fewer = input(&[pianos[0].clone(), pianos[2].clone()]);
    fewer["start"] = json!(start);
    mutate_upstream(
        &sim,
        "mutation U($id: String!, $input: PrivateEventInput!) { updateEvent(id: $id, input: $input) { event { id } mutationErrors { messages } } }",
        "updateEvent",
        json!({"id": evt, "input": fewer}),
    );
    ok(&sandbox, &["force-sync", "--wait"]);
    assert_eq!(links(), vec![pianos[0].clone(), pianos[2].clone()]);

    // An appointment booked on the Mac over it: the overlap warning names both pianos.
    let out = sandbox.run(
        "gazellectl",
        &[
            "appointments",
            "create",
            "--client",
            &w.client,
            "--tech",
            &w.tech,
            "--start",
            &format!("{day} 12:00"),
            "--duration",
            "30",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let warning = stderr
        .lines()
        .find(|l| l.contains("overlaps appointment «Conservatoire : trois pianos»"))
        .unwrap_or_else(|| panic!("no overlap warning: {stderr}"));
    let label = |id: &str| -> String {
        let (make, model): (Option<String>, Option<String>) = sandbox.query_one(
            "SELECT Make, Model FROM Pianos WHERE ExternalId = ?1",
            &[id],
        );
        [make, model]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    };
    for piano in [&pianos[0], &pianos[2]] {
        assert!(warning.contains(&label(piano)), "{piano} in {warning}");
    }
    stop(daemon);
}
