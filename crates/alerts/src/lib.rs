//! Alerts: what needs a person, found in the mirrored data and e-mailed once.
//!
//! * [`notes`]: technicians' service notes → maintenance findings (pure, table-tested).
//! * [`detect`]: the detectors over the store — maintenance, unconfirmed appointments (J-1),
//!   low stock, sync health. Each writes its alert and queues its e-mail in one transaction,
//!   keyed so that running it again creates nothing new.
//! * [`agenda`]: the daily agenda of each technician who asked for it (rules and e-mail).
//! * [`message`]: the e-mails (French or English, text and HTML, stable `Message-ID`,
//!   subjects that thread).
//! * [`mailer`] and [`delivery`]: SMTP with lettre, and the worker that drains the durable
//!   queue with backoff, never sending a delivered message again.

pub mod agenda;
pub mod changes;
pub mod delivery;
pub mod detect;
pub mod mailer;
pub mod message;
pub mod notes;
pub mod routing;

/// Shows `count` new alerts in macOS Notification Center when `alerts.macos_notifications`
/// is on (through `osascript`; a failure is logged, never fatal). Elsewhere: nothing.
pub fn notify_desktop(config: &config::Config, count: usize, title: &str, what: &str) {
    if count == 0 || !config.alerts.macos_notifications || !cfg!(target_os = "macos") {
        return;
    }
    let text = format!("{count} {what}");
    let script = format!(
        "display notification \"{}\" with title \"{}\"",
        text.replace(['"', '\\'], ""),
        title.replace(['"', '\\'], "")
    );
    match std::process::Command::new("osascript")
        .args(["-e", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
    {
        // Reaped off the caller's thread: an unwaited child stays a zombie for the daemon's
        // whole life, one per notification.
        Ok(mut child) => {
            std::thread::spawn(move || {
                if let Err(e) = child.wait() {
                    tracing::warn!(error = %e, "osascript did not end cleanly");
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot show a desktop notification"),
    }
}
