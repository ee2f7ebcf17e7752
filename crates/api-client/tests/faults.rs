//! Each fault kind of the simulator, survived or reported as specified.

mod support;

use api_client::documents;
use api_client::model::{Client, Event, User};
use api_client::{ApiError, GazelleClient};
use gazelle_sim::{Endpoint, Fault, FaultKind, Size};
use serde_json::json;

fn fault(kind: FaultKind, count: u32) -> Fault {
    Fault {
        kind,
        count,
        endpoint: Endpoint::Graphql,
        operation: None,
        after: 0,
    }
}

async fn users(client: &GazelleClient) -> Result<Vec<User>, ApiError> {
    client.list(documents::USERS, "allUsers").await
}

#[tokio::test]
async fn transient_faults_are_retried_until_success() {
    let sim = support::simulator(Size::Tiny).await;
    let client = support::api_key_client(&sim, 50);
    let cases = [
        (
            "a burst of 500/502/503",
            vec![
                fault(
                    FaultKind::Status {
                        status: 500,
                        retry_after: None,
                    },
                    1,
                ),
                fault(
                    FaultKind::Status {
                        status: 502,
                        retry_after: None,
                    },
                    1,
                ),
                fault(
                    FaultKind::Status {
                        status: 503,
                        retry_after: None,
                    },
                    1,
                ),
            ],
        ),
        (
            "429 with Retry-After",
            vec![fault(
                FaultKind::Status {
                    status: 429,
                    retry_after: Some(0),
                },
                2,
            )],
        ),
        ("a dropped connection", vec![fault(FaultKind::Drop, 2)]),
        ("a truncated body", vec![fault(FaultKind::Truncate, 1)]),
        ("an HTML error page", vec![fault(FaultKind::Malformed, 1)]),
    ];
    for (what, faults) in cases {
        let before = sim.state.graphql_requests();
        let injected: u64 = faults.iter().map(|f| u64::from(f.count)).sum();
        for f in faults {
            sim.state.inject(f);
        }
        let got = users(&client)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(got.len(), 6, "{what}");
        assert_eq!(
            sim.state.graphql_requests() - before,
            injected + 1,
            "{what}: one retry per fault"
        );
    }
    sim.stop().await;
}

#[tokio::test]
async fn a_slow_answer_beyond_the_timeout_is_retried() {
    let sim = support::simulator(Size::Tiny).await;
    let key = gazelle_sim::server::lock(&sim.state.auth)
        .credentials
        .api_key
        .clone();
    let mut options = support::options(&sim, 50);
    options.request_timeout = std::time::Duration::from_millis(300);
    let store: std::sync::Arc<dyn api_client::TokenStore> =
        std::sync::Arc::new(api_client::FileTokenStore::new("/nonexistent"));
    let client = GazelleClient::new(options, api_client::Credentials::ApiKey(key), store).unwrap();
    sim.state.inject(fault(FaultKind::Slow { millis: 1500 }, 1));
    assert_eq!(users(&client).await.unwrap().len(), 6);
    // Slow but within the timeout: answered, not retried.
    sim.state.inject(fault(FaultKind::Slow { millis: 50 }, 1));
    let before = sim.state.graphql_requests();
    users(&client).await.unwrap();
    assert_eq!(sim.state.graphql_requests() - before, 1);
    sim.stop().await;
}

#[tokio::test]
async fn persistent_failure_is_reported_as_transient_without_panicking() {
    let sim = support::simulator(Size::Tiny).await;
    let client = support::api_key_client(&sim, 50);
    sim.state.inject(fault(FaultKind::Malformed, 100));
    let err = users(&client).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        err.to_string()
            .starts_with("Users: temporarily unavailable: the answer is not a JSON object"),
        "{err}"
    );
    // 1 try + 4 retries, then it stops.
    assert_eq!(sim.state.graphql_requests(), 5);
    sim.stop().await;
}

