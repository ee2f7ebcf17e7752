//! What Gazelle leaves undocumented, end to end: `gazelled` and `gazellectl` as processes
//! against `gazelle-sim` in its hostile mode (graphql-ruby's offset cursors, `CoreDate`
//! filters that compare UTC days). Each test is a case seen against an independent stand-in:
//!
//! 1. a complete scan killed mid-timeline, entries deleted upstream ahead of its cursor,
//!    then run again: nothing live is tombstoned, nothing is missing, the deleted ones go;
//! 2. an interrupted `createEvent` at 20:30 Montréal (the next UTC day) is adopted, not made
//!    twice; 3. the same when a pull runs first: the two rows merge, the cycle goes on;
//! 4. a server that repeats a cursor: the stream fails at once, naming it; later runs are
//!    unharmed;
//! 5. an appointment deleted upstream leaves the mirror after one incremental run;
//! 6. every contact of every client is mirrored, archived ones flagged.

use std::collections::BTreeSet;
use std::time::Duration;

use e2e::{Sandbox, SimProcess, signal, wait_exit};
use serde_json::{Value, json};

fn sandbox_for(sim: &SimProcess, page_size: u32, rps: u32) -> Sandbox {
    Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\npage_size = {page_size}\nrequests_per_second = {rps}\n\
         [sync]\nappointments_schedule = \"0 0 3 1 1 *\"\ntimeline_interval = \"1day\"\npush_interval = \"1s\"\n",
        sim.url(),
        sim.field("api_key")
    ))
}

fn run(sandbox: &Sandbox, args: &[&str]) -> std::process::Output {
    sandbox.run("gazellectl", args)
}

fn ok(sandbox: &Sandbox, args: &[&str]) -> String {
    let out = run(sandbox, args);
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

fn start(sandbox: &Sandbox, nth: usize) -> std::process::Child {
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log_count(&mut daemon, "gazelled ready", nth);
    daemon
}

fn stop(mut daemon: std::process::Child) {
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
}

fn kill(mut daemon: std::process::Child) {
    signal(&daemon, "KILL");
    wait_exit(&mut daemon, Duration::from_secs(10));
}

/// Waits until `check` holds (a readiness wait for asynchronous work, not a timing test).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Rows of the daemon's SQLite file (read-only).
fn query(sandbox: &Sandbox, sql: &str) -> Vec<Vec<Option<String>>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Row as _;
        let url = format!("sqlite://{}?mode=ro", sandbox.database().display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        row.try_get::<Option<String>, _>(i)
                            .or_else(|_| {
                                row.try_get::<Option<i64>, _>(i)
                                    .map(|v| v.map(|n| n.to_string()))
                            })
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .collect()
    })
}

fn ids(sandbox: &Sandbox, sql: &str) -> BTreeSet<String> {
    query(sandbox, sql)
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect()
}

/// Every timeline entry id upstream (pages of 1,000, read while nothing changes).
fn upstream_timeline(sim: &SimProcess) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    let mut after = Value::Null;
    loop {
        let page = sim.graphql(
            "query T($after: String) { allTimelineEntries(first: 1000, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }",
            json!({"after": after}),
        );
        let conn = &page["data"]["allTimelineEntries"];
        for n in conn["nodes"].as_array().unwrap() {
            all.insert(n["id"].as_str().unwrap().to_owned());
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            return all;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
}

/// Kills the daemon once a full sync is part-way through the timeline (a page committed).
fn kill_mid_timeline(sandbox: &Sandbox, daemon: std::process::Child) {
    ok(sandbox, &["force-sync", "--full"]);
    eventually("the full sync is part-way through the timeline", || {
        let status = json_of(sandbox, &["status", "--json"]);
        status["streams"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s["stream"] == "timeline" && !s["cursor"].is_null())
        })
    });
    kill(daemon);
}

/// Deletes the `n` newest timeline entries upstream: ones the killed scan had read, ahead of
/// its saved cursor (the timeline lists newest first).
fn delete_newest_notes(sim: &SimProcess, n: usize) -> BTreeSet<String> {
    let page = sim.graphql(
        "query T($n: Int) { allTimelineEntries(first: $n) { nodes { id } } }",
        json!({"n": n}),
    );
    let mut deleted = BTreeSet::new();
    for node in page["data"]["allTimelineEntries"]["nodes"]
        .as_array()
        .unwrap()
    {
        let id = node["id"].as_str().unwrap();
        let (code, body) = sim.post("/_sim/records/delete", &json!({"id": id}).to_string(), &[]);
        assert!(code == 200 || code == 204, "{code} {body}");
        deleted.insert(id.to_owned());
    }
    assert_eq!(deleted.len(), n);
    deleted
}

