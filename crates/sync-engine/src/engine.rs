//! The pull sync: runs passes over streams and records them.
//!
//! A pass reads one stream page by page. Each page is applied in one write transaction
//! together with the stream's progress (and, for a complete scan, the ids it saw), so a crash
//! at any instant leaves a consistent database.
//!
//! **The sync assumes nothing about cursors.** Gazelle's cursor lifetime is undocumented and
//! graphql-ruby's default cursors are offsets, which shift when records ahead of them are
//! inserted or deleted (API.md, "Connections and pagination"). So a saved cursor is never
//! read from again: an interrupted pass starts over from its first page, keeping the ids its
//! scan has already seen and the choices it made when it started (whether to sweep, the
//! timeline's lower bound). And absence from a listing never deletes anything by itself: a
//! record a complete scan did not list is looked up by id ([`api_client::lookup`]); it is
//! tombstoned only if Gazelle answers that it has no such record, and stored (whole, fresh)
//! if it answers with one.
//!
//! Modes:
//! * **full** and **reconcile** read everything (a complete scan), confirm what they did not
//!   see, and tombstone what is confirmed gone; more deletions than
//!   `sync.mass_change_threshold` are held until a later run sees the same set. A first full
//!   sync into an empty table skips the seen-id bookkeeping: there is nothing it could sweep.
//! * **incremental** reads what can have changed, within what the API allows: new clients and
//!   pianos (`CREATED_AT_DESC`, stopping at the high-water mark of the previous pass that
//!   finished), the event window around today, timeline entries since the look-back, recent
//!   invoices, and the small reference lists. The event window is probed ([`crate::probe`]):
//!   an appointment the store holds well inside the window that Gazelle no longer lists is
//!   looked up by id and, if gone, tombstoned in the same run.

use std::sync::Arc;
use std::time::Instant;

use api_client::documents::{self, Operation};
use api_client::model::{self, Page};
use api_client::{ApiError, GazelleClient};
use futures_util::StreamExt;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use store::reconcile::{self, MassChange, Unseen};
use store::records::*;
use store::sync_log::{self, Mode, RunStatus, StreamCost, StreamCounts, Trigger};
use store::upsert::{Action, BatchReport, TableSpec, Upstream};
use store::{Counts, Store, StoreError, WriteTx, upsert};

use crate::map;

/// A stream of the pull, in foreign-key order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Users,
    Catalogue,
    Clients,
    Pianos,
    Events,
    Timeline,
    Invoices,
}

impl Stream {
    /// Every stream, parents first.
    pub const ALL: [Stream; 7] = [
        Stream::Users,
        Stream::Catalogue,
        Stream::Clients,
        Stream::Pianos,
        Stream::Events,
        Stream::Timeline,
        Stream::Invoices,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stream::Users => "users",
            Stream::Catalogue => "catalogue",
            Stream::Clients => "clients",
            Stream::Pianos => "pianos",
            Stream::Events => "events",
            Stream::Timeline => "timeline",
            Stream::Invoices => "invoices",
        }
    }

    pub fn parse(name: &str) -> Option<Stream> {
        Stream::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The tables a complete scan of this stream sweeps, with the name their ids are
    /// recorded under.
    pub(crate) fn swept(self) -> &'static [(&'static TableSpec, &'static str)] {
        match self {
            Stream::Users => &SWEPT_USERS,
            Stream::Catalogue => &SWEPT_CATALOGUE,
            Stream::Clients => &SWEPT_CLIENTS,
            Stream::Pianos => &SWEPT_PIANOS,
            Stream::Events => &SWEPT_EVENTS,
            Stream::Timeline => &SWEPT_TIMELINE,
            Stream::Invoices => &SWEPT_INVOICES,
        }
    }
}

type Swept = (&'static TableSpec, &'static str);
static SWEPT_USERS: [Swept; 1] = [(&USERS, "users")];
static SWEPT_CATALOGUE: [Swept; 1] = [(&PRODUCTS, "catalogue")];
static SWEPT_CLIENTS: [Swept; 2] = [(&CLIENTS, "clients"), (&CONTACTS, "contacts")];
static SWEPT_PIANOS: [Swept; 1] = [(&PIANOS, "pianos")];
static SWEPT_EVENTS: [Swept; 2] = [(&APPOINTMENTS, "events"), (&OTHER_EVENTS, "events")];
static SWEPT_TIMELINE: [Swept; 1] = [(&TIMELINE_ENTRIES, "timeline")];
static SWEPT_INVOICES: [Swept; 2] = [(&INVOICES, "invoices"), (&INVOICE_ITEMS, "invoice_items")];

/// The settings of the pull (from `[sync]` and `[business]`).
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub event_window_days_back: i64,
    pub event_window_days_ahead: i64,
    pub timeline_lookback_days: i64,
    pub mass_change_threshold: usize,
    pub timezone: TimeZone,
}

