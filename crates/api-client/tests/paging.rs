//! Every paged root field, read completely at several page sizes: nothing missed, nothing
//! twice, over real HTTP against the simulator.

mod support;

use std::collections::BTreeSet;

use api_client::documents;
use api_client::model::{Client, Event, Invoice, Piano, TimelineEntry};
use futures_util::StreamExt;
use gazelle_sim::Size;
use serde_json::{Map, Value, json};

async fn read_all<T: serde::de::DeserializeOwned>(
    client: &api_client::GazelleClient,
    op: api_client::documents::Operation,
    field: &'static str,
    variables: Value,
    id: impl Fn(&T) -> String,
) -> (Vec<String>, usize) {
    let variables: Map<String, Value> = serde_json::from_value(variables).unwrap();
    let mut stream = Box::pin(client.pages::<T>(op, field, variables, None));
    let mut ids = Vec::new();
    let mut pages = 0;
    while let Some(page) = stream.next().await {
        let page = page.unwrap_or_else(|e| panic!("{field}: {e}"));
        pages += 1;
        ids.extend(page.nodes.iter().map(&id));
    }
    (ids, pages)
}

fn assert_exact(field: &str, page_size: u32, got: &[String], expected: &BTreeSet<String>) {
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        got.len(),
        "{field} at page size {page_size}: duplicates"
    );
    assert_eq!(
        &unique, expected,
        "{field} at page size {page_size}: missing or extra records"
    );
}

#[tokio::test]
async fn every_paged_root_field_reads_completely_at_several_page_sizes() {
    let sim = support::simulator(Size::Tiny).await;
    let (clients, pianos, events, timeline, invoices) = {
        let w = gazelle_sim::server::lock(&sim.state.world);
        let ids = |it: Vec<String>| it.into_iter().collect::<BTreeSet<String>>();
        (
            ids(w.clients.values().map(|c| c.id.clone()).collect()),
            ids(w.pianos.values().map(|c| c.id.clone()).collect()),
            ids(w.events.values().map(|c| c.id.clone()).collect()),
            ids(w.timeline.values().map(|c| c.id.clone()).collect()),
            ids(w.invoices.values().map(|c| c.id.clone()).collect()),
        )
    };
    for page_size in [1, 7, 100, 200] {
        let client = support::api_key_client(&sim, page_size);
        let (got, pages) =
            read_all::<Client>(&client, documents::CLIENTS, "allClients", json!({}), |c| {
                c.id.clone()
            })
            .await;
        assert_exact("allClients", page_size, &got, &clients);
        assert_eq!(pages, clients.len().div_ceil(page_size as usize).max(1));
        let (got, _) = read_all::<Client>(
            &client,
            documents::CLIENTS,
            "allClients",
            json!({"sortBy": ["CREATED_AT_DESC"]}),
            |c| c.id.clone(),
        )
        .await;
        assert_exact("allClients CREATED_AT_DESC", page_size, &got, &clients);
        let (got, _) = read_all::<Piano>(&client, documents::PIANOS, "allPianos", json!({}), |p| {
            p.id.clone()
        })
        .await;
        assert_exact("allPianos", page_size, &got, &pianos);
        let (got, _) = read_all::<Event>(
            &client,
            documents::EVENTS,
            "allEventsBatched",
            json!({}),
            |e| e.id.clone(),
        )
        .await;
        assert_exact("allEventsBatched", page_size, &got, &events);
        if page_size >= 7 {
            let (got, _) = read_all::<TimelineEntry>(
                &client,
                documents::TIMELINE,
                "allTimelineEntries",
                json!({}),
                |t| t.id.clone(),
            )
            .await;
            assert_exact("allTimelineEntries", page_size, &got, &timeline);
        }
        let (got, _) = read_all::<Invoice>(
            &client,
            documents::INVOICES,
            "allInvoices",
            json!({}),
            |i| i.id.clone(),
        )
        .await;
        assert_exact("allInvoices", page_size, &got, &invoices);
    }
    sim.stop().await;
}

