//! Property: a complete scan interrupted part-way, then upstream inserts and deletions
//! anywhere (ahead of the saved cursor included), then the scan run again, under offset
//! cursors (graphql-ruby's default, which shift): no live record is ever tombstoned and none
//! is missing after that one run, not only after a later reconcile.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use api_client::{ClientOptions, Credentials, FileTokenStore, GazelleClient, TokenStore};
use gazelle_sim::faults::{Fault, FaultKind};
use gazelle_sim::world::Behaviour;
use gazelle_sim::{SimState, Size};
use proptest::prelude::*;
use store::Store;
use sync_engine::{Mode, Stream, SyncEngine, SyncSettings, Trigger};

#[derive(Debug, Clone)]
enum Change {
    /// Delete the `n`-th timeline entry, newest first: mostly ones the interrupted scan read.
    DeleteNote(usize),
    /// A note occurring `hours_ago` (the timeline lists newest first: near the top).
    NewNote {
        hours_ago: i64,
    },
    DeletePiano(usize),
    DeleteClient(usize),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => (0usize..80).prop_map(Change::DeleteNote),
        1 => (0i64..2_000).prop_map(|hours_ago| Change::NewNote { hours_ago }),
        1 => (0usize..10_000).prop_map(Change::DeletePiano),
        1 => (0usize..10_000).prop_map(Change::DeleteClient),
    ]
}

fn apply(state: &SimState, change: &Change, n: usize) {
    let mut w = gazelle_sim::server::lock(&state.world);
    let now = w.now();
    match change {
        Change::DeleteNote(k) => {
            let mut notes: Vec<_> = w
                .timeline
                .values()
                .map(|t| (t.occurred_at, t.id.clone()))
                .collect();
            notes.sort_by(|a, b| b.cmp(a));
            if let Some((_, id)) = notes.get(*k) {
                let id = id.clone();
                w.delete(&id);
            }
        }
        Change::NewNote { hours_ago } => {
            let mut t = w.timeline.values().next().unwrap().clone();
            t.id = format!("tme_{:020x}", 0xABC0_0000 + n);
            t.occurred_at = now
                .checked_sub(jiff::SignedDuration::from_hours(*hours_ago))
                .unwrap();
            w.timeline.put(t);
        }
        Change::DeletePiano(k) | Change::DeleteClient(k) => {
            let mut ids: Vec<String> = if matches!(change, Change::DeletePiano(_)) {
                w.pianos.values().map(|p| p.id.clone()).collect()
            } else {
                w.clients.values().map(|c| c.id.clone()).collect()
            };
            ids.sort();
            if !ids.is_empty() {
                let id = ids[k % ids.len()].clone();
                w.delete(&id);
            }
        }
    }
    w.touch();
}

async fn live(store: &Store, table: &str) -> BTreeSet<String> {
    sqlx::query_scalar::<_, String>(&format!(
        "SELECT ExternalId FROM {table} WHERE DeletedAt IS NULL"
    ))
    .fetch_all(store.reader())
    .await
    .unwrap()
    .into_iter()
    .collect()
}

async fn case(first_sync: bool, interrupt_after: u32, changes: Vec<Change>) {
    let mut world = gazelle_sim::generate(Size::Tiny, 5);
    world.behaviour = Behaviour::hostile();
    let mut rng = gazelle_sim::dataset::Rng::new(5 ^ 0x5EED);
    let credentials = gazelle_sim::Credentials::generate(&mut rng);
    let key = credentials.api_key.clone();
    let state = SimState::new(world, credentials, 5);
    let sim = gazelle_sim::Simulator::start(state, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("r.sqlite3")).await.unwrap();
    let options = ClientOptions {
        base_url: sim.base_url().parse().unwrap(),
        page_size: 10,
        requests_per_second: 10_000,
        min_backoff: Duration::from_millis(1),
        max_retries: 0,
        ..ClientOptions::default()
    };
    let tokens: Arc<dyn TokenStore> = Arc::new(FileTokenStore::new("/nonexistent"));
    let client = Arc::new(GazelleClient::new(options, Credentials::ApiKey(key), tokens).unwrap());
    let settings = SyncSettings {
        mass_change_threshold: 10_000,
        ..SyncSettings::default()
    };
    let engine = SyncEngine::new(store.clone(), client, settings);
    let run = |mode| engine.run(Trigger::Manual, mode, &Stream::ALL, &|_| {});
    if !first_sync {
        assert_eq!(
            run(Mode::Full).await.unwrap().status,
            store::sync_log::RunStatus::Succeeded
        );
    }
    // The scan stops part-way through the timeline, its progress committed.
    gazelle_sim::server::lock(&sim.state.faults).push(Fault {
        kind: FaultKind::GraphqlError {
            message: "interrupted".into(),
        },
        count: 1,
        endpoint: Default::default(),
        operation: Some("Timeline".into()),
        after: interrupt_after,
    });
    let report = run(Mode::Full).await.unwrap();
    assert_eq!(
        report.status,
        store::sync_log::RunStatus::Partial,
        "{:?}",
        report.errors
    );
    for (n, change) in changes.iter().enumerate() {
        apply(&sim.state, change, n);
    }
    let report = run(Mode::Full).await.unwrap();
    assert_eq!(
        report.status,
        store::sync_log::RunStatus::Succeeded,
        "{:?}",
        report.errors
    );

    let w = gazelle_sim::server::lock(&sim.state.world).clone();
    let upstream = |ids: Vec<&String>| ids.into_iter().cloned().collect::<BTreeSet<_>>();
    for (table, expected) in [
        (
            "TimelineEntries",
            upstream(w.timeline.values().map(|t| &t.id).collect()),
        ),
        (
            "Pianos",
            upstream(w.pianos.values().map(|p| &p.id).collect()),
        ),
        (
            "Clients",
            upstream(w.clients.values().map(|c| &c.id).collect()),
        ),
        (
            "Contacts",
            upstream(w.contacts.values().map(|c| &c.id).collect()),
        ),
    ] {
        let got = live(&store, table).await;
        let tombstoned_alive: Vec<_> = expected.difference(&got).collect();
        let left_live: Vec<_> = got.difference(&expected).collect();
        assert!(
            tombstoned_alive.is_empty() && left_live.is_empty(),
            "{table}: live upstream but missing or tombstoned here: {tombstoned_alive:?}; \
             gone upstream but live here: {left_live:?} (after {changes:?})"
        );
    }
    sim.stop().await;
}

proptest! {
    // Each case is two or three complete scans of the tiny data set: 24 cases, about 20 s.
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn an_interrupted_scan_resumed_after_upstream_changes_loses_nothing(
        first_sync in any::<bool>(),
        interrupt_after in 1u32..12,
        changes in prop::collection::vec(change(), 1..12),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(case(first_sync, interrupt_after, changes));
    }
}