impl SyncSettings {
    pub fn from_config(config: &config::Config) -> SyncSettings {
        SyncSettings {
            event_window_days_back: i64::from(config.sync.event_window_days_back),
            event_window_days_ahead: i64::from(config.sync.event_window_days_ahead),
            timeline_lookback_days: i64::from(config.sync.timeline_lookback_days),
            mass_change_threshold: config.sync.mass_change_threshold as usize,
            timezone: config.business.timezone.time_zone(),
        }
    }
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings::from_config(&config::Config::default())
    }
}

/// What a run reports as it goes (streamed to `gazellectl force-sync --wait`).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    RunStarted {
        run_id: i64,
        mode: Mode,
    },
    Page {
        stream: Stream,
        fetched: u64,
        counts: Counts,
    },
    StreamFinished {
        stream: Stream,
        counts: StreamCounts,
        cost: StreamCost,
        error: Option<String>,
    },
    RunFinished {
        run_id: i64,
        status: RunStatus,
    },
    /// The push cycle that follows a pull.
    Pushed {
        report: crate::push::PushReport,
    },
}

/// The outcome of one stream in a run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct StreamReport {
    pub stream: Stream,
    pub counts: StreamCounts,
    /// Its time, requests and bytes.
    pub cost: StreamCost,
    pub error: Option<String>,
    /// Deletions held back for confirmation.
    pub held_deletions: Option<usize>,
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RunReport {
    pub run_id: i64,
    pub mode: Mode,
    pub status: RunStatus,
    pub streams: Vec<StreamReport>,
    pub errors: Vec<String>,
    pub duration_ms: u64,
}

impl RunReport {
    /// Counts of every stream added up.
    pub fn totals(&self) -> StreamCounts {
        let mut total = StreamCounts::default();
        for s in &self.streams {
            total.fetched += s.counts.fetched;
            total.deleted += s.counts.deleted;
            total.rows.add(s.counts.rows);
        }
        total
    }
}

/// Pulls Gazelle into the store.
pub struct SyncEngine {
    store: Store,
    client: Arc<GazelleClient>,
    settings: SyncSettings,
}

/// Why a pass stopped early.
pub(crate) enum PassError {
    /// Gazelle failed; the run may go on with other streams (unless authorization is lost).
    Api(ApiError),
    /// The database failed: the run stops.
    Store(StoreError),
}

impl From<StoreError> for PassError {
    fn from(e: StoreError) -> Self {
        PassError::Store(e)
    }
}

impl From<ApiError> for PassError {
    fn from(e: ApiError) -> Self {
        PassError::Api(e)
    }
}

/// What a pass of one stream does, decided at its start (or read back when resuming).
pub(crate) struct Plan {
    pub(crate) stream: Stream,
    mode: Mode,
    pub(crate) run_id: i64,
    /// Record seen ids and sweep at the end.
    pub(crate) sweep: bool,
    /// Incremental passes sorted newest first stop below this createdAt.
    stop_below: Option<Timestamp>,
    /// The high-water mark when the pass started; it only moves forward.
    high_water: Option<Timestamp>,
    variables: Map<String, Value>,
}

/// Whether a pass probes before it reads (incremental passes over a window).
fn probed(stream: Stream, mode: Mode) -> bool {
    mode == Mode::Incremental
        && matches!(stream, Stream::Events | Stream::Timeline | Stream::Invoices)
}

/// `SyncState.WindowStart` of a complete scan: whether it sweeps (for whoever reads the
/// state; a restarted scan decides again).
const SWEEP: &str = "sweep";
const NO_SWEEP: &str = "no-sweep";

