//! The detectors over a real store filled by a real pull from the simulator: each raises what
//! it should, queues its e-mail in the same transaction, and creates nothing new when run
//! again.

use std::sync::Arc;
use std::time::Duration;

use alerts::detect::Detectors;
use api_client::{ClientOptions, Credentials, FileTokenStore, GazelleClient, TokenStore};
use gazelle_sim::faults::{Endpoint, Fault, FaultKind};
use gazelle_sim::model::Event;
use gazelle_sim::{Simulator, Size};
use jiff::Timestamp;
use store::Store;
use sync_engine::{Mode, Stream, SyncEngine, SyncSettings, Trigger};

struct Setup {
    sim: Simulator,
    store: Store,
    client: Arc<GazelleClient>,
    engine: SyncEngine,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let sim = gazelle_sim::start(Size::Tiny, 5).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("v5.sqlite3")).await.unwrap();
    let key = gazelle_sim::server::lock(&sim.state.auth)
        .credentials
        .api_key
        .clone();
    let options = ClientOptions {
        base_url: sim.base_url().parse().unwrap(),
        requests_per_second: 10_000,
        min_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retries: 0,
        ..ClientOptions::default()
    };
    let tokens: Arc<dyn TokenStore> = Arc::new(FileTokenStore::new("/nonexistent"));
    let client = Arc::new(GazelleClient::new(options, Credentials::ApiKey(key), tokens).unwrap());
    let engine = SyncEngine::new(store.clone(), Arc::clone(&client), SyncSettings::default());
    Setup {
        sim,
        store,
        client,
        engine,
        _dir: dir,
    }
}

fn config(extra: &str) -> Arc<config::Config> {
    let text = format!(
        "[alerts]\nowner_email = \"owner@example.test\"\n{extra}\n[smtp]\nhost = \"127.0.0.1\"\nsecurity = \"plain\"\n"
    );
    Arc::new(toml::from_str(&text).unwrap())
}

async fn queued(store: &Store) -> Vec<store::mail::QueuedEmail> {
    let mut all = store::mail::recent(store.reader(), 1000).await.unwrap();
    all.reverse();
    all
}

/// A new appointment tomorrow at `hour`:00 Montréal time, unconfirmed.
fn tomorrow_event(sim: &Simulator, id: &str, client: &str, user: &str, hour: i8, title: &str) {
    let tz = jiff::tz::TimeZone::get("America/Montreal").unwrap();
    let tomorrow = Timestamp::now()
        .to_zoned(tz.clone())
        .date()
        .tomorrow()
        .unwrap();
    let start = tomorrow.at(hour, 0, 0, 0).to_zoned(tz).unwrap().timestamp();
    let mut world = gazelle_sim::server::lock(&sim.state.world);
    let now = world.now();
    world.events.put(Event {
        id: id.into(),
        title: title.into(),
        start,
        duration: 120,
        is_all_day: false,
        notes: None,
        event_type: "APPOINTMENT".into(),
        status: "ACTIVE".into(),
        confirmed_by_client: false,
        client_id: Some(client.into()),
        user_id: Some(user.into()),
        piano_ids: vec![],
        created_at: now,
        updated_at: now,
    });
    world.touch();
}

