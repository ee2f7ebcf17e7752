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
    // V4 knows one piano per appointment: it is the appointment's (only) piano link.
    let pianos: Vec<String> = sqlx::query_scalar(
        "SELECT ap.PianoExternalId FROM AppointmentPianos ap \
         JOIN Appointments a ON a.Id = ap.AppointmentId WHERE a.ExternalId = 'evt_A1'",
    )
    .fetch_all(store.reader())
    .await
    .unwrap();
    assert_eq!(pianos, ["ins_P1"]);
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

/// Every file of a report accounts for each row it read, and names every rejection.
fn assert_accounted(report: &v4_migration::Report) {
    for t in report.tables.iter().filter(|t| t.file.is_some()) {
        assert_eq!(
            t.read,
            t.imported + t.updated + t.unchanged + t.rejected,
            "{}: read = imported + updated + unchanged + rejected",
            t.table
        );
        assert_eq!(t.rejected as usize, t.rejections.len(), "{}", t.table);
        for r in &t.rejections {
            assert!(
                r.line > 1 && !r.reason.is_empty() && !r.raw.is_empty(),
                "{r:?}"
            );
        }
    }
    assert!(report.valid(), "{:?}", report.validation);
}

async fn one_text(store: &Store, sql: &str) -> Option<String> {
    sqlx::query_scalar(sql)
        .fetch_optional(store.reader())
        .await
        .unwrap()
        .flatten()
}

/// The cases 1, 3 and 5, and a bad value of every other kind: each rejects its row,
/// named by column; nothing is stored with a default in place of what could not be read.
#[tokio::test]
async fn every_unreadable_value_rejects_its_row_and_names_its_column() {
    let export = tempfile::tempdir().unwrap();
    let dir = export.path();
    write(
        dir,
        "Users.csv",
        b"Id,FirstName,AccessLevel,IsSchedulable\nusr_T1,Luc,TECHNICIAN,oui\nusr_T2,Eve,technician,peut-etre\nusr_T3,Max,CHEF,1\n",
    );
    write(
        dir,
        "Clients.csv",
        b"Id,CompanyName,Status\ncli_A,Salle A,ACTIVE\ncli_SHORT,Salle B\ncli_LONG,Salle C,ACTIVE,extra\n",
    );
    write(
        dir,
        "Products.csv",
        b"Id,Name,Sku,UnitCost,RetailPrice\nmit_OK,Accord,ACC-1,12.50,145.00\nmit_BAD,Housse,HOU-1,douze,189.99\nmit_HUGE,Piano,PNO-1,1.00,99999999999.00\n",
    );
    write(
        dir,
        "Inventory.csv",
        b"Id,ProductId,TechnicianId,Quantity,ReorderThreshold,UpdatedAt\n1,mit_OK,usr_T1,3,5,2023-06-01 09:30:00\n2,mit_OK,usr_T1,4,5,2023-06-02 09:30:00\n3,mit_OK,usr_T3,-2,5,\n",
    );
    write(
        dir,
        "Invoices.csv",
        b"Id,ClientId,Number,InvoiceDate,Status,SubTotal,Total\nINV1,cli_A,1,11/11/2024,PAID,10.00,10.00\nINV_D,cli_A,2,257/01/2024,PAID,1.00,1.00\nINV_M,cli_A,3,01/257/2024,PAID,1.00,1.00\nINV_A,cli_A,4,31/04/2024,PAID,1.00,1.00\nINV_S,cli_A,5,2024-01-01,PAYEE,1.00,1.00\n",
    );
    write(
        dir,
        "InvoiceItems.csv",
        b"Id,InvoiceId,Description,Quantity,Amount,Total\nII1,INV1,Accord,1,10.00,10.00\nII2,INV1,Cordes,beaucoup,1.00,1.00\n",
    );
    write(
        dir,
        "Appointments.csv",
        b"Id,ClientId,TechnicianId,StartAt,Duration,EventType\nevt_1,cli_A,usr_T1,2024-11-11 09:00:00,60,APPOINTMENT\nevt_2,cli_A,usr_T1,2024-11-12 09:00:00,60,RENDEZVOUS\nevt_3,cli_A,usr_T1,2024-11-13 09:00:00,9223372036854775807,APPOINTMENT\n",
    );
    let db = tempfile::tempdir().unwrap();
    let store = store_in(db.path()).await;
    let report = v4_migration::migrate(dir, &store, false).await.unwrap();
    assert_accounted(&report);

    let rejected = |file: &str, line: u64, column: &str, says: &str| {
        let r = rejection(table(&report, file), line);
        assert_eq!(r.column, column, "{r:?}");
        assert!(r.reason.contains(says), "{r:?}");
    };
    // Case 1: `douze` is not money: the row is rejected, nothing of it stored.
    rejected("Products", 3, "UnitCost", "douze");
    assert_eq!(
        one_text(
            &store,
            "SELECT Name FROM Products WHERE ExternalId = 'mit_BAD'"
        )
        .await,
        None
    );
    assert_eq!(
        one_text(
            &store,
            "SELECT Sku || ' ' || UnitCostCents FROM Products WHERE ExternalId = 'mit_OK'"
        )
        .await
        .as_deref(),
        Some("ACC-1 1250")
    );
    rejected("Products", 4, "RetailPrice", "largest amount");
    // Case 5: a day or month beyond its range is refused, not wrapped into another date.
    rejected("Invoices", 3, "InvoiceDate", "257/01/2024");
    rejected("Invoices", 4, "InvoiceDate", "01/257/2024");
    rejected("Invoices", 5, "InvoiceDate", "31/04/2024");
    rejected("Invoices", 6, "Status", "PAYEE");
    rejected("InvoiceItems", 3, "Quantity", "beaucoup");
    rejected("Users", 3, "IsSchedulable", "peut-etre");
    rejected("Users", 4, "AccessLevel", "CHEF");
    rejected("Appointments", 3, "EventType", "RENDEZVOUS");
    rejected("Appointments", 4, "Duration", "outside");
    // Rows of the wrong length.
    rejected("Clients", 3, "", "2 fields where the header has 3");
    rejected("Clients", 4, "", "4 fields where the header has 3");
    // Stock: a duplicate line, a negative quantity.
    rejected("Inventory", 3, "ProductId, TechnicianId", "duplicate");
    rejected("Inventory", 4, "Quantity", "`-2` is outside 0–1000000");
    assert_eq!(
        one_text(
            &store,
            "SELECT Status FROM Users WHERE ExternalId = 'usr_T2'"
        )
        .await,
        None,
        "the rejected user is not stored"
    );
    assert_eq!(
        one_text(
            &store,
            "SELECT AccessLevel FROM Users WHERE ExternalId = 'usr_T1'"
        )
        .await
        .as_deref(),
        Some("TECHNICIAN")
    );
    // Case 3: the stock line's time is the file's, not the import's.
    assert_eq!(
        one_text(&store, "SELECT UpdatedAt FROM Inventory")
            .await
            .as_deref(),
        Some("2023-06-01T13:30:00Z")
    );
    // The V4 row number of a stock line has no V5 home: said so.
    let inventory = table(&report, "Inventory");
    assert_eq!(inventory.dropped_columns.len(), 1, "{inventory:?}");
    assert_eq!(inventory.dropped_columns[0].column, "Id");
    assert!(
        v4_migration::report::to_markdown(&report)
            .contains("| Inventory.csv | Id | V4's row number")
    );
}