impl SyncEngine {
    pub fn new(store: Store, client: Arc<GazelleClient>, settings: SyncSettings) -> SyncEngine {
        SyncEngine {
            store,
            client,
            settings,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn client(&self) -> &GazelleClient {
        &self.client
    }

    pub fn settings(&self) -> &SyncSettings {
        &self.settings
    }

    /// Runs `mode` over `streams` (in foreign-key order whatever the order given).
    pub async fn run(
        &self,
        trigger: Trigger,
        mode: Mode,
        streams: &[Stream],
        progress: &(dyn Fn(&Progress) + Send + Sync),
    ) -> Result<RunReport, StoreError> {
        let started = Instant::now();
        let run_id = {
            let mut tx = self.store.begin_write().await?;
            let id = sync_log::begin_run(&mut tx, trigger, mode).await?;
            commit(tx).await?;
            id
        };
        progress(&Progress::RunStarted { run_id, mode });
        tracing::info!(
            run_id,
            mode = mode.as_str(),
            trigger = trigger.as_str(),
            "sync run started"
        );

        let mut reports = Vec::new();
        let mut errors = Vec::new();
        let mut kinds = std::collections::BTreeSet::new();
        for stream in Stream::ALL.into_iter().filter(|s| streams.contains(s)) {
            let mut counts = StreamCounts::default();
            let mut held = None;
            // Every request of the pass (its prefetching task's included) counts for it.
            let stream_started = Instant::now();
            let meter = Arc::new(api_client::meter::Meter::default());
            let outcome = api_client::meter::measured(meter.clone(), async {
                let plan = self.plan(stream, mode, run_id).await?;
                let newest = match stream {
                    Stream::Users | Stream::Catalogue => self
                        .list_pass(&plan, &mut counts, &mut errors, progress)
                        .await
                        .map(|()| None)?,
                    _ => {
                        self.paged_pass(&plan, &mut counts, &mut errors, progress)
                            .await?
                    }
                };
                self.finish_pass(&plan, newest, &mut counts, &mut held, &mut errors)
                    .await
            })
            .await;
            let reading = meter.reading();
            let cost = StreamCost {
                duration_ms: u64::try_from(stream_started.elapsed().as_millis())
                    .unwrap_or(u64::MAX),
                requests: reading.requests,
                bytes_received: reading.bytes_received,
            };
            let error = match outcome {
                Ok(()) => None,
                Err(PassError::Store(e)) => {
                    tracing::error!(stream = stream.name(), error = %e, "database failure: run stopped");
                    self.close_run(
                        run_id,
                        RunStatus::Failed,
                        started,
                        &[e.to_string()],
                        &[api_client::ErrorKind::Local],
                    )
                    .await?;
                    return Err(e);
                }
                Err(PassError::Api(e)) => {
                    let mut tx = self.store.begin_write().await?;
                    sync_log::finish_stream(&mut tx, stream.name(), Some(&e.to_string())).await?;
                    commit(tx).await?;
                    tracing::warn!(stream = stream.name(), error = %e, "stream failed; it resumes from its cursor next time");
                    errors.push(format!("{}: {e}", stream.name()));
                    kinds.insert(e.kind());
                    Some(e)
                }
            };
            let mut tx = self.store.begin_write().await?;
            sync_log::record_stream_cost(&mut tx, run_id, stream.name(), cost).await?;
            commit(tx).await?;
            tracing::debug!(
                stream = stream.name(),
                duration_ms = cost.duration_ms,
                requests = cost.requests,
                bytes_received = cost.bytes_received,
                "stream finished"
            );
            progress(&Progress::StreamFinished {
                stream,
                counts,
                cost,
                error: error.as_ref().map(ToString::to_string),
            });
            let stop = matches!(
                error,
                Some(ApiError::NeedsReauthorization { .. } | ApiError::Auth { .. })
            );
            reports.push(StreamReport {
                stream,
                counts,
                cost,
                error: error.map(|e| e.to_string()),
                held_deletions: held,
            });
            if stop {
                // Every other stream would fail the same way: stop asking.
                break;
            }
        }

        let failed = reports.iter().filter(|r| r.error.is_some()).count();
        let status = if failed == 0 && reports.len() == streams.len().min(Stream::ALL.len()) {
            RunStatus::Succeeded
        } else if failed == reports.len() {
            RunStatus::Failed
        } else {
            RunStatus::Partial
        };
        // The run's pages are committed whatever happens here: a checkpoint that cannot
        // finish only leaves the WAL for the next one.
        match self.store.checkpoint().await {
            Ok(true) => {}
            Ok(false) => tracing::debug!(
                run_id,
                "WAL checkpoint deferred: a reader holds an older snapshot"
            ),
            Err(e) => tracing::warn!(run_id, error = %e, "WAL checkpoint failed"),
        }
        if let Err(e) = self.store.release_memory().await {
            tracing::warn!(run_id, error = %e, "cannot release the writer's cache");
        }
        let kinds: Vec<api_client::ErrorKind> = kinds.into_iter().collect();
        self.close_run(run_id, status, started, &errors, &kinds)
            .await?;
        progress(&Progress::RunFinished { run_id, status });
        let report = RunReport {
            run_id,
            mode,
            status,
            streams: reports,
            errors,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        let totals = report.totals();
        tracing::info!(
            run_id,
            status = report.status.as_str(),
            fetched = totals.fetched,
            inserted = totals.rows.inserted,
            updated = totals.rows.updated,
            unchanged = totals.rows.unchanged,
            deleted = totals.deleted,
            rejected = totals.rows.rejected,
            duration_ms = report.duration_ms,
            "sync run finished"
        );
        Ok(report)
    }

    async fn close_run(
        &self,
        run_id: i64,
        status: RunStatus,
        started: Instant,
        errors: &[String],
        kinds: &[api_client::ErrorKind],
    ) -> Result<(), StoreError> {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let mut tx = self.store.begin_write().await?;
        sync_log::finish_run(&mut tx, run_id, status, started.elapsed(), errors, &kinds).await?;
        commit(tx).await
    }

    /// Decides what a pass reads. Every pass is a fresh one: a saved cursor only says that a
    /// pass was interrupted, and that pass starts over from its first page (see the module's
    /// documentation). Everything it stored before the interruption is re-read, so a restarted
    /// complete scan decides afresh whether it sweeps, and sweeps what it stored last time too.
    async fn plan(&self, stream: Stream, mode: Mode, run_id: i64) -> Result<Plan, StoreError> {
        let state = sync_log::stream_state(self.store.reader(), stream.name()).await?;
        let interrupted = state.as_ref().is_some_and(|s| s.cursor.is_some());
        let high_water = state
            .as_ref()
            .and_then(|s| s.high_water.as_deref())
            .and_then(|h| h.parse::<Timestamp>().ok());
        let complete = mode != Mode::Incremental;

        let sweep = if !complete {
            false
        } else {
            // Forget the previous scan's ids; sweep only if there is something to sweep.
            let (table, _) = stream.swept()[0];
            let any = store::reads::has_upstream_rows(self.store.reader(), table).await?;
            let mut tx = self.store.begin_write().await?;
            for (_, seen_as) in stream.swept() {
                reconcile::clear_seen(&mut tx, seen_as).await?;
            }
            sync_log::save_cursor(&mut tx, stream.name(), mode, None, run_id).await?;
            sync_log::save_window(&mut tx, stream.name(), if any { SWEEP } else { NO_SWEEP })
                .await?;
            commit(tx).await?;
            any
        };

        let today = Timestamp::now()
            .to_zoned(self.settings.timezone.clone())
            .date();
        let days = |n: i64| SignedDuration::from_hours(24 * n);
        let mut variables = Map::new();
        let mut stop_below = None;
        if !complete {
            match stream {
                Stream::Clients | Stream::Pianos => {
                    variables.insert("sortBy".into(), json!(["CREATED_AT_DESC"]));
                    stop_below = high_water;
                }
                Stream::Events => {
                    let from = today
                        .checked_sub(jiff::Span::new().days(self.settings.event_window_days_back))
                        .unwrap_or(today);
                    let to = today
                        .checked_add(jiff::Span::new().days(self.settings.event_window_days_ahead))
                        .unwrap_or(today);
                    variables.insert(
                        "filters".into(),
                        json!({"startOn": from.to_string(), "endOn": to.to_string()}),
                    );
                }
                Stream::Timeline => {
                    let since = store::time::utc_text(
                        Timestamp::now()
                            .saturating_sub(days(self.settings.timeline_lookback_days))
                            .unwrap_or(Timestamp::UNIX_EPOCH),
                    );
                    variables.insert("occurredAtGet".into(), json!(since));
                }
                Stream::Invoices => {
                    let from = today
                        .checked_sub(jiff::Span::new().days(self.settings.timeline_lookback_days))
                        .unwrap_or(today);
                    variables.insert(
                        "filters".into(),
                        json!({"invoiceDateGet": from.to_string()}),
                    );
                }
                Stream::Users | Stream::Catalogue => {}
            }
        }
        if interrupted {
            tracing::info!(
                stream = stream.name(),
                mode = mode.as_str(),
                "an interrupted pass starts again from its first page, keeping what it has seen"
            );
        }
        Ok(Plan {
            stream,
            mode,
            run_id,
            sweep,
            stop_below,
            high_water,
            variables,
        })
    }

    /// Users and catalogue: one request each, always complete.
    async fn list_pass(
        &self,
        plan: &Plan,
        counts: &mut StreamCounts,
        errors: &mut Vec<String>,
        progress: &(dyn Fn(&Progress) + Send + Sync),
    ) -> Result<(), PassError> {
        let mut tx = self.store.begin_write().await?;
        let tally = match plan.stream {
            Stream::Users => {
                let users: Vec<model::User> =
                    self.client.list(documents::USERS, "allUsers").await?;
                counts.fetched += users.len() as u64;
                let records: Vec<UserRecord> = users.iter().map(map::user).collect();
                let report = upsert(&mut tx, &records).await?;
                reconcile::record_seen(
                    &mut tx,
                    "users",
                    records.iter().map(|r| r.external_id.as_str()),
                )
                .await?;
                note_rejections("users", &report, errors);
                Tally::of(UserRecord::SPEC.table, report.counts())
            }
            _ => {
                let items: Vec<model::CatalogueItem> = self
                    .client
                    .list(documents::CATALOGUE, "allMasterServiceItems")
                    .await?;
                counts.fetched += items.len() as u64;
                let records: Vec<ProductRecord> = items.iter().map(map::product).collect();
                let report = upsert(&mut tx, &records).await?;
                reconcile::record_seen(
                    &mut tx,
                    "catalogue",
                    records.iter().map(|r| r.external_id.as_str()),
                )
                .await?;
                note_rejections("catalogue", &report, errors);
                Tally::of(ProductRecord::SPEC.table, report.counts())
            }
        };
        let page_counts = tally
            .record(&mut tx, plan.run_id, plan.stream, counts.fetched, 0)
            .await?;
        counts.rows.add(page_counts);
        commit(tx).await?;
        progress(&Progress::Page {
            stream: plan.stream,
            fetched: counts.fetched,
            counts: page_counts,
        });
        Ok(())
    }

    /// A connection, page by page, each page committed with its progress. An incremental
    /// pass over a window probes first, reads only the pieces that changed and confirms what
    /// vanished from it ([`crate::probe`]). Returns the newest `createdAt` read.
    async fn paged_pass(
        &self,
        plan: &Plan,
        counts: &mut StreamCounts,
        errors: &mut Vec<String>,
        progress: &(dyn Fn(&Progress) + Send + Sync),
    ) -> Result<Option<Timestamp>, PassError> {
        let reads = if probed(plan.stream, plan.mode) {
            let window = self.windows_to_read(plan.stream, &plan.variables).await?;
            if !window.vanished.is_empty() {
                self.confirm_vanished(plan, &window.vanished, counts, errors)
                    .await?;
            }
            window.reads
        } else {
            vec![plan.variables.clone()]
        };
        let mut newest = None;
        for read in reads {
            // One paged read of the stream's Gazelle type, document and root field.
            macro_rules! paged {
                ($node:ty, $operation:expr, $root:literal) => {
                    newest = newest.max(
                        self.pages::<$node>(
                            plan, &read, $operation, $root, counts, errors, progress,
                        )
                        .await?,
                    )
                };
            }
            match plan.stream {
                Stream::Clients => paged!(model::Client, documents::CLIENTS, "allClients"),
                Stream::Pianos => paged!(model::Piano, documents::PIANOS, "allPianos"),
                Stream::Events => paged!(model::Event, documents::EVENTS, "allEventsBatched"),
                Stream::Timeline => {
                    paged!(
                        model::TimelineEntry,
                        documents::TIMELINE,
                        "allTimelineEntries"
                    )
                }
                Stream::Invoices => paged!(model::Invoice, documents::INVOICES, "allInvoices"),
                Stream::Users | Stream::Catalogue => {}
            }
        }
        Ok(newest)
    }

    /// One paged read from the first page; returns the newest `createdAt` it stored.
    #[allow(clippy::too_many_arguments)]
    async fn pages<T: DeserializeOwned + Node + Send + 'static>(
        &self,
        plan: &Plan,
        read: &Map<String, Value>,
        operation: Operation,
        root: &'static str,
        counts: &mut StreamCounts,
        errors: &mut Vec<String>,
        progress: &(dyn Fn(&Progress) + Send + Sync),
    ) -> Result<Option<Timestamp>, PassError> {
        let mut fetched = Prefetch::<T>::start(
            self.client.clone(),
            operation,
            root,
            read.clone(),
            plan.stop_below,
        );
        let mut newest: Option<Timestamp> = None;
        while let Some(first) = fetched.next().await {
            let first = first?;
            // One transaction for this page and for the pages that follow it closely (already
            // fetched, or arriving within GROUP_WAIT), up to a group's bounds: a commit — WAL
            // frames, now and then a checkpoint — is paid once per group rather than once per
            // page. When Gazelle is slow the group is the one page, and the write lock is not
            // held while it is awaited. Each page's cursor is saved with it, so a crash loses
            // at most the uncommitted group and resumes after the last committed page.
            let mut tx = self.store.begin_write().await?;
            let group_started = Instant::now();
            let mut group: Vec<(u64, Counts)> = Vec::new();
            let mut group_rows = 0;
            let mut failed = None;
            let mut next = Some(Ok(first));
            while let Some(item) = next.take() {
                let (page, reached_known) = match item {
                    Ok(page) => page,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                };
                counts.fetched += page.nodes.len() as u64;
                newest = newest.max(page.nodes.iter().filter_map(Node::created_at).max());
                let page_counts = self
                    .store_page(&mut tx, plan, &page, reached_known, errors)
                    .await?;
                counts.rows.add(page_counts);
                group.push((counts.fetched, page_counts));
                group_rows += page.nodes.len();
                if group_rows < GROUP_ROWS && group_started.elapsed() < GROUP_TIME {
                    next = fetched.within(GROUP_WAIT).await;
                }
            }
            commit(tx).await?;
            for (fetched, page_counts) in group {
                progress(&Progress::Page {
                    stream: plan.stream,
                    fetched,
                    counts: page_counts,
                });
            }
            if let Some(e) = failed {
                return Err(e.into());
            }
        }
        Ok(newest)
    }

    /// Applies one page with its counts, in the caller's transaction. The cursor is saved as
    /// the mark of a pass in progress (an interrupted pass is known by it), never to read
    /// from.
    async fn store_page<T: Node>(
        &self,
        tx: &mut WriteTx,
        plan: &Plan,
        page: &Page<T>,
        reached_known: bool,
        errors: &mut Vec<String>,
    ) -> Result<Counts, StoreError> {
        let tally = T::apply(tx, &page.nodes, &self.settings, plan.sweep, errors).await?;
        let cursor = if page.page_info.has_next_page && !reached_known {
            page.page_info.end_cursor.as_deref()
        } else {
            None
        };
        let page_counts = tally
            .record(tx, plan.run_id, plan.stream, page.nodes.len() as u64, 0)
            .await?;
        sync_log::save_cursor(tx, plan.stream.name(), plan.mode, cursor, plan.run_id).await?;
        Ok(page_counts)
    }

    /// Ends a pass: confirms what a complete scan did not see and sweeps what is gone (or
    /// holds a mass deletion), moves the high-water mark to the newest record read, records
    /// success, clears the cursor.
    async fn finish_pass(
        &self,
        plan: &Plan,
        newest: Option<Timestamp>,
        counts: &mut StreamCounts,
        held: &mut Option<usize>,
        errors: &mut Vec<String>,
    ) -> Result<(), PassError> {
        if plan.sweep {
            self.confirm_unseen(plan, counts, errors).await?;
        }
        let mut tx = self.store.begin_write().await?;
        // The high-water mark only moves forward, and only when a pass has read everything
        // above it: an interrupted pass, newest first, starts again from the top.
        if let Some(newest) = newest
            && plan.high_water.is_none_or(|old| newest > old)
        {
            sync_log::save_high_water(&mut tx, plan.stream.name(), &store::time::utc_text(newest))
                .await?;
        }
        if plan.sweep {
            let mut all = Vec::new();
            for (table, seen_as) in plan.stream.swept() {
                all.extend(reconcile::unseen(&mut tx, seen_as, table).await?.ids);
            }
            all.sort();
            let unseen = Unseen { ids: all };
            match reconcile::hold_or_apply(
                &mut tx,
                plan.stream.name(),
                &unseen,
                self.settings.mass_change_threshold,
                plan.run_id,
            )
            .await?
            {
                MassChange::Apply => {
                    for (table, seen_as) in plan.stream.swept() {
                        counts.deleted +=
                            reconcile::tombstone_unseen(&mut tx, seen_as, table).await?;
                    }
                }
                MassChange::Held { count } => {
                    tracing::warn!(
                        stream = plan.stream.name(),
                        count,
                        "mass deletion held: it is applied only if the next complete scan confirms it"
                    );
                    *held = Some(count);
                }
            }
            sync_log::add_stream_counts(
                &mut tx,
                plan.run_id,
                plan.stream.name(),
                StreamCounts {
                    fetched: 0,
                    deleted: counts.deleted,
                    rows: Counts::default(),
                },
            )
            .await?;
            for (_, seen_as) in plan.stream.swept() {
                reconcile::clear_seen(&mut tx, seen_as).await?;
            }
        }
        sync_log::finish_stream(&mut tx, plan.stream.name(), None).await?;
        commit(tx).await?;
        Ok(())
    }
}

/// The pages of one pass, fetched and decoded by their own task while the pass stores the
/// previous ones.
///
/// Fetching waits on Gazelle and decodes JSON; storing waits on SQLite's worker thread. In
/// one task the two only overlap while both are waiting; in two tasks they run on two cores,
/// and a full sync takes about as long as the slower of the two instead of their sum. At most
/// [`PREFETCH`] pages are held ahead. A page that reaches the previous pass's high-water mark
/// (an incremental pass sorted newest first) is the last one fetched: nothing beyond it is
/// asked for. Dropping the prefetch (a failed store, a cancelled run) stops its task.
struct Prefetch<T> {
    pages: tokio::sync::mpsc::Receiver<Result<(Page<T>, bool), ApiError>>,
    task: tokio::task::JoinHandle<()>,
}

/// Records applied in one transaction at most, and how long one may grow: bounds on how long
/// the write lock is held and on what a crash can take back. A commit writes every page the
/// group dirtied, and the random ExternalId indexes make that about one page per record
/// unless the group is large (`large`: 17 GB written at 2,000 records, 5 GB at 20,000).
const GROUP_ROWS: usize = 20_000;
const GROUP_TIME: std::time::Duration = std::time::Duration::from_secs(2);
/// How long a group waits for the next page before committing what it has.
const GROUP_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// Decoded pages held ahead of the one being stored.
const PREFETCH: usize = 8;

impl<T: DeserializeOwned + Node + Send + 'static> Prefetch<T> {
    fn start(
        client: Arc<GazelleClient>,
        operation: Operation,
        root: &'static str,
        variables: Map<String, Value>,
        stop_below: Option<Timestamp>,
    ) -> Prefetch<T> {
        let (sender, pages) = tokio::sync::mpsc::channel(PREFETCH);
        // The fetching task's requests are the pass's: it carries the pass's meter.
        let meter = api_client::meter::current();
        let task = tokio::spawn(api_client::meter::within(meter, async move {
            let mut stream = Box::pin(client.pages::<T>(operation, root, variables, None));
            while let Some(page) = stream.next().await {
                let page = match page {
                    Ok(mut page) => T::complete(&client, &mut page.nodes).await.map(|()| page),
                    Err(e) => Err(e),
                };
                let page = page.map(|page| {
                    let reached_known = stop_below.is_some_and(|mark| {
                        page.nodes
                            .iter()
                            .filter_map(Node::created_at)
                            .any(|c| c < mark)
                    });
                    (page, reached_known)
                });
                let last = matches!(page, Err(_) | Ok((_, true)));
                if sender.send(page).await.is_err() || last {
                    break;
                }
            }
        }));
        Prefetch { pages, task }
    }

    async fn next(&mut self) -> Option<Result<(Page<T>, bool), ApiError>> {
        self.pages.recv().await
    }

    /// The next page if it is fetched within `wait` (`recv` is cancel-safe: a page that
    /// arrives later is not lost).
    async fn within(
        &mut self,
        wait: std::time::Duration,
    ) -> Option<Result<(Page<T>, bool), ApiError>> {
        match self.pages.try_recv() {
            Ok(page) => Some(page),
            Err(_) => tokio::time::timeout(wait, self.pages.recv())
                .await
                .ok()
                .flatten(),
        }
    }
}

impl<T> Drop for Prefetch<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) async fn commit(tx: WriteTx) -> Result<(), StoreError> {
    tx.commit().await.map_err(|source| StoreError::Sql {
        context: "committing a page",
        source,
    })
}

