//! What the request handlers share: the daemon's state, owned by the daemon (the socket
//! server only carries requests to the handlers and answers back).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::runner::Runner;

pub struct Context {
    pub runner: Arc<Runner>,
    pub alerting: Arc<crate::alerting::Alerting>,
    pub config: Arc<config::Config>,
    pub store: store::Store,
    pub started: Instant,
    pub socket: PathBuf,
    pub storage: Arc<crate::storage::StorageWatch>,
    /// Where the dashboard is served, once it listens.
    pub web: std::sync::OnceLock<crate::web::Served>,
}

impl Context {
    /// An edit was queued: it flows to Gazelle without waiting for the next interval,
    /// unless the schedule is paused (then with the next cycle after `resume`).
    pub fn nudge_push(&self) {
        if self.runner.is_paused() {
            return;
        }
        let runner = Arc::clone(&self.runner);
        tokio::spawn(async move {
            runner.push_now().await;
        });
    }
}
