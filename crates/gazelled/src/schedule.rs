//! The daemon's schedule (tokio-cron-scheduler), every job from `[sync]`:
//!
//! | job | when | what |
//! | --- | --- | --- |
//! | appointments | `sync.appointments_schedule` (hourly 07:00–21:00) | incremental: events |
//! | timeline | every `sync.timeline_interval` | incremental: timeline |
//! | nightly | `sync.nightly_schedule` | incremental: users, catalogue, clients, pianos, invoices |
//! | reconcile | `sync.reconcile_schedule` | reconcile: everything |
//! | push | every `sync.push_interval`, when the outbox has work | local edits to Gazelle |
//! | unconfirmed, low_stock, digest | `[alerts]` schedules | the alert detectors (see `alerting`) |
//!
//! Cron specs are read in `business.timezone`. tokio-cron-scheduler fixes a job's UTC offset
//! when the job is created, so the jobs are re-registered whenever the zone's offset changes
//! (the DST switches in March and November), checked every few minutes.
//!
//! Timers stall while a Mac sleeps. A watcher compares the wall clock with the monotonic
//! clock; after a jump (a wake), it asks for one coalesced catch-up run, not a burst of
//! every missed tick (a catch-up during a run waits for it, the runner runs one at a time).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sync_engine::{Mode, Stream, Trigger};
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::alerting::Alerting;
use crate::runner::Runner;
use crate::shutdown::Shutdown;

/// How far the wall clock may run ahead of the monotonic clock between two checks before we
/// call it a wake from sleep.
const WAKE_JUMP: Duration = Duration::from_secs(120);
const WATCH_EVERY: Duration = Duration::from_secs(30);

/// What the clock watcher does after one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// No sleep happened (or no sync is configured).
    Nothing,
    /// The Mac slept through scheduled runs: one coalesced catch-up run.
    CatchUp,
    /// It slept, but `gazellectl pause` holds every scheduled run, the catch-up included.
    Paused,
}

/// A wake is the wall clock moving much more than the monotonic one between two checks.
fn after_watch(wall: Duration, mono: Duration, paused: bool, configured: bool) -> Wake {
    match (wall > mono + WAKE_JUMP, paused, configured) {
        (false, _, _) | (true, _, false) => Wake::Nothing,
        (true, true, true) => Wake::Paused,
        (true, false, true) => Wake::CatchUp,
    }
}

/// Starts the scheduler and its watchers; they stop with `shutdown`.
pub async fn start(
    config: &config::Config,
    runner: Arc<Runner>,
    alerting: Arc<Alerting>,
    shutdown: &Shutdown,
) -> Result<(), String> {
    let mut scheduler = JobScheduler::new()
        .await
        .map_err(|e| format!("cannot start the scheduler: {e}"))?;
    let tz = config.business.timezone.time_zone();
    let offset = utc_offset(&tz);
    let mut ids = register(&scheduler, config, &runner, &alerting, offset).await?;
    scheduler
        .start()
        .await
        .map_err(|e| format!("cannot start the scheduler: {e}"))?;
    tracing::info!(
        jobs = ids.len(),
        utc_offset_seconds = offset,
        "schedule started"
    );

    let config = config.clone();
    let stop = shutdown.token().clone();
    shutdown.spawn(async move {
        let mut registered_offset = offset;
        let (mut last_wall, mut last_mono) = (jiff::Timestamp::now(), Instant::now());
        loop {
            tokio::select! {
                () = tokio::time::sleep(WATCH_EVERY) => {}
                () = stop.cancelled() => {
                    // No job fires from now on (a run one started is the runner's to end).
                    if let Err(e) = scheduler.shutdown().await {
                        tracing::warn!(error = %e, "the scheduler did not stop cleanly");
                    }
                    return;
                }
            }
            // A wake from sleep: the wall clock moved much more than the monotonic one.
            let (wall, mono) = (jiff::Timestamp::now(), Instant::now());
            let wall_elapsed = wall.duration_since(last_wall).unsigned_abs();
            let mono_elapsed = mono.duration_since(last_mono);
            let woke = after_watch(
                wall_elapsed,
                mono_elapsed,
                runner.is_paused(),
                runner.engine().is_some(),
            );
            if woke == Wake::Paused {
                tracing::info!("woke from sleep: no catch-up run, syncs are paused");
            } else if woke == Wake::CatchUp {
                tracing::info!(
                    slept_seconds = (wall_elapsed - mono_elapsed).as_secs(),
                    "woke from sleep: one catch-up run"
                );
                let runner = Arc::clone(&runner);
                tokio::spawn(async move {
                    if let Err(e) = runner
                        .trigger(Trigger::CatchUp, Mode::Incremental, Stream::ALL.to_vec())
                        .await
                    {
                        tracing::warn!(error = %e, "catch-up run not started");
                    }
                });
            }
            (last_wall, last_mono) = (wall, mono);
            // A DST switch: re-register with the new offset.
            let now_offset = utc_offset(&config.business.timezone.time_zone());
            if now_offset != registered_offset {
                for id in ids.drain(..) {
                    let _ = scheduler.remove(&id).await;
                }
                match register(&scheduler, &config, &runner, &alerting, now_offset).await {
                    Ok(new_ids) => {
                        ids = new_ids;
                        registered_offset = now_offset;
                        tracing::info!(
                            utc_offset_seconds = now_offset,
                            "time zone offset changed: schedule re-registered"
                        );
                    }
                    Err(e) => tracing::error!(error = %e, "cannot re-register the schedule"),
                }
            }
        }
    });
    Ok(())
}

