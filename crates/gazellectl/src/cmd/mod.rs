//! One module per verb.

pub mod auth;
pub mod config;