#[tokio::test]
async fn records_inserted_or_deleted_between_pages_cause_no_gap_and_no_duplicate() {
    let sim = support::simulator(Size::Tiny).await;
    let client = support::api_key_client(&sim, 10);
    let mut stream =
        Box::pin(client.pages::<Client>(documents::CLIENTS, "allClients", Map::new(), None));
    let first = stream.next().await.unwrap().unwrap();
    // Upstream, between two pages: the first page's last client is deleted.
    let deleted = first.nodes.last().unwrap().id.clone();
    assert!(gazelle_sim::server::lock(&sim.state.world).delete(&deleted));
    let mut seen: Vec<String> = first.nodes.iter().map(|c| c.id.clone()).collect();
    while let Some(page) = stream.next().await {
        seen.extend(page.unwrap().nodes.into_iter().map(|c| c.id));
    }
    let remaining: BTreeSet<String> = gazelle_sim::server::lock(&sim.state.world)
        .clients
        .values()
        .map(|c| c.id.clone())
        .collect();
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    assert!(
        remaining.is_subset(&unique),
        "every remaining client was read"
    );
    sim.stop().await;
}

#[tokio::test]
async fn filters_and_incremental_bounds_apply() {
    let sim = support::simulator(Size::Tiny).await;
    let client = support::api_key_client(&sim, 100);
    let since = "2026-06-01T00:00:00Z";
    let (got, _) = read_all::<TimelineEntry>(
        &client,
        documents::TIMELINE,
        "allTimelineEntries",
        json!({"occurredAtGet": since}),
        |t| t.id.clone(),
    )
    .await;
    let expected: BTreeSet<String> = gazelle_sim::server::lock(&sim.state.world)
        .timeline
        .values()
        .filter(|t| t.occurred_at >= since.parse().unwrap())
        .map(|t| t.id.clone())
        .collect();
    assert!(!expected.is_empty());
    assert_exact("allTimelineEntries occurredAtGet", 100, &got, &expected);

    let page = client
        .page::<Event>(
            documents::EVENTS,
            "allEventsBatched",
            json!({"first": 200, "filters": {"startOn": "2026-11-01", "endOn": "2026-11-30"}}),
        )
        .await
        .unwrap();
    assert!(!page.nodes.is_empty());
    let tz = jiff::tz::TimeZone::get("America/Montreal").unwrap();
    for e in &page.nodes {
        let day = e.start.unwrap().to_zoned(tz.clone()).date();
        assert!(
            day >= jiff::civil::date(2026, 11, 1) && day <= jiff::civil::date(2026, 11, 30),
            "{day}"
        );
    }
    sim.stop().await;
}

#[tokio::test]
async fn a_stream_that_fails_mid_way_resumes_from_its_last_cursor() {
    let sim = support::simulator(Size::Tiny).await;
    let client = support::api_key_client(&sim, 8);
    let mut seen = Vec::new();
    let mut cursor = None;
    {
        let mut stream =
            Box::pin(client.pages::<Client>(documents::CLIENTS, "allClients", Map::new(), None));
        for _ in 0..3 {
            let page = stream.next().await.unwrap().unwrap();
            cursor = page.page_info.end_cursor.clone();
            seen.extend(page.nodes.into_iter().map(|c| c.id));
        }
        // The service breaks for longer than the retry budget: the stream reports and ends.
        sim.state.inject(gazelle_sim::Fault {
            kind: gazelle_sim::FaultKind::Status {
                status: 502,
                retry_after: None,
            },
            count: 50,
            endpoint: gazelle_sim::Endpoint::Graphql,
            operation: None,
            after: 0,
        });
        assert!(stream.next().await.unwrap().is_err());
        assert!(
            stream.next().await.is_none(),
            "the stream ends after an error"
        );
    }
    gazelle_sim::server::lock(&sim.state.faults).clear();
    // Later: resume from the stored cursor.
    let mut stream =
        Box::pin(client.pages::<Client>(documents::CLIENTS, "allClients", Map::new(), cursor));
    while let Some(page) = stream.next().await {
        seen.extend(page.unwrap().nodes.into_iter().map(|c| c.id));
    }
    let all: BTreeSet<String> = gazelle_sim::server::lock(&sim.state.world)
        .clients
        .values()
        .map(|c| c.id.clone())
        .collect();
    assert_exact("allClients resumed", 8, &seen, &all);
    sim.stop().await;
}

