//! One module per verb.

pub mod config;