/// Case 2: a file cut inside a quoted field stops the migration, naming the file and the
/// offset, and the database keeps what it had.
#[tokio::test]
async fn a_truncated_file_is_fatal_and_changes_nothing() {
    let export = tempfile::tempdir().unwrap();
    let dir = export.path();
    let whole = "Id,CompanyName,Address,CreatedAt,UpdatedAt\ncli_A,Salle A,\"1 rue A\nMontréal\",2019-03-02 14:00:00,2020-01-01 10:00:00\ncli_B,Salle B,\"2 rue B\nLaval\",2019-03-02 14:00:00,2020-01-01 10:00:00\n";
    write(dir, "Clients.csv", whole.as_bytes());
    let db = tempfile::tempdir().unwrap();
    let store = store_in(db.path()).await;
    assert_accounted(&v4_migration::migrate(dir, &store, false).await.unwrap());

    // The same export cut in the middle of the second address, and a second file that is
    // fine: nothing of either is written.
    let cut = whole.find("Laval").unwrap();
    write(dir, "Clients.csv", &whole.as_bytes()[..cut]);
    write(dir, "Pianos.csv", b"Id,ClientId,Make\nins_1,cli_A,Yamaha\n");
    let err = v4_migration::migrate(dir, &store, false).await.unwrap_err();
    let opened = whole.find("\"2 rue B").unwrap();
    let message = err.to_string();
    assert!(
        message.contains("Clients.csv")
            && message.contains(&format!(
                "ends inside a quoted field opened at byte {opened} (line 4)"
            )),
        "{message}"
    );
    let b = one_text(
        &store,
        "SELECT Address || '|' || CreatedAt || '|' || UpdatedAt FROM Clients WHERE ExternalId = 'cli_B'",
    )
    .await;
    assert_eq!(
        b.as_deref(),
        Some("2 rue B\nLaval|2019-03-02T19:00:00Z|2020-01-01T15:00:00Z")
    );
    assert_eq!(
        one_text(&store, "SELECT Make FROM Pianos").await,
        None,
        "nothing of the run was written"
    );
}