fn utc_offset(tz: &jiff::tz::TimeZone) -> i32 {
    tz.to_offset(jiff::Timestamp::now()).seconds()
}

/// The ids of the registered jobs.
type Ids = Vec<uuid::Uuid>;

async fn register(
    scheduler: &JobScheduler,
    config: &config::Config,
    runner: &Arc<Runner>,
    alerting: &Arc<Alerting>,
    offset: i32,
) -> Result<Ids, String> {
    let zone = chrono::FixedOffset::east_opt(offset)
        .ok_or_else(|| format!("invalid UTC offset {offset}"))?;
    let mut ids = register_alerts(scheduler, config, alerting, zone).await?;
    if runner.engine().is_none() {
        // No Gazelle credentials: nothing to pull, but the alerts still run.
        return Ok(ids);
    }
    let s = &config.sync;
    let cron_jobs: [(&str, &str, Mode, Vec<Stream>); 3] = [
        (
            "appointments",
            s.appointments_schedule.as_str(),
            Mode::Incremental,
            vec![Stream::Events],
        ),
        (
            "nightly",
            s.nightly_schedule.as_str(),
            Mode::Incremental,
            vec![
                Stream::Users,
                Stream::Catalogue,
                Stream::Clients,
                Stream::Pianos,
                Stream::Invoices,
            ],
        ),
        (
            "reconcile",
            s.reconcile_schedule.as_str(),
            Mode::Reconcile,
            Stream::ALL.to_vec(),
        ),
    ];
    for (name, spec, mode, streams) in cron_jobs {
        let runner = Arc::clone(runner);
        let job = Job::new_async_tz(spec, zone, move |_, _| {
            let (runner, streams) = (Arc::clone(&runner), streams.clone());
            Box::pin(async move { scheduled(&runner, name, mode, streams).await })
        })
        .map_err(|e| format!("sync.{name}_schedule `{spec}`: {e}"))?;
        ids.push(
            scheduler
                .add(job)
                .await
                .map_err(|e| format!("cannot schedule {name}: {e}"))?,
        );
    }
    let timeline_runner = Arc::clone(runner);
    let timeline = Job::new_repeated_async(s.timeline_interval.duration(), move |_, _| {
        let runner = Arc::clone(&timeline_runner);
        Box::pin(async move {
            scheduled(
                &runner,
                "timeline",
                Mode::Incremental,
                vec![Stream::Timeline],
            )
            .await
        })
    })
    .map_err(|e| format!("sync.timeline_interval: {e}"))?;
    ids.push(
        scheduler
            .add(timeline)
            .await
            .map_err(|e| format!("cannot schedule timeline: {e}"))?,
    );
    // Local edits between pulls (a pull pushes too).
    let push_runner = Arc::clone(runner);
    let push = Job::new_repeated_async(s.push_interval.duration(), move |_, _| {
        let runner = Arc::clone(&push_runner);
        Box::pin(async move {
            if !runner.is_paused() {
                runner.push_if_ready().await;
            }
        })
    })
    .map_err(|e| format!("sync.push_interval: {e}"))?;
    ids.push(
        scheduler
            .add(push)
            .await
            .map_err(|e| format!("cannot schedule the push: {e}"))?,
    );
    Ok(ids)
}