#[tokio::test(flavor = "multi_thread")]
async fn j1_notices_are_rechecked_live_and_never_sent_twice() {
    let s = setup().await;
    let (clients, tech) = {
        let world = gazelle_sim::server::lock(&s.sim.state.world);
        let mut clients: Vec<String> = world.clients.values().map(|c| c.id.clone()).collect();
        clients.sort();
        let tech = world
            .users
            .values()
            .find(|u| u.is_schedulable)
            .unwrap()
            .id
            .clone();
        (clients, tech)
    };
    tomorrow_event(
        &s.sim,
        "evt_plain0000000001",
        &clients[0],
        &tech,
        9,
        "Accord",
    );
    tomorrow_event(
        &s.sim,
        "evt_instit000000001",
        &clients[1],
        &tech,
        11,
        "Accord",
    );
    tomorrow_event(
        &s.sim,
        "evt_memo00000000001",
        &clients[2],
        &tech,
        13,
        "MEMO: rappeler",
    );
    tomorrow_event(
        &s.sim,
        "evt_confirmedlater1",
        &clients[3],
        &tech,
        20,
        "Accord du soir",
    );
    let report = s
        .engine
        .run(Trigger::Manual, Mode::Full, &Stream::ALL, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.status, store::sync_log::RunStatus::Succeeded);
    // Confirmed in Gazelle after the pull: the live re-check must catch it.
    gazelle_sim::server::lock(&s.sim.state.world)
        .events
        .edit("evt_confirmedlater1", |e| e.confirmed_by_client = true);

    let config = config(&format!(
        "institutional_client_ids = [\"{}\"]\n[alerts.technicians.{tech}]\nemail = \"tech@example.test\"\n",
        clients[1]
    ));
    let detectors = Detectors::new(s.store.clone(), config);
    let first = detectors.unconfirmed(Some(&s.client)).await.unwrap();
    let mail = queued(&s.store).await;
    let ours: Vec<_> = mail
        .iter()
        .filter(|m| m.dedup_key.contains("evt_"))
        .collect();
    assert_eq!(
        ours.len(),
        1,
        "{:?}",
        mail.iter().map(|m| &m.dedup_key).collect::<Vec<_>>()
    );
    assert!(
        ours[0]
            .dedup_key
            .starts_with(&format!("unconfirmed:evt_plain0000000001:{tech}:"))
    );
    assert_eq!(ours[0].recipient, "tech@example.test");
    assert!(
        ours[0].subject.starts_with("RV non confirmé demain chez "),
        "{}",
        ours[0].subject
    );
    assert!(
        ours[0].body_text.contains("Heure  : 09:00"),
        "{}",
        ours[0].body_text
    );
    assert!(first.emails_queued >= 1);

    let again = detectors.unconfirmed(Some(&s.client)).await.unwrap();
    assert_eq!((again.raised, again.emails_queued), (0, 0), "{again:?}");
    assert_eq!(queued(&s.store).await.len(), mail.len());

    // Gazelle unreachable: the notice goes anyway (one too many beats one missing).
    tomorrow_event(
        &s.sim,
        "evt_offline00000001",
        &clients[4],
        &tech,
        15,
        "Accord",
    );
    s.engine
        .run(
            Trigger::Manual,
            Mode::Incremental,
            &[Stream::Events],
            &|_| {},
        )
        .await
        .unwrap();
    s.sim.state.inject(Fault {
        kind: FaultKind::Status {
            status: 500,
            retry_after: None,
        },
        count: 50,
        endpoint: Endpoint::Graphql,
        operation: None,
        after: 0,
    });
    let offline = detectors.unconfirmed(Some(&s.client)).await.unwrap();
    assert_eq!(offline.emails_queued, 1, "{offline:?}");
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn low_stock_is_raised_once_until_restocked() {
    let s = setup().await;
    s.engine
        .run(
            Trigger::Manual,
            Mode::Full,
            &[Stream::Users, Stream::Catalogue],
            &|_| {},
        )
        .await
        .unwrap();
    let products: Vec<String> =
        sqlx::query_scalar("SELECT ExternalId FROM Products ORDER BY ExternalId LIMIT 3")
            .fetch_all(s.store.reader())
            .await
            .unwrap();
    let stock = |product: &str, quantity: i64| store::inventory::StockRecord {
        product_external_id: product.into(),
        technician_id: "usr_truck1".into(),
        quantity: Some(quantity),
        reorder_threshold: Some(5),
        updated_at: None,
    };
    let set = |records: Vec<store::inventory::StockRecord>| {
        let store = s.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            for r in &records {
                store::inventory::upsert_stock(&mut tx, r).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
    };
    set(vec![
        stock(&products[0], 0),
        stock(&products[1], 3),
        stock(&products[2], 10),
    ])
    .await;
    let detectors = Detectors::new(s.store.clone(), config(""));
    let first = detectors.low_stock().await.unwrap();
    assert_eq!((first.raised, first.emails_queued), (2, 2), "{first:?}");
    let open = store::alerts::open_system_alerts(s.store.reader())
        .await
        .unwrap();
    let critical: Vec<_> = open.iter().filter(|a| a.severity == "critical").collect();
    assert_eq!(critical.len(), 1);
    let mail = queued(&s.store).await;
    assert!(mail.iter().any(
        |m| m.subject.starts_with("Rupture de stock — ") && m.recipient == "owner@example.test"
    ));
    assert!(mail.iter().any(|m| m.subject.starts_with("Stock bas — ")));

    let again = detectors.low_stock().await.unwrap();
    assert_eq!(
        (again.raised, again.emails_queued, again.cleared),
        (0, 0, 0)
    );

    set(vec![stock(&products[1], 12)]).await;
    let restocked = detectors.low_stock().await.unwrap();
    assert_eq!((restocked.raised, restocked.cleared), (0, 1));
    set(vec![stock(&products[1], 2)]).await;
    let low_again = detectors.low_stock().await.unwrap();
    assert_eq!(
        (low_again.raised, low_again.emails_queued),
        (1, 1),
        "low again after a restock: a new alert"
    );
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_health_is_raised_on_a_change_and_cleared_on_recovery() {
    let s = setup().await;
    let detectors = Detectors::new(
        s.store.clone(),
        config("repeated_error_runs = 3\nsync_stale_after = \"1h\""),
    );
    let since = Timestamp::now();
    // A fresh install is not stale before it had a chance to sync.
    let fresh = detectors.sync_health(false, since).await.unwrap();
    assert_eq!(fresh.raised, 0);
    // Started two hours ago and never synced: stale, once.
    let two_hours_ago = since
        .checked_sub(jiff::SignedDuration::from_hours(2))
        .unwrap();
    let stale = detectors.sync_health(false, two_hours_ago).await.unwrap();
    assert_eq!((stale.raised, stale.emails_queued), (1, 1));
    assert_eq!(
        detectors
            .sync_health(false, two_hours_ago)
            .await
            .unwrap()
            .raised,
        0
    );
    // A successful sync clears it (and says so).
    s.engine
        .run(Trigger::Manual, Mode::Full, &Stream::ALL, &|_| {})
        .await
        .unwrap();
    let recovered = detectors.sync_health(false, two_hours_ago).await.unwrap();
    assert_eq!((recovered.cleared, recovered.emails_queued), (1, 1));

    // Authorization lost: raised once however often it is checked.
    assert_eq!(detectors.sync_health(true, since).await.unwrap().raised, 1);
    assert_eq!(detectors.sync_health(true, since).await.unwrap().raised, 0);
    assert_eq!(
        detectors.sync_health(false, since).await.unwrap().cleared,
        1
    );

    // The same error three runs in a row (twice per run: the incremental pass's probe of
    // the event window, then the whole-window read it falls back to).
    for run in 0..3 {
        s.sim.state.inject(Fault {
            kind: FaultKind::GraphqlError {
                message: "Boom".into(),
            },
            count: 2,
            endpoint: Endpoint::Graphql,
            operation: None,
            after: 0,
        });
        let report = s
            .engine
            .run(
                Trigger::Schedule,
                Mode::Incremental,
                &[Stream::Events],
                &|_| {},
            )
            .await
            .unwrap();
        assert_eq!(report.status, store::sync_log::RunStatus::Failed);
        let check = detectors.sync_health(false, since).await.unwrap();
        assert_eq!(
            check.raised,
            u32::from(run == 2),
            "raised at the third failure only: {check:?}"
        );
    }
    let open = store::alerts::open_system_alerts(s.store.reader())
        .await
        .unwrap();
    let repeated: Vec<_> = open.iter().filter(|a| a.key == "repeated_error").collect();
    assert_eq!(repeated.len(), 1, "{open:?}");
    assert!(
        repeated[0].summary.contains("Boom"),
        "{}",
        repeated[0].summary
    );
    s.engine
        .run(
            Trigger::Schedule,
            Mode::Incremental,
            &[Stream::Events],
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(
        detectors.sync_health(false, since).await.unwrap().cleared,
        1
    );
    let subjects: Vec<String> = queued(&s.store)
        .await
        .into_iter()
        .map(|m| m.subject)
        .collect();
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.starts_with("Synchronisation Gazelle : "))
            .count(),
        3,
        "{subjects:#?}"
    );
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.starts_with("Synchronisation Gazelle rétablie : "))
            .count(),
        3,
        "{subjects:#?}"
    );
    s.sim.stop().await;
}
