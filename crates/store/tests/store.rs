//! The store against a real SQLite file in a temporary directory.

// Literal one-record batches (`&[record.clone()]`) and row tuples read better here than
// `slice::from_ref` and type aliases.
#![allow(clippy::cloned_ref_to_slice_refs, clippy::type_complexity)]

use jiff::Timestamp;
use jiff::civil::date;
use store::inventory::{StockRecord, upsert_stock};
use store::reads;
use store::records::*;
use store::sync_log::{self, Mode, RunStatus, StreamCounts, Trigger};
use store::{Action, Cents, Counts, Hundredths, Store, upsert};

fn ts(text: &str) -> Option<Timestamp> {
    Some(text.parse().expect("test timestamp"))
}

async fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    // A nested directory that does not exist yet: `open` creates it.
    let store = Store::open(&dir.path().join("data/v5.sqlite3"))
        .await
        .expect("open");
    (dir, store)
}

fn client(id: &str, company: &str) -> ClientRecord {
    ClientRecord {
        external_id: id.into(),
        company_name: company.into(),
        first_name: Some("Élise".into()),
        last_name: Some("Bérubé".into()),
        status: "ACTIVE".into(),
        default_contact_external_id: Some(format!("con_{}", &id[4..])),
        email: Some("elise@example.test".into()),
        created_at: ts("2019-03-02T14:00:00Z"),
        updated_at: ts("2025-12-01T10:00:00Z"),
        ..Default::default()
    }
}

fn piano(id: &str, client: &str) -> PianoRecord {
    PianoRecord {
        external_id: id.into(),
        client_external_id: client.into(),
        make: "Yamaha".into(),
        model: Some("U1".into()),
        piano_type: Some("UPRIGHT".into()),
        year: Some(1987),
        location: Some("Salon".into()),
        has_humidity_control: true,
        ..Default::default()
    }
}

async fn upsert_all<R: store::upsert::Upstream>(
    store: &Store,
    records: &[R],
) -> store::BatchReport {
    let mut tx = store.begin_write().await.unwrap();
    let report = upsert(&mut tx, records).await.unwrap();
    tx.commit().await.unwrap();
    report
}

fn actions(report: &store::BatchReport) -> Vec<Action> {
    report.outcomes.iter().map(|o| o.action.clone()).collect()
}

