//! Storage trouble as the daemon lives it: a full disk, an I/O error, a read-only or busy
//! database, a file deleted under it. Seen by the runs and the push cycles, shown by
//! `status`, named by the sync-health alert, and over by itself at the next run that writes.

use std::sync::Mutex;

use store::error::StorageTrouble as Trouble;

/// The trouble in course, and an episode that ended before its alert could be written (a
/// full disk cannot take the alert that says so): the next health check records that one,
/// so the owner hears of every episode, once.
#[derive(Default)]
pub struct StorageWatch {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    trouble: Option<Trouble>,
    alerted: bool,
    ended_unalerted: Option<Trouble>,
}

impl StorageWatch {
    /// The trouble in course (for `status`).
    pub fn current(&self) -> Option<Trouble> {
        self.state.lock().ok().and_then(|s| s.trouble.clone())
    }

    /// What the sync-health alert should say: the trouble in course, else an episode not yet
    /// recorded.
    pub fn to_alert(&self) -> Option<String> {
        let state = self.state.lock().ok()?;
        match (&state.trouble, &state.ended_unalerted) {
            (Some(t), _) => Some(t.summary()),
            (None, Some(t)) => Some(format!("{} — terminé depuis", t.summary())),
            (None, None) => None,
        }
    }

    /// A health check that could write has recorded [`StorageWatch::to_alert`].
    pub fn alerted(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.alerted = state.trouble.is_some();
            state.ended_unalerted = None;
        }
    }

    /// A failed write: records it if it is storage trouble (a bug is not). Returns whether
    /// it was.
    pub fn failed(&self, error: &store::StoreError) -> bool {
        let Some(fault) = error.storage_fault() else {
            return false;
        };
        if let Ok(mut state) = self.state.lock() {
            let since = match state.trouble.as_ref() {
                Some(t) if t.fault == fault => t.since.clone(),
                _ => {
                    tracing::error!(?fault, error = %error, "storage trouble: the database cannot be written");
                    state.alerted = false;
                    store::time::now_text()
                }
            };
            state.trouble = Some(Trouble {
                fault,
                since,
                error: error.to_string(),
            });
        }
        true
    }

    /// A run that wrote: whatever the trouble was, it is over.
    pub fn wrote(&self) {
        if let Ok(mut state) = self.state.lock()
            && let Some(over) = state.trouble.take()
        {
            tracing::info!(fault = ?over.fault, since = %over.since, "storage trouble over: the database takes writes again");
            if !state.alerted {
                state.ended_unalerted = Some(over);
            }
            state.alerted = false;
        }
    }
}
