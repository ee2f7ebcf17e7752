//! Waiting for the signal to stop.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// SIGTERM (launchd, `kill`) and SIGINT (Ctrl-C) handlers.
///
/// Install them before announcing readiness: until a handler is installed, a signal takes its
/// default action and kills the process without a clean shutdown.
pub struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Resolves with the signal's name when one arrives.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
