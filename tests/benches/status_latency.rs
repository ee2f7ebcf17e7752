//! `make bench`: how fast `gazellectl status` is answered while a full sync runs (issue 5:
//! p99 under 50 ms), against the floor of the same requests to an idle daemon, in one run;
//! and the daemon's resident memory: idle before, peak, right after the sync, and a minute
//! after (issue 14: at most 25 MiB then).
//!
//! The release `gazelled` runs against the release `gazelle-sim` (`small`: one shop) in a
//! temporary sandbox; the bench speaks the control protocol itself, one status request at a
//! time, 20 ms apart, and times each round trip.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use e2e::{Sandbox, SimProcess, signal, wait_exit};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

struct Connection {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Connection {
    fn open(path: &std::path::Path) -> Connection {
        let stream = UnixStream::connect(path).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Connection {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    fn ask(&mut self, request: &str) -> serde_json::Value {
        writeln!(self.writer, "{request}").unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    /// One status round trip: its latency and whether a sync was running.
    fn status(&mut self) -> (Duration, bool) {
        let started = Instant::now();
        let answer = self.ask(r#"{"request":"call","verb":"status"}"#);
        let took = started.elapsed();
        assert_eq!(answer["response"], "answer", "{answer}");
        (took, answer["data"]["sync_running"] == true)
    }
}

fn report(what: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let p99 = percentile(&samples, 99.0);
    println!(
        "{what:<28} n={:<5} p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
        samples.len(),
        percentile(&samples, 50.0).as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    p99
}

fn main() {
    let dataset = std::env::var("BENCH_DATASET").unwrap_or_else(|_| "small".into());
    let sim = SimProcess::start(&dataset);
    let sandbox = Sandbox::new(&format!(
        "[api]\nbase_url = \"{}\"\nauth = \"api-key\"\napi_key = \"{}\"\npage_size = 200\nrequests_per_second = 10000\n[logging]\nlevel = \"warn\"\n",
        sim.url(),
        sim.field("api_key")
    ));
    let mut daemon = sandbox.spawn_daemon();
    let socket = sandbox.data_dir().join("run/gazelled.sock");
    let deadline = Instant::now() + Duration::from_secs(60);
    while UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut conn = Connection::open(&socket);
    let idle_rss = memory(&daemon, "VmRSS");

    // The floor: an idle daemon.
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(conn.status().0);
        std::thread::sleep(Duration::from_millis(5));
    }

    // The same requests while a full sync of the data set runs.
    let mut trigger = Connection::open(&socket);
    let started = trigger.ask(r#"{"request":"force-sync","mode":"full"}"#);
    assert_eq!(started["response"], "sync-started", "{started}");
    let run_started = Instant::now();
    let mut busy = Vec::new();
    loop {
        let (took, running) = conn.status();
        if !running && run_started.elapsed() > Duration::from_millis(500) {
            break;
        }
        if running {
            busy.push(took);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let sync_time = run_started.elapsed();

    println!(
        "status latency, data set `{dataset}` (full sync took {:.1} s)",
        sync_time.as_secs_f64()
    );
    let floor = report("idle daemon (floor)", idle);
    let during = report("during a full sync", busy);
    println!(
        "p99 during sync / idle p99: {:.1}x   target: p99 during sync < 50 ms: {}",
        during.as_secs_f64() / floor.as_secs_f64().max(1e-6),
        if during < Duration::from_millis(50) {
            "met"
        } else {
            "NOT met"
        }
    );
    let after_rss = memory(&daemon, "VmRSS");
    // The daemon's idle timers (reader connections closed, the heap trimmed again 35 s after
    // the run) have run.
    std::thread::sleep(Duration::from_secs(60));
    // Still answering (on a new connection: the daemon closes one idle for 30 s).
    let _ = Connection::open(&socket).status();
    let minute_rss = memory(&daemon, "VmRSS");
    let peak_rss = memory(&daemon, "VmHWM");
    let mib = |kib: Option<u64>| {
        kib.map_or_else(
            || "n/a".to_owned(),
            |k| format!("{:.1} MiB", k as f64 / 1024.0),
        )
    };
    println!(
        "gazelled resident memory: idle {}   peak {}   right after the sync {}   a minute after {}   target <= 25 MiB a minute after: {}",
        mib(idle_rss),
        mib(peak_rss),
        mib(after_rss),
        mib(minute_rss),
        match minute_rss {
            Some(k) if k <= 25 * 1024 => "met",
            Some(_) => "NOT met",
            None => "not measurable here (no /proc)",
        }
    );
    signal(&daemon, "TERM");
    wait_exit(&mut daemon, Duration::from_secs(30));
}

fn memory(child: &std::process::Child, key: &str) -> Option<u64> {
    e2e::proc_kib(child.id(), key)
}
