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
