//! Property: random upstream creates, edits and deletes interleaved with incremental syncs
//! always end with local = upstream after a reconcile, and an incremental run never loses a
//! record inside its window.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use api_client::{ClientOptions, Credentials, FileTokenStore, GazelleClient, TokenStore};
use gazelle_sim::{SimState, Size};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use store::Store;
use sync_engine::{Mode, Stream, SyncEngine, SyncSettings, Trigger};

#[derive(Debug, Clone)]
enum Op {
    NewClient,
    EditClient(usize),
    EditPiano(usize),
    DeletePiano(usize),
    /// A service note entered today about a visit `days_ago` days ago.
    NewNote {
        client: usize,
        days_ago: i64,
    },
    DeleteNote(usize),
    Incremental,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::NewClient),
        any::<usize>().prop_map(Op::EditClient),
        any::<usize>().prop_map(Op::EditPiano),
        any::<usize>().prop_map(Op::DeletePiano),
        (any::<usize>(), 0i64..60).prop_map(|(client, days_ago)| Op::NewNote { client, days_ago }),
        any::<usize>().prop_map(Op::DeleteNote),
        Just(Op::Incremental),
        Just(Op::Incremental),
    ]
}

fn nth_id<'a>(ids: impl Iterator<Item = &'a String>, n: usize) -> Option<String> {
    let mut all: Vec<&String> = ids.collect();
    all.sort();
    (!all.is_empty()).then(|| all[n % all.len()].clone())
}

fn apply(state: &SimState, op: &Op, counter: &mut u32) {
    let mut w = gazelle_sim::server::lock(&state.world);
    let now = w.now();
    *counter += 1;
    match op {
        Op::NewClient => {
            let mut c = w.clients.values().next().unwrap().clone();
            c.id = format!("cli_PROP{:012}", *counter);
            c.company_name = Some(format!("Client propriété {counter}"));
            c.default_contact_id = None;
            c.created_at = now;
            c.updated_at = now;
            w.clients.put(c);
        }
        Op::EditClient(n) => {
            if let Some(id) = nth_id(w.clients.values().map(|c| &c.id), *n) {
                w.clients.edit(&id, |c| {
                    c.company_name = Some(format!("Renommé {counter}"));
                    c.updated_at = now;
                });
            }
        }
        Op::EditPiano(n) => {
            if let Some(id) = nth_id(w.pianos.values().map(|p| &p.id), *n) {
                w.pianos.edit(&id, |p| {
                    p.location = Some(format!("Salle {counter}"));
                    p.updated_at = now;
                });
            }
        }
        Op::DeletePiano(n) => {
            if let Some(id) = nth_id(w.pianos.values().map(|p| &p.id), *n) {
                w.delete(&id);
            }
        }
        Op::NewNote { client, days_ago } => {
            if let Some(client_id) = nth_id(w.clients.values().map(|c| &c.id), *client) {
                let mut t = w.timeline.values().next().unwrap().clone();
                t.id = format!("tme_{:020x}", *counter);
                t.client_id = client_id;
                t.piano_id = None;
                t.occurred_at = now
                    .checked_sub(SignedDuration::from_hours(24 * days_ago))
                    .unwrap();
                t.comment = Some(format!("Note {counter}"));
                w.timeline.put(t);
            }
        }
        Op::DeleteNote(n) => {
            if let Some(id) = nth_id(w.timeline.values().map(|t| &t.id), *n) {
                w.delete(&id);
            }
        }
        Op::Incremental => {}
    }
    w.touch();
}

/// Live (not tombstoned) rows by ExternalId, with one mapped field.
async fn local(store: &Store, sql: &str) -> BTreeMap<String, Option<String>> {
    sqlx::query_as::<_, (String, Option<String>)>(sql)
        .fetch_all(store.reader())
        .await
        .unwrap()
        .into_iter()
        .collect()
}

