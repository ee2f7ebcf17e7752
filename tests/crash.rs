//! A sync killed at random points (SIGKILL, as a process) and restarted ends identical to an
//! uninterrupted one.

use std::process::Stdio;
use std::time::Duration;

use e2e::{Sandbox, SimProcess, signal, wait_exit};

/// Every mirrored table, as text, ordered by ExternalId.
async fn dump(database: &std::path::Path) -> Vec<String> {
    use sqlx::Row as _;
    let url = format!("sqlite://{}?mode=ro", database.display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("open the database");
    let mut lines = Vec::new();
    for table in [
        "Users",
        "Products",
        "Clients",
        "Contacts",
        "Pianos",
        "Appointments",
        "OtherEvents",
        "TimelineEntries",
        "Invoices",
        "InvoiceItems",
    ] {
        let rows = sqlx::query(&format!("SELECT * FROM {table} ORDER BY ExternalId"))
            .fetch_all(&pool)
            .await
            .unwrap();
        lines.push(format!("{table}: {} rows", rows.len()));
        for row in rows {
            let cols: Vec<String> = (0..row.len())
                .map(|i| {
                    row.try_get::<Option<String>, _>(i)
                        .map(|v| v.unwrap_or_else(|| "∅".into()))
                        .or_else(|_| {
                            row.try_get::<Option<i64>, _>(i)
                                .map(|v| v.map_or("∅".into(), |n| n.to_string()))
                        })
                        .or_else(|_| {
                            row.try_get::<Option<f64>, _>(i)
                                .map(|v| v.map_or("∅".into(), |n| n.to_string()))
                        })
                        .unwrap_or_default()
                })
                .collect();
            lines.push(format!("{table}|{}", cols.join("|")));
        }
    }
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(problems, ["ok"]);
    let fk: Vec<(String,)> = sqlx::query_as(r#"SELECT "table" FROM pragma_foreign_key_check"#)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(fk.is_empty(), "foreign keys: {fk:?}");
    pool.close().await;
    lines
}

fn sandbox_for(sim: &SimProcess) -> Sandbox {
    Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\npage_size = 5\nrequests_per_second = 1000\n",
        sim.url(),
        sim.field("api_key")
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_killed_at_random_points_ends_identical_to_an_uninterrupted_one() {
    let sim = SimProcess::start("tiny");

    let reference = sandbox_for(&sim);
    let out = reference.run("gazelled", &["--sync-once", "full"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = dump(&reference.database()).await;

    let crashed = sandbox_for(&sim);
    // Kill points spread over a run (a full tiny sync at 5 rows a page is ~300 pages):
    // a fixed, varied schedule, so a failure reproduces.
    let mut killed = 0;
    for delay_ms in [40, 150, 320, 90, 600, 250, 900, 1400] {
        let mut child = crashed
            .command("gazelled")
            .args(["--sync-once", "full"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL: no chance to clean up
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert!(
        killed >= 4,
        "the schedule must actually interrupt runs (killed {killed})"
    );
    let out = crashed.run("gazelled", &["--sync-once", "full"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "succeeded");

    let got = dump(&crashed.database()).await;
    assert_eq!(
        got.len(),
        expected.len(),
        "row counts: {:?} vs {:?}",
        got.iter()
            .filter(|l| l.contains(" rows"))
            .collect::<Vec<_>>(),
        expected
            .iter()
            .filter(|l| l.contains(" rows"))
            .collect::<Vec<_>>()
    );
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g, e);
    }
}

/// The daemon killed (SIGKILL) in the middle of a full sync: the restarted daemon marks the
/// run interrupted, the next full sync starts that pass over (a saved cursor is never
/// trusted), and the mirror ends complete.
#[test]
fn a_daemon_killed_during_a_sync_ends_complete() {
    let sim = SimProcess::start("tiny");
    // Small pages, few requests a second: the full sync lasts long enough to be killed.
    let sandbox = Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\npage_size = 5\nrequests_per_second = 40\n",
        sim.url(),
        sim.field("api_key")
    ));
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    let out = sandbox.run("gazellectl", &["force-sync", "--full"]);
    assert!(out.status.success());
    // Wait for a committed page with a cursor (the run is mid-stream), then kill.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = sandbox.run("gazellectl", &["status", "--json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mid_stream = status["streams"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s["stream"] == "timeline" && !s["cursor"].is_null())
        });
        if mid_stream {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status:#}");
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&daemon, "KILL");
    wait_exit(&mut daemon, Duration::from_secs(10));

    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log_count(&mut daemon, "gazelled ready", 2);
    let out = sandbox.run("gazellectl", &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs[0]["run"]["status"], "interrupted", "{runs:#}");
    // Faster now: the rest of the sync.
    let out = sandbox.run("gazellectl", &["force-sync", "--full", "--wait"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        sandbox
            .logs()
            .contains("an interrupted pass starts again from its first page")
    );
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());

    // The mirror is complete: every timeline entry of the simulator, once.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = rt.block_on(dump(&sandbox.database()));
    let timeline = rows
        .iter()
        .filter(|r| r.starts_with("TimelineEntries|"))
        .count();
    assert_eq!(timeline, 1200, "tiny has 1,200 timeline entries");
}
