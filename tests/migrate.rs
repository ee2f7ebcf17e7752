//! `gazellectl migrate-v4` as a user runs it: import, report files, a second run that changes
//! nothing, and a refusal while the daemon runs on the same database.

use std::time::Duration;

use e2e::{Sandbox, signal, wait_exit};

fn export(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("Clients.csv"),
        "Id;CompanyName;Status\ncli_A;Salle Bourgie;ACTIVE\ncli_B;;ACTIVE\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("Pianos.csv"),
        "Id,ClientCompanyName_Reference,Make,Model\nins_1,salle bourgie,Steinway & Sons,D-274\nins_2,Nobody Inc,Yamaha,U1\n",
    )
    .unwrap();
}

#[test]
fn gazellectl_migrate_v4_imports_reports_and_is_idempotent() {
    let sandbox = Sandbox::new("");
    let dir = sandbox.root().join("export");
    export(&dir);
    let dir_arg = dir.display().to_string();

    let out = sandbox.run("gazellectl", &["migrate-v4", &dir_arg]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Clients                   2         1"),
        "{stdout}"
    );
    assert!(stdout.contains("Imported into"), "{stdout}");
    assert!(sandbox.database().is_file(), "the configured database");
    let md = std::fs::read_to_string(dir.join("migration-report.md")).unwrap();
    assert!(
        md.contains("| Clients | Clients.csv | UTF-8 | 2 | 1 | 0 | 0 | 1 |"),
        "{md}"
    );
    assert!(
        md.contains("| Clients.csv | 3 | CompanyName | no CompanyName and no FirstName/LastName |"),
        "{md}"
    );
    let rejects = std::fs::read_to_string(dir.join("migration-report.rejects.csv")).unwrap();
    assert!(rejects.contains("Nobody Inc"), "{rejects}");
    assert!(dir.join("migration-report.json").is_file());

    let again = sandbox.run("gazellectl", &["migrate-v4", &dir_arg]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("Nothing changed"));

    // With the daemon running on the same data directory: refused, nothing touched.
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    let busy = sandbox.run("gazellectl", &["migrate-v4", &dir_arg]);
    assert_eq!(busy.status.code(), Some(75));
    assert!(String::from_utf8_lossy(&busy.stderr).contains("gazelled is running"));
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());

    // A missing folder is a clear failure.
    let missing = sandbox.run("gazellectl", &["migrate-v4", "/nonexistent/export"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("is not a folder"));
}

/// The daemon and the migration take one lock, `<data_dir>/gazelled.lock`, wherever
/// `paths.database` puts the database: never two writers.
#[test]
fn the_migration_is_refused_while_the_daemon_runs_on_a_database_outside_data_dir() {
    let elsewhere = tempfile::tempdir().unwrap();
    let database = elsewhere.path().join("shop/gazelle.sqlite3");
    let sandbox = Sandbox::new(&format!("database = \"{}\"\n", database.display()));
    let dir = sandbox.root().join("export");
    export(&dir);
    let mut daemon = sandbox.spawn_daemon();
    sandbox.wait_for_log(&mut daemon, "gazelled ready");
    assert!(
        database.is_file(),
        "the daemon uses the configured database"
    );

    let busy = sandbox.run("gazellectl", &["migrate-v4", &dir.display().to_string()]);
    let stderr = String::from_utf8_lossy(&busy.stderr);
    assert_eq!(busy.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("gazelled is running"), "{stderr}");
    assert!(
        !database.parent().unwrap().join("gazelled.lock").exists(),
        "no second lock beside the database"
    );
    signal(&daemon, "TERM");
    assert!(wait_exit(&mut daemon, Duration::from_secs(10)).success());
}

/// Case 4 of the V4 issue: when the migration's own checks fail (invoice totals that do not
/// add up), it says FAIL and exits 65, with `--dry-run` as without, report written.
#[test]
fn a_failed_check_exits_65_with_or_without_dry_run() {
    let sandbox = Sandbox::new("");
    let dir = sandbox.root().join("export");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Clients.csv"), "Id,CompanyName\ncli_A,Salle A\n").unwrap();
    std::fs::write(
        dir.join("Invoices.csv"),
        "Id,ClientId,Number,InvoiceDate,SubTotal,Total\nINV1,cli_A,1,2024-11-11,10.00,10.00\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("InvoiceItems.csv"),
        "Id,InvoiceId,Description,Amount,Total\nII1,INV1,Accord,9.00,9.00\n",
    )
    .unwrap();
    let dir_arg = dir.display().to_string();
    for args in [
        vec!["migrate-v4", &dir_arg, "--dry-run"],
        vec!["migrate-v4", &dir_arg],
    ] {
        let out = sandbox.run("gazellectl", &args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(65), "{args:?}: {stdout}");
        assert!(stdout.contains("FAIL invoice totals"), "{stdout}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("the migration's checks failed"),
            "{args:?}"
        );
        assert!(dir.join("migration-report.md").is_file());
    }
}