#[tokio::test]
async fn migrations_run_on_an_empty_file_and_again_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.sqlite3");
    let store = Store::open(&path).await.unwrap();
    upsert_all(&store, &[client("cli_AAAAAAAAAAAAAAAA", "Salle Bourgie")]).await;
    store.close().await;

    // Re-open: migrations are recorded, nothing re-runs, data survives.
    let store = Store::open(&path).await.unwrap();
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = 1")
            .fetch_one(store.reader())
            .await
            .unwrap();
    assert_eq!(applied, store::open::MIGRATOR.iter().count() as i64);
    let c = reads::client_by_external_id(store.reader(), "cli_AAAAAAAAAAAAAAAA")
        .await
        .unwrap();
    assert_eq!(c.unwrap().company_name, "Salle Bourgie");
    assert_eq!(store.check_integrity().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn the_database_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, _store) = fresh().await;
    let mode = std::fs::metadata(dir.path().join("data"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[tokio::test]
async fn connections_use_wal_foreign_keys_and_normal_sync() {
    let (_dir, store) = fresh().await;
    let mut conn = store.begin_write().await.unwrap();
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        (journal.as_str(), fk, sync),
        ("wal", 1, 1),
        "WAL, foreign keys on, synchronous=NORMAL"
    );
    assert!(busy >= 1000, "busy timeout {busy} ms");
    drop(conn);
    let reader_fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(reader_fk, 1);
}

/// Every column of the migration plan exists with its constraint.
#[tokio::test]
async fn schema_has_the_plan_tables_and_columns() {
    let (_dir, store) = fresh().await;
    // (table, column, not null, default)
    let plan: &[(&str, &[(&str, bool, Option<&str>)])] = &[
        (
            "Clients",
            &[
                ("Id", false, None),
                ("CompanyName", true, None),
                ("FirstName", false, None),
                ("LastName", false, None),
                ("Status", true, Some("'ACTIVE'")),
                ("Tags", false, None),
                ("DefaultContactId", false, None),
                ("Email", false, None),
                ("Phone", false, None),
                ("Address", false, None),
                ("CreatedAt", false, None),
                ("UpdatedAt", false, None),
                ("ExternalId", false, None),
            ],
        ),
        (
            "Contacts",
            &[
                ("ClientId", true, None),
                ("FirstName", false, None),
                ("LastName", false, None),
                ("Email", false, None),
                ("Phone", false, None),
                ("ExternalId", false, None),
            ],
        ),
        (
            "Pianos",
            &[
                ("ClientId", true, None),
                ("Make", true, None),
                ("Model", false, None),
                ("SerialNumber", false, None),
                ("Type", false, None),
                ("Year", false, None),
                ("Location", false, None),
                ("Notes", false, None),
                ("ExternalId", false, None),
            ],
        ),
        (
            "MaintenanceAlerts",
            &[
                ("ClientId", true, None),
                ("PianoId", false, None),
                ("DateObservation", true, None),
                ("Location", false, None),
                ("AlertType", true, None),
                ("Description", false, None),
                ("IsResolved", false, Some("0")),
                ("ResolvedDate", false, None),
                ("Archived", false, Some("0")),
                ("Notes", false, None),
                ("RecipientEmail", false, None),
                ("CreatedBy", false, None),
                ("CreatedAt", false, None),
                ("UpdatedAt", false, None),
                ("ExternalId", false, None),
            ],
        ),
        (
            "Products",
            &[
                ("Name", true, None),
                ("Sku", false, None),
                ("Description", false, None),
                ("UnitCost", false, Some("0")),
                ("RetailPrice", false, Some("0")),
                ("Active", false, Some("1")),
                ("CreatedAt", false, None),
                ("ExternalId", false, None),
            ],
        ),
        (
            "Inventory",
            &[
                ("ProductId", true, None),
                ("TechnicianId", true, None),
                ("Quantity", false, Some("0")),
                ("ReorderThreshold", false, Some("0")),
                ("UpdatedAt", false, None),
            ],
        ),
        (
            "Invoices",
            &[
                ("ClientId", true, None),
                ("Number", true, None),
                ("InvoiceDate", true, None),
                ("Status", true, Some("'UNPAID'")),
                ("SubTotal", true, Some("0")),
                ("Total", true, Some("0")),
                ("Notes", false, None),
                ("CreatedAt", false, None),
                ("DueOn", false, None),
                ("ExternalId", false, None),
            ],
        ),
        (
            "InvoiceItems",
            &[
                ("InvoiceId", true, None),
                ("PianoId", false, None),
                ("Description", true, None),
                ("Quantity", true, Some("1")),
                ("Amount", false, None),
                ("UnitPrice", false, None),
                ("Total", true, Some("0")),
            ],
        ),
        (
            "Appointments",
            &[
                ("ClientId", true, None),
                ("TechnicianId", true, None),
                ("PianoId", false, None),
                ("Description", false, None),
                ("AppointmentStatus", true, Some("'ACTIVE'")),
                ("EventType", true, Some("'APPOINTMENT'")),
                ("StartAt", true, None),
                ("Duration", false, None),
                ("IsAllDay", false, Some("0")),
                ("Notes", false, None),
                ("ConfirmedByClient", false, Some("0")),
                ("ExternalId", false, None),
            ],
        ),
        (
            "TimelineEntries",
            &[
                ("ClientId", true, None),
                ("PianoId", false, None),
                ("InvoiceId", false, None),
                ("EstimateId", false, None),
                ("OccurredAt", true, None),
                ("EntryType", true, None),
                ("Title", false, None),
                ("Details", false, None),
                ("UserId", false, None),
                ("ExternalId", false, None),
            ],
        ),
    ];
    for (table, columns) in plan {
        let info: Vec<(String, i64, Option<String>)> =
            sqlx::query_as("SELECT name, \"notnull\", dflt_value FROM pragma_table_info(?1)")
                .bind(table)
                .fetch_all(store.reader())
                .await
                .unwrap();
        for (column, not_null, default) in *columns {
            let found = info.iter().find(|(name, _, _)| name == column);
            let (_, nn, dflt) = found.unwrap_or_else(|| panic!("{table}.{column} is missing"));
            assert_eq!(*nn == 1, *not_null, "{table}.{column} NOT NULL");
            assert_eq!(dflt.as_deref(), *default, "{table}.{column} DEFAULT");
        }
    }
    // The plan's indexes (ExternalId is indexed by its UNIQUE constraint).
    let indexed: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, ii.name FROM sqlite_master m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii
         WHERE m.type = 'table'",
    )
    .fetch_all(store.reader())
    .await
    .unwrap();
    for (table, column) in [
        ("Clients", "ExternalId"),
        ("Clients", "Status"),
        ("MaintenanceAlerts", "ClientId"),
        ("MaintenanceAlerts", "IsResolved"),
        ("Invoices", "ClientId"),
        ("Invoices", "Status"),
        ("Pianos", "ClientId"),
        ("Appointments", "ClientId"),
        ("Appointments", "StartAt"),
        ("Pianos", "ExternalId"),
        ("TimelineEntries", "ExternalId"),
        ("Products", "Sku"),
    ] {
        assert!(
            indexed.iter().any(|(t, c)| t == table && c == column),
            "no index on {table}.{column}"
        );
    }
}

