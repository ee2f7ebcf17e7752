//! The detectors. Each reads the store, decides, and writes its alerts together with their
//! queued e-mails in one transaction, keyed so that running it again creates nothing new:
//!
//! * maintenance: service notes never scanned, one alert per (entry, family), the entry
//!   marked scanned in the same transaction;
//! * J-1: tomorrow's unconfirmed appointments, re-checked live, once per (appointment,
//!   technician, date), institutional clients excluded;
//! * low stock: once per (product, technician) until restocked; zero is critical;
//! * sync health: raised when a condition starts, cleared (and said) when it ends.

use std::sync::Arc;

use api_client::GazelleClient;
use api_client::model::Event;
use config::{Config, Language};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::json;
use store::alerts::{self, NewMaintenanceAlert, SystemKind};
use store::mail::{self, NewEmail};
use store::{Store, StoreError};

use crate::message::{self, Composed};
use crate::notes::NoteScanner;
use crate::routing::{Recipient, Router};

/// Counts of one detector run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DetectReport {
    pub scanned: u32,
    pub raised: u32,
    pub resolved_at_creation: u32,
    pub cleared: u32,
    pub emails_queued: u32,
}

/// The detectors over one store, with the configuration they read.
pub struct Detectors {
    store: Store,
    config: Arc<Config>,
    scanner: NoteScanner,
    router: Router,
    /// E-mails are queued only when a mail server is configured.
    email: bool,
}

fn lang(language: Language) -> &'static str {
    match language {
        Language::Fr => "fr",
        Language::En => "en",
    }
}

fn email(
    dedup_key: String,
    kind: &'static str,
    to: &Recipient,
    composed: Composed,
    alert_id: Option<i64>,
    system_alert_id: Option<i64>,
) -> NewEmail {
    NewEmail {
        dedup_key,
        message_id: composed.message_id,
        thread_id: composed.thread_id,
        kind,
        alert_id,
        system_alert_id,
        recipient: to.address.clone(),
        language: lang(to.language),
        subject: composed.subject,
        body_text: composed.text,
        body_html: composed.html,
    }
}

fn timezone(config: &Config) -> TimeZone {
    config.business.timezone.time_zone()
}

fn days(n: u16) -> SignedDuration {
    SignedDuration::from_hours(24 * i64::from(n))
}

/// Queues a message unless its key was ever queued, counting it in `report` when new.
#[allow(clippy::too_many_arguments)]
async fn queue(
    tx: &mut store::WriteTx,
    report: &mut DetectReport,
    dedup_key: String,
    kind: &'static str,
    to: &Recipient,
    composed: Composed,
    alert_id: Option<i64>,
    system_alert_id: Option<i64>,
) -> Result<(), StoreError> {
    let new = email(dedup_key, kind, to, composed, alert_id, system_alert_id);
    if mail::queue(tx, &new).await? {
        report.emails_queued += 1;
    }
    Ok(())
}

async fn commit(tx: store::WriteTx) -> Result<(), StoreError> {
    tx.commit().await.map_err(|source| StoreError::Sql {
        context: "committing alerts",
        source,
    })
}

