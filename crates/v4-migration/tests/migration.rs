//! The V4 migration on messy exports, into a real SQLite file.

use std::path::Path;

use store::Store;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// An export with every real-world variation and bad rows of each kind.
fn messy_export(dir: &Path) {
    // UTF-8 with a BOM, comma-separated.
    write(
        dir,
        "Users.csv",
        "\u{feff}Id,FirstName,LastName,Email,AccessLevel,IsSchedulable\nusr_TECH01,Benoît,Côté,benoit@example.test,TECHNICIAN,oui\nusr_OFFICE,Nadia,Ouellet,NULL,ASSISTANT,non\n"
            .as_bytes(),
    );
    // Windows-1252, semicolons (a French-locale Excel), a quoted field holding the delimiter
    // and a line break, an empty CompanyName, a malformed date, a duplicate id.
    let clients = "Id;CompanyName;FirstName;LastName;Status;Email;Address;CreatedAt\r\n\
cli_THEATRE;Théâtre Outremont;;;ACTIVE;info@example.test;\"1248, av. Bernard\r\nOutremont\";2019-03-02 14:00:00\r\n\
cli_SOCIETE;Société de musique;;;ACTIVE;NULL;NULL;11/03/2021\r\n\
cli_PERSON;;Élise;Bérubé;ACTIVE;;;2020-01-15T10:00:00Z\r\n\
cli_BADDATE;Mauvaise Date Inc.;;;ACTIVE;;;2024-13-45\r\n\
cli_THEATRE;Doublon;;;ACTIVE;;;\r\n\
cli_TWIN1;Les Jumeaux;;;ACTIVE;;;\r\n\
cli_TWIN2;Les Jumeaux;;;ACTIVE;;;\r\n";
    let (encoded, _, unmappable) = encoding_rs::WINDOWS_1252.encode(clients);
    assert!(!unmappable);
    write(dir, "Clients.csv", &encoded);
    // References by id, by exact name, by normalised name; ambiguous; unmatched; unknown id.
    write(
        dir,
        "Pianos.csv",
        "Id,ClientId,ClientId_Reference,ClientCompanyName_Reference,Make,Model,Year,Location\n\
ins_P1,cli_THEATRE,,,Steinway & Sons,B-211,1987,Salle\n\
ins_P2,,cli_SOCIETE,,Yamaha,U1,NULL,\n\
ins_P3,,,Théâtre Outremont,Kawai,K-300,,Foyer\n\
ins_P4,,,  theatre OUTREMONT!! ,Petrof,III,,\n\
ins_P5,,,Les Jumeaux,Baldwin,L,,\n\
ins_P6,,,Inconnu SARL,Heintzman,Upright,,\n\
ins_P7,cli_MISSING,,,Yamaha,C3,,\n\
ins_P8,cli_THEATRE,,,,U3,,\n"
            .as_bytes(),
    );
    // Money with a point and with a comma (semicolon file), a malformed amount.
    write(
        dir,
        "Invoices.csv",
        "Id;ClientId;Number;InvoiceDate;Status;SubTotal;Total\nINV1;cli_THEATRE;1001;2024-11-11;PAID;145,00;166,72\nINV2;cli_PERSON;1002;11/11/2024;UNPAID;100.10;115.09\nINV3;cli_PERSON;1003;2024-11-12;PAID;abc;12.00\n"
            .as_bytes(),
    );
    write(
        dir,
        "InvoiceItems.csv",
        "Id,InvoiceId,PianoId,Description,Quantity,Amount,UnitPrice,Total\nII1,INV1,ins_P1,Accord,1,145.00,145.00,166.72\nII2,INV2,,Pièces,\"1,5\",100.10,66.73,100.10\nII3,INV_NOPE,,Orphan,1,1.00,1.00,1.00\n"
            .as_bytes(),
    );
    write(
        dir,
        "Appointments.csv",
        "Id,ClientId,TechnicianId,PianoId,Description,StartAt,Duration,ConfirmedByClient\nevt_A1,cli_THEATRE,usr_TECH01,ins_P1,Accord,2024-11-11 20:30:00,120,True\nevt_A2,cli_THEATRE,,,Sans technicien,2024-11-12 09:00:00,60,False\n"
            .as_bytes(),
    );
    write(
        dir,
        "TimelineEntries.csv",
        "Id,ClientId,PianoId,OccurredAt,EntryType,Title,Details,UserId\ntme_1,cli_THEATRE,ins_P1,2024-11-11 06:05:22 UTC,SERVICE_ENTRY_MANUAL,Accord,\"Housse enlevée, 21C, 39%\",usr_TECH01\n"
            .as_bytes(),
    );
    write(
        dir,
        "Products.csv",
        "Id,Name,Sku,UnitCost,RetailPrice,Active\nmit_1,Accord standard,ACC-1,0.00,145.00,1\nmit_2,Housse,HOU-1,\"89,99\",189.99,oui\n".as_bytes(),
    );
    write(dir, "Inventory.csv", "ProductId,TechnicianId,Quantity,ReorderThreshold\nmit_2,usr_TECH01,3,5\nmit_9,usr_TECH01,1,5\n".as_bytes());
}

