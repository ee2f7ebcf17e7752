//! Runs syncs one at a time. A trigger while a run is in flight joins it: the caller gets the
//! running run's progress and report rather than a second run racing the first.

use std::sync::Arc;

use sync_engine::{Mode, Progress, RunReport, Stream, SyncEngine, Trigger};
use tokio::sync::{Mutex, broadcast};

/// What a run tells those who wait on it.
#[derive(Debug, Clone)]
pub enum RunEvent {
    Progress(Progress),
    Finished(Result<RunReport, String>),
}

pub struct Runner {
    engine: Option<SyncEngine>,
    /// Why there is no engine (no credentials configured).
    unavailable: Option<String>,
    current: Mutex<Option<broadcast::Sender<RunEvent>>>,
}

impl Runner {
    pub fn new(engine: Result<SyncEngine, String>) -> Arc<Runner> {
        let (engine, unavailable) = match engine {
            Ok(e) => (Some(e), None),
            Err(why) => (None, Some(why)),
        };
        Arc::new(Runner {
            engine,
            unavailable,
            current: Mutex::new(None),
        })
    }

    pub fn engine(&self) -> Option<&SyncEngine> {
        self.engine.as_ref()
    }

    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
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
        let mut current = self.current.lock().await;
        if let Some(tx) = current.as_ref() {
            return Ok((tx.subscribe(), true));
        }
        let (tx, rx) = broadcast::channel(1024);
        *current = Some(tx.clone());
        drop(current);
        let runner = Arc::clone(self);
        tokio::spawn(async move {
            let Some(engine) = runner.engine.as_ref() else {
                return;
            };
            let progress_tx = tx.clone();
            let result = engine
                .run(trigger, mode, &streams, &move |p| {
                    let _ = progress_tx.send(RunEvent::Progress(p.clone()));
                })
                .await
                .map_err(|e| e.to_string());
            // Clear before announcing, so a trigger that sees the end starts a new run.
            *runner.current.lock().await = None;
            let _ = tx.send(RunEvent::Finished(result));
        });
        Ok((rx, false))
    }
}