fn note_rejections(stream: &str, report: &BatchReport, errors: &mut Vec<String>) {
    for outcome in &report.outcomes {
        if let Action::Rejected(reason) = &outcome.action {
            tracing::warn!(stream, id = %outcome.external_id, reason = %reason, "record not stored");
            errors.push(format!(
                "{stream}: {} not stored: {reason}",
                outcome.external_id
            ));
        }
        for warning in &outcome.warnings {
            tracing::debug!(stream, id = %outcome.external_id, warning = %warning);
        }
    }
}

/// A node of a paged stream: how it is completed and stored.
pub(crate) trait Node: Sized {
    fn created_at(&self) -> Option<Timestamp>;
    /// Reads what a page could not carry (a client's contacts beyond the first page).
    fn complete(
        _client: &GazelleClient,
        _nodes: &mut [Self],
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        async { Ok(()) }
    }
    async fn apply(
        tx: &mut WriteTx,
        nodes: &[Self],
        settings: &SyncSettings,
        sweep: bool,
        errors: &mut Vec<String>,
    ) -> Result<Tally, StoreError>;
}

/// A page's counts, table by table (a stream writes clients and their contacts, invoices
/// and their lines): recorded per table and summed per stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tally(Vec<(&'static str, Counts)>);

impl Tally {
    fn of(table: &'static str, counts: Counts) -> Tally {
        Tally(vec![(table, counts)])
    }