async fn case(ops: Vec<Op>) {
    let sim = gazelle_sim::start(Size::Tiny, 5).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("p.sqlite3")).await.unwrap();
    let key = gazelle_sim::server::lock(&sim.state.auth)
        .credentials
        .api_key
        .clone();
    let options = ClientOptions {
        base_url: sim.base_url().parse().unwrap(),
        page_size: 25,
        requests_per_second: 10_000,
        min_backoff: Duration::from_millis(1),
        ..ClientOptions::default()
    };
    let tokens: Arc<dyn TokenStore> = Arc::new(FileTokenStore::new("/nonexistent"));
    let client = Arc::new(GazelleClient::new(options, Credentials::ApiKey(key), tokens).unwrap());
    let settings = SyncSettings {
        mass_change_threshold: 10_000,
        ..SyncSettings::default()
    };
    let lookback = settings.timeline_lookback_days;
    let engine = SyncEngine::new(store.clone(), client, settings);
    let run = |mode| engine.run(Trigger::Schedule, mode, &Stream::ALL, &|_| {});
    assert_eq!(
        run(Mode::Full).await.unwrap().status,
        store::sync_log::RunStatus::Succeeded
    );

    let mut counter = 0;
    for op in &ops {
        apply(&sim.state, op, &mut counter);
        if matches!(op, Op::Incremental) {
            let started = Timestamp::now();
            let report = run(Mode::Incremental).await.unwrap();
            assert_eq!(
                report.status,
                store::sync_log::RunStatus::Succeeded,
                "{:?} after {ops:?}",
                report.errors
            );
            // Inside the window, nothing is missing: every note since the look-back (a day
            // of margin for the window's edge) and every client created since the last pass.
            let notes = local(
                &store,
                "SELECT ExternalId, Details FROM TimelineEntries WHERE DeletedAt IS NULL",
            )
            .await;
            let clients = local(
                &store,
                "SELECT ExternalId, CompanyName FROM Clients WHERE DeletedAt IS NULL",
            )
            .await;
            let w = gazelle_sim::server::lock(&sim.state.world);
            let edge = started
                .checked_sub(SignedDuration::from_hours(24 * (lookback - 1)))
                .unwrap();
            for t in w.timeline.values().filter(|t| t.occurred_at >= edge) {
                assert!(
                    notes.contains_key(&t.id),
                    "incremental lost note {} ({})",
                    t.id,
                    t.occurred_at
                );
            }
            for c in w.clients.values() {
                assert!(
                    clients.contains_key(&c.id),
                    "incremental lost new client {}",
                    c.id
                );
            }
        }
    }

    let report = run(Mode::Reconcile).await.unwrap();
    assert_eq!(
        report.status,
        store::sync_log::RunStatus::Succeeded,
        "{:?} after {ops:?}",
        report.errors
    );
    let w = gazelle_sim::server::lock(&sim.state.world).clone();
    let upstream_clients: BTreeMap<String, Option<String>> = w
        .clients
        .values()
        .map(|c| {
            (
                c.id.clone(),
                Some(
                    sync_engine::map::client(&to_api_client(c, &w))
                        .0
                        .company_name,
                ),
            )
        })
        .collect();
    assert_eq!(
        local(
            &store,
            "SELECT ExternalId, CompanyName FROM Clients WHERE DeletedAt IS NULL"
        )
        .await,
        upstream_clients
    );
    let upstream_pianos: BTreeMap<String, Option<String>> = w
        .pianos
        .values()
        .map(|p| (p.id.clone(), p.location.clone()))
        .collect();
    assert_eq!(
        local(
            &store,
            "SELECT ExternalId, Location FROM Pianos WHERE DeletedAt IS NULL"
        )
        .await,
        upstream_pianos
    );
    let upstream_notes: BTreeMap<String, Option<String>> = w
        .timeline
        .values()
        .map(|t| (t.id.clone(), t.comment.clone()))
        .collect();
    assert_eq!(
        local(
            &store,
            "SELECT ExternalId, Details FROM TimelineEntries WHERE DeletedAt IS NULL"
        )
        .await,
        upstream_notes
    );
    sim.stop().await;
}

/// The simulator's client as the API would return it (for the naming rule).
fn to_api_client(
    c: &gazelle_sim::model::Client,
    w: &gazelle_sim::World,
) -> api_client::model::Client {
    let contact = c
        .default_contact_id
        .as_deref()
        .and_then(|id| w.contacts.get(id));
    serde_json::from_value(serde_json::json!({
        "id": c.id, "companyName": c.company_name, "status": c.status,
        "defaultContact": contact.map(|k| serde_json::json!({"id": k.id, "firstName": k.first_name, "lastName": k.last_name})),
    }))
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn local_equals_upstream_after_a_reconcile(ops in prop::collection::vec(op(), 1..10)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(case(ops));
    }
}
