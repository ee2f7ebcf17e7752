//! One module per verb.

pub mod auth;
pub mod config;
pub mod migrate_v4;
