//! `make bench`: the long lists of a shop after years (issue 13): `alerts list --all` over
//! 10,000 alerts and a year of one technician's calendar as iCalendar, through the release
//! `gazellectl` and `gazelled`. For each: the time, the CLI's peak resident memory and the
//! daemon's, against the floor of the same command over a short list in the same run
//! (answers travel in parts of 500, so memory should not follow the length of the list).

use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::{Sandbox, SimProcess, proc_kib, seed_long_history, signal, wait_exit};

/// Runs the CLI to completion, output discarded: its time and its peak resident memory
/// (the high-water mark read until it exits, every 2 ms: the peak is kept by the kernel, so
/// only the last 2 ms could be missed).
fn measure(sandbox: &Sandbox, args: &[&str]) -> (Duration, Option<u64>) {
    let started = Instant::now();
    let mut child = sandbox
        .command("gazellectl")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("gazellectl");
    let mut peak = None;
    loop {
        if let Some(kib) = proc_kib(child.id(), "VmHWM") {
            peak = Some(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "gazellectl {args:?}: {status}");
            return (started.elapsed(), peak);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn main() {
    let sim = SimProcess::start("tiny");
    let sandbox = Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\nrequests_per_second = 10000",
        sim.url(),
        sim.field("api_key")
    ));
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    assert!(
        sandbox
            .run("gazellectl", &["force-sync", "--full", "--wait"])
            .status
            .success()
    );
    let (technician,): (String,) =
        sandbox.query_one("SELECT ExternalId FROM Users ORDER BY Id LIMIT 1", &[]);
    let ics = sandbox.root().join("bench.ics");
    let ics = ics.to_str().unwrap();

    // The floor: the same commands over short lists, before the history is there.
    let (floor_alerts, floor_alerts_rss) = measure(&sandbox, &["alerts", "list", "--all"]);
    let day = [
        "calendar",
        "--tech",
        &technician,
        "--from",
        "2027-01-01",
        "--days",
        "1",
        "--ics",
        ics,
    ];
    let (floor_ics, floor_ics_rss) = measure(&sandbox, &day);
    let daemon_floor = proc_kib(daemon.id(), "VmHWM");

    assert_eq!(seed_long_history(&sandbox, 10_000), technician);
    let (alerts, alerts_rss) = measure(&sandbox, &["alerts", "list", "--all"]);
    let (alerts_json, alerts_json_rss) = measure(&sandbox, &["alerts", "list", "--all", "--json"]);
    let year = [
        "calendar",
        "--tech",
        &technician,
        "--from",
        "2027-01-01",
        "--days",
        "366",
        "--ics",
        ics,
    ];
    let (year_ics, year_ics_rss) = measure(&sandbox, &year);
    let daemon_peak = proc_kib(daemon.id(), "VmHWM");

    println!("long lists (release binaries; time, gazellectl peak resident memory)");
    for (what, (time, rss)) in [
        (
            "alerts list --all, ~30 alerts",
            (floor_alerts, floor_alerts_rss),
        ),
        ("alerts list --all, 10,000", (alerts, alerts_rss)),
        (
            "alerts list --all --json, 10,000",
            (alerts_json, alerts_json_rss),
        ),
        ("calendar --ics, 1 day", (floor_ics, floor_ics_rss)),
        ("calendar --ics, 366 days (1,460)", (year_ics, year_ics_rss)),
    ] {
        println!(
            "{what:<36} {:>8.0} ms   {:>10}",
            time.as_secs_f64() * 1e3,
            mib(rss)
        );
    }
    println!(
        "gazelled peak resident memory: before the long lists {}   after them {}",
        mib(daemon_floor),
        mib(daemon_peak)
    );
    signal(&daemon, "TERM");
    wait_exit(&mut daemon, Duration::from_secs(30));
}