#[tokio::test]
async fn upsert_round_trip_for_every_table() {
    let (_dir, store) = fresh().await;
    let user = UserRecord {
        external_id: "usr_TECH000000000001".into(),
        first_name: Some("Benoît".into()),
        last_name: Some("Lévesque".into()),
        email: Some("benoit@example.test".into()),
        status: Some("ACTIVE".into()),
        access_level: Some("TECHNICIAN".into()),
        is_schedulable: true,
        timezone: Some("America/Montreal".into()),
        ..Default::default()
    };
    let c = client("cli_AAAAAAAAAAAAAAAA", "Théâtre Outremont");
    let contact = ContactRecord {
        external_id: "con_AAAAAAAAAAAAAAAA".into(),
        client_external_id: c.external_id.clone(),
        first_name: Some("Élise".into()),
        email: Some("elise@example.test".into()),
        ..Default::default()
    };
    let p = piano("ins_AAAAAAAAAAAAAAAA", &c.external_id);
    let product = ProductRecord {
        external_id: "mit_AAAAAAAAAAAAAAAA".into(),
        name: "Accord standard".into(),
        retail_price: Cents(14500),
        active: true,
        ..Default::default()
    };
    let invoice = InvoiceRecord {
        external_id: "inv_AAAAAAAAAAAAAAAA".into(),
        client_external_id: c.external_id.clone(),
        number: "1042".into(),
        invoice_date: Some(date(2025, 11, 3)),
        status: "OPEN".into(),
        sub_total: Cents(14500),
        tax_total: Cents(2172),
        total: Cents(16672),
        ..Default::default()
    };
    let item = InvoiceItemRecord {
        external_id: "iit_AAAAAAAAAAAAAAAA".into(),
        invoice_external_id: invoice.external_id.clone(),
        piano_external_id: Some(p.external_id.clone()),
        description: "Accord".into(),
        quantity: Hundredths(100),
        unit_price: Some(Cents(14500)),
        amount: Some(Cents(14500)),
        tax_total: Cents(2172),
        total: Cents(16672),
        taxable: true,
        billable: true,
        ..Default::default()
    };
    let appointment = AppointmentRecord {
        external_id: "evt_AAAAAAAAAAAAAAAA".into(),
        client_external_id: c.external_id.clone(),
        technician_id: user.external_id.clone(),
        piano_external_id: Some(p.external_id.clone()),
        description: Some("Accord".into()),
        status: "ACTIVE".into(),
        event_type: "APPOINTMENT".into(),
        start_at: ts("2026-01-15T01:30:00Z"), // 20:30 in Montreal the day before
        duration_minutes: Some(120),
        ..Default::default()
    };
    let entry = TimelineEntryRecord {
        external_id: "tme_0123456789abcdef0123".into(),
        client_external_id: c.external_id.clone(),
        piano_external_id: Some(p.external_id.clone()),
        occurred_at: ts("2025-10-01T13:00:00Z"),
        entry_type: "SERVICE_ENTRY_MANUAL".into(),
        title: Some("Accord".into()),
        details: Some("Housse enlevée, 21C 39%".into()),
        user_id: Some(user.external_id.clone()),
        ..Default::default()
    };
    let alert = MaintenanceAlertRecord {
        external_id: "tme_0123456789abcdef0123:cover".into(),
        client_external_id: c.external_id.clone(),
        piano_external_id: Some(p.external_id.clone()),
        date_observation: Some(date(2025, 10, 1)),
        alert_type: "cover".into(),
        description: Some("housse enlevée".into()),
        ..Default::default()
    };

    // Twice: inserted, then unchanged.
    for expected in [Action::Inserted, Action::Unchanged] {
        assert_eq!(
            actions(&upsert_all(&store, &[user.clone()]).await),
            [expected.clone()]
        );
        assert_eq!(
            actions(&upsert_all(&store, &[c.clone()]).await),
            [expected.clone()]
        );
        assert_eq!(
            actions(&upsert_all(&store, &[contact.clone()]).await),
            [expected.clone()]
        );
        assert_eq!(
            actions(&upsert_all(&store, &[p.clone()]).await),
            [expected.clone()]
        );
        assert_eq!(
            actions(&upsert_all(&store, &[product.clone()]).await),
            [expected.clone()]
        );
        assert_eq!(
            actions(&upsert_all(&store, &[invoice.clone()]).await),
            [expected.clone()]
        );
        assert_eq!(
            actions(&upsert_all(&store, &[item.clone()]).await),
            [expected.clone()]
        );
        assert_eq!(
            actions(&upsert_all(&store, &[appointment.clone()]).await),
            [expected.clone()]
        );
        assert_eq!(
            actions(&upsert_all(&store, &[entry.clone()]).await),
            [expected.clone()]
        );
        assert_eq!(
            actions(&upsert_all(&store, &[alert.clone()]).await),
            [expected.clone()]
        );
    }

    // Edited upstream: updated, and the new values are read back.
    let mut p2 = p.clone();
    p2.location = Some("Studio B".into());
    p2.year = None;
    assert_eq!(actions(&upsert_all(&store, &[p2]).await), [Action::Updated]);
    let client_row = reads::client_by_external_id(store.reader(), &c.external_id)
        .await
        .unwrap()
        .unwrap();
    let pianos = reads::pianos_of_client(store.reader(), client_row.id)
        .await
        .unwrap();
    assert_eq!(pianos.len(), 1);
    assert_eq!(pianos[0].location.as_deref(), Some("Studio B"));
    assert_eq!(pianos[0].year, None);
    assert!(pianos[0].has_humidity_control);

    // Foreign keys resolved to local ids, the default contact linked by the trigger.
    let contact_id: i64 =
        sqlx::query_scalar("SELECT Id FROM Contacts WHERE ExternalId = 'con_AAAAAAAAAAAAAAAA'")
            .fetch_one(store.reader())
            .await
            .unwrap();
    assert_eq!(client_row.default_contact_id, Some(contact_id));
    let (appt_client, appt_piano, start): (i64, i64, String) =
        sqlx::query_as("SELECT ClientId, PianoId, StartAt FROM Appointments")
            .fetch_one(store.reader())
            .await
            .unwrap();
    assert_eq!((appt_client, appt_piano), (client_row.id, pianos[0].id));
    assert_eq!(start, "2026-01-15T01:30:00Z");
    let totals = reads::invoice_totals(store.reader(), &invoice.external_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (totals.total, totals.items_total),
        (Cents(16672), Cents(16672))
    );

    // Inventory, keyed by (product, technician).
    let stock = StockRecord {
        product_external_id: product.external_id.clone(),
        technician_id: user.external_id.clone(),
        quantity: Some(12),
        reorder_threshold: Some(5),
        updated_at: None,
    };
    let mut tx = store.begin_write().await.unwrap();
    assert_eq!(
        upsert_stock(&mut tx, &stock).await.unwrap().action,
        Action::Inserted
    );
    assert_eq!(
        upsert_stock(&mut tx, &stock).await.unwrap().action,
        Action::Unchanged
    );
    let fewer = StockRecord {
        quantity: Some(3),
        ..stock.clone()
    };
    assert_eq!(
        upsert_stock(&mut tx, &fewer).await.unwrap().action,
        Action::Updated
    );
    let unknown = StockRecord {
        product_external_id: "mit_NOPE".into(),
        ..stock.clone()
    };
    assert_eq!(
        upsert_stock(&mut tx, &unknown).await.unwrap().action,
        Action::Rejected(
            "unknown product `mit_NOPE` (ProductId): the parent is not in the database".into()
        )
    );
    tx.commit().await.unwrap();

    let counts = reads::table_counts(store.reader()).await.unwrap();
    assert!(
        counts.iter().all(|c| c.rows == 1 && c.deleted == 0),
        "{counts:?}"
    );
    assert_eq!(store.check_integrity().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn children_of_unknown_parents_are_rejected_with_a_reason() {
    let (_dir, store) = fresh().await;
    upsert_all(&store, &[client("cli_AAAAAAAAAAAAAAAA", "Conservatoire")]).await;
    let report = upsert_all(
        &store,
        &[
            piano("ins_OK00000000000001", "cli_AAAAAAAAAAAAAAAA"),
            piano("ins_ORPHAN0000000001", "cli_MISSING000000001"),
            PianoRecord {
                make: String::new(),
                ..piano("ins_NOMAKE0000000001", "cli_AAAAAAAAAAAAAAAA")
            },
            piano("", "cli_AAAAAAAAAAAAAAAA"),
        ],
    )
    .await;
    assert_eq!(
        actions(&report),
        [
            Action::Inserted,
            Action::Rejected(
                "unknown client `cli_MISSING000000001` (ClientId): the parent is not in the database".into()
            ),
            Action::Rejected("missing required field Make".into()),
            Action::Rejected("empty ExternalId".into()),
        ]
    );
    assert_eq!(
        report.counts(),
        Counts {
            inserted: 1,
            updated: 0,
            unchanged: 0,
            rejected: 3,
            conflicts: 0,
        }
    );
    assert_eq!(report.rejected().count(), 3);

    // An optional parent not known yet: stored as NULL with a warning, then linked by a later
    // pull once the parent exists.
    let appt = AppointmentRecord {
        external_id: "evt_LATEPIANO0000001".into(),
        client_external_id: "cli_AAAAAAAAAAAAAAAA".into(),
        technician_id: "usr_TECH000000000001".into(),
        piano_external_id: Some("ins_LATE000000000001".into()),
        status: "ACTIVE".into(),
        event_type: "APPOINTMENT".into(),
        start_at: ts("2026-02-01T15:00:00Z"),
        ..Default::default()
    };
    let report = upsert_all(&store, &[appt.clone()]).await;
    assert_eq!(report.outcomes[0].action, Action::Inserted);
    assert_eq!(
        report.outcomes[0].warnings,
        ["unknown piano `ins_LATE000000000001` (PianoId) stored as empty until it is pulled"]
    );
    upsert_all(
        &store,
        &[piano("ins_LATE000000000001", "cli_AAAAAAAAAAAAAAAA")],
    )
    .await;
    let report = upsert_all(&store, &[appt]).await;
    assert_eq!(report.outcomes[0].action, Action::Updated);
    let piano_id: Option<i64> = sqlx::query_scalar("SELECT PianoId FROM Appointments")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert!(piano_id.is_some());
}

#[tokio::test]
async fn local_only_columns_survive_an_upstream_upsert() {
    let (_dir, store) = fresh().await;
    let c = client("cli_AAAAAAAAAAAAAAAA", "Salle Pierre-Mercure");
    upsert_all(&store, &[c.clone()]).await;
    let p = piano("ins_AAAAAAAAAAAAAAAA", &c.external_id);
    upsert_all(&store, &[p.clone()]).await;
    let mut tx = store.begin_write().await.unwrap();
    sqlx::query("UPDATE Clients SET LocalNotes = 'Clé chez le concierge', LocalTags = 'vip'")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE Pianos SET LocalNotes = 'Pédale grince'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut edited = c.clone();
    edited.company_name = "Salle Pierre-Mercure (UQAM)".into();
    edited.tags = Some("institutional".into());
    assert_eq!(
        actions(&upsert_all(&store, &[edited]).await),
        [Action::Updated]
    );
    let mut p2 = p.clone();
    p2.notes = Some("Upstream notes".into());
    assert_eq!(actions(&upsert_all(&store, &[p2]).await), [Action::Updated]);

    let row = reads::client_by_external_id(store.reader(), &c.external_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.company_name, "Salle Pierre-Mercure (UQAM)");
    assert_eq!(row.local_notes.as_deref(), Some("Clé chez le concierge"));
    assert_eq!(row.local_tags.as_deref(), Some("vip"));
    let local: String = sqlx::query_scalar("SELECT LocalNotes FROM Pianos")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(local, "Pédale grince");
}

#[tokio::test]
async fn a_tombstoned_row_that_reappears_is_restored() {
    let (_dir, store) = fresh().await;
    let c = client("cli_AAAAAAAAAAAAAAAA", "Église Saint-Jean");
    upsert_all(&store, &[c.clone()]).await;
    let mut tx = store.begin_write().await.unwrap();
    sqlx::query("UPDATE Clients SET DeletedAt = '2026-01-01T00:00:00Z'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        reads::table_counts(store.reader()).await.unwrap()[1].deleted,
        1
    );
    assert_eq!(actions(&upsert_all(&store, &[c]).await), [Action::Updated]);
    assert_eq!(
        reads::table_counts(store.reader()).await.unwrap()[1].deleted,
        0
    );
}

#[tokio::test]
async fn money_is_stored_and_summed_exactly() {
    let (_dir, store) = fresh().await;
    upsert_all(&store, &[client("cli_AAAAAAAAAAAAAAAA", "Café Théâtre")]).await;
    let invoice = InvoiceRecord {
        external_id: "inv_MONEY00000000001".into(),
        client_external_id: "cli_AAAAAAAAAAAAAAAA".into(),
        number: "7".into(),
        invoice_date: Some(date(2025, 1, 1)),
        status: "PAID".into(),
        sub_total: "0.30".parse().unwrap(),
        total: "0.30".parse().unwrap(),
        ..Default::default()
    };
    upsert_all(&store, &[invoice]).await;
    let line = |n: u8, amount: &str| InvoiceItemRecord {
        external_id: format!("iit_MONEY0000000000{n}"),
        invoice_external_id: "inv_MONEY00000000001".into(),
        description: format!("Ligne {n}"),
        quantity: "1.5".parse().unwrap(),
        unit_price: Some(amount.parse().unwrap()),
        amount: Some(amount.parse().unwrap()),
        total: amount.parse().unwrap(),
        ..Default::default()
    };
    upsert_all(&store, &[line(1, "0.10"), line(2, "0.20")]).await;

    let totals = reads::invoice_totals(store.reader(), "inv_MONEY00000000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(totals.items_total, Cents(30));
    assert_eq!(totals.items_total, totals.total);
    // Summing the integer column in SQL is exact too.
    let exact: bool = sqlx::query_scalar("SELECT SUM(TotalCents) = 30 FROM InvoiceItems")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert!(exact);
    // The legacy dollar columns are derived from the cents and cannot diverge from them.
    let (dollars, quantity, hundredths): (f64, f64, i64) = sqlx::query_as(
        "SELECT Total, Quantity, QuantityHundredths FROM InvoiceItems ORDER BY Id LIMIT 1",
    )
    .fetch_one(store.reader())
    .await
    .unwrap();
    assert_eq!((dollars, quantity, hundredths), (0.1, 1.5, 150));
    let mut tx = store.begin_write().await.unwrap();
    let diverge = sqlx::query("UPDATE InvoiceItems SET Total = 99")
        .execute(&mut *tx)
        .await;
    assert!(
        diverge.is_err(),
        "the CHECK constraint keeps Total = TotalCents / 100"
    );
    // Large amounts survive without rounding.
    let big = InvoiceRecord {
        external_id: "inv_BIG0000000000001".into(),
        client_external_id: "cli_AAAAAAAAAAAAAAAA".into(),
        number: "8".into(),
        invoice_date: Some(date(2025, 1, 2)),
        status: "OPEN".into(),
        total: Cents(123_456_789_012_345),
        ..Default::default()
    };
    upsert(&mut tx, &[big]).await.unwrap();
    tx.commit().await.unwrap();
    let totals = reads::invoice_totals(store.reader(), "inv_BIG0000000000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(totals.total, Cents(123_456_789_012_345));
}

#[tokio::test]
async fn a_rolled_back_page_leaves_neither_data_nor_cursor() {
    let (_dir, store) = fresh().await;
    let mut tx = store.begin_write().await.unwrap();
    let run = sync_log::begin_run(&mut tx, Trigger::Manual, Mode::Full)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // A page and its cursor, committed together.
    let mut tx = store.begin_write().await.unwrap();
    let report = upsert(&mut tx, &[client("cli_PAGE100000000001", "Page un")])
        .await
        .unwrap();
    sync_log::save_cursor(&mut tx, "clients", Mode::Full, Some("cursor-1"), run)
        .await
        .unwrap();
    sync_log::add_stream_counts(
        &mut tx,
        run,
        "clients",
        StreamCounts {
            fetched: 1,
            deleted: 0,
            rows: report.counts(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // The next page is interrupted before commit: neither its rows nor its cursor remain.
    let mut tx = store.begin_write().await.unwrap();
    upsert(&mut tx, &[client("cli_PAGE200000000001", "Page deux")])
        .await
        .unwrap();
    sync_log::save_cursor(&mut tx, "clients", Mode::Full, Some("cursor-2"), run)
        .await
        .unwrap();
    drop(tx);

    let state = sync_log::stream_state(store.reader(), "clients")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.cursor.as_deref(), Some("cursor-1"));
    assert!(
        reads::client_by_external_id(store.reader(), "cli_PAGE200000000001")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        reads::client_by_external_id(store.reader(), "cli_PAGE100000000001")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn the_run_log_records_counts_and_caps_errors() {
    let (_dir, store) = fresh().await;
    let mut tx = store.begin_write().await.unwrap();
    let run = sync_log::begin_run(&mut tx, Trigger::Schedule, Mode::Incremental)
        .await
        .unwrap();
    let page = StreamCounts {
        fetched: 100,
        deleted: 1,
        rows: Counts {
            inserted: 90,
            updated: 5,
            unchanged: 4,
            rejected: 1,
            conflicts: 0,
        },
    };
    sync_log::add_stream_counts(&mut tx, run, "pianos", page)
        .await
        .unwrap();
    sync_log::add_stream_counts(&mut tx, run, "pianos", page)
        .await
        .unwrap();
    let cost = sync_log::StreamCost {
        duration_ms: 812,
        requests: 3,
        bytes_received: 41_000,
    };
    sync_log::record_stream_cost(&mut tx, run, "pianos", cost)
        .await
        .unwrap();
    // A stream that failed before its first page still gets its line, after the first.
    sync_log::record_stream_cost(&mut tx, run, "events", sync_log::StreamCost::default())
        .await
        .unwrap();
    // A line written without a cost (a run logged before costs were measured).
    sync_log::add_stream_counts(&mut tx, run, "timeline", page)
        .await
        .unwrap();
    let errors: Vec<String> = (0..80).map(|i| format!("error {i}")).collect();
    sync_log::finish_run(
        &mut tx,
        run,
        RunStatus::Partial,
        std::time::Duration::from_millis(1234),
        &errors,
        &["unavailable"],
    )
    .await
    .unwrap();
    sync_log::finish_stream(&mut tx, "pianos", None)
        .await
        .unwrap();
    sync_log::finish_stream(&mut tx, "clients", Some("HTTP 503"))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let runs = sync_log::recent_runs(store.reader(), 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (
            runs[0].status.as_str(),
            runs[0].trigger.as_str(),
            runs[0].mode.as_str()
        ),
        ("partial", "schedule", "incremental")
    );
    assert!(runs[0].finished_at.is_some());
    assert_eq!(
        runs[0].duration_ms,
        Some(1234),
        "the caller's measured duration, in ms"
    );
    let kept: Vec<String> = serde_json::from_str(&runs[0].errors).unwrap();
    assert_eq!(kept.len(), sync_log::MAX_ERRORS_PER_RUN + 1);
    assert_eq!(kept.last().unwrap(), "… and 30 more errors");
    let streams = sync_log::run_streams(store.reader(), run).await.unwrap();
    assert_eq!(streams.len(), 3);
    assert_eq!(
        (streams[2].stream.as_str(), streams[2].cost),
        ("timeline", None)
    );
    assert_eq!(streams[0].stream, "pianos");
    assert_eq!(streams[0].counts.fetched, 200);
    assert_eq!(streams[0].counts.rows.inserted, 180);
    assert_eq!(streams[0].cost, Some(cost));
    assert_eq!(streams[1].stream, "events");
    assert_eq!(streams[1].counts.fetched, 0);
    let states = sync_log::stream_states(store.reader()).await.unwrap();
    assert_eq!(states.len(), 2);
    assert_eq!(states[0].last_error.as_deref(), Some("HTTP 503"));
    assert!(states[1].last_success_at.is_some());

    // A run left `running` by a dead process is marked interrupted at the next start.
    let mut tx = store.begin_write().await.unwrap();
    sync_log::begin_run(&mut tx, Trigger::Manual, Mode::Full)
        .await
        .unwrap();
    assert_eq!(sync_log::interrupt_stale_runs(&mut tx).await.unwrap(), 1);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn readers_see_the_last_commit_while_a_write_is_open() {
    let (_dir, store) = fresh().await;
    upsert_all(&store, &[client("cli_AAAAAAAAAAAAAAAA", "Avant")]).await;
    let mut tx = store.begin_write().await.unwrap();
    let mut edited = client("cli_AAAAAAAAAAAAAAAA", "Après");
    edited.status = "INACTIVE".into();
    upsert(&mut tx, &[edited]).await.unwrap();
    // The write is open and holds the lock; a reader is not blocked and sees the old row.
    let seen = reads::client_by_external_id(store.reader(), "cli_AAAAAAAAAAAAAAAA")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.company_name, "Avant");
    tx.commit().await.unwrap();
    let seen = reads::client_by_external_id(store.reader(), "cli_AAAAAAAAAAAAAAAA")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (seen.company_name.as_str(), seen.status.as_str()),
        ("Après", "INACTIVE")
    );
    let backlog = reads::backlog(store.reader()).await.unwrap();
    assert_eq!(backlog, reads::Backlog::default());
}

#[tokio::test]
async fn a_row_with_a_pending_local_edit_is_kept_and_the_divergence_recorded_once() {
    let (_dir, store) = fresh().await;
    let c = client("cli_AAAAAAAAAAAAAAAA", "Salle Bourgie");
    upsert_all(&store, &[c.clone()]).await;
    let id = reads::client_by_external_id(store.reader(), &c.external_id)
        .await
        .unwrap()
        .unwrap()
        .id;
    // A local edit, with its outbox entry, in one transaction.
    let mut tx = store.begin_write().await.unwrap();
    sqlx::query("UPDATE Clients SET Phone = '514-555-0000' WHERE Id = ?1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO Outbox (Operation, Entity, LocalId, Payload, IdempotencyKey, CreatedAt, UpdatedAt)
         VALUES ('update', 'Clients', ?1, '{}', 'k1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    )
    .bind(id)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // The same upstream version: nothing to say.
    assert_eq!(
        actions(&upsert_all(&store, &[c.clone()]).await),
        [Action::Conflict],
        "local phone differs from upstream"
    );
    let mut upstream = c.clone();
    upstream.company_name = "Salle Bourgie (MBAM)".into();
    for _ in 0..2 {
        let report = upsert_all(&store, &[upstream.clone()]).await;
        assert_eq!(actions(&report), [Action::Conflict]);
        assert_eq!(report.counts().conflicts, 1);
    }
    let row = reads::client_by_external_id(store.reader(), &c.external_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.company_name.as_str(), row.phone.as_deref()),
        ("Salle Bourgie", Some("514-555-0000")),
        "local edit kept"
    );
    let conflicts: Vec<(String, String)> =
        sqlx::query_as("SELECT Fields, RemoteVersion FROM Conflicts ORDER BY Id")
            .fetch_all(store.reader())
            .await
            .unwrap();
    assert_eq!(
        conflicts.len(),
        2,
        "one per distinct upstream version, not one per pull"
    );
    assert!(
        conflicts[1].0.contains("CompanyName") && conflicts[1].0.contains("Phone"),
        "{:?}",
        conflicts[1]
    );
    assert!(conflicts[1].1.contains("Salle Bourgie (MBAM)"));

    // Once pushed, pulls apply again.
    let mut tx = store.begin_write().await.unwrap();
    sqlx::query("UPDATE Outbox SET State = 'done'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        actions(&upsert_all(&store, &[upstream]).await),
        [Action::Updated]
    );
}

#[tokio::test]
async fn a_complete_scan_tombstones_what_it_did_not_see_and_holds_mass_deletions() {
    use store::reconcile::{self, MassChange};
    let (_dir, store) = fresh().await;
    let clients: Vec<ClientRecord> = (0..20)
        .map(|n| client(&format!("cli_{n:016}"), &format!("Client {n}")))
        .collect();
    upsert_all(&store, &clients).await;
    let mut tx = store.begin_write().await.unwrap();
    let run = sync_log::begin_run(&mut tx, Trigger::Schedule, Mode::Reconcile)
        .await
        .unwrap();
    // The scan sees 17 of 20: 3 were deleted upstream.
    reconcile::record_seen(
        &mut tx,
        "clients",
        clients[..17].iter().map(|c| c.external_id.as_str()),
    )
    .await
    .unwrap();
    let unseen = reconcile::unseen(&mut tx, "clients", &CLIENTS)
        .await
        .unwrap();
    assert_eq!(unseen.ids.len(), 3);
    assert_eq!(
        reconcile::hold_or_apply(&mut tx, "clients", &unseen, 10, run)
            .await
            .unwrap(),
        MassChange::Apply
    );
    assert_eq!(
        reconcile::tombstone_unseen(&mut tx, "clients", &CLIENTS)
            .await
            .unwrap(),
        3
    );
    // A second sweep finds nothing new.
    assert!(
        reconcile::unseen(&mut tx, "clients", &CLIENTS)
            .await
            .unwrap()
            .ids
            .is_empty()
    );

    // Next scan sees only 2: 15 deletions at once is held, not applied...
    reconcile::clear_seen(&mut tx, "clients").await.unwrap();
    reconcile::record_seen(
        &mut tx,
        "clients",
        clients[..2].iter().map(|c| c.external_id.as_str()),
    )
    .await
    .unwrap();
    let unseen = reconcile::unseen(&mut tx, "clients", &CLIENTS)
        .await
        .unwrap();
    assert_eq!(
        reconcile::hold_or_apply(&mut tx, "clients", &unseen, 10, run)
            .await
            .unwrap(),
        MassChange::Held { count: 15 }
    );
    // ... until a later run sees the very same set.
    assert_eq!(
        reconcile::hold_or_apply(&mut tx, "clients", &unseen, 10, run)
            .await
            .unwrap(),
        MassChange::Apply
    );
    assert_eq!(
        reconcile::tombstone_unseen(&mut tx, "clients", &CLIENTS)
            .await
            .unwrap(),
        15
    );
    tx.commit().await.unwrap();
    let counts = reads::table_counts(store.reader()).await.unwrap();
    assert_eq!(
        (counts[1].rows, counts[1].deleted),
        (20, 18),
        "tombstoned, never deleted"
    );
}

#[tokio::test]
async fn a_batch_with_the_same_id_twice_inserts_then_updates() {
    let (_dir, store) = fresh().await;
    let first = client("cli_TWICE00000000001", "Première version");
    let second = client("cli_TWICE00000000001", "Seconde version");
    let others: Vec<ClientRecord> = (0..150)
        .map(|n| client(&format!("cli_{n:016}"), "Autre"))
        .collect();
    let mut batch = vec![first];
    batch.extend(others);
    batch.push(second);
    let report = upsert_all(&store, &batch).await;
    assert_eq!(report.outcomes[0].action, Action::Inserted);
    assert_eq!(report.outcomes[151].action, Action::Updated);
    assert_eq!(report.outcomes[0].id, report.outcomes[151].id);
    assert!(report.outcomes.iter().all(|o| o.id.is_some()));
    // Every reported id is the row's (the ids of a multi-row insert are derived, not read).
    for outcome in &report.outcomes {
        let id: i64 = sqlx::query_scalar("SELECT Id FROM Clients WHERE ExternalId = ?1")
            .bind(&outcome.external_id)
            .fetch_one(store.reader())
            .await
            .unwrap();
        assert_eq!(outcome.id, Some(id), "{}", outcome.external_id);
    }
    let row = reads::client_by_external_id(store.reader(), "cli_TWICE00000000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.company_name, "Seconde version");
    assert_eq!(report.counts().inserted, 151);
}

/// An entry left `in_flight` (a push that never finished) is not touched while a push could
/// still be sending it; past `STUCK_IN_FLIGHT_MINUTES` a person may retry it (its `SentAt`
/// kept, so a creation is looked for before being made again) or discard it.
#[tokio::test]
async fn an_entry_stuck_in_flight_can_be_retried_or_discarded_but_not_a_fresh_one() {
    use store::outbox::{self, NewEntry, STUCK_IN_FLIGHT_MINUTES};
    let (_dir, store) = fresh().await;
    let mut ids = Vec::new();
    let mut tx = store.begin_write().await.unwrap();
    for local_id in [1, 2] {
        let entry = NewEntry {
            operation: "create",
            entity: "Appointments",
            local_id,
            action: None,
            payload: serde_json::json!({"title": "Accord"}),
            base_updated_at: None,
            depends_on: None,
        };
        let id = outbox::enqueue(&mut tx, &entry).await.unwrap();
        outbox::mark_in_flight(&mut tx, id).await.unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();

    // Just sent: neither a retry nor a discard may race the push.
    let mut tx = store.begin_write().await.unwrap();
    let refused = outbox::discard(&mut tx, ids[0])
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("stuck in flight"), "{refused}");
    assert!(outbox::retry(&mut tx, ids[0], None).await.is_err());
    let listed = outbox::list(store.reader(), None, 10).await.unwrap();
    assert!(listed.iter().all(|e| !e.is_stuck()), "{listed:?}");
    tx.rollback().await.unwrap();

    // The push stopped long ago.
    let long_ago = store::time::utc_text(
        Timestamp::now() - jiff::SignedDuration::from_mins(STUCK_IN_FLIGHT_MINUTES + 1),
    );
    let mut tx = store.begin_write().await.unwrap();
    sqlx::query("UPDATE Outbox SET UpdatedAt = ?1")
        .bind(&long_ago)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let listed = outbox::list(store.reader(), None, 10).await.unwrap();
    assert!(listed.iter().all(|e| e.is_stuck()), "{listed:?}");

    let mut tx = store.begin_write().await.unwrap();
    outbox::retry(&mut tx, ids[0], None).await.unwrap();
    outbox::discard(&mut tx, ids[1]).await.unwrap();
    tx.commit().await.unwrap();
    let retried = outbox::entry(store.reader(), ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retried.state, "pending");
    assert!(
        retried.sent_at.is_some(),
        "a retried creation is looked for first"
    );
    let discarded = outbox::entry(store.reader(), ids[1])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (discarded.state.as_str(), discarded.outcome.as_deref()),
        ("done", Some("discarded"))
    );
}

/// The dashboard's client search goes through the trigram index: any part of a name, phone,
/// e-mail or address, case and accents ignored, kept in step with changes; a serial number
/// exactly.
#[tokio::test]
async fn client_search_finds_parts_of_names_phones_and_cities_and_follows_changes() {
    let (_dir, store) = fresh().await;
    let mut montreal = client("cli_1", "Conservatoire de musique");
    montreal.phone = Some("514-555-0123".into());
    montreal.address = Some("4750 av. Henri-Julien, Montréal QC".into());
    let mut laval = client("cli_2", "École Saint-Maxime");
    laval.address = Some("3700 boul. Lévesque, Laval QC".into());
    upsert_all(&store, &[montreal.clone(), laval]).await;
    let mut p = piano("ins_1", "cli_2");
    p.serial_number = Some("6230001".into());
    upsert_all(&store, &[p]).await;
    let names = |q: &'static str| {
        let store = store.clone();
        async move {
            store::web::search_clients(store.reader(), q, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.company_name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names("montreal").await,
        ["Conservatoire de musique"],
        "accents ignored"
    );
    assert_eq!(
        names("ECOLE").await,
        ["École Saint-Maxime"],
        "case and accents"
    );
    assert_eq!(
        names("555-01").await,
        ["Conservatoire de musique"],
        "part of a phone"
    );
    assert_eq!(
        names("6230001").await,
        ["École Saint-Maxime"],
        "a serial number"
    );
    assert!(names("623000").await.is_empty(), "a serial number is exact");
    assert_eq!(names("QC").await.len(), 2, "two characters: scanned");
    assert!(
        names("\"quoted\" OR x").await.is_empty(),
        "FTS syntax is text"
    );
    // A client that moves is found at the new address only.
    montreal.address = Some("100 rue Principale, Sherbrooke QC".into());
    montreal.updated_at = ts("2026-01-01T00:00:00Z");
    upsert_all(&store, &[montreal]).await;
    assert!(names("Henri-Julien").await.is_empty());
    assert_eq!(names("sherbrooke").await, ["Conservatoire de musique"]);
}