const LIVE_NOTES: &str = "SELECT ExternalId FROM TimelineEntries WHERE DeletedAt IS NULL";

#[test]
fn a_complete_scan_killed_then_run_again_after_upstream_deletions_loses_nothing() {
    let sim = SimProcess::hostile("tiny");

    // A mirror that holds everything, then a full sync killed mid-timeline.
    let sandbox = sandbox_for(&sim, 5, 60);
    let daemon = start(&sandbox, 1);
    ok(&sandbox, &["force-sync", "--full", "--wait"]);
    kill_mid_timeline(&sandbox, daemon);
    let deleted = delete_newest_notes(&sim, 5);
    let daemon = start(&sandbox, 2);
    let out = ok(&sandbox, &["force-sync", "--full", "--wait"]);
    assert!(out.contains("succeeded"), "{out}");
    let upstream = upstream_timeline(&sim);
    let live = ids(&sandbox, LIVE_NOTES);
    let wrongly_deleted: Vec<_> = upstream.difference(&live).collect();
    let left_live: Vec<_> = live.difference(&upstream).collect();
    assert!(
        wrongly_deleted.is_empty(),
        "live upstream, tombstoned here: {wrongly_deleted:?}"
    );
    assert!(
        left_live.is_empty(),
        "deleted upstream, live here: {left_live:?}"
    );
    let tombstoned = ids(
        &sandbox,
        "SELECT ExternalId FROM TimelineEntries WHERE DeletedAt IS NOT NULL",
    );
    assert_eq!(tombstoned, deleted);
    stop(daemon);

    // The first sync into an empty database, killed the same way: nothing is missing after.
    let first = sandbox_for(&sim, 5, 60);
    let daemon = start(&first, 1);
    kill_mid_timeline(&first, daemon);
    delete_newest_notes(&sim, 5);
    let daemon = start(&first, 2);
    ok(&first, &["force-sync", "--full", "--wait"]);
    let upstream = upstream_timeline(&sim);
    assert_eq!(ids(&first, LIVE_NOTES), upstream);
    stop(daemon);
}