async fn scheduled(runner: &Arc<Runner>, job: &'static str, mode: Mode, streams: Vec<Stream>) {
    if runner.is_paused() {
        tracing::info!(job, "scheduled run skipped: paused");
        return;
    }
    tracing::info!(job, "scheduled run");
    if let Err(e) = runner.trigger(Trigger::Schedule, mode, streams).await {
        tracing::warn!(job, error = %e, "scheduled run not started");
    }
}

/// What an alert job runs.
#[derive(Clone, Copy)]
enum AlertJob {
    Unconfirmed,
    LowStock,
    Digest,
}

/// The alert detectors' jobs (`[alerts]`), read in `business.timezone` like the sync's.
async fn register_alerts(
    scheduler: &JobScheduler,
    config: &config::Config,
    alerting: &Arc<Alerting>,
    zone: chrono::FixedOffset,
) -> Result<Ids, String> {
    let a = &config.alerts;
    let mut jobs = vec![
        (
            "unconfirmed",
            a.unconfirmed_schedule.as_str(),
            AlertJob::Unconfirmed,
        ),
        (
            "low_stock",
            a.low_stock_schedule.as_str(),
            AlertJob::LowStock,
        ),
    ];
    if a.digest {
        jobs.push(("digest", a.digest_schedule.as_str(), AlertJob::Digest));
    }
    let mut ids = Vec::new();
    for (name, spec, job) in jobs {
        let alerting = Arc::clone(alerting);
        let cron = Job::new_async_tz(spec, zone, move |_, _| {
            let alerting = Arc::clone(&alerting);
            Box::pin(async move {
                tracing::info!(job = name, "scheduled alert check");
                match job {
                    AlertJob::Unconfirmed => alerting.unconfirmed().await,
                    AlertJob::LowStock => alerting.low_stock().await,
                    AlertJob::Digest => alerting.digest().await,
                }
            })
        })
        .map_err(|e| format!("alerts.{name}_schedule `{spec}`: {e}"))?;
        ids.push(
            scheduler
                .add(cron)
                .await
                .map_err(|e| format!("cannot schedule {name}: {e}"))?,
        );
    }
    Ok(ids)
}

/// When each cron job fires next (UTC text), for `gazellectl status`.
pub fn next_runs(config: &config::Config) -> Vec<(&'static str, Option<String>)> {
    next_runs_after(config, jiff::Timestamp::now())
}

