//! The simulator's HTTP server: Gazelle's two endpoints, and a control API for tests.
//!
//! | route | what |
//! | --- | --- |
//! | `POST /graphql/private/` | GraphQL (Bearer token or `x-gazelle-api-key`) |
//! | `POST /developer/oauth/token` | OAuth2 token endpoint (form-encoded) |
//! | `GET /developer/oauth/authorize` | approves at once and redirects with `?code=…&state=…` |
//! | `GET /_sim/stats` | request counters, pending faults |
//! | `POST /_sim/faults` | queue faults: a `Fault` or a list of them (see `faults.rs`) |
//! | `DELETE /_sim/faults` | clear pending faults |
//! | `POST /_sim/clock` | `{"advance_seconds": N}`: move the simulated clock |
//! | `POST /_sim/oauth/code` | a fresh authorization code, as if the owner had approved |
//! | `POST /_sim/oauth/expire` | expire every access token now |
//! | `POST /_sim/oauth/revoke` | revoke every refresh token (next refresh: `invalid_grant`) |
//! | `POST /_sim/oauth/settings` | `{"access_lifetime_seconds", "rotate_refresh_tokens", "omit_refresh_token", "access_uses"}` |
//! | `POST /_sim/records/delete` | `{"id": "cli_…"}`: the record vanishes, as Gazelle deletions do |
//! | `POST /_sim/records/timeline` | `{"clientId", "pianoId", "type", "summary", "comment", "occurredAt", "userId"}`: a new entry |
//!
//! Edits go through the real mutations (`updateClient`, `updatePiano`, `updateEvent`, …).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::SignedDuration;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::{Auth, Credentials, Verdict};
use crate::executor;
use crate::faults::{Endpoint, Fault, FaultKind, Faults};
use crate::model::TimelineEntry;
use crate::world::World;

/// Everything the simulator holds; shared with tests that drive it as a library.
#[derive(Clone)]
pub struct SimState {
    pub world: Arc<Mutex<World>>,
    pub auth: Arc<Mutex<Auth>>,
    pub faults: Arc<Mutex<Faults>>,
    pub stats: Arc<Stats>,
}

/// Request counters.
#[derive(Debug, Default)]
pub struct Stats {
    pub graphql_requests: AtomicU64,
    pub token_requests: AtomicU64,
    pub unauthorized: AtomicU64,
}

/// Locks a mutex, recovering it if a previous holder panicked: the simulator must keep
/// serving so the test that broke it can report.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SimState {
    pub fn new(world: World, credentials: Credentials, seed: u64) -> SimState {
        SimState {
            world: Arc::new(Mutex::new(world)),
            auth: Arc::new(Mutex::new(Auth::new(credentials, seed))),
            faults: Arc::new(Mutex::new(Faults::default())),
            stats: Arc::new(Stats::default()),
        }
    }

    pub fn inject(&self, fault: Fault) {
        lock(&self.faults).push(fault);
    }

    pub fn graphql_requests(&self) -> u64 {
        self.stats.graphql_requests.load(Ordering::Relaxed)
    }
}

/// A running simulator.
pub struct Simulator {
    pub addr: SocketAddr,
    pub state: SimState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Simulator {
    /// Starts serving `state` on `bind` (port 0 picks a free port).
    pub async fn start(state: SimState, bind: SocketAddr) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = served.await {
                tracing::error!(error = %e, "simulator stopped");
            }
        });
        Ok(Simulator {
            addr,
            state,
            shutdown: Some(tx),
            task,
        })
    }

    /// `http://127.0.0.1:PORT/`
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