    fn add(mut self, other: Tally) -> Tally {
        for (table, counts) in other.0 {
            match self.0.iter_mut().find(|(t, _)| *t == table) {
                Some((_, mine)) => mine.add(counts),
                None => self.0.push((table, counts)),
            }
        }
        self
    }

    pub(crate) fn total(&self) -> Counts {
        let mut total = Counts::default();
        for (_, counts) in &self.0 {
            total.add(*counts);
        }
        total
    }

    /// Records the page in the run log, in the page's transaction: the stream's line and
    /// each table's. The stream's counts of the page are returned.
    pub(crate) async fn record(
        &self,
        tx: &mut WriteTx,
        run_id: i64,
        stream: Stream,
        fetched: u64,
        deleted: u64,
    ) -> Result<Counts, StoreError> {
        let rows = self.total();
        sync_log::add_stream_counts(
            tx,
            run_id,
            stream.name(),
            StreamCounts {
                fetched,
                deleted,
                rows,
            },
        )
        .await?;
        for (table, counts) in &self.0 {
            sync_log::add_table_counts(tx, run_id, stream.name(), table, *counts).await?;
        }
        Ok(rows)
    }
}

/// Upserts one table's records, records their ids as seen when sweeping, notes rejections.
async fn store_batch<R: Upstream>(
    tx: &mut WriteTx,
    records: &[R],
    seen_as: &str,
    sweep: bool,
    errors: &mut Vec<String>,
) -> Result<Tally, StoreError> {
    let report = upsert(tx, records).await?;
    if sweep {
        reconcile::record_seen(tx, seen_as, records.iter().map(|r| r.external_id())).await?;
    }
    note_rejections(seen_as, &report, errors);
    Ok(Tally::of(R::SPEC.table, report.counts()))
}