/// A technician, a client: the first schedulable user and the first piano's owner.
fn tech_and_client(sim: &SimProcess) -> (String, String, String) {
    let users = sim.graphql("{ allUsers { id isSchedulable accessLevel } }", json!({}));
    let tech = users["data"]["allUsers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["isSchedulable"] == true && u["accessLevel"] == "TECHNICIAN")
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .unwrap();
    let pianos = sim.graphql(
        "{ allPianos(first: 1) { nodes { id client { id } } } }",
        json!({}),
    );
    let p = &pianos["data"]["allPianos"]["nodes"][0];
    (
        tech,
        p["client"]["id"].as_str().unwrap().to_owned(),
        p["id"].as_str().unwrap().to_owned(),
    )
}

fn day_in_shop(days_ahead: i64) -> String {
    let tz = jiff::tz::TimeZone::get("America/Montreal").unwrap();
    jiff::Timestamp::now()
        .to_zoned(tz)
        .date()
        .checked_add(jiff::Span::new().days(days_ahead))
        .unwrap()
        .to_string()
}

/// Events upstream with this title (listed under both readings of the date filter).
fn upstream_events_titled(sim: &SimProcess, day: &str, title: &str) -> usize {
    let next: jiff::civil::Date = day.parse().unwrap();
    let next = next.tomorrow().unwrap().to_string();
    let events = sim.graphql(
        "query E($f: PrivateAllEventsFilter) { allEventsBatched(first: 500, filters: $f) { nodes { id title } } }",
        json!({"f": {"startOn": day, "endOn": next}}),
    );
    events["data"]["allEventsBatched"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["title"] == title)
        .count()
}

/// Creates an evening appointment with `gazellectl`, lets Gazelle apply it while its answer
/// stalls, and kills the daemon before it learns the id.
fn interrupted_evening_creation(
    sim: &SimProcess,
    sandbox: &Sandbox,
    daemon: std::process::Child,
    title: &str,
) -> String {
    let (tech, client, _) = tech_and_client(sim);
    let day = day_in_shop(1);
    ok(sandbox, &["pause"]);
    ok(
        sandbox,
        &[
            "appointments",
            "create",
            "--client",
            &client,
            "--tech",
            &tech,
            "--start",
            &format!("{day} 20:30"),
            "--title",
            title,
        ],
    );
    let (code, body) = sim.post(
        "/_sim/faults",
        &json!({"kind": "stall", "millis": 60000, "operation": "CreateEvent"}).to_string(),
        &[],
    );
    assert!(code == 200 || code == 204, "{code} {body}");
    ok(sandbox, &["resume"]);
    eventually("Gazelle applied the creation", || {
        upstream_events_titled(sim, &day, title) == 1
    });
    kill(daemon);
    day
}

fn appointment_entries_done(sandbox: &Sandbox) -> usize {
    json_of(sandbox, &["outbox", "list", "--state", "done", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entity"] == "Appointments" && e["outcome"] == "pushed")
        .count()
}

#[test]
fn an_interrupted_evening_creation_is_adopted_under_utc_date_filters_pull_first_or_not() {
    let sim = SimProcess::hostile("tiny");
    let sandbox = sandbox_for(&sim, 50, 1000);
    let daemon = start(&sandbox, 1);
    ok(&sandbox, &["force-sync", "--full", "--wait"]);

    // 2. The restarted daemon pushes first: it finds the event on the next UTC day.
    let day = interrupted_evening_creation(&sim, &sandbox, daemon, "Soirée A");
    let daemon = start(&sandbox, 2);
    eventually("the creation settled", || {
        appointment_entries_done(&sandbox) == 1
    });
    assert_eq!(
        upstream_events_titled(&sim, &day, "Soirée A"),
        1,
        "made twice upstream"
    );
    assert!(sandbox.logs().contains("adopted, not resent"));

    // 3. A pull runs before the push: the pulled row and the local one are one record.
    let day = interrupted_evening_creation(&sim, &sandbox, daemon, "Soirée B");
    let pulled = sandbox.run("gazelled", &["--sync-once", "incremental"]);
    assert!(
        pulled.status.success(),
        "{}",
        String::from_utf8_lossy(&pulled.stderr)
    );
    let daemon = start(&sandbox, 3);
    eventually("the second creation settled", || {
        appointment_entries_done(&sandbox) == 2
    });
    assert_eq!(upstream_events_titled(&sim, &day, "Soirée B"), 1);
    let rows = query(
        &sandbox,
        "SELECT ExternalId FROM Appointments WHERE Description = 'Soirée B' AND DeletedAt IS NULL",
    );
    assert_eq!(rows.len(), 1, "one row in the mirror: {rows:?}");
    assert!(rows[0][0].is_some());
    // The cycle is not stuck: a later edit goes through.
    let (_, _, piano) = tech_and_client(&sim);
    ok(
        &sandbox,
        &["piano", "edit", &piano, "--location", "Salle après"],
    );
    eventually("the piano edit pushed", || {
        sim.graphql(
            "query P($id: String!) { piano(id: $id) { location } }",
            json!({"id": piano}),
        )["data"]["piano"]["location"]
            == "Salle après"
    });
    stop(daemon);
}

#[test]
fn a_server_that_repeats_a_cursor_fails_the_stream_at_once_and_harms_no_later_run() {
    let sim = SimProcess::hostile("tiny");
    let sandbox = sandbox_for(&sim, 20, 1000);
    let daemon = start(&sandbox, 1);
    let bogus = json!({"data": {"allClients": {
        "nodes": [],
        "pageInfo": {"hasNextPage": true, "endCursor": "Ym9ndXM"},
        "totalCount": 60
    }}})
    .to_string();
    let (code, body) = sim.post(
        "/_sim/faults",
        &json!({"kind": "respond", "status": 200, "body": bogus, "operation": "Clients", "after": 1, "count": 100000})
            .to_string(),
        &[],
    );
    assert!(code == 200 || code == 204, "{code} {body}");
    let before = sim.graphql_requests();
    let out = run(&sandbox, &["force-sync", "--full", "--wait"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let asked = sim.graphql_requests() - before;
    assert!(asked < 200, "{asked} requests: the stream looped");
    assert!(
        text.contains("Clients: Gazelle's paging is inconsistent") && text.contains("Ym9ndXM"),
        "{text}"
    );
    let (code, _) = sim.delete("/_sim/faults");
    assert!(code == 200 || code == 204);
    for _ in 0..2 {
        let out = ok(&sandbox, &["force-sync", "--full", "--wait"]);
        assert!(out.contains("succeeded"), "{out}");
    }
    stop(daemon);
}

/// Under the hostile simulator and under our own guesses: the deletion is found either way,
/// for at most one request more than a run that finds nothing.
#[test]
fn an_appointment_deleted_upstream_leaves_the_mirror_after_one_incremental_run() {
    for (mode, flags) in [
        ("hostile", ["--cursors", "offset", "--date-filters", "utc"]),
        (
            "key cursors, local days",
            ["--cursors", "key", "--date-filters", "local"],
        ),
    ] {
        deleted_upstream_leaves_the_mirror(mode, &SimProcess::start_with("tiny", &flags));
    }
}

fn deleted_upstream_leaves_the_mirror(mode: &str, sim: &SimProcess) {
    let sandbox = sandbox_for(sim, 50, 1000);
    let daemon = start(&sandbox, 1);
    ok(&sandbox, &["force-sync", "--full", "--wait"]);
    // Booked in Gazelle for an evening three days ahead, seen by an incremental run.
    let (tech, client, _) = tech_and_client(sim);
    let start_at =
        jiff::civil::DateTime::from(day_in_shop(3).parse::<jiff::civil::Date>().unwrap())
            .checked_add(jiff::Span::new().hours(21))
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::get("America/Montreal").unwrap())
            .unwrap()
            .timestamp();
    let created = sim.graphql(
        "mutation C($input: PrivateEventInput!) { createEvent(input: $input) { event { id } mutationErrors { messages } } }",
        json!({"input": {"title": "Fantôme", "start": start_at.to_string(), "duration": 60,
                         "type": "APPOINTMENT", "userId": tech, "clientId": client}}),
    );
    let id = created["data"]["createEvent"]["event"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let live = format!(
        "SELECT ExternalId FROM Appointments WHERE ExternalId = '{id}' AND DeletedAt IS NULL"
    );
    ok(&sandbox, &["force-sync", "--wait"]);
    assert_eq!(ids(&sandbox, &live).len(), 1, "the pull mirrors it");

    let before = sim.graphql_requests();
    ok(&sandbox, &["force-sync", "--wait"]);
    let unchanged = sim.graphql_requests() - before;

    let (code, body) = sim.post("/_sim/records/delete", &json!({"id": id}).to_string(), &[]);
    assert!(code == 200 || code == 204, "{code} {body}");
    let before = sim.graphql_requests();
    ok(&sandbox, &["force-sync", "--wait"]);
    let with_deletion = sim.graphql_requests() - before;
    assert!(
        ids(&sandbox, &live).is_empty(),
        "a ghost stays in the mirror"
    );
    let calendar = ok(&sandbox, &["calendar", "--from", &day_in_shop(3), "--json"]);
    assert!(!calendar.contains("Fantôme"), "{calendar}");
    eprintln!(
        "{mode}: incremental run requests: {unchanged} with no change, {with_deletion} with one deleted appointment"
    );
    assert!(
        with_deletion <= unchanged + 1,
        "{with_deletion} vs {unchanged}"
    );
    stop(daemon);
}

#[test]
fn every_contact_of_every_client_is_mirrored_archived_ones_flagged() {
    let sim = SimProcess::hostile("tiny");
    let sandbox = sandbox_for(&sim, 20, 1000);
    let daemon = start(&sandbox, 1);
    ok(&sandbox, &["force-sync", "--full", "--wait"]);
    let clients = sim.graphql(
        "{ allClients(first: 1000) { nodes { id defaultContact { id } allContacts(first: 100, includeArchived: true) { nodes { id archived } } } } }",
        json!({}),
    );
    let mut all = BTreeSet::new();
    let mut archived = BTreeSet::new();
    let mut defaults = BTreeSet::new();
    for c in clients["data"]["allClients"]["nodes"].as_array().unwrap() {
        if let Some(d) = c["defaultContact"]["id"].as_str() {
            defaults.insert(d.to_owned());
        }
        for k in c["allContacts"]["nodes"].as_array().unwrap() {
            all.insert(k["id"].as_str().unwrap().to_owned());
            if k["archived"] == true {
                archived.insert(k["id"].as_str().unwrap().to_owned());
            }
        }
    }
    assert!(
        all.len() > defaults.len(),
        "the data set has clients with several contacts"
    );
    assert!(!archived.is_empty(), "and archived contacts");
    assert_eq!(
        ids(
            &sandbox,
            "SELECT ExternalId FROM Contacts WHERE DeletedAt IS NULL"
        ),
        all
    );
    assert_eq!(
        ids(
            &sandbox,
            "SELECT ExternalId FROM Contacts WHERE Archived = 1"
        ),
        archived
    );
    assert_eq!(
        ids(
            &sandbox,
            "SELECT k.ExternalId FROM Clients c JOIN Contacts k ON k.Id = c.DefaultContactId"
        ),
        defaults,
        "the default contact is still marked"
    );
    stop(daemon);
}