pub fn router(state: SimState) -> Router {
    Router::new()
        .route("/graphql/private/", post(graphql))
        .route("/developer/oauth/token", post(token))
        .route("/developer/oauth/authorize", get(authorize))
        .route("/_sim/stats", get(stats))
        .route("/_sim/faults", post(add_faults).delete(clear_faults))
        .route("/_sim/clock", post(advance_clock))
        .route("/_sim/oauth/code", post(new_code))
        .route("/_sim/oauth/expire", post(expire_tokens))
        .route("/_sim/oauth/revoke", post(revoke_tokens))
        .route("/_sim/oauth/settings", post(oauth_settings))
        .route("/_sim/records/delete", post(delete_record))
        .route("/_sim/records/timeline", post(add_timeline_entry))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
struct GraphQlRequest {
    query: Option<String>,
    #[serde(default)]
    variables: Option<Map<String, Value>>,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
}

async fn graphql(
    State(state): State<SimState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    state.stats.graphql_requests.fetch_add(1, Ordering::Relaxed);
    // The operation name, for faults limited to one operation (the body is parsed again below).
    let operation = serde_json::from_slice::<GraphQlRequest>(&body)
        .ok()
        .and_then(|r| r.operation_name);
    let fault = lock(&state.faults).take(Endpoint::Graphql, operation.as_deref());
    if let Some(response) = early_fault(&fault).await {
        return response;
    }

    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let api_key = headers
        .get("x-gazelle-api-key")
        .and_then(|v| v.to_str().ok());
    let now = lock(&state.world).now();
    if let Verdict::Denied(reason) = lock(&state.auth).check(bearer, api_key, now) {
        state.stats.unauthorized.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "unauthorized", "message": reason})),
        )
            .into_response();
    }

    let request: GraphQlRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"errors": [{"message": format!("Invalid JSON body: {e}")}]})),
            )
                .into_response();
        }
    };
    let Some(query) = request.query else {
        return Json(json!({"errors": [{"message": "No query string was present"}]}))
            .into_response();
    };
    let variables = request.variables.unwrap_or_default();
    let answer = {
        let mut world = lock(&state.world);
        executor::execute(
            &mut world,
            &query,
            request.operation_name.as_deref(),
            &variables,
        )
    };
    if let Some(FaultKind::Stall { millis }) = &fault {
        tokio::time::sleep(Duration::from_millis(*millis)).await;
    }
    late_fault(fault, answer)
}

/// Faults that answer before the request is processed.
async fn early_fault(fault: &Option<FaultKind>) -> Option<Response> {
    match fault {
        Some(FaultKind::Status { status, retry_after }) => {
            let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (code, format!("simulated {status}")).into_response();
            if let Some(secs) = retry_after
                && let Ok(value) = HeaderValue::from_str(&secs.to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Some(response)
        }
        Some(FaultKind::Slow { millis }) => {
            tokio::time::sleep(Duration::from_millis(*millis)).await;
            None
        }
        Some(FaultKind::GraphqlError { message }) => Some(
            Json(json!({"errors": [{"message": message, "locations": [], "path": [], "extensions": {}}]})).into_response(),
        ),
        Some(FaultKind::Respond { status, body }) => Some(
            (
                StatusCode::from_u16(*status).unwrap_or(StatusCode::OK),
                [(header::CONTENT_TYPE, "application/json")],
                body.clone(),
            )
                .into_response(),
        ),
        Some(FaultKind::Malformed) => Some(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            )
                .into_response(),
        ),
        _ => None,
    }
}

/// Faults that spoil a computed answer.
fn late_fault(fault: Option<FaultKind>, text: String) -> Response {
    match fault {
        Some(FaultKind::Truncate) => {
            let cut = text.len() / 2;
            let mut end = cut;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                text[..end].to_owned(),
            )
                .into_response()
        }
        Some(FaultKind::Drop) => {
            // Headers go out, then the body stream fails: hyper aborts the connection.
            let half = text.len() / 2;
            let first: Result<bytes::Bytes, std::io::Error> =
                Ok(bytes::Bytes::from(text[..half].to_owned()));
            let broken: Result<bytes::Bytes, std::io::Error> = Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "simulated dropped connection",
            ));
            let stream = futures_util::stream::iter(vec![first, broken]);
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, text.len())
                .body(Body::from_stream(stream))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        _ => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            text,
        )
            .into_response(),
    }
}

async fn token(
    State(state): State<SimState>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    state.stats.token_requests.fetch_add(1, Ordering::Relaxed);
    let fault = lock(&state.faults).take(Endpoint::Token, None);
    if let Some(response) = early_fault(&fault).await {
        return response;
    }
    let now = lock(&state.world).now();
    let (status, body) = lock(&state.auth).token(&form, now);
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (code, Json(body)).into_response()
}

#[derive(Debug, Deserialize)]
struct AuthorizeParams {
    client_id: String,
    redirect_uri: String,
    response_type: String,
    #[serde(default)]
    state: Option<String>,
}

async fn authorize(
    State(state): State<SimState>,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    let mut auth = lock(&state.auth);
    if params.client_id != auth.credentials.client_id || params.response_type != "code" {
        return (StatusCode::BAD_REQUEST, "unknown client or response type").into_response();
    }
    if !params.redirect_uri.starts_with("https://") {
        return (StatusCode::BAD_REQUEST, "the redirect URI must be https").into_response();
    }
    let code = auth.issue_code();
    let mut target = format!("{}?code={code}", params.redirect_uri);
    if let Some(s) = params.state {
        target.push_str(&format!("&state={s}"));
    }
    Redirect::to(&target).into_response()
}

