//! Stock movements and invoice consumption over a real SQLite store.

use managers::inventory::{Change, Inventory};
use store::records::{ClientRecord, InvoiceItemRecord, InvoiceRecord, ProductRecord};
use store::{Cents, Hundredths, Store};

async fn store_with_an_invoice(dir: &tempfile::TempDir) -> Store {
    let store = Store::open(&dir.path().join("v5.sqlite3")).await.unwrap();
    let mut tx = store.begin_write().await.unwrap();
    store::upsert(
        &mut tx,
        &[ClientRecord {
            external_id: "cli_1".into(),
            company_name: "Salle Bourgie".into(),
            status: "ACTIVE".into(),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    store::upsert(
        &mut tx,
        &[ProductRecord {
            external_id: "mit_felt".into(),
            name: "Feutres de rechange".into(),
            retail_price: Cents(1999),
            active: true,
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    let invoice = |id: &str, date: &str, status: &str| InvoiceRecord {
        external_id: id.into(),
        client_external_id: "cli_1".into(),
        number: id.into(),
        invoice_date: Some(date.parse().unwrap()),
        status: status.into(),
        assigned_to_id: Some("usr_tech".into()),
        ..Default::default()
    };
    store::upsert(
        &mut tx,
        &[
            invoice("inv_old", "2026-01-05", "PAID"),
            invoice("inv_new", "2026-11-25", "OPEN"),
            invoice("inv_draft", "2026-11-26", "DRAFT"),
        ],
    )
    .await
    .unwrap();
    let line = |id: &str, invoice: &str, description: &str, seq: i64| InvoiceItemRecord {
        external_id: id.into(),
        invoice_external_id: invoice.into(),
        description: description.into(),
        quantity: Hundredths(100),
        unit_price: Some(Cents(12000)),
        amount: Some(Cents(12000)),
        sequence_number: Some(seq),
        ..Default::default()
    };
    store::upsert(
        &mut tx,
        &[
            line("iit_1", "inv_old", "Accord", 0),
            line("iit_2", "inv_new", "Accord + réglage", 0),
            line("iit_3", "inv_new", "ACCORD du second piano", 1),
            line("iit_4", "inv_draft", "Accord", 0),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    store
}

fn config(extra: &str) -> config::Config {
    toml::from_str(extra).unwrap()
}

async fn movements(store: &Store) -> Vec<(String, i64, i64, Option<String>)> {
    sqlx::query_as("SELECT Kind, QuantityBefore, QuantityAfter, InvoiceExternalId FROM InventoryTransactions ORDER BY Id")
        .fetch_all(store.reader())
        .await
        .unwrap()
}

#[tokio::test]
async fn every_movement_is_logged_and_stock_never_goes_below_zero() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_an_invoice(&dir).await;
    let config = config("");
    let inventory = Inventory::new(&store, &config);
    let added = inventory
        .apply(
            "Feutres de rechange",
            "usr_tech",
            Change::Add(10),
            Some("commande"),
            "élise",
        )
        .await
        .unwrap();
    assert_eq!((added.before, added.after), (0, 10));
    let err = inventory
        .apply("mit_felt", "usr_tech", Change::Remove(11), None, "élise")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Feutres de rechange")
            && err.to_string().contains("only 10 in stock"),
        "{err}"
    );
    let (from, to) = inventory
        .transfer(
            "mit_felt",
            "usr_tech",
            "usr_other",
            4,
            Some("prêt"),
            "élise",
        )
        .await
        .unwrap();
    assert_eq!(
        ((from.before, from.after), (to.before, to.after)),
        ((10, 6), (0, 4))
    );
    assert!(
        inventory
            .transfer("mit_felt", "usr_tech", "usr_other", 7, None, "élise")
            .await
            .is_err(),
        "both halves or neither"
    );
    inventory
        .apply(
            "mit_felt",
            "usr_other",
            Change::Correct(3),
            Some("inventaire physique"),
            "élise",
        )
        .await
        .unwrap();
    assert!(
        inventory
            .apply("nothing", "usr_tech", Change::Add(1), None, "élise")
            .await
            .unwrap_err()
            .to_string()
            .contains("there is no product `nothing`")
    );
    let log = movements(&store).await;
    let kinds: Vec<&str> = log.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(kinds, ["add", "transfer_out", "transfer_in", "correction"]);
    let threshold: i64 = sqlx::query_scalar(
        "SELECT ReorderThreshold FROM Inventory WHERE TechnicianId = 'usr_other'",
    )
    .fetch_one(store.reader())
    .await
    .unwrap();
    assert_eq!(
        threshold, 5,
        "a new stock line gets the configured threshold"
    );
}

#[tokio::test]
async fn invoiced_work_consumes_stock_once_per_invoice() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_an_invoice(&dir).await;
    let off = config(
        "[inventory]\n[[inventory.consumption]]\nwhen = \"accord\"\nproduct = \"mit_felt\"\n",
    );
    assert_eq!(
        Inventory::new(&store, &off)
            .consume_invoiced()
            .await
            .unwrap(),
        0,
        "off without consumption_since"
    );
    let on = config(
        "[inventory]\nconsumption_since = \"2026-11-01\"\n[[inventory.consumption]]\nwhen = \"accord\"\nproduct = \"mit_felt\"\nquantity = 2\n",
    );
    let inventory = Inventory::new(&store, &on);
    inventory
        .apply("mit_felt", "usr_tech", Change::Add(3), None, "élise")
        .await
        .unwrap();
    // inv_new matches twice (two lines) but counts once; inv_old is before the date; the
    // draft is not work done.
    assert_eq!(inventory.consume_invoiced().await.unwrap(), 1);
    assert_eq!(
        inventory.consume_invoiced().await.unwrap(),
        0,
        "each invoice counted once"
    );
    let log = movements(&store).await;
    assert_eq!(
        log.last().unwrap(),
        &("consumption".to_owned(), 3, 1, Some("inv_new".to_owned()))
    );
    let bad = config(
        "[inventory]\nconsumption_since = \"2026-11-01\"\n[[inventory.consumption]]\nwhen = \"accord\"\nproduct = \"unknown\"\n",
    );
    let err = Inventory::new(&store, &bad)
        .consume_invoiced()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("inventory.consumption: there is no product `unknown`"),
        "{err}"
    );
}
