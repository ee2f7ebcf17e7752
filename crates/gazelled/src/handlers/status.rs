//! `status` and `runs`.

use protocol::Authorization;
use protocol::calls::{Runs, Status};
use protocol::status::{
    DaemonStatus, DatabaseStatus, EmailStatus, RunView, ScheduledJob, StreamLine, StreamStatus,
};
use store::sync_log::{self, RunSummary, StreamCounts};

use super::Handled;
use crate::context::Context;

/// A run with its counts per stream and per table.
async fn run_view(context: &Context, run: RunSummary) -> Handled<RunView> {
    let reader = context.store.reader();
    let mut totals = StreamCounts::default();
    let mut streams = Vec::new();
    for line in sync_log::run_streams(reader, run.id).await? {
        let counts = line.counts;
        totals.fetched += counts.fetched;
        totals.deleted += counts.deleted;
        totals.rows.add(counts.rows);
        let tables = sync_log::run_tables(reader, run.id, &line.stream).await?;
        streams.push(StreamLine {
            stream: line.stream,
            counts,
            cost: line.cost,
            tables,
        });
    }
    Ok(RunView {
        run,
        streams,
        totals,
    })
}

/// The run history, newest first.
pub async fn runs(context: &Context, request: Runs) -> Handled<Vec<RunView>> {
    let runs = sync_log::recent_runs(context.store.reader(), request.limit.clamp(1, 500)).await?;
    let mut out = Vec::with_capacity(runs.len());
    for run in runs {
        out.push(run_view(context, run).await?);
    }
    Ok(out)
}

pub async fn status(context: &Context, _: Status) -> Handled<DaemonStatus> {
    // A database deleted or replaced under the daemon: that is the status (the readers
    // could not open it anyway).
    context.store.check_file()?;
    let reader = context.store.reader();
    let schedule = crate::schedule::next_runs(&context.config);
    let streams = sync_log::stream_states(reader)
        .await?
        .into_iter()
        .map(|state| StreamStatus {
            next_run: context
                .runner
                .engine()
                .and_then(|_| crate::schedule::next_pull_of(&state.stream, &schedule)),
            state,
        })
        .collect();
    let last_run = match sync_log::recent_runs(reader, 1).await?.into_iter().next() {
        Some(run) => Some(run_view(context, run).await?),
        None => None,
    };
    let authorization = match context.runner.engine() {
        Some(engine) => engine.client().auth_state().await.into(),
        None => Authorization::NotConfigured {
            reason: context
                .runner
                .unavailable()
                .unwrap_or("sync is not configured")
                .to_owned(),
        },
    };
    Ok(DaemonStatus {
        daemon_version: env!("CARGO_PKG_VERSION").into(),
        uptime_seconds: context.started.elapsed().as_secs(),
        authorization,
        sync_running: context.runner.is_running().await,
        paused: context.runner.is_paused(),
        streams,
        last_run,
        backlog: store::reads::backlog(reader).await?,
        schedule: schedule
            .into_iter()
            .map(|(job, next)| ScheduledJob {
                job: job.to_owned(),
                next,
            })
            .collect(),
        timeline_every: context.config.sync.timeline_interval.to_string(),
        email: EmailStatus {
            server: context.alerting.mail_server(),
        },
        database: DatabaseStatus {
            path: context.store.path().to_path_buf(),
            size_bytes: context.store.size_bytes(),
        },
        storage: context.storage.current(),
        socket: context.socket.clone(),
        dashboard: context.web.get().map(|w| w.base_url.clone()),
    })
}