async fn stats(State(state): State<SimState>) -> Json<Value> {
    let world = lock(&state.world);
    Json(json!({
        "graphql_requests": state.stats.graphql_requests.load(Ordering::Relaxed),
        "token_requests": state.stats.token_requests.load(Ordering::Relaxed),
        "unauthorized": state.stats.unauthorized.load(Ordering::Relaxed),
        "faults_served": lock(&state.faults).served,
        "faults_pending": lock(&state.faults).pending(),
        "now": crate::model::datetime(world.now()),
        "records": {
            "users": world.users.len(), "clients": world.clients.len(), "contacts": world.contacts.len(),
            "pianos": world.pianos.len(), "events": world.events.len(), "timeline": world.timeline.len(),
            "invoices": world.invoices.len(), "catalogue": world.catalogue.len(),
        },
    }))
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Fault),
    Many(Vec<Fault>),
}

async fn add_faults(State(state): State<SimState>, Json(faults): Json<OneOrMany>) -> StatusCode {
    let list = match faults {
        OneOrMany::One(f) => vec![f],
        OneOrMany::Many(v) => v,
    };
    for fault in list {
        state.inject(fault);
    }
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(state): State<SimState>) -> StatusCode {
    lock(&state.faults).clear();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct Clock {
    advance_seconds: i64,
}

async fn advance_clock(State(state): State<SimState>, Json(clock): Json<Clock>) -> Json<Value> {
    let mut world = lock(&state.world);
    world.clock_offset = world
        .clock_offset
        .saturating_add(SignedDuration::from_secs(clock.advance_seconds));
    Json(json!({"now": crate::model::datetime(world.now())}))
}

async fn new_code(State(state): State<SimState>) -> Json<Value> {
    Json(json!({"code": lock(&state.auth).issue_code()}))
}

async fn expire_tokens(State(state): State<SimState>) -> StatusCode {
    lock(&state.auth).expire_access_tokens();
    StatusCode::NO_CONTENT
}

async fn revoke_tokens(State(state): State<SimState>) -> StatusCode {
    lock(&state.auth).revoke_refresh_tokens();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct OauthSettings {
    access_lifetime_seconds: Option<i64>,
    rotate_refresh_tokens: Option<bool>,
    omit_refresh_token: Option<bool>,
    access_uses: Option<u32>,
}

async fn oauth_settings(State(state): State<SimState>, Json(s): Json<OauthSettings>) -> StatusCode {
    let mut auth = lock(&state.auth);
    if let Some(secs) = s.access_lifetime_seconds {
        auth.access_lifetime = SignedDuration::from_secs(secs);
    }
    if let Some(r) = s.rotate_refresh_tokens {
        auth.rotate_refresh_tokens = r;
    }
    if let Some(o) = s.omit_refresh_token {
        auth.omit_refresh_token = o;
    }
    if s.access_uses.is_some() {
        auth.access_uses = s.access_uses;
    }
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct DeleteRecord {
    id: String,
}

async fn delete_record(State(state): State<SimState>, Json(d): Json<DeleteRecord>) -> Response {
    let mut world = lock(&state.world);
    if world.delete(&d.id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::NOT_FOUND, format!("no record {}", d.id)).into_response()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewEntry {
    client_id: String,
    piano_id: Option<String>,
    user_id: Option<String>,
    #[serde(rename = "type", default = "service_entry")]
    entry_type: String,
    summary: Option<String>,
    comment: Option<String>,
    occurred_at: Option<String>,
}

fn service_entry() -> String {
    "SERVICE_ENTRY_MANUAL".into()
}

async fn add_timeline_entry(State(state): State<SimState>, Json(e): Json<NewEntry>) -> Response {
    let mut world = lock(&state.world);
    if !world.clients.contains(&e.client_id) {
        return (StatusCode::NOT_FOUND, format!("no client {}", e.client_id)).into_response();
    }
    let occurred_at = match e.occurred_at.as_deref().map(str::parse) {
        None => world.now(),
        Some(Ok(t)) => t,
        Some(Err(err)) => {
            return (StatusCode::BAD_REQUEST, format!("occurredAt: {err}")).into_response();
        }
    };
    let id = world.rng.timeline_id();
    world.timeline.put(TimelineEntry {
        id: id.clone(),
        client_id: e.client_id,
        piano_id: e.piano_id,
        invoice_id: None,
        estimate_id: None,
        user_id: e.user_id,
        occurred_at,
        entry_type: e.entry_type,
        summary: e.summary,
        comment: e.comment,
    });
    world.touch();
    Json(json!({"id": id})).into_response()
}