fn piano_name(make: Option<&str>, model: Option<&str>) -> Option<String> {
    let name = [make, model]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

impl Detectors {
    pub fn new(store: Store, config: Arc<Config>) -> Detectors {
        Detectors {
            scanner: NoteScanner::from_config(&config.alerts),
            router: Router::from_config(&config.alerts),
            email: config
                .smtp
                .host
                .as_deref()
                .is_some_and(|h| !h.trim().is_empty()),
            store,
            config,
        }
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    fn today(&self) -> Date {
        Timestamp::now().to_zoned(timezone(&self.config)).date()
    }

    /// Scans service notes not yet scanned that occurred since `since` (default: the last
    /// `alerts.scan_window_days`). Alerts observed within `alerts.notify_within_days` are
    /// e-mailed; older ones are recorded only.
    pub async fn scan_notes(&self, since: Option<Timestamp>) -> Result<DetectReport, StoreError> {
        let a = &self.config.alerts;
        let now = Timestamp::now();
        let since =
            since.unwrap_or_else(|| now.saturating_sub(days(a.scan_window_days)).unwrap_or(now));
        let notify_from = now
            .saturating_sub(days(a.notify_within_days))
            .unwrap_or(now);
        let tz = timezone(&self.config);
        let since_text = store::time::utc_text(since);
        let mut report = DetectReport::default();
        loop {
            let notes =
                alerts::unscanned_service_notes(self.store.reader(), &since_text, 500).await?;
            if notes.is_empty() {
                return Ok(report);
            }
            // Institutional clients first: their e-mails are queued (and sent) first.
            let mut notes = notes;
            notes.sort_by_key(|n| {
                !self
                    .router
                    .is_institutional(n.client_external_id.as_deref(), n.client_tags.as_deref())
            });
            let mut tx = self.store.begin_write().await?;
            let mut logged = Vec::new();
            for note in &notes {
                report.scanned += 1;
                let text = [note.title.as_deref(), note.details.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("\n");
                let occurred: Option<Timestamp> = note.occurred_at.parse().ok();
                let date = occurred.map_or_else(
                    || note.occurred_at.chars().take(10).collect(),
                    |t| store::time::date_text(t.to_zoned(tz.clone()).date()),
                );
                let recipient = self
                    .router
                    .technician(note.user_id.as_deref(), note.technician_email.as_deref());
                let technician = piano_name(
                    note.technician_first_name.as_deref(),
                    note.technician_last_name.as_deref(),
                );
                let institutional = self.router.is_institutional(
                    note.client_external_id.as_deref(),
                    note.client_tags.as_deref(),
                );
                let mut created = 0;
                for finding in self.scanner.scan(&text) {
                    let external_id =
                        format!("{}:{}", note.entry_external_id, finding.family.as_str());
                    let description = finding.description();
                    let new = NewMaintenanceAlert {
                        external_id: external_id.clone(),
                        client_id: note.client_id,
                        piano_id: note.piano_id,
                        date_observation: date.clone(),
                        location: note.piano_location.clone(),
                        alert_type: finding.family.as_str().to_owned(),
                        description: description.clone(),
                        resolved: finding.resolution.is_some(),
                        recipient_email: recipient.as_ref().map(|r| r.address.clone()),
                        created_by: note.user_id.clone(),
                    };
                    let Some(id) = alerts::insert_maintenance_alert(&mut tx, &new).await? else {
                        continue;
                    };
                    created += 1;
                    report.raised += 1;
                    if new.resolved {
                        report.resolved_at_creation += 1;
                        continue;
                    }
                    logged.push((id, note.company_name.clone(), description.clone()));
                    let recent = occurred.is_some_and(|t| t >= notify_from);
                    if let (true, true, Some(to)) = (self.email, recent, &recipient) {
                        let facts = message::MaintenanceFacts {
                            alert_external_id: &external_id,
                            family: finding.family.as_str(),
                            client: &note.company_name,
                            institutional,
                            piano: piano_name(
                                note.piano_make.as_deref(),
                                note.piano_model.as_deref(),
                            ),
                            piano_external_id: note.piano_external_id.as_deref(),
                            client_external_id: note.client_external_id.as_deref(),
                            room: note.piano_location.as_deref(),
                            date: &date,
                            technician: technician.clone(),
                            description: &description,
                            excerpt: &finding.excerpt,
                        };
                        let composed = message::maintenance(&facts, to.language);
                        queue(
                            &mut tx,
                            &mut report,
                            format!("maintenance:{external_id}:{}", to.address),
                            "maintenance",
                            to,
                            composed,
                            Some(id),
                            None,
                        )
                        .await?;
                    }
                }
                alerts::mark_scanned(&mut tx, &note.entry_external_id, created).await?;
            }
            commit(tx).await?;
            if self.config.alerts.log_channel {
                for (id, client, description) in &logged {
                    tracing::warn!(alert = id, client = %client, "maintenance alert: {description}");
                }
            }
            crate::notify_desktop(
                &self.config,
                logged.len(),
                "Assistant Gazelle",
                "nouvelle(s) alerte(s) d'entretien",
            );
        }
    }

    /// J-1: tomorrow's unconfirmed appointments, each re-checked against Gazelle just before
    /// its notice is queued (if the check fails, the notice goes anyway: one too many beats
    /// one missing). `client` is `None` when sync is not configured (no re-check).
    pub async fn unconfirmed(
        &self,
        client: Option<&GazelleClient>,
    ) -> Result<DetectReport, StoreError> {
        let tz = timezone(&self.config);
        let tomorrow = self.today().tomorrow().unwrap_or(self.today());
        let bound = |d: Date| {
            d.to_zoned(tz.clone())
                .map(|z| store::time::utc_text(z.timestamp()))
                .unwrap_or_default()
        };
        let from = bound(tomorrow);
        let to = bound(tomorrow.tomorrow().unwrap_or(tomorrow));
        let date = store::time::date_text(tomorrow);
        let mut report = DetectReport::default();
        // Yesterday's notices are done with: clear them so `status` counts what is current.
        let mut tx = self.store.begin_write().await?;
        let open = alerts::open_system_alerts(self.store.reader()).await?;
        let current: Vec<String> = open
            .iter()
            .filter(|a| a.kind == "unconfirmed" && a.key.ends_with(&date))
            .map(|a| a.key.clone())
            .collect();
        report.cleared +=
            alerts::clear_system_alerts_except(&mut tx, SystemKind::Unconfirmed, &current)
                .await?
                .len() as u32;
        commit(tx).await?;

        for appointment in alerts::unconfirmed_appointments(self.store.reader(), &from, &to).await?
        {
            report.scanned += 1;
            if self.router.is_institutional(
                appointment.client_external_id.as_deref(),
                appointment.client_tags.as_deref(),
            ) {
                continue;
            }
            if let Some(client) = client {
                match client
                    .execute::<serde_json::Value>(
                        api_client::documents::EVENT,
                        json!({"eventId": appointment.external_id}),
                    )
                    .await
                {
                    Ok(data) => {
                        let live: Option<Event> =
                            serde_json::from_value(data["event"].clone()).ok().flatten();
                        let still = live.as_ref().is_some_and(|e| {
                            !e.confirmed_by_client.unwrap_or(false)
                                && e.status.as_deref().unwrap_or("ACTIVE") == "ACTIVE"
                                && e.user.as_ref().map(|u| u.id.as_str())
                                    == Some(appointment.technician_id.as_str())
                        });
                        if !still {
                            tracing::info!(event = %appointment.external_id, "confirmed, moved or cancelled since the last pull: no J-1 notice");
                            continue;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(event = %appointment.external_id, error = %e, "live re-check failed: sending the J-1 notice anyway");
                    }
                }
            }
            let key = format!(
                "{}:{}:{}",
                appointment.external_id, appointment.technician_id, date
            );
            let start: Option<Timestamp> = appointment.start_at.parse().ok();
            let time = start.map_or_else(
                || appointment.start_at.clone(),
                |t| t.to_zoned(tz.clone()).strftime("%H:%M").to_string(),
            );
            let summary = format!("{} {} — {}", date, time, appointment.company_name);
            let mut tx = self.store.begin_write().await?;
            let raised = alerts::raise_system_alert(
                &mut tx,
                SystemKind::Unconfirmed,
                &key,
                false,
                &summary,
                &json!({"event": appointment.external_id, "technician": appointment.technician_id}),
            )
            .await?;
            if raised.is_some() {
                report.raised += 1;
            }
            let recipient = self.router.technician(
                Some(&appointment.technician_id),
                appointment.technician_email.as_deref(),
            );
            if let (true, Some(to)) = (self.email, &recipient) {
                let facts = message::UnconfirmedFacts {
                    event_external_id: &appointment.external_id,
                    technician_id: &appointment.technician_id,
                    date: &date,
                    first_name: appointment.technician_first_name.as_deref(),
                    time,
                    client: &appointment.company_name,
                    // Every piano of the appointment (a conservatory day has several).
                    piano: (!appointment.pianos.is_empty()).then(|| {
                        appointment
                            .pianos
                            .iter()
                            .map(store::appointment_pianos::AppointmentPiano::label)
                            .collect::<Vec<_>>()
                            .join(", ")
                    }),
                    duration_minutes: appointment.duration,
                };
                let composed = message::unconfirmed(&facts, to.language);
                // The key is permanent: never twice for the same (appointment, technician, date).
                queue(
                    &mut tx,
                    &mut report,
                    format!("unconfirmed:{key}"),
                    "unconfirmed",
                    to,
                    composed,
                    None,
                    raised,
                )
                .await?;
            }
            commit(tx).await?;
            if raised.is_some() && self.config.alerts.log_channel {
                tracing::warn!(event = %appointment.external_id, technician = %appointment.technician_id, "unconfirmed appointment tomorrow: {summary}");
            }
        }
        Ok(report)
    }

    /// Low stock: raised once per (product, technician) until restocked.
    pub async fn low_stock(&self) -> Result<DetectReport, StoreError> {
        let rows = alerts::low_stock(self.store.reader()).await?;
        let owner = self.router.owner();
        let mut report = DetectReport::default();
        let mut tx = self.store.begin_write().await?;
        let keys: Vec<String> = rows
            .iter()
            .map(|r| format!("{}:{}", r.product_id, r.technician_id))
            .collect();
        for (row, key) in rows.iter().zip(&keys) {
            report.scanned += 1;
            let technician = row
                .technician_name
                .clone()
                .unwrap_or_else(|| row.technician_id.clone());
            let summary = format!(
                "{} — {technician}: {} (seuil {})",
                row.product_name, row.quantity, row.reorder_threshold
            );
            // Once per (product, technician, severity) until restocked: a line already low
            // that runs out is upgraded to critical and e-mailed again ("rupture").
            let (id, dedupe) = match alerts::raise_or_update_system_alert(
                &mut tx,
                SystemKind::LowStock,
                key,
                row.quantity == 0,
                &summary,
                &json!(row),
            )
            .await?
            {
                alerts::Raised::New(id) => (id, format!("low_stock:{id}")),
                alerts::Raised::Upgraded(id) => (id, format!("low_stock:{id}:critical")),
                alerts::Raised::Updated(_) => continue,
            };
            report.raised += 1;
            if self.config.alerts.log_channel {
                tracing::warn!(product = %row.product_name, technician = %row.technician_id, quantity = row.quantity, "low stock");
            }
            if let (true, Some(to)) = (self.email, &owner) {
                let composed = message::low_stock(
                    id,
                    &row.product_name,
                    &technician,
                    row.quantity,
                    row.reorder_threshold,
                    to.language,
                );
                queue(
                    &mut tx,
                    &mut report,
                    dedupe,
                    "low_stock",
                    to,
                    composed,
                    None,
                    Some(id),
                )
                .await?;
            }
        }
        report.cleared += alerts::clear_system_alerts_except(&mut tx, SystemKind::LowStock, &keys)
            .await?
            .len() as u32;
        commit(tx).await?;
        Ok(report)
    }

    /// Sync health, from the run log and the authorization state. `running_since` is when
    /// the daemon started: a fresh install is not "stale" before it had a chance to sync.
    pub async fn sync_health(
        &self,
        authorization_lost: bool,
        running_since: Timestamp,
    ) -> Result<DetectReport, StoreError> {
        self.sync_health_with(authorization_lost, None, running_since)
            .await
    }

    /// [`Detectors::sync_health`] with the daemon's storage trouble, if any (`storage`: what
    /// it is and since when): the condition `storage`, one alert while it lasts. Raising it
    /// needs a write, so on a full disk it is recorded (and e-mailed) at the first check
    /// that can write; `status` shows the trouble at once.
    pub async fn sync_health_with(
        &self,
        authorization_lost: bool,
        storage: Option<&str>,
        running_since: Timestamp,
    ) -> Result<DetectReport, StoreError> {
        let a = &self.config.alerts;
        let runs = store::sync_log::recent_runs(self.store.reader(), 50).await?;
        let mut conditions: Vec<(String, String)> = Vec::new();
        if let Some(trouble) = storage {
            conditions.push(("storage".into(), trouble.to_owned()));
        }
        if authorization_lost {
            conditions.push((
                "authorization".into(),
                "autorisation Gazelle perdue : lancez `gazellectl auth login`".into(),
            ));
        }
        let last_success = runs
            .iter()
            .filter(|r| r.status == "succeeded")
            .filter_map(|r| {
                r.finished_at
                    .as_deref()
                    .and_then(|t| t.parse::<Timestamp>().ok())
            })
            .max();
        let stale_after =
            SignedDuration::try_from(a.sync_stale_after.duration()).unwrap_or(SignedDuration::MAX);
        let reference = last_success.unwrap_or(running_since);
        if Timestamp::now().duration_since(reference) > stale_after {
            let since = last_success.map_or_else(|| "jamais".to_owned(), store::time::utc_text);
            conditions.push((
                "stale".into(),
                format!("aucune synchronisation réussie depuis {since}"),
            ));
        }
        let n = usize::from(a.repeated_error_runs.max(1));
        let finished: Vec<&store::sync_log::RunSummary> = runs
            .iter()
            .filter(|r| r.finished_at.is_some())
            .take(n)
            .collect();
        if finished.len() == n {
            // The same *kind* of error in each of the last n runs: one outage answers 500,
            // 502 and 503 by turns, and is still one outage.
            let kinds = |r: &store::sync_log::RunSummary| {
                serde_json::from_str::<Vec<api_client::ErrorKind>>(&r.error_kinds)
                    .unwrap_or_default()
            };
            let mut common = kinds(finished[0]);
            for run in &finished[1..] {
                let these = kinds(run);
                common.retain(|k| these.contains(k));
            }
            if let Some(kind) = common.first() {
                let last = serde_json::from_str::<Vec<String>>(&finished[0].errors)
                    .unwrap_or_default()
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                conditions.push((
                    "repeated_error".into(),
                    format!(
                        "{} ({}) : {n} synchronisations de suite en échec ; dernier message : {last}",
                        kind.describe(),
                        kind.as_str()
                    ),
                ));
            }
        }
        let owner = self.router.owner();
        let mut report = DetectReport::default();
        let mut tx = self.store.begin_write().await?;
        let keys: Vec<String> = conditions.iter().map(|(k, _)| k.clone()).collect();
        for (key, summary) in &conditions {
            report.scanned += 1;
            let Some(id) = alerts::raise_system_alert(
                &mut tx,
                SystemKind::SyncHealth,
                key,
                key == "authorization",
                summary,
                &json!({}),
            )
            .await?
            else {
                continue;
            };
            report.raised += 1;
            tracing::error!(condition = %key, "sync health: {summary}");
            if let (true, Some(to)) = (self.email, &owner) {
                let composed = message::sync_health(id, summary, false, to.language);
                queue(
                    &mut tx,
                    &mut report,
                    format!("sync_health:{id}"),
                    "sync_health",
                    to,
                    composed,
                    None,
                    Some(id),
                )
                .await?;
            }
        }
        for cleared in
            alerts::clear_system_alerts_except(&mut tx, SystemKind::SyncHealth, &keys).await?
        {
            report.cleared += 1;
            tracing::info!(condition = %cleared.key, "sync health recovered: {}", cleared.summary);
            if let (true, Some(to)) = (self.email, &owner) {
                let composed =
                    message::sync_health(cleared.id, &cleared.summary, true, to.language);
                queue(
                    &mut tx,
                    &mut report,
                    format!("sync_health:cleared:{}", cleared.id),
                    "sync_health",
                    to,
                    composed,
                    None,
                    Some(cleared.id),
                )
                .await?;
            }
        }
        commit(tx).await?;
        Ok(report)
    }

    /// Appointment-change notices (see [`crate::changes`]): reads the journal the triggers
    /// wrote since the last sweep into waiting notices, then queues the e-mails of those whose
    /// time has come. `now` is the business clock (injectable in tests).
    pub async fn change_notices(&self, now: Timestamp) -> Result<DetectReport, StoreError> {
        use store::appointment_changes as journal;
        let tz = timezone(&self.config);
        let mut report = DetectReport::default();
        // The sweep runs every minute: with nothing to read and nothing due, it stays off the
        // writer (no lock taken from a sync, no cache grown on an idle daemon).
        if !journal::anything_to_do(self.store.reader(), &store::time::utc_text(now)).await? {
            return Ok(report);
        }
        loop {
            let mut tx = self.store.begin_write().await?;
            let lines = journal::unread(&mut tx).await?;
            let Some(last) = lines.last().map(|l| l.id) else {
                commit(tx).await?;
                break;
            };
            for line in &lines {
                report.scanned += 1;
                for news in crate::changes::news_of(line) {
                    // Switched off: the journal is still read (and trimmed), nobody is told.
                    if !self.config.alerts.change_notices
                        || !crate::changes::within_the_week(&news, now)
                    {
                        continue;
                    }
                    let waiting =
                        journal::pending(&mut tx, line.appointment_id, &news.technician_id).await?;
                    let due = crate::changes::due_at(now, &tz);
                    match crate::changes::collapse(
                        waiting.as_ref(),
                        &news,
                        line.appointment_id,
                        due,
                    ) {
                        Some(notice) => {
                            journal::put(&mut tx, &notice).await?;
                            report.raised += u32::from(waiting.is_none());
                        }
                        None if waiting.is_some() => {
                            journal::remove(&mut tx, line.appointment_id, &news.technician_id)
                                .await?;
                            report.cleared += 1;
                        }
                        None => {}
                    }
                }
            }
            journal::mark_read(&mut tx, last).await?;
            commit(tx).await?;
            if (lines.len() as i64) < journal::JOURNAL_BATCH {
                break;
            }
        }

        // The notices whose time has come: each queued and dropped in one transaction.
        let mut tx = self.store.begin_write().await?;
        for notice in journal::due(&mut tx, &store::time::utc_text(now)).await? {
            let recipient = self.router.technician(
                Some(&notice.technician_id),
                notice.technician_email.as_deref(),
            );
            if let (true, Some(to)) = (self.email, &recipient) {
                let shown = |utc: &str| {
                    utc.parse::<Timestamp>().map_or_else(
                        |_| utc.to_owned(),
                        |t| {
                            let z = t.to_zoned(tz.clone());
                            match to.language {
                                Language::Fr => format!(
                                    "{} {} {}",
                                    message::weekday_fr(z.weekday()),
                                    z.strftime("%Y-%m-%d"),
                                    z.strftime("%H:%M")
                                ),
                                Language::En => z.strftime("%A %Y-%m-%d %H:%M").to_string(),
                            }
                        },
                    )
                };
                let pianos = (!notice.pianos.is_empty()).then(|| {
                    notice
                        .pianos
                        .iter()
                        .map(store::appointment_pianos::AppointmentPiano::label)
                        .collect::<Vec<_>>()
                        .join(", ")
                });
                let facts = message::ChangeFacts {
                    change: &notice.change,
                    appointment_id: notice.appointment_id,
                    technician_id: &notice.technician_id,
                    first_name: notice.technician_first_name.as_deref(),
                    when: shown(&notice.start_at),
                    before: notice.previous_start_at.as_deref().map(shown),
                    client: &notice.company_name,
                    pianos,
                    duration_minutes: notice.duration,
                };
                let composed = message::appointment_change(&facts, to.language);
                // Forever once per (appointment, technician, start, change).
                queue(
                    &mut tx,
                    &mut report,
                    format!(
                        "change:{}:{}:{}:{}",
                        notice.appointment_id, notice.technician_id, notice.start_at, notice.change
                    ),
                    "change",
                    to,
                    composed,
                    None,
                    None,
                )
                .await?;
            }
            if self.config.alerts.log_channel {
                tracing::warn!(appointment = notice.appointment_id, technician = %notice.technician_id, change = %notice.change, start = %notice.start_at, "appointment change");
            }
            journal::remove(&mut tx, notice.appointment_id, &notice.technician_id).await?;
        }
        commit(tx).await?;
        Ok(report)
    }

    /// The daily agendas (see [`crate::agenda`]): for each day whose agenda is open at `now`
    /// (the business clock) and each technician who asked for it, the first agenda or an
    /// update is queued with its `.ics`, and recorded, in one transaction. Reads only, unless
    /// something is to be sent.
    pub async fn agendas(&self, now: Timestamp) -> Result<DetectReport, StoreError> {
        use crate::agenda::{self, AgendaFacts, Verdict};
        let mut report = DetectReport::default();
        let asked: Vec<&String> = self
            .config
            .alerts
            .technicians
            .iter()
            .filter(|(_, t)| t.agenda)
            .map(|(id, _)| id)
            .collect();
        if !self.email || asked.is_empty() {
            return Ok(report);
        }
        let tz = timezone(&self.config);
        let working: Vec<jiff::civil::Weekday> = self
            .config
            .business
            .working_days
            .iter()
            .map(|d| d.weekday())
            .collect();
        let quiet = agenda::is_quiet(now, &tz);
        let reader = self.store.reader();
        for day in agenda::open_days(now, &tz, self.config.alerts.agenda_time.time(), &working) {
            let bound = |d: Date| {
                d.to_zoned(tz.clone())
                    .map(|z| store::time::utc_text(z.timestamp()))
                    .map_err(|e| StoreError::Invalid(format!("the day {d}: {e}")))
            };
            let (from, to) = (bound(day)?, bound(day.tomorrow().unwrap_or(day))?);
            let day_text = store::time::date_text(day);
            for technician in &asked {
                report.scanned += 1;
                let visits = agenda::visits(reader, technician, &from, &to).await?;
                let contact = alerts::user_contact(reader, technician).await?;
                let facts = AgendaFacts {
                    technician_id: (*technician).clone(),
                    first_name: contact.as_ref().and_then(|c| c.first_name.clone()),
                    day: day_text.clone(),
                    visits,
                };
                let fingerprint = facts.fingerprint();
                let sent = store::agenda::last_sent(reader, technician, &day_text).await?;
                let verdict = agenda::verdict(
                    sent.as_ref().map(|s| s.fingerprint.as_str()),
                    &fingerprint,
                    facts.visits.len(),
                    quiet,
                );
                if verdict == Verdict::Nothing {
                    continue;
                }
                let Some(to) = self.router.technician_only(
                    technician,
                    contact.as_ref().and_then(|c| c.email.as_deref()),
                ) else {
                    tracing::warn!(technician = %technician, day = %day_text, "no e-mail address for this technician's agenda: set [alerts.technicians.{technician}] email");
                    continue;
                };
                let name = contact
                    .as_ref()
                    .and_then(|c| piano_name(c.first_name.as_deref(), c.last_name.as_deref()))
                    .unwrap_or_else(|| (*technician).clone());
                let ics = managers::appointments::ics(
                    &facts
                        .visits
                        .iter()
                        .map(|v| v.appointment.calendar_entry(technician))
                        .collect::<Vec<_>>(),
                    Some(&name),
                );
                let sent = sent.filter(|_| verdict == Verdict::Update);
                let (composed, attachment) =
                    agenda::compose(&facts, to.language, &tz, sent.as_ref(), ics);
                let message_id = composed.message_id.clone();
                let version = sent.as_ref().map_or(0, |s| s.updates.saturating_add(1));
                let new = email(
                    format!("agenda:{technician}:{day_text}:v{version}"),
                    "agenda",
                    &to,
                    composed,
                    None,
                    None,
                );
                let mut tx = self.store.begin_write().await?;
                if mail::queue_with(&mut tx, &new, &[attachment]).await? {
                    report.emails_queued += 1;
                    report.raised += u32::from(verdict == Verdict::First);
                }
                store::agenda::record_sent(
                    &mut tx,
                    technician,
                    &day_text,
                    &fingerprint,
                    &message_id,
                )
                .await?;
                commit(tx).await?;
                tracing::info!(technician = %technician, day = %day_text, update = verdict == Verdict::Update, appointments = facts.visits.len(), "daily agenda queued");
            }
        }
        Ok(report)
    }

    /// The daily digest of unresolved maintenance alerts to the owner (at most one a day).
    pub async fn digest(&self) -> Result<DetectReport, StoreError> {
        let mut report = DetectReport::default();
        let (true, Some(to)) = (self.email, self.router.owner()) else {
            return Ok(report);
        };
        let open =
            alerts::list_alerts(self.store.reader(), alerts::AlertFilter::Unresolved, 1000).await?;
        if open.is_empty() {
            return Ok(report);
        }
        let lines: Vec<message::DigestLine> = open
            .iter()
            .map(|a| message::DigestLine {
                institutional: self
                    .router
                    .is_institutional(a.client_external_id.as_deref(), a.client_tags.as_deref()),
                date: a.date_observation.clone(),
                family: a.alert_type.clone(),
                client: a.company_name.clone(),
                piano: piano_name(a.piano_make.as_deref(), a.piano_model.as_deref())
                    .unwrap_or_default(),
                description: a.description.clone().unwrap_or_default(),
            })
            .collect();
        report.scanned = lines.len() as u32;
        let date = store::time::date_text(self.today());
        let composed = message::digest(&date, &lines, to.language);
        let mut tx = self.store.begin_write().await?;
        queue(
            &mut tx,
            &mut report,
            format!("digest:{date}"),
            "digest",
            &to,
            composed,
            None,
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(report)
    }

    /// Queues a test message to `to` (default: the owner).
    pub async fn test_email(&self, to: Option<&str>) -> Result<String, String> {
        if !self.email {
            return Err("no mail server is configured: set `smtp.host` (and `smtp.from`)".into());
        }
        let recipient = match to {
            Some(address) => {
                address
                    .parse::<lettre::Address>()
                    .map_err(|e| format!("`{address}` is not an e-mail address: {e}"))?;
                Recipient {
                    address: address.to_owned(),
                    language: self.config.alerts.language,
                }
            }
            None => self
                .router
                .owner()
                .ok_or("no address: give --to ADDRESS or set `alerts.owner_email`")?,
        };
        let nonce = store::time::now_text().replace([':', '-'], "");
        let composed = message::test(&nonce, recipient.language);
        let mut tx = self.store.begin_write().await.map_err(|e| e.to_string())?;
        mail::queue(
            &mut tx,
            &email(
                format!("test:{nonce}:{}", recipient.address),
                "test",
                &recipient,
                composed,
                None,
                None,
            ),
        )
        .await
        .map_err(|e| e.to_string())?;
        commit(tx).await.map_err(|e| e.to_string())?;
        Ok(recipient.address)
    }
}