async fn store_in(dir: &Path) -> Store {
    Store::open(&dir.join("v5.sqlite3")).await.unwrap()
}

fn table<'a>(report: &'a v4_migration::Report, name: &str) -> &'a v4_migration::TableReport {
    report.tables.iter().find(|t| t.table == name).unwrap()
}

fn rejection(t: &v4_migration::TableReport, line: u64) -> &v4_migration::Rejection {
    t.rejections
        .iter()
        .find(|r| r.line == line)
        .unwrap_or_else(|| panic!("no rejection on line {line}: {:?}", t.rejections))
}

#[tokio::test]
async fn a_messy_export_is_imported_with_every_bad_row_reported() {
    let export = tempfile::tempdir().unwrap();
    messy_export(export.path());
    let db = tempfile::tempdir().unwrap();
    let store = store_in(db.path()).await;
    let report = v4_migration::migrate(export.path(), &store, false)
        .await
        .unwrap();

    let clients = table(&report, "Clients");
    assert_eq!(clients.encoding.as_deref(), Some("Windows-1252"));
    assert_eq!(clients.delimiter.as_deref(), Some(";"));
    assert_eq!(
        (clients.read, clients.imported, clients.rejected),
        (7, 5, 2),
        "{:?}",
        clients.rejections
    );
    // Line numbers are the file's: the quoted address spans lines 2 and 3.
    assert_eq!(rejection(clients, 6).column, "CreatedAt");
    assert!(
        rejection(clients, 6)
            .reason
            .contains("`2024-13-45` is not a date")
    );
    assert!(
        rejection(clients, 7)
            .reason
            .contains("duplicate Id `cli_THEATRE` (first on line 2)")
    );
    assert_eq!(
        table(&report, "Users").encoding.as_deref(),
        Some("UTF-8 with BOM")
    );

    let theatre = store::reads::client_by_external_id(store.reader(), "cli_THEATRE")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        theatre.company_name, "Théâtre Outremont",
        "accents survive Windows-1252"
    );
    assert_eq!(
        theatre.address.as_deref(),
        Some("1248, av. Bernard\r\nOutremont"),
        "quoted delimiter and line break"
    );
    let person = store::reads::client_by_external_id(store.reader(), "cli_PERSON")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        person.company_name, "Élise Bérubé",
        "named after the person"
    );
    let societe = store::reads::client_by_external_id(store.reader(), "cli_SOCIETE")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(societe.email, None, "NULL is empty");

    let pianos = table(&report, "Pianos");
    assert_eq!(
        (pianos.imported, pianos.rejected),
        (4, 4),
        "{:?}",
        pianos.rejections
    );
    assert!(
        rejection(pianos, 6)
            .reason
            .contains("ambiguous company name `Les Jumeaux`: matches cli_TWIN1, cli_TWIN2")
    );
    assert!(
        rejection(pianos, 7)
            .reason
            .contains("no client named `Inconnu SARL`")
    );
    assert_eq!(rejection(pianos, 7).column, "ClientCompanyName_Reference");
    assert_eq!(rejection(pianos, 8).column, "ClientId");
    assert!(
        rejection(pianos, 8)
            .reason
            .contains("unknown client `cli_MISSING`")
    );
    assert_eq!(rejection(pianos, 9).reason, "missing required field Make");
    let owners: Vec<(String, String)> =
        sqlx::query_as("SELECT p.ExternalId, c.ExternalId FROM Pianos p JOIN Clients c ON c.Id = p.ClientId ORDER BY 1")
            .fetch_all(store.reader())
            .await
            .unwrap();
    assert_eq!(
        owners,
        [
            ("ins_P1", "cli_THEATRE"),
            ("ins_P2", "cli_SOCIETE"),
            ("ins_P3", "cli_THEATRE"),
            ("ins_P4", "cli_THEATRE")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );

    // Money: commas and points, exact; a malformed amount rejected with its column.
    let invoices = table(&report, "Invoices");
    assert_eq!(rejection(invoices, 4).column, "SubTotal");
    let totals = store::reads::invoice_totals(store.reader(), "INV1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (totals.sub_total.0, totals.tax_total.0, totals.total.0),
        (14500, 2172, 16672)
    );
    let items = table(&report, "InvoiceItems");
    assert!(
        rejection(items, 4)
            .reason
            .contains("unknown invoice `INV_NOPE` (InvoiceId)")
    );
    let qty: i64 =
        sqlx::query_scalar("SELECT QuantityHundredths FROM InvoiceItems WHERE ExternalId = 'II2'")
            .fetch_one(store.reader())
            .await
            .unwrap();
    assert_eq!(qty, 150);

    // Times without a zone are Montréal time: 20:30 stays on its day.
    let start: String =
        sqlx::query_scalar("SELECT StartAt FROM Appointments WHERE ExternalId = 'evt_A1'")
            .fetch_one(store.reader())
            .await
            .unwrap();
    assert_eq!(start, "2024-11-12T01:30:00Z");
    assert_eq!(
        rejection(table(&report, "Appointments"), 3).reason,
        "missing required field TechnicianId"
    );
    let details: String = sqlx::query_scalar("SELECT Details FROM TimelineEntries")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(details, "Housse enlevée, 21C, 39%");

    // Local-only product fields, and stock.
    let (sku, cost): (String, i64) =
        sqlx::query_as("SELECT Sku, UnitCostCents FROM Products WHERE ExternalId = 'mit_2'")
            .fetch_one(store.reader())
            .await
            .unwrap();
    assert_eq!((sku.as_str(), cost), ("HOU-1", 8999));
    assert!(
        rejection(table(&report, "Inventory"), 3)
            .reason
            .contains("unknown product `mit_9`")
    );

    // Validation verdicts, and every read row accounted for.
    // Validation: references and counts hold; INV2's total (115.09) does not match its only
    // line (100.10), and the report says so.
    for v in report
        .validation
        .iter()
        .filter(|v| v.check != "invoice totals")
    {
        assert!(v.ok, "{v:?}");
    }
    let totals_check = report
        .validation
        .iter()
        .find(|v| v.check == "invoice totals")
        .unwrap();
    assert!(!totals_check.ok);
    assert_eq!(
        totals_check.detail,
        "1 invoices differ from their items, e.g. INV2: 115.09 vs 100.10"
    );
    assert!(report.changed());
    assert_eq!(store.check_integrity().await.unwrap(), Vec::<String>::new());

    // The report files: Markdown, JSON and the rejects, with each rejected row whole.
    let md = export.path().join("out/report.md");
    let (json, rejects) = v4_migration::report::write_all(&report, &md).unwrap();
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(
        markdown.contains("| Clients | Clients.csv | Windows-1252 | 7 | 5 | 0 | 0 | 2 |"),
        "{markdown}"
    );
    let parsed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(parsed["tables"][1]["rejected"], 2);
    let rows: Vec<Vec<String>> = std::fs::read_to_string(&rejects)
        .unwrap()
        .parse::<String>()
        .map(|text| {
            let mut reader = csv_reader(&text);
            reader
                .records()
                .map(|r| r.unwrap().iter().map(str::to_owned).collect())
                .collect()
        })
        .unwrap();
    assert_eq!(
        rows.len(),
        report.rejected() as usize,
        "one record per rejected row"
    );
    let unmatched = rows
        .iter()
        .find(|r| r[0] == "Pianos.csv" && r[1] == "7")
        .unwrap();
    assert_eq!(unmatched[2], "ClientCompanyName_Reference");
    assert!(
        unmatched[4].contains("Inconnu SARL") && unmatched[4].contains("Heintzman"),
        "the whole row is kept"
    );
}