impl Node for model::Client {
    fn created_at(&self) -> Option<Timestamp> {
        self.created_at
    }
    fn complete(
        client: &GazelleClient,
        nodes: &mut [Self],
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        client.complete_contacts(nodes)
    }
    async fn apply(
        tx: &mut WriteTx,
        nodes: &[Self],
        _: &SyncSettings,
        sweep: bool,
        errors: &mut Vec<String>,
    ) -> Result<Tally, StoreError> {
        let (clients, contacts): (Vec<ClientRecord>, Vec<Vec<ContactRecord>>) =
            nodes.iter().map(map::client).unzip();
        let contacts: Vec<ContactRecord> = contacts.into_iter().flatten().collect();
        Ok(store_batch(tx, &clients, "clients", sweep, errors)
            .await?
            .add(store_batch(tx, &contacts, "contacts", sweep, errors).await?))
    }
}

impl Node for model::Piano {
    fn created_at(&self) -> Option<Timestamp> {
        self.created_at
    }
    async fn apply(
        tx: &mut WriteTx,
        nodes: &[Self],
        _: &SyncSettings,
        sweep: bool,
        errors: &mut Vec<String>,
    ) -> Result<Tally, StoreError> {
        let records: Vec<PianoRecord> = nodes.iter().map(map::piano).collect();
        store_batch(tx, &records, "pianos", sweep, errors).await
    }
}

