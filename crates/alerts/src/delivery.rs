//! The delivery worker: drains the durable e-mail queue.
//!
//! Idempotent by construction: a message is claimed (`sending`, committed) before its SMTP
//! transaction and marked `sent` right after, so a restart sends what was pending and never
//! what was delivered (a kill between the server's acceptance and that mark is the one
//! window: see [`Delivery::run`]). A transient failure waits 30 s, then twice as long each time (capped
//! at an hour); after `smtp.max_attempts` failures, or at once for a permanent refusal, the
//! message is dead: kept with its error and counted in `gazellectl status`.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use store::Store;
use store::mail;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::mailer::{Mailer, SendError};

/// What one pass over the queue did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryReport {
    pub sent: u32,
    pub retrying: u32,
    pub dead: u32,
}

/// How long to wait after the `attempt`-th failure (the outbox's schedule).
pub fn backoff(attempt: i64) -> Duration {
    store::outbox::retry_delay(attempt)
}

#[derive(Clone)]
pub struct Delivery {
    store: Store,
    mailer: Mailer,
    max_attempts: i64,
    wake: Arc<Notify>,
}

impl Delivery {
    pub fn new(store: Store, mailer: Mailer, max_attempts: u16) -> Delivery {
        Delivery {
            store,
            mailer,
            max_attempts: i64::from(max_attempts.max(1)),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Wakes the worker (after a detector queued something).
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    /// Sends every message whose time has come, or until `stop`: the message in hand is
    /// always finished (sent and marked, or marked failed) before the worker stops.
    pub async fn deliver_due(
        &self,
        stop: &CancellationToken,
    ) -> Result<DeliveryReport, store::StoreError> {
        let mut report = DeliveryReport::default();
        loop {
            let due = mail::due(self.store.reader(), &store::time::now_text(), 50).await?;
            if due.is_empty() {
                return Ok(report);
            }
            for email in due {
                if stop.is_cancelled() {
                    return Ok(report);
                }
                // Read before the claim: a failed read leaves the message pending, not
                // `sending` until the next start.
                let attachments = mail::attachments(self.store.reader(), email.id).await?;
                let mut tx = self.store.begin_write().await?;
                let claimed = mail::claim(&mut tx, email.id).await?;
                commit(tx).await?;
                if !claimed {
                    continue;
                }
                let attempts = email.attempts + 1;
                let outcome = self.mailer.send(&email, &attachments).await;
                let mut tx = self.store.begin_write().await?;
                match outcome {
                    Ok(()) => {
                        mail::mark_sent(&mut tx, email.id).await?;
                        report.sent += 1;
                        tracing::info!(id = email.id, kind = %email.kind, to = %email.recipient, "e-mail sent");
                    }
                    Err(error) => {
                        let dead = matches!(error, SendError::Permanent(_))
                            || attempts >= self.max_attempts;
                        let wait = backoff(attempts);
                        let next = Timestamp::now()
                            .checked_add(
                                SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX),
                            )
                            .unwrap_or(Timestamp::MAX);
                        mail::mark_failed(
                            &mut tx,
                            email.id,
                            &error.to_string(),
                            &store::time::utc_text(next),
                            dead,
                        )
                        .await?;
                        if dead {
                            report.dead += 1;
                            tracing::error!(id = email.id, kind = %email.kind, to = %email.recipient, attempts, error = %error, "e-mail given up: marked dead");
                        } else {
                            report.retrying += 1;
                            tracing::warn!(id = email.id, attempts, retry_in = ?wait, error = %error, "e-mail not sent; will retry");
                        }
                    }
                }
                commit(tx).await?;
                if report.retrying > 0 {
                    // The server is failing: the rest of the queue would fail the same way.
                    return Ok(report);
                }
            }
        }
    }

    /// Runs until `stop`: delivers what is due, then sleeps until the next message is due
    /// (at most a minute) or a detector wakes it.
    ///
    /// SMTP cannot be exactly-once: between the server's acceptance (its reply to the end of
    /// the message) and the commit that marks the message sent, a kill or a power cut leaves
    /// it `sending`, and the next start queues it again. A shutdown never does: the daemon
    /// waits for the message in hand. The window is that one round trip and one commit.
    pub async fn run(self, stop: CancellationToken) {
        {
            match self.store.begin_write().await {
                Ok(mut tx) => match mail::release_interrupted(&mut tx).await {
                    Ok(n) => {
                        if n > 0 {
                            tracing::warn!(
                                count = n,
                                "e-mails interrupted mid-send are queued again"
                            );
                        }
                        let _ = tx.commit().await;
                    }
                    Err(e) => tracing::error!(error = %e, "cannot release interrupted e-mails"),
                },
                Err(e) => tracing::error!(error = %e, "cannot open the e-mail queue"),
            }
        }
        while !stop.is_cancelled() {
            if let Err(e) = self.deliver_due(&stop).await {
                tracing::error!(error = %e, "e-mail delivery failed");
            }
            let wait = match mail::next_due_at(self.store.reader()).await {
                Ok(Some(at)) => at
                    .parse::<Timestamp>()
                    .ok()
                    .map(|at| at.duration_since(Timestamp::now()))
                    .and_then(|d| Duration::try_from(d).ok())
                    .unwrap_or(Duration::ZERO),
                _ => Duration::from_secs(60),
            };
            let wait = wait.clamp(Duration::from_millis(200), Duration::from_secs(60));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.wake.notified() => {}
                () = stop.cancelled() => {}
            }
        }
    }
}

async fn commit(tx: store::WriteTx) -> Result<(), store::StoreError> {
    tx.commit().await.map_err(|source| store::StoreError::Sql {
        context: "committing the e-mail queue",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(30));
        assert_eq!(backoff(2), Duration::from_secs(60));
        assert_eq!(backoff(3), Duration::from_secs(120));
        assert_eq!(backoff(50), Duration::from_secs(3600));
    }
}
