//! Runs syncs one at a time. A trigger for the same run as the one in flight (same mode, same
//! streams) joins it: the caller gets its progress and report rather than a second run racing
//! the first. A trigger for a different run waits for the current one to end, then starts:
//! the nightly job must not be swallowed by an appointments run that happened to be going.

use std::sync::Arc;

use sync_engine::{Mode, Progress, RunReport, Stream, SyncEngine, Trigger};
use tokio::sync::{Mutex, broadcast};

use crate::shutdown::{RUN_GRACE, Shutdown};
use crate::storage::StorageWatch;

/// What a run tells those who wait on it.
#[derive(Debug, Clone)]
pub enum RunEvent {
    Progress(Progress),
    Finished(Result<RunReport, String>),
}

pub struct Runner {
    engine: Option<SyncEngine>,
    /// Runs the detectors a pull feeds before the run is announced finished, so a
    /// `force-sync --wait` returns with its alerts already in the database.
    alerting: Option<Arc<crate::alerting::Alerting>>,
    /// Local edits to Gazelle, after each pull and on `sync.push_interval`; one cycle at a time.
    pusher: Option<sync_engine::Pusher>,
    push_lock: Mutex<()>,
    /// Why there is no engine (no credentials configured).
    unavailable: Option<String>,
    current: Mutex<Option<(RunKey, broadcast::Sender<RunEvent>)>>,
    /// Set by `gazellectl pause`: scheduled runs are skipped, manual ones still run.
    paused: std::sync::atomic::AtomicBool,
    /// Runs are shutdown's tasks; none starts once the daemon is stopping.
    shutdown: Shutdown,
    /// Storage trouble seen by runs and pushes (for `status` and the health alert).
    storage: Arc<StorageWatch>,
}