impl Node for model::Event {
    fn created_at(&self) -> Option<Timestamp> {
        self.created_at
    }
    fn complete(
        client: &GazelleClient,
        nodes: &mut [Self],
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        client.complete_event_pianos(nodes)
    }
    async fn apply(
        tx: &mut WriteTx,
        nodes: &[Self],
        _: &SyncSettings,
        sweep: bool,
        errors: &mut Vec<String>,
    ) -> Result<Tally, StoreError> {
        let mut appointments = Vec::new();
        let mut others = Vec::new();
        for node in nodes {
            match map::event(node) {
                map::EventRecord::Appointment(a) => appointments.push(a),
                map::EventRecord::Other(o) => others.push(o),
            }
        }
        let tally = store_batch(tx, &appointments, "events", sweep, errors).await?;
        // Every piano of each appointment, in the event's transaction.
        let links: Vec<(&str, Vec<&str>)> = nodes
            .iter()
            .filter(|e| e.client.is_some())
            .map(|e| (e.id.as_str(), e.piano_ids()))
            .collect();
        store::appointment_pianos::replace(tx, &links).await?;
        Ok(tally.add(store_batch(tx, &others, "events", sweep, errors).await?))
    }
}

impl Node for model::TimelineEntry {
    fn created_at(&self) -> Option<Timestamp> {
        self.occurred_at
    }
    async fn apply(
        tx: &mut WriteTx,
        nodes: &[Self],
        _: &SyncSettings,
        sweep: bool,
        errors: &mut Vec<String>,
    ) -> Result<Tally, StoreError> {
        let records: Vec<TimelineEntryRecord> = nodes.iter().map(map::timeline_entry).collect();
        store_batch(tx, &records, "timeline", sweep, errors).await
    }
}

impl Node for model::Invoice {
    fn created_at(&self) -> Option<Timestamp> {
        self.created_at
    }
    async fn apply(
        tx: &mut WriteTx,
        nodes: &[Self],
        settings: &SyncSettings,
        sweep: bool,
        errors: &mut Vec<String>,
    ) -> Result<Tally, StoreError> {
        let (invoices, items): (Vec<InvoiceRecord>, Vec<Vec<InvoiceItemRecord>>) = nodes
            .iter()
            .map(|i| map::invoice(i, &settings.timezone))
            .unzip();
        let items: Vec<InvoiceItemRecord> = items.into_iter().flatten().collect();
        Ok(store_batch(tx, &invoices, "invoices", sweep, errors)
            .await?
            .add(store_batch(tx, &items, "invoice_items", sweep, errors).await?))
    }
}