#[tokio::test]
async fn unknown_enum_values_nulls_and_extra_fields_decode() {
    let sim = support::simulator(Size::Tiny).await;
    // What a newer Gazelle may send: an enum value added after our copy of the schema, nulls
    // where the schema allows them, fields we did not ask for, a null node in the list.
    let body = json!({"data": {"allPianos": {
        "nodes": [
            {"id": "ins_NEW0000000000001", "make": null, "model": "U1", "serialNumber": null, "type": "CONCERT_HYBRID",
             "year": null, "location": null, "notes": null, "status": "UNDER_REVIEW_2027", "damppChaserInstalled": null,
             "createdAt": "2026-01-10T20:56:01Z", "updatedAt": null, "client": {"id": "cli_X"}, "brandNewField": {"a": 1}},
            null
        ],
        "pageInfo": {"hasNextPage": false, "endCursor": null, "hasPreviousPage": false},
        "totalCount": 1
    }}});
    sim.state.inject(gazelle_sim::Fault {
        kind: gazelle_sim::FaultKind::Respond {
            status: 200,
            body: body.to_string(),
        },
        count: 1,
        endpoint: gazelle_sim::Endpoint::Graphql,
        operation: None,
        after: 0,
    });
    let client = support::api_key_client(&sim, 100);
    let page = client
        .page::<Piano>(documents::PIANOS, "allPianos", json!({"first": 100}))
        .await
        .unwrap();
    assert_eq!(page.nodes.len(), 1, "the null node is skipped");
    let piano = &page.nodes[0];
    assert_eq!(piano.status.as_deref(), Some("UNDER_REVIEW_2027"));
    assert_eq!(piano.piano_type.as_deref(), Some("CONCERT_HYBRID"));
    assert_eq!(
        (piano.make.as_deref(), piano.year, piano.updated_at),
        (None, None, None)
    );

    // A wrong type where the schema promises another: a decode error naming the field.
    let bad = json!({"data": {"allPianos": {"nodes": [{"id": "ins_1", "year": "nineteen-ten"}],
        "pageInfo": {"hasNextPage": false}, "totalCount": 1}}});
    sim.state.inject(gazelle_sim::Fault {
        kind: gazelle_sim::FaultKind::Respond {
            status: 200,
            body: bad.to_string(),
        },
        count: 1,
        endpoint: gazelle_sim::Endpoint::Graphql,
        operation: None,
        after: 0,
    });
    let err = client
        .page::<Piano>(documents::PIANOS, "allPianos", json!({"first": 100}))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Pianos: unexpected response at `data.allPianos.nodes[0].year`"),
        "{err}"
    );
    sim.stop().await;
}

#[tokio::test]
async fn reference_data_is_cached_for_its_ttl() {
    let sim = support::simulator(Size::Tiny).await;
    let client = support::api_key_client(&sim, 100);
    let cache = api_client::reference::ReferenceCache::new(jiff::SignedDuration::from_secs(3600));
    let users = cache.users(&client).await.unwrap();
    let items = cache.catalogue(&client).await.unwrap();
    assert_eq!(users.len(), 6);
    assert!(
        items
            .iter()
            .any(|i| api_client::model::i18n(&i.name).as_deref() == Some("Accord standard"))
    );
    let before = sim.state.graphql_requests();
    cache.users(&client).await.unwrap();
    cache.catalogue(&client).await.unwrap();
    assert_eq!(
        sim.state.graphql_requests(),
        before,
        "served from the cache"
    );
    cache.invalidate().await;
    cache.users(&client).await.unwrap();
    assert_eq!(sim.state.graphql_requests(), before + 1);
    sim.stop().await;
}