/// What makes two runs the same run.
type RunKey = (&'static str, Vec<Stream>);

impl Runner {
    pub fn new(
        engine: Result<SyncEngine, String>,
        pusher: Option<sync_engine::Pusher>,
        alerting: Option<Arc<crate::alerting::Alerting>>,
        shutdown: Shutdown,
        storage: Arc<StorageWatch>,
    ) -> Arc<Runner> {
        let (engine, unavailable) = match engine {
            Ok(e) => (Some(e), None),
            Err(why) => (None, Some(why)),
        };
        Arc::new(Runner {
            engine,
            alerting,
            pusher,
            push_lock: Mutex::new(()),
            unavailable,
            current: Mutex::new(None),
            paused: std::sync::atomic::AtomicBool::new(false),
            shutdown,
            storage,
        })
    }

    /// One push cycle (waits for one in progress); `None` without Gazelle credentials or
    /// when the store failed (logged).
    pub async fn push_now(&self) -> Option<sync_engine::PushReport> {
        let pusher = self.pusher.as_ref()?;
        let _one = self.push_lock.lock().await;
        match pusher.push(self.shutdown.token()).await {
            Ok(report) => {
                if report != sync_engine::PushReport::default() {
                    tracing::info!(?report, "push cycle");
                }
                Some(report)
            }
            Err(e) => {
                tracing::error!(error = %e, "push cycle failed");
                self.storage.failed(&e);
                None
            }
        }
    }

    /// The push cycle of `sync.push_interval`: only when something is ready.
    pub async fn push_if_ready(&self) {
        if let Some(pusher) = &self.pusher
            && matches!(pusher.has_work().await, Ok(true))
        {
            self.push_now().await;
        }
    }

    pub fn engine(&self) -> Option<&SyncEngine> {
        self.engine.as_ref()
    }

    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused
            .store(paused, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub async fn is_running(&self) -> bool {
        self.current.lock().await.is_some()
    }

    /// Starts a run, or joins the one in flight. Returns its events and whether it joined.
    pub async fn trigger(
        self: &Arc<Self>,
        trigger: Trigger,
        mode: Mode,
        streams: Vec<Stream>,
    ) -> Result<(broadcast::Receiver<RunEvent>, bool), String> {
        if self.engine.is_none() {
            return Err(self
                .unavailable
                .clone()
                .unwrap_or_else(|| "sync is not configured".into()));
        }
        if self.shutdown.is_stopping() {
            return Err("the daemon is stopping: no new run".into());
        }
        let key: RunKey = (mode.as_str(), streams.clone());
        let mut current = loop {
            let current = self.current.lock().await;
            match current.as_ref() {
                Some((running, tx)) if *running == key => return Ok((tx.subscribe(), true)),
                Some((_, tx)) => {
                    // Another run is going: wait for its end, then try again.
                    let mut done = tx.subscribe();
                    drop(current);
                    while let Ok(event) = done.recv().await {
                        if matches!(event, RunEvent::Finished(_)) {
                            break;
                        }
                    }
                }
                None => break current,
            }
        };
        let (tx, rx) = broadcast::channel(1024);
        *current = Some((key, tx.clone()));
        drop(current);
        let runner = Arc::clone(self);
        self.shutdown.spawn(async move {
            // The run in a task of its own: a panic in it ends that task, not this one, so
            // the slot is always freed and everyone waiting hears how the run ended.
            let mut work =
                tokio::spawn(Arc::clone(&runner).run(trigger, mode, streams, tx.clone()));
            let stop = runner.shutdown.token().clone();
            let ended = tokio::select! {
                ended = &mut work => ended,
                () = stop.cancelled() => match tokio::time::timeout(RUN_GRACE, &mut work).await {
                    Ok(ended) => ended,
                    Err(_) => {
                        // Cut: its open transaction rolls back; every page before is
                        // committed, and the next run starts the pass over.
                        work.abort();
                        let _ = (&mut work).await;
                        tracing::warn!(mode = mode.as_str(), grace = ?RUN_GRACE, "sync run cut by the shutdown");
                        Ok(Err(format!(
                            "the daemon stopped; the run was cut after {} s (the next run starts it over)",
                            RUN_GRACE.as_secs()
                        )))
                    }
                },
            };
            let result = ended.unwrap_or_else(|failure| {
                let why = panic_message(failure);
                tracing::error!(mode = mode.as_str(), why, "sync run panicked");
                Err(format!("the run stopped on an internal error: {why}"))
            });
            // The pull's memory (SQLite's cache was shrunk by the run) goes back to the OS:
            // an idle daemon should not sit at a full sync's peak until its next restart.
            let trimmed = heap_trim::trim();
            tracing::debug!(trimmed, "heap trimmed after the run");
            // Once more when the read connections the run used have been closed as idle.
            let stop = runner.shutdown.token().clone();
            runner.shutdown.spawn(async move {
                tokio::select! {
                    () = tokio::time::sleep(store::open::READER_IDLE * 2 + std::time::Duration::from_secs(5)) => {
                        let trimmed = heap_trim::trim();
                        tracing::debug!(trimmed, "heap trimmed after the readers closed");
                    }
                    () = stop.cancelled() => {}
                }
            });
            // Clear before announcing, so a trigger that sees the end starts a new run.
            *runner.current.lock().await = None;
            let _ = tx.send(RunEvent::Finished(result));
        });
        Ok((rx, false))
    }

    /// One run: the pull, then a push cycle and the alert detectors when it succeeded.
    async fn run(
        self: Arc<Self>,
        trigger: Trigger,
        mode: Mode,
        streams: Vec<Stream>,
        tx: broadcast::Sender<RunEvent>,
    ) -> Result<RunReport, String> {
        let engine = self.engine.as_ref().ok_or("sync is not configured")?;
        fault_hook();
        let progress_tx = tx.clone();
        let result = engine
            .run(trigger, mode, &streams, &move |p| {
                let _ = progress_tx.send(RunEvent::Progress(p.clone()));
            })
            .await;
        match &result {
            Ok(_) => self.storage.wrote(),
            // Storage trouble is health news now, not at the next periodic check.
            Err(e) if self.storage.failed(e) => {
                if let Some(alerting) = &self.alerting {
                    alerting.health().await;
                }
            }
            Err(_) => {}
        }
        let result = result.map_err(|e| e.to_string());
        match &result {
            Ok(report) => {
                if let Some(pushed) = self.push_now().await {
                    let _ = tx.send(RunEvent::Progress(Progress::Pushed { report: pushed }));
                }
                if let Some(alerting) = &self.alerting {
                    alerting.after_run(report).await;
                }
            }
            Err(e) => tracing::error!(mode = mode.as_str(), error = %e, "sync run failed"),
        }
        result
    }
}

/// What a panicking task said, for the log and the run's error.
fn panic_message(failure: tokio::task::JoinError) -> String {
    match failure.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned()),
        Err(failure) => failure.to_string(),
    }
}

/// Debug builds only: `GAZELLED_FAULT=panic-in-run` makes every run panic, so the tests can
/// show that a panicking run frees the runner. Release builds have no such switch.
fn fault_hook() {
    #[cfg(debug_assertions)]
    if std::env::var("GAZELLED_FAULT").as_deref() == Ok("panic-in-run") {
        panic!("GAZELLED_FAULT=panic-in-run");
    }
}
