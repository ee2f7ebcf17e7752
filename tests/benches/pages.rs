//! `make bench`: the dashboard's pages on a shop's data (`BENCH_DATASET`, default `large`:
//! ten shops' worth), as the owner sees them (everyone's day, every alert): each page asked
//! 20 times, its round trip on loopback timed, against the floor of the style sheet (a
//! static answer through the same server, in the same run). The target: every page under
//! 100 ms.
//!
//! The release `gazelled` runs against the release `gazelle-sim`; the bench speaks HTTP/1.1
//! itself, one request at a time, with the session cookie of `gazellectl open`'s link.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use e2e::{Sandbox, SimProcess, signal, wait_exit};

/// One GET: status, headers, body.
fn get(addr: &str, path: &str, cookie: Option<&str>) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn timed(addr: &str, path: &str, cookie: &str, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let started = Instant::now();
            let (status, _, body) = get(addr, path, Some(cookie));
            let took = started.elapsed();
            assert_eq!(status, 200, "{path}: {body}");
            took
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let dataset = std::env::var("BENCH_DATASET").unwrap_or_else(|_| "large".into());
    let sim = SimProcess::start(&dataset);
    let sandbox = Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\npage_size = 200\nrequests_per_second = 10000\n\
         [alerts]\nowner_email = \"owner@example.test\"\n[web]\nlisten = \"127.0.0.1:0\"\n",
        sim.url(),
        sim.field("api_key")
    ));
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    let synced = Instant::now();
    let out = sandbox.run("gazellectl", &["force-sync", "--full", "--wait"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "dataset {dataset}: synced in {:.1} s (the alerts: those the sync's own scan raised)",
        synced.elapsed().as_secs_f64()
    );

    // The owner's session, from a one-time link.
    let out = sandbox.run("gazellectl", &["open", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let url = link["url"].as_str().unwrap();
    let rest = url.strip_prefix("http://").expect("plain HTTP on loopback");
    let (addr, path) = rest.split_at(rest.find('/').unwrap());
    let (status, head, _) = get(addr, path, None);
    assert_eq!(status, 303, "{head}");
    let cookie = head
        .lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .find(|c| c.starts_with("gz_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();

    let (client,): (i64,) = sandbox.query_one(
        "SELECT ClientId FROM TimelineEntries GROUP BY ClientId ORDER BY count(*) DESC LIMIT 1",
        &[],
    );
    let busiest_day: (String,) = sandbox.query_one(
        "SELECT substr(StartAt, 1, 10) FROM Appointments GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        &[],
    );
    let pages = [
        "/today".to_owned(),
        "/tomorrow".to_owned(),
        format!("/day?day={}", busiest_day.0),
        "/week".to_owned(),
        "/alerts".to_owned(),
        "/alerts?family=environment".to_owned(),
        "/stock".to_owned(),
        "/clients?q=Montr".to_owned(),
        "/clients?q=514-555".to_owned(),
        format!("/clients/{client}"),
        "/health".to_owned(),
    ];
    let mut floor = timed(addr, "/static/app.css", &cookie, 20);
    floor.sort();
    let floor_p50 = floor[floor.len() / 2];
    println!(
        "{:<32} p50 {:>7.2} ms   max {:>7.2} ms",
        "floor: /static/app.css",
        ms(floor_p50),
        ms(*floor.last().unwrap())
    );
    let mut slowest = (String::new(), Duration::ZERO);
    for page in &pages {
        let mut samples = timed(addr, page, &cookie, 20);
        samples.sort();
        let (p50, max) = (samples[samples.len() / 2], *samples.last().unwrap());
        println!(
            "{page:<32} p50 {:>7.2} ms   max {:>7.2} ms   ×{:.0} the floor",
            ms(p50),
            ms(max),
            p50.as_secs_f64() / floor_p50.as_secs_f64().max(1e-6)
        );
        if p50 > slowest.1 {
            slowest = (page.clone(), p50);
        }
    }
    println!(
        "slowest page (p50): {} at {:.2} ms — target under 100 ms: {}",
        slowest.0,
        ms(slowest.1),
        if slowest.1 < Duration::from_millis(100) {
            "met"
        } else {
            "NOT met"
        }
    );
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(30)).success());
}