#[tokio::test]
async fn requests_are_spaced_by_the_rate_limit() {
    let sim = support::simulator(Size::Tiny).await;
    let key = gazelle_sim::server::lock(&sim.state.auth)
        .credentials
        .api_key
        .clone();
    let mut options = support::options(&sim, 100);
    options.requests_per_second = 20;
    let store: std::sync::Arc<dyn api_client::TokenStore> =
        std::sync::Arc::new(api_client::FileTokenStore::new("/nonexistent"));
    let client =
        api_client::GazelleClient::new(options, api_client::Credentials::ApiKey(key), store)
            .unwrap();
    let started = std::time::Instant::now();
    for _ in 0..11 {
        client
            .list::<api_client::model::User>(documents::USERS, "allUsers")
            .await
            .unwrap();
    }
    // A lower bound the limiter guarantees (10 intervals of 50 ms), not a speed target.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_probe_reads_many_windows_in_one_request() {
    use api_client::probe::ProbeKind;
    let sim = support::simulator(Size::Tiny).await;
    let client = support::api_key_client(&sim, 100);
    let tz = jiff::tz::TimeZone::get("America/Montreal").unwrap();
    let w = gazelle_sim::server::lock(&sim.state.world).clone();

    // Events: one window per week of November, answered in order, ids and versions only.
    let weeks = [
        ("2026-11-01", "2026-11-07"),
        ("2026-11-08", "2026-11-14"),
        ("2026-11-15", "2026-11-30"),
    ];
    let windows: Vec<Value> = weeks
        .iter()
        .map(|(a, b)| json!({"startOn": a, "endOn": b}))
        .collect();
    let before = sim.state.graphql_requests();
    let answers = client
        .probe(ProbeKind::Events, 100, &windows)
        .await
        .unwrap();
    assert_eq!(
        sim.state.graphql_requests() - before,
        1,
        "one request for every window"
    );
    assert_eq!(answers.len(), weeks.len());
    for ((a, b), answer) in weeks.iter().zip(&answers) {
        let (a, b): (jiff::civil::Date, jiff::civil::Date) =
            (a.parse().unwrap(), b.parse().unwrap());
        let expected: BTreeSet<(String, jiff::Timestamp)> = w
            .events
            .values()
            .filter(|e| (a..=b).contains(&e.start.to_zoned(tz.clone()).date()))
            .map(|e| (e.id.clone(), e.updated_at))
            .collect();
        let got: BTreeSet<(String, jiff::Timestamp)> = answer
            .nodes
            .iter()
            .map(|n| (n.id.clone(), n.updated_at.unwrap()))
            .collect();
        assert_eq!(got, expected, "{a}..{b}");
        assert!(!answer.more);
    }

    // Timeline: `last` gives the oldest entries since the bound; `more` says newer ones exist.
    let since: jiff::Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
    let mut oldest: Vec<(jiff::Timestamp, String)> = w
        .timeline
        .values()
        .filter(|t| t.occurred_at >= since)
        .map(|t| (t.occurred_at, t.id.clone()))
        .collect();
    oldest.sort();
    assert!(oldest.len() > 3);
    let answers = client
        .probe(ProbeKind::Timeline, 3, &[json!("2026-06-01T00:00:00Z")])
        .await
        .unwrap();
    let got: BTreeSet<String> = answers[0].nodes.iter().map(|n| n.id.clone()).collect();
    let expected: BTreeSet<String> = oldest.iter().take(3).map(|(_, id)| id.clone()).collect();
    assert_eq!(got, expected);
    assert!(answers[0].more);

    // More windows than one request holds: split, still in order.
    let many: Vec<Value> = (0..api_client::probe::MAX_WINDOWS + 5)
        .map(|_| json!({"invoiceDateGet": "2026-01-01"}))
        .collect();
    let before = sim.state.graphql_requests();
    let answers = client.probe(ProbeKind::Invoices, 10, &many).await.unwrap();
    assert_eq!(answers.len(), many.len());
    assert_eq!(sim.state.graphql_requests() - before, 2);

    // A malformed answer names the window and the field; a missing window is an error too.
    let two = &windows[..2];
    for (body, path) in [
        (
            json!({"data": {"w0": {"nodes": [], "pageInfo": {"hasNextPage": false}},
                            "w1": {"nodes": [{"id": "evt_1", "updatedAt": "yesterday"}]}}}),
            "`data.w1.nodes[0].updatedAt`",
        ),
        (
            json!({"data": {"w0": {"nodes": [], "pageInfo": {"hasNextPage": false}}}}),
            "`data.w1`",
        ),
    ] {
        sim.state.inject(gazelle_sim::Fault {
            kind: gazelle_sim::FaultKind::Respond {
                status: 200,
                body: body.to_string(),
            },
            count: 1,
            endpoint: gazelle_sim::Endpoint::Graphql,
            operation: Some("EventsProbe".into()),
            after: 0,
        });
        let err = client.probe(ProbeKind::Events, 100, two).await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("EventsProbe: unexpected response at {path}")),
            "{err}"
        );
    }
    sim.stop().await;
}
