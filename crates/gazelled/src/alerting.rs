//! The daemon's alerting: the detectors run after the pulls that feed them and on their own
//! schedules, and the delivery worker drains the e-mail queue in the background.
//!
//! | when | what |
//! | --- | --- |
//! | after a run that pulled timeline entries | maintenance scan of new service notes |
//! | after every run, and every 10 minutes | sync health |
//! | `alerts.unconfirmed_schedule` (16:00) | J-1 unconfirmed appointments |
//! | `alerts.low_stock_schedule`, and after stock changes | low stock |
//! | `alerts.digest_schedule`, if `alerts.digest` | digest of open alerts |
//! | after every run, after an appointment edit on the Mac, and every minute | appointment-change notices (the night's go at 07:05) |
//! | after every run and every minute, while a day's agenda is open | daily agendas (`alerts.agenda_time`, 18:00) |

use std::sync::Arc;
use std::time::Duration;

use alerts::delivery::Delivery;
use alerts::detect::{DetectReport, Detectors};
use alerts::mailer::Mailer;
use api_client::GazelleClient;
use jiff::Timestamp;
use sync_engine::RunReport;
use tokio::sync::Mutex;

use crate::shutdown::Shutdown;
use crate::storage::StorageWatch;

/// How often sync health is checked besides after each run.
const HEALTH_EVERY: Duration = Duration::from_secs(600);
/// How often the appointment-change notices are swept besides after each run and each edit
/// (so the night's held notices go within a minute of 07:05).
const CHANGES_EVERY: Duration = Duration::from_secs(60);

/// The business clock: the wall clock, or, in debug builds, the instant written in the file
/// named by `GAZELLED_BUSINESS_CLOCK` (so a test can be at 22:00, then at 07:05, without
/// waiting for either). Read at each use.
pub fn business_now() -> Timestamp {
    #[cfg(debug_assertions)]
    if let Ok(file) = std::env::var("GAZELLED_BUSINESS_CLOCK") {
        match std::fs::read_to_string(&file).map(|t| t.trim().parse::<Timestamp>()) {
            Ok(Ok(now)) => return now,
            _ => {
                tracing::warn!(%file, "GAZELLED_BUSINESS_CLOCK: not a readable instant; using the wall clock")
            }
        }
    }
    Timestamp::now()
}

pub struct Alerting {
    store: store::Store,
    config: Arc<config::Config>,
    detectors: Detectors,
    delivery: Option<Delivery>,
    client: Option<Arc<GazelleClient>>,
    started: Timestamp,
    /// Detectors write the same tables: one at a time.
    running: Mutex<()>,
    storage: Arc<StorageWatch>,
}

impl Alerting {
    /// The alerting of the configuration; an SMTP setting that cannot work is an error.
    pub fn new(
        store: store::Store,
        config: Arc<config::Config>,
        client: Option<Arc<GazelleClient>>,
        storage: Arc<StorageWatch>,
    ) -> Result<Arc<Alerting>, String> {
        let mailer = Mailer::from_config(&config.smtp, config.alerts.owner_email.as_ref())?;
        match &mailer {
            Some(m) => tracing::info!(server = %m.server(), "alerts are e-mailed"),
            None => tracing::info!("no smtp.host: alerts are recorded and logged, not e-mailed"),
        }
        let delivery = mailer.map(|m| Delivery::new(store.clone(), m, config.smtp.max_attempts));
        Ok(Arc::new(Alerting {
            detectors: Detectors::new(store.clone(), Arc::clone(&config)),
            store,
            config,
            delivery,
            client,
            started: Timestamp::now(),
            running: Mutex::new(()),
            storage,
        }))
    }

    /// `host:port (security)` of the mail server, if e-mail is configured.
    pub fn mail_server(&self) -> Option<String> {
        self.delivery
            .as_ref()
            .map(|d| d.mailer().server().to_owned())
    }

