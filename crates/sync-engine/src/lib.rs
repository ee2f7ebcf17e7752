//! The pull half of the sync: makes the SQLite database a faithful, always-fresh mirror of
//! the shop's Gazelle account. See [`engine`] for the modes and guarantees, [`map`] for how
//! Gazelle's records become rows.

mod confirm;
pub mod engine;
pub mod map;
mod probe;
pub mod push;
pub mod refresh;

pub use engine::{Progress, RunReport, Stream, StreamReport, SyncEngine, SyncSettings};
pub use push::{PushReport, Pusher};
pub use refresh::resolve_conflict;
pub use store::sync_log::{Mode, Trigger};
