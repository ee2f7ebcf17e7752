//! `make bench`: importing a V4 export with 200,000 timeline rows (and the clients and
//! pianos they refer to), then the same export again (the idempotent re-run).

use std::fmt::Write as _;
use std::time::Instant;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = dir.path().join("export");
    std::fs::create_dir_all(&export).expect("export dir");
    // `V4_BENCH_ENTRIES` changes the timeline's length, to see how memory grows with it.
    let entries: usize = std::env::var("V4_BENCH_ENTRIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let (clients, pianos) = (4_000, 1_000);
    let mut csv = String::from("Id,CompanyName,Status,CreatedAt\n");
    for c in 0..clients {
        let _ = writeln!(csv, "cli_{c:016},Client {c},ACTIVE,2019-03-02 14:00:00");
    }
    std::fs::write(export.join("Clients.csv"), &csv).expect("write");
    let mut csv = String::from("Id,ClientId,Make,Model,Location\n");
    for p in 0..pianos {
        let _ = writeln!(csv, "ins_{p:016},cli_{:016},Yamaha,U1,Salon", p % clients);
    }
    std::fs::write(export.join("Pianos.csv"), &csv).expect("write");
    let mut csv = String::from("Id,ClientId,PianoId,OccurredAt,EntryType,Title,Details,UserId\n");
    for t in 0..entries {
        let _ = writeln!(
            csv,
            "tme_{t:020x},cli_{:016},ins_{:016},2024-11-11 06:05:22,SERVICE_ENTRY_MANUAL,Accord,\"Accord standard, 21C, 39%\",usr_TECH01",
            t % clients,
            t % pianos
        );
    }
    std::fs::write(export.join("TimelineEntries.csv"), &csv).expect("write");
    drop(csv);
    // As `gazellectl migrate-v4` runs it: one thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = store::Store::open(&dir.path().join("v5.sqlite3"))
            .await
            .expect("store");
        let rows = (clients + pianos + entries) as f64;
        let baseline = resident_kib("VmRSS");
        reset_peak();
        let started = Instant::now();
        let report = v4_migration::migrate(&export, &store, false)
            .await
            .expect("migrate");
        let first = started.elapsed().as_secs_f64();
        let first_peak = resident_kib("VmHWM");
        assert_eq!(report.rejected(), 0);
        drop(report);
        reset_peak();
        let started = Instant::now();
        let again = v4_migration::migrate(&export, &store, false)
            .await
            .expect("migrate again");
        let second = started.elapsed().as_secs_f64();
        let second_peak = resident_kib("VmHWM");
        assert!(!again.changed());
        println!(
            "\n== V4 migration: {entries} timeline rows, {clients} clients, {pianos} pianos =="
        );
        println!(
            "first import            {first:>7.2} s   {:>9.0} rows/s   peak RSS {:>6.1} MiB",
            rows / first,
            first_peak as f64 / 1024.0
        );
        println!(
            "re-run (nothing changes){second:>7.2} s   {:>9.0} rows/s   peak RSS {:>6.1} MiB",
            rows / second,
            second_peak as f64 / 1024.0
        );
        println!(
            "resident before the import {:>6.1} MiB (runtime and the open store)",
            baseline as f64 / 1024.0
        );
    });
}

/// A line of `/proc/self/status` in KiB (`VmRSS` now, `VmHWM` the peak since the last reset);
/// 0 where there is no procfs.
fn resident_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the peak resident size to the current one (Linux: `clear_refs` 5), so each run's
/// peak is its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