#[tokio::test]
async fn graphql_errors_and_invalid_documents_are_reported_not_retried() {
    let sim = support::simulator(Size::Tiny).await;
    let client = support::api_key_client(&sim, 50);
    sim.state.inject(fault(
        FaultKind::GraphqlError {
            message: "Internal error".into(),
        },
        1,
    ));
    let err = users(&client).await.unwrap_err();
    assert!(
        matches!(&err, ApiError::GraphQl { messages, .. } if messages == &["Internal error".to_owned()]),
        "{err}"
    );
    assert_eq!(sim.state.graphql_requests(), 1, "not retried");

    // A client bug: a field Gazelle lacks. The simulator refuses it exactly as Gazelle would.
    let err = client
        .execute_raw(
            "Broken",
            "query Broken { allPianos(first: 1) { nodes { id manufactureYear } } }",
            json!({}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Broken: GraphQL error: Field 'manufactureYear' doesn't exist on type 'PrivatePiano'"
    );
    // The raw answer has Gazelle's shape: HTTP 200, an errors array, no data.
    let key = gazelle_sim::server::lock(&sim.state.auth)
        .credentials
        .api_key
        .clone();
    let raw = reqwest::Client::new()
        .post(format!("{}graphql/private/", sim.base_url()))
        .header("x-gazelle-api-key", key)
        .json(&json!({"query": "query($pianoId: ID!) { piano(id: $pianoId) { id } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert!(body.get("data").is_none(), "{body}");
    let error = &body["errors"][0];
    assert_eq!(
        error["message"],
        "Type mismatch on variable $pianoId and argument id (ID! / String)"
    );
    assert!(
        error["locations"].is_array()
            && error.get("path").is_some()
            && error.get("extensions").is_some()
    );
    sim.stop().await;
}

#[tokio::test]
async fn malformed_data_names_the_operation_and_the_field() {
    let sim = support::simulator(Size::Tiny).await;
    let client = support::api_key_client(&sim, 50);
    // A shape the client does not expect (a list where a page is): a decode error with a path.
    let err = client
        .page::<Client>(documents::USERS, "allUsers", json!({}))
        .await
        .unwrap_err();
    match &err {
        ApiError::Decode {
            operation, path, ..
        } => {
            assert_eq!(operation, "Users");
            assert!(path.starts_with("data.allUsers"), "{path}");
        }
        other => panic!("expected a decode error, got {other}"),
    }
    sim.stop().await;
}

#[tokio::test]
async fn a_rejected_write_carries_the_services_message_and_is_sent_once() {
    let sim = support::simulator(Size::Tiny).await;
    let client = support::api_key_client(&sim, 50);
    let (assistant, technician, client_id) = {
        let w = gazelle_sim::server::lock(&sim.state.world);
        let assistant = w
            .users
            .values()
            .find(|u| !u.is_schedulable)
            .unwrap()
            .id
            .clone();
        let tech = w
            .users
            .values()
            .find(|u| u.access_level == "TECHNICIAN")
            .unwrap()
            .id
            .clone();
        (
            assistant,
            tech,
            w.clients.values().next().unwrap().id.clone(),
        )
    };
    let input = |user: &str| {
        json!({"input": {"title": "Accord", "start": "2026-12-01T01:30:00Z", "duration": 120,
                         "type": "APPOINTMENT", "userId": user, "clientId": client_id}})
    };
    let err = client
        .mutate::<Event>(
            documents::CREATE_EVENT,
            "createEvent",
            "event",
            input(&assistant),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "CreateEvent: rejected: userId: Le technicien sélectionné ne peut pas être planifié"
    );

    // A 500 after sending a non-idempotent creation: not retried (it may have been created).
    sim.state.inject(fault(
        FaultKind::Status {
            status: 500,
            retry_after: None,
        },
        1,
    ));
    let before = sim.state.graphql_requests();
    let err = client
        .mutate::<Event>(
            documents::CREATE_EVENT,
            "createEvent",
            "event",
            input(&technician),
        )
        .await
        .unwrap_err();
    assert!(err.is_transient());
    assert_eq!(
        sim.state.graphql_requests() - before,
        1,
        "a creation is never retried blindly"
    );
    // A 503 refuses the request up front: retrying cannot duplicate it.
    sim.state.inject(fault(
        FaultKind::Status {
            status: 503,
            retry_after: None,
        },
        1,
    ));
    let event = client
        .mutate::<Event>(
            documents::CREATE_EVENT,
            "createEvent",
            "event",
            input(&technician),
        )
        .await
        .unwrap();
    assert_eq!(event.start.unwrap().to_string(), "2026-12-01T01:30:00Z");
    sim.stop().await;
}