/// A UTF-8 file with one byte that is not UTF-8 is damaged, not Windows-1252: importing it
/// as Windows-1252 would turn every accent of the file into two wrong letters.
#[tokio::test]
async fn a_stray_byte_in_a_utf8_file_is_fatal_with_its_offset() {
    let export = tempfile::tempdir().unwrap();
    let dir = export.path();
    let mut bytes = "Id,CompanyName\ncli_A,Théâtre\ncli_B,Caf"
        .as_bytes()
        .to_vec();
    let offset = bytes.len();
    bytes.extend_from_slice(b"\xE9\ncli_C,Salle\n");
    write(dir, "Clients.csv", &bytes);
    let db = tempfile::tempdir().unwrap();
    let store = store_in(db.path()).await;
    let err = v4_migration::migrate(dir, &store, false).await.unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "Clients.csv: not valid UTF-8 at byte {offset} (line 3)"
        )),
        "{err}"
    );
    // With a byte-order mark the file says it is UTF-8: the same.
    let mut with_bom = b"\xEF\xBB\xBFId,CompanyName\ncli_B,Caf".to_vec();
    with_bom.extend_from_slice(b"\xE9\n");
    write(dir, "Clients.csv", &with_bom);
    let err = v4_migration::migrate(dir, &store, false).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("not valid UTF-8 at byte 27 (line 2)"),
        "{err}"
    );
    assert_eq!(
        one_text(&store, "SELECT CompanyName FROM Clients").await,
        None
    );

    // A whole file in Windows-1252 is still read as such.
    let (encoded, _, _) = encoding_rs::WINDOWS_1252.encode("Id,CompanyName\ncli_B,Café\n");
    write(dir, "Clients.csv", &encoded);
    let report = v4_migration::migrate(dir, &store, false).await.unwrap();
    assert_eq!(
        table(&report, "Clients").encoding.as_deref(),
        Some("Windows-1252")
    );
    assert_eq!(
        one_text(&store, "SELECT CompanyName FROM Clients")
            .await
            .as_deref(),
        Some("Café")
    );
}

/// A corrected file that carries fewer columns updates only what it carries.
#[tokio::test]
async fn a_file_without_a_column_leaves_that_column_as_it_was() {
    let export = tempfile::tempdir().unwrap();
    let dir = export.path();
    write(
        dir,
        "Clients.csv",
        b"Id,CompanyName,Phone,Address,CreatedAt\ncli_A,Salle A,514-555-0100,1 rue A,2019-03-02\n",
    );
    write(
        dir,
        "Products.csv",
        b"Id,Name,Sku,UnitCost\nmit_1,Accord,ACC-1,12.50\n",
    );
    let db = tempfile::tempdir().unwrap();
    let store = store_in(db.path()).await;
    assert_accounted(&v4_migration::migrate(dir, &store, false).await.unwrap());

    write(
        dir,
        "Clients.csv",
        b"Id,CompanyName,Phone,Adress\ncli_A,Salle A,514-555-0199,faute de frappe\n",
    );
    write(dir, "Products.csv", b"Id,Name\nmit_1,Accord standard\n");
    let report = v4_migration::migrate(dir, &store, false).await.unwrap();
    assert_accounted(&report);
    let clients = table(&report, "Clients");
    assert_eq!(clients.updated, 1);
    assert!(
        clients.absent_columns.iter().any(|c| c == "Address")
            && clients.absent_columns.iter().any(|c| c == "CreatedAt"),
        "{:?}",
        clients.absent_columns
    );
    assert_eq!(
        clients.dropped_columns,
        vec![v4_migration::DroppedColumn {
            column: "Adress".into(),
            reason: "not a column of V4's Clients table: not imported".into()
        }]
    );
    assert_eq!(
        one_text(
            &store,
            "SELECT Phone || '|' || Address || '|' || CreatedAt FROM Clients"
        )
        .await
        .as_deref(),
        Some("514-555-0199|1 rue A|2019-03-02T05:00:00Z")
    );
    assert_eq!(
        one_text(
            &store,
            "SELECT Name || '|' || Sku || '|' || UnitCostCents FROM Products"
        )
        .await
        .as_deref(),
        Some("Accord standard|ACC-1|1250")
    );
}

/// Long files are read in batches: every row of a file longer than one batch is accounted
/// for, and a bad row deep in it is reported with its own line.
#[tokio::test]
async fn a_file_longer_than_a_batch_is_read_whole_with_lines_right() {
    let export = tempfile::tempdir().unwrap();
    let dir = export.path();
    let mut csv = String::from("Id,CompanyName,Address,CreatedAt\r\n");
    let rows = v4_migration::BATCH * 2 + 17;
    for i in 0..rows {
        // Every row's address spans two lines (CRLF inside quotes).
        let created = if i == rows - 3 {
            "2024-02-30"
        } else {
            "2024-02-01"
        };
        csv.push_str(&format!(
            "cli_{i},Client {i},\"{i} rue\r\nVille\",{created}\r\n"
        ));
    }
    write(dir, "Clients.csv", csv.as_bytes());
    let db = tempfile::tempdir().unwrap();
    let store = store_in(db.path()).await;
    let report = v4_migration::migrate(dir, &store, false).await.unwrap();
    assert_accounted(&report);
    let clients = table(&report, "Clients");
    assert_eq!(
        (clients.read, clients.imported, clients.rejected),
        (rows as u64, rows as u64 - 1, 1)
    );
    // Header on line 1, row i on lines 2 + 2i and 3 + 2i.
    let bad = rejection(clients, 2 + 2 * (rows as u64 - 3));
    assert_eq!(bad.column, "CreatedAt");
}