/// When each cron job fires next after `now`. A cron spec names a wall-clock time in
/// `business.timezone`; that wall time is placed with the zone's real rules, so the next
/// 07:00 after the November switch is 12:00 UTC, not 11:00 (the jobs themselves are
/// re-registered at each switch, see the module's documentation).
fn next_runs_after(
    config: &config::Config,
    now: jiff::Timestamp,
) -> Vec<(&'static str, Option<String>)> {
    let tz = config.business.timezone.time_zone();
    let local_now = now.to_zoned(tz.clone()).datetime();
    // The parser works on chrono; the wall clock is all it is given (offset zero), and the
    // wall time it finds goes back through the real zone.
    let Some(wall_now) = chrono::NaiveDate::from_ymd_opt(
        i32::from(local_now.year()),
        u32::try_from(local_now.month()).unwrap_or(1),
        u32::try_from(local_now.day()).unwrap_or(1),
    )
    .and_then(|d| {
        d.and_hms_opt(
            u32::try_from(local_now.hour()).unwrap_or(0),
            u32::try_from(local_now.minute()).unwrap_or(0),
            u32::try_from(local_now.second()).unwrap_or(0),
        )
    })
    .map(|t| t.and_utc()) else {
        return Vec::new();
    };
    let next = |spec: &str| {
        let wall = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Required)
            .build()
            .parse(spec)
            .ok()?
            .find_next_occurrence(&wall_now, false)
            .ok()?
            .naive_utc();
        let civil = jiff::civil::DateTime::new(
            i16::try_from(chrono::Datelike::year(&wall)).ok()?,
            i8::try_from(chrono::Datelike::month(&wall)).ok()?,
            i8::try_from(chrono::Datelike::day(&wall)).ok()?,
            i8::try_from(chrono::Timelike::hour(&wall)).ok()?,
            i8::try_from(chrono::Timelike::minute(&wall)).ok()?,
            i8::try_from(chrono::Timelike::second(&wall)).ok()?,
            0,
        )
        .ok()?;
        let at = civil.to_zoned(tz.clone()).ok()?.timestamp();
        Some(store::time::utc_text(at))
    };
    let (s, a) = (&config.sync, &config.alerts);
    let mut runs = vec![
        ("appointments", next(s.appointments_schedule.as_str())),
        ("nightly", next(s.nightly_schedule.as_str())),
        ("reconcile", next(s.reconcile_schedule.as_str())),
        ("unconfirmed", next(a.unconfirmed_schedule.as_str())),
        ("low_stock", next(a.low_stock_schedule.as_str())),
    ];
    if a.digest {
        runs.push(("digest", next(a.digest_schedule.as_str())));
    }
    runs
}

/// The next scheduled pull of a stream: the earliest job that pulls it (the timeline's
/// interval job has no fixed time: `None`).
pub fn next_pull_of(stream: &str, runs: &[(&'static str, Option<String>)]) -> Option<String> {
    let jobs: &[&str] = match stream {
        "events" => &["appointments", "reconcile"],
        "timeline" => &["reconcile"],
        _ => &["nightly", "reconcile"],
    };
    runs.iter()
        .filter(|(job, _)| jobs.contains(job))
        .filter_map(|(_, at)| at.clone())
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_run_is_placed_with_the_zone_s_real_rules_across_a_dst_switch() {
        let config = config::Config::default();
        // Saturday 2026-10-31 12:00 EDT; Montréal falls back on Sunday 2026-11-01 at 02:00.
        let now: jiff::Timestamp = "2026-10-31T16:00:00Z".parse().unwrap();
        let runs = next_runs_after(&config, now);
        // The nightly job (02:00) runs after the switch: 02:00 EST is 07:00Z (at the offset
        // of now it would read 06:00Z, an hour early).
        let nightly = runs.iter().find(|(job, _)| *job == "nightly").unwrap();
        assert_eq!(nightly.1.as_deref(), Some("2026-11-01T07:00:00Z"));
        // The unconfirmed-appointments notice at 16:00: Saturday's is still EDT (20:00Z)…
        let unconfirmed = runs.iter().find(|(job, _)| *job == "unconfirmed").unwrap();
        assert_eq!(unconfirmed.1.as_deref(), Some("2026-10-31T20:00:00Z"));
        // …and Sunday's, after the switch, is EST (21:00Z), not 20:00Z.
        let sunday: jiff::Timestamp = "2026-10-31T21:00:00Z".parse().unwrap();
        let runs = next_runs_after(&config, sunday);
        let unconfirmed = runs.iter().find(|(job, _)| *job == "unconfirmed").unwrap();
        assert_eq!(unconfirmed.1.as_deref(), Some("2026-11-01T21:00:00Z"));
    }

    #[test]
    fn a_wake_asks_for_one_catch_up_unless_paused() {
        let (mono, slept) = (WATCH_EVERY, WATCH_EVERY + Duration::from_secs(3600));
        assert_eq!(after_watch(slept, mono, false, true), Wake::CatchUp);
        assert_eq!(after_watch(slept, mono, true, true), Wake::Paused);
        assert_eq!(after_watch(slept, mono, false, false), Wake::Nothing);
        assert_eq!(after_watch(mono, mono, false, true), Wake::Nothing);
        assert_eq!(
            after_watch(mono + WAKE_JUMP, mono, false, true),
            Wake::Nothing,
            "a jump of exactly WAKE_JUMP is not a sleep"
        );
    }
}
