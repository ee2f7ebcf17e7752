//! Log files: written, flushed on drop, pruned to the retention count, secrets redacted.

use std::fs;

use config::{Logging, Secret};

fn log_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gazelled.") && n.ends_with(".log"))
        .collect();
    names.sort();
    names
}

#[test]
fn lines_reach_the_daily_file_and_secrets_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("nested/logs");
    let telemetry = telemetry::build(&Logging::default(), &logs, false).unwrap();
    let secret = Secret::new("generated-client-secret-1234");
    tracing::subscriber::with_default(telemetry.subscriber, || {
        tracing::info!(?secret, "sync started");
        tracing::debug!("below the default level");
    });
    drop(telemetry.guard); // flushes

    let files = log_files(&logs);
    assert_eq!(files.len(), 1, "{files:?}");
    let today = files[0]
        .trim_start_matches("gazelled.")
        .trim_end_matches(".log");
    assert_eq!(today.len(), 10, "dated file name: {}", files[0]);
    let text = fs::read_to_string(logs.join(&files[0])).unwrap();
    assert!(text.contains("sync started"), "{text}");
    assert!(text.contains("secret=[redacted]"), "{text}");
    assert!(
        !text.contains("generated-client-secret-1234"),
        "a secret reached the log"
    );
    assert!(
        !text.contains("below the default level"),
        "the level filter applies"
    );
}

#[test]
fn old_files_beyond_the_retention_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    for day in 1..=6 {
        let path = dir.path().join(format!("gazelled.2025-01-0{day}.log"));
        fs::write(path, "old\n").unwrap();
    }
    fs::write(dir.path().join("unrelated.txt"), "kept").unwrap();
    let logging = Logging {
        retention_days: 3,
        ..Logging::default()
    };
    let telemetry = telemetry::build(&logging, dir.path(), false).unwrap();
    drop(telemetry);
    let files = log_files(dir.path());
    assert_eq!(
        files.len(),
        3,
        "keeps the retention count, today's included: {files:?}"
    );
    // Which old files go is decided by their creation time, which a test cannot backdate;
    // today's file, just created, always stays.
    assert_eq!(
        files
            .iter()
            .filter(|f| !f.starts_with("gazelled.2025-"))
            .count(),
        1,
        "{files:?}"
    );
    assert!(
        dir.path().join("unrelated.txt").exists(),
        "other files are never touched"
    );
}

#[test]
fn an_unwritable_log_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    fs::write(&file, "x").unwrap();
    let err = telemetry::build(&Logging::default(), &file.join("logs"), false)
        .err()
        .unwrap();
    assert!(
        err.to_string().starts_with(&format!(
            "cannot create the log directory {}",
            file.join("logs").display()
        )),
        "{err}"
    );
}