    /// Starts the delivery worker and the periodic health check; both end with `shutdown`
    /// (the worker after the message in hand).
    pub fn start(self: &Arc<Self>, shutdown: &Shutdown) {
        if let Some(delivery) = self.delivery.clone() {
            shutdown.spawn(delivery.run(shutdown.token().clone()));
        }
        let me = Arc::clone(self);
        let stop = shutdown.token().clone();
        shutdown.spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(HEALTH_EVERY) => me.health().await,
                    () = stop.cancelled() => return,
                }
            }
        });
        let me = Arc::clone(self);
        let stop = shutdown.token().clone();
        shutdown.spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(CHANGES_EVERY) => {
                        me.change_notices().await;
                        me.agendas().await;
                    }
                    () = stop.cancelled() => return,
                }
            }
        });
    }

    /// Wakes the delivery worker (a message was queued outside the detectors).
    pub fn wake_mail(&self) {
        if let Some(d) = &self.delivery {
            d.notify();
        }
    }

    fn wake_delivery(&self, report: &DetectReport) {
        if report.emails_queued > 0
            && let Some(d) = &self.delivery
        {
            d.notify();
        }
    }

    fn log(
        &self,
        what: &str,
        result: Result<DetectReport, store::StoreError>,
    ) -> Option<DetectReport> {
        match result {
            Ok(report) => {
                if report.raised > 0 || report.cleared > 0 || report.emails_queued > 0 {
                    tracing::info!(detector = what, ?report, "alerts");
                }
                self.wake_delivery(&report);
                Some(report)
            }
            Err(e) => {
                tracing::error!(detector = what, error = %e, "alert detector failed");
                None
            }
        }
    }

    /// After a sync run: the stock that newly pulled invoices consumed (`[inventory]`) and
    /// the low-stock check it calls for, the maintenance scan if timeline entries were
    /// pulled, then health.
    pub async fn after_run(&self, report: &RunReport) {
        if report
            .streams
            .iter()
            .any(|s| s.stream == sync_engine::Stream::Invoices && s.error.is_none())
        {
            match managers::inventory::Inventory::new(&self.store, &self.config)
                .consume_invoiced()
                .await
            {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(movements = n, "stock consumed by invoiced work");
                    self.low_stock().await;
                }
                Err(e) => tracing::error!(error = %e, "stock consumption from invoices failed"),
            }
        }
        if report
            .streams
            .iter()
            .any(|s| s.stream == sync_engine::Stream::Timeline && s.error.is_none())
        {
            let _ = self.scan(None).await;
        }
        self.change_notices().await;
        self.agendas().await;
        self.health().await;
    }

    /// The daily agendas whose time has come, and updates of those already sent.
    pub async fn agendas(&self) {
        let _one = self.running.lock().await;
        self.log("agenda", self.detectors.agendas(business_now()).await);
    }

    /// Appointment-change notices: the journal swept, the due notices queued.
    pub async fn change_notices(&self) {
        let _one = self.running.lock().await;
        self.log(
            "appointment_changes",
            self.detectors.change_notices(business_now()).await,
        );
    }

    /// The maintenance scan (`since` = `alerts scan --since`).
    pub async fn scan(&self, since: Option<Timestamp>) -> Result<DetectReport, String> {
        let _one = self.running.lock().await;
        self.log("maintenance", self.detectors.scan_notes(since).await)
            .ok_or_else(|| "the maintenance scan failed (see the log)".to_owned())
    }

    pub async fn health(&self) {
        let lost = match &self.client {
            Some(c) => matches!(
                c.auth_state().await,
                api_client::AuthState::NeedsReauthorization
            ),
            None => false,
        };
        let storage = self.storage.to_alert();
        let _one = self.running.lock().await;
        let checked = self.log(
            "sync_health",
            self.detectors
                .sync_health_with(lost, storage.as_deref(), self.started)
                .await,
        );
        if checked.is_some() && storage.is_some() {
            self.storage.alerted();
        }
    }

    pub async fn unconfirmed(&self) {
        let _one = self.running.lock().await;
        self.log(
            "unconfirmed",
            self.detectors.unconfirmed(self.client.as_deref()).await,
        );
    }

    pub async fn low_stock(&self) {
        let _one = self.running.lock().await;
        self.log("low_stock", self.detectors.low_stock().await);
    }

    pub async fn digest(&self) {
        let _one = self.running.lock().await;
        self.log("digest", self.detectors.digest().await);
    }

    /// Queues a test message and waits (up to a minute) for the worker's verdict.
    pub async fn test_email(
        &self,
        store: &store::Store,
        to: Option<&str>,
    ) -> Result<String, String> {
        let address = self.detectors.test_email(to).await?;
        let Some(delivery) = &self.delivery else {
            return Err("no mail server is configured".into());
        };
        delivery.notify();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let recent = store::mail::recent(store.reader(), 20)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(m) = recent
                .iter()
                .find(|m| m.kind == "test" && m.recipient == address)
            {
                match m.state.as_str() {
                    "sent" => {
                        return Ok(format!(
                            "sent to {address} through {}",
                            delivery.mailer().server()
                        ));
                    }
                    "dead" => {
                        return Err(format!(
                            "not sent to {address}: {}",
                            m.last_error.clone().unwrap_or_default()
                        ));
                    }
                    _ if m.attempts > 0 && m.last_error.is_some() => {
                        return Err(format!(
                            "not sent yet to {address} (it will be retried): {}",
                            m.last_error.clone().unwrap_or_default()
                        ));
                    }
                    _ => {}
                }
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "queued for {address}, not sent within a minute: see `gazellectl logs`"
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
