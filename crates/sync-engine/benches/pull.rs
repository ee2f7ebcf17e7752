//! `make bench`: the pull sync against the floor of what it must do anyway.
//!
//! For each data set (the simulator runs as its own process, so its memory is not counted):
//!
//! 1. **floor**: every page of every stream fetched and decoded, nothing stored;
//! 2. **full sync** of the same data into a fresh database;
//! 3. an **incremental run with no upstream change**, counting requests per stream.
//!
//! Printed: both times, their ratio, rows per second, and the peak resident memory of each
//! phase (Linux: VmHWM, reset between phases through /proc/self/clear_refs). Targets (issue
//! 4): sync ≤ 1.3 × floor; peak RSS < 150 MiB and flat as the data set grows.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use api_client::documents::{self, Operation};
use api_client::model;
use api_client::{ClientOptions, Credentials, FileTokenStore, GazelleClient, TokenStore};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Map;
use store::Store;
use sync_engine::{Mode, Stream, SyncEngine, SyncSettings, Trigger};

const PAGE_SIZE: u32 = 200;

struct Sim {
    child: Child,
    url: String,
    api_key: String,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(dataset: &str) -> Sim {
    let exe = std::env::current_exe().expect("own path");
    let bin: PathBuf = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("gazelle-sim");
    assert!(
        bin.is_file(),
        "{} missing: `make bench` builds it first",
        bin.display()
    );
    let mut child = Command::new(&bin)
        .args(["--dataset", dataset, "--port", "0", "--seed", "42"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gazelle-sim");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("address line");
    let info: serde_json::Value = serde_json::from_str(&line).expect("JSON address line");
    Sim {
        child,
        url: info["listening"].as_str().expect("url").to_owned(),
        api_key: info["api_key"].as_str().expect("key").to_owned(),
    }
}

fn client(sim: &Sim) -> Arc<GazelleClient> {
    let options = ClientOptions {
        base_url: sim.url.parse().expect("url"),
        page_size: PAGE_SIZE,
        requests_per_second: 10_000,
        ..ClientOptions::default()
    };
    let tokens: Arc<dyn TokenStore> = Arc::new(FileTokenStore::new("/nonexistent"));
    Arc::new(
        GazelleClient::new(options, Credentials::ApiKey(sim.api_key.clone()), tokens)
            .expect("client"),
    )
}

/// Peak resident memory since the last reset, in MiB (Linux); None elsewhere.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Bytes this process has written through the kernel (Linux: `wchar` of /proc/self/io):
/// the database, its WAL and their checkpoints.
fn bytes_written() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))?
        .trim()
        .parse()
        .ok()
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn fetch_all<T: DeserializeOwned>(
    client: &GazelleClient,
    op: Operation,
    root: &'static str,
) -> u64 {
    let mut pages = Box::pin(client.pages::<T>(op, root, Map::new(), None));
    let mut n = 0;
    while let Some(page) = pages.next().await {
        n += page.expect("page").nodes.len() as u64;
    }
    n
}

async fn floor(client: &GazelleClient) -> u64 {
    let mut rows = client
        .list::<model::User>(documents::USERS, "allUsers")
        .await
        .expect("users")
        .len() as u64;
    rows += client
        .list::<model::CatalogueItem>(documents::CATALOGUE, "allMasterServiceItems")
        .await
        .expect("catalogue")
        .len() as u64;
    rows += fetch_all::<model::Client>(client, documents::CLIENTS, "allClients").await;
    rows += fetch_all::<model::Piano>(client, documents::PIANOS, "allPianos").await;
    rows += fetch_all::<model::Event>(client, documents::EVENTS, "allEventsBatched").await;
    rows +=
        fetch_all::<model::TimelineEntry>(client, documents::TIMELINE, "allTimelineEntries").await;
    rows += fetch_all::<model::Invoice>(client, documents::INVOICES, "allInvoices").await;
    rows
}

async fn requests(sim: &Sim) -> u64 {
    let body = reqwest_free_get(&format!("{}_sim/stats", sim.url));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["graphql_requests"].as_u64().unwrap_or(0)
}

/// A tiny HTTP GET (the bench needs one number from the control API).
fn reqwest_free_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

async fn bench(dataset: &str) {
    let sim = start_sim(dataset);
    let client = client(&sim);
    println!("\n== data set `{dataset}` (page size {PAGE_SIZE}) ==");

    // Warm the simulator's count cache so both measured phases see the same server.
    floor(&client).await;

    reset_peak_rss();
    let started = Instant::now();
    let fetched = floor(&client).await;
    let floor_secs = started.elapsed().as_secs_f64();
    let floor_rss = peak_rss_mib();

    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("bench.sqlite3"))
        .await
        .expect("store");
    let engine = SyncEngine::new(store.clone(), client.clone(), SyncSettings::default());
    reset_peak_rss();
    let written_before = bytes_written();
    let started = Instant::now();
    let report = engine
        .run(Trigger::Manual, Mode::Full, &Stream::ALL, &|_| {})
        .await
        .expect("sync");
    let sync_secs = started.elapsed().as_secs_f64();
    let sync_rss = peak_rss_mib();
    let written = bytes_written()
        .zip(written_before)
        .map(|(after, before)| after - before);
    assert_eq!(
        report.status,
        store::sync_log::RunStatus::Succeeded,
        "{report:#?}"
    );
    let stored = report.totals().rows.inserted;

    let mib = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |m| format!("{m:.0} MiB"));
    println!(
        "floor (fetch + decode)  {floor_secs:>8.2} s  {fetched:>9} records  {:>9.0} records/s  peak RSS {}",
        fetched as f64 / floor_secs,
        mib(floor_rss)
    );
    println!(
        "full sync into SQLite   {sync_secs:>8.2} s  {stored:>9} rows     {:>9.0} rows/s     peak RSS {}",
        stored as f64 / sync_secs,
        mib(sync_rss)
    );
    println!(
        "ratio sync / floor      {:>8.2}   (target ≤ 1.30)",
        sync_secs / floor_secs
    );
    let size = std::fs::metadata(dir.path().join("bench.sqlite3"))
        .map(|m| m.len())
        .unwrap_or(0)
        + std::fs::metadata(dir.path().join("bench.sqlite3-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "database size           {:>8.1} MiB   written during the sync: {}",
        size as f64 / 1_048_576.0,
        written.map_or_else(
            || "n/a".to_owned(),
            |w| format!("{:.1} GiB", w as f64 / 1_073_741_824.0)
        )
    );

    let mut per_stream = Vec::new();
    for stream in Stream::ALL {
        let before = requests(&sim).await;
        let r = engine
            .run(Trigger::Schedule, Mode::Incremental, &[stream], &|_| {})
            .await
            .expect("incremental");
        assert_eq!(r.status, store::sync_log::RunStatus::Succeeded);
        per_stream.push(format!(
            "{} {}",
            stream.name(),
            requests(&sim).await - before
        ));
    }
    println!(
        "incremental, no upstream change: requests per stream: {}",
        per_stream.join(", ")
    );
    store.close().await;
}

fn main() {
    // `cargo bench` passes `--bench`; a filter picks data sets: `cargo bench --bench pull -- small`.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for dataset in ["small", "large"] {
        if wanted.is_empty() || wanted.iter().any(|w| w == dataset) {
            runtime.block_on(bench(dataset));
        }
    }
}
