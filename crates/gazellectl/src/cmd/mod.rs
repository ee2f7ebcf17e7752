//! One module per verb; `daemon` is the connection they share.

pub mod alerts;
pub mod auth;
pub mod config;
pub mod daemon;
pub mod doctor;
pub mod force_sync;
pub mod install;
pub mod logs;
pub mod manage;
pub mod migrate_v4;
pub mod runs;
pub mod status;
