//! `gazelled --sync-once MODE`: one pull in the foreground, its report on stdout.

use std::sync::Arc;

use sync_engine::{Mode, Stream, SyncEngine, SyncSettings, Trigger};

use crate::exit::Failure;

pub async fn run(config: &config::Config, store: store::Store, mode: &str) -> Result<(), Failure> {
    let mode = match mode {
        "full" => Mode::Full,
        "reconcile" => Mode::Reconcile,
        _ => Mode::Incremental,
    };
    let client = Arc::new(api_client::from_config::client(config).map_err(Failure::Api)?);
    let engine = SyncEngine::new(store.clone(), client, SyncSettings::from_config(config));
    let report = engine
        .run(Trigger::Manual, mode, &Stream::ALL, &|_| {})
        .await
        .map_err(Failure::Store)?;
    println!("{}", serde_json::to_string(&report).unwrap_or_default());
    store.close().await;
    match report.status {
        store::sync_log::RunStatus::Succeeded => Ok(()),
        store::sync_log::RunStatus::Partial => Err(Failure::SyncFailed("was partial")),
        store::sync_log::RunStatus::Failed => Err(Failure::SyncFailed("failed")),
    }
}