#[tokio::test]
async fn a_second_run_changes_nothing_and_a_dry_run_writes_nothing() {
    let export = tempfile::tempdir().unwrap();
    messy_export(export.path());
    let db = tempfile::tempdir().unwrap();
    let store = store_in(db.path()).await;

    let dry = v4_migration::migrate(export.path(), &store, true)
        .await
        .unwrap();
    assert!(dry.changed(), "a dry run reports what it would do");
    let counts = store::reads::table_counts(store.reader()).await.unwrap();
    assert!(
        counts.iter().all(|c| c.rows == 0),
        "but writes nothing: {counts:?}"
    );

    let first = v4_migration::migrate(export.path(), &store, false)
        .await
        .unwrap();
    let second = v4_migration::migrate(export.path(), &store, false)
        .await
        .unwrap();
    assert!(first.changed());
    assert!(!second.changed(), "{:?}", second.tables);
    for (a, b) in first.tables.iter().zip(&second.tables) {
        assert_eq!(b.unchanged, a.imported + a.updated, "{}", a.table);
        assert_eq!(b.rejected, a.rejected, "{}", a.table);
    }
    assert!(
        v4_migration::report::to_markdown(&second).contains("nothing changed (already imported)")
    );
}

#[tokio::test]
async fn a_fatal_error_leaves_the_database_as_it_was() {
    let export = tempfile::tempdir().unwrap();
    messy_export(export.path());
    let db = tempfile::tempdir().unwrap();
    let store = store_in(db.path()).await;
    // A file late in the order without its Id column: everything before it is rolled back.
    write(
        export.path(),
        "MaintenanceAlerts.csv",
        b"Client,Date\ncli_THEATRE,2024-01-01\n",
    );
    let err = v4_migration::migrate(export.path(), &store, false)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("MaintenanceAlerts.csv: no `Id` column"),
        "{err}"
    );
    let counts = store::reads::table_counts(store.reader()).await.unwrap();
    assert!(
        counts.iter().all(|c| c.rows == 0),
        "nothing was imported: {counts:?}"
    );
    assert!(
        v4_migration::migrate(&export.path().join("nope"), &store, false)
            .await
            .is_err()
    );
}

fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    csv::Reader::from_reader(text.as_bytes())
}
