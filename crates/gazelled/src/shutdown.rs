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

/// How long the work in flight gets, after the signal, to finish or reach a safe point
/// before the store closes.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a sync run in flight gets of [`GRACE`] before it is cut. A cut pull is safe (each
/// page is one transaction; the next run starts the pass over), and what is left of the
/// grace lets the push and the e-mail worker end the item they were on.
pub const RUN_GRACE: std::time::Duration = std::time::Duration::from_secs(7);

/// The daemon's shutdown, threaded explicitly (as in mini-redis): every long-lived task is
/// spawned on [`Shutdown::spawn`] and watches [`Shutdown::token`]; on the signal the token is
/// cancelled and [`Shutdown::finish`] waits, within a bound, for them all.
///
/// Each task decides where it may stop: the accept loop and idle connections at once, a
/// request being handled when it is answered, the push and the e-mail worker after the item
/// in hand (its bookkeeping committed), a sync run within [`RUN_GRACE`].
#[derive(Clone, Default)]
pub struct Shutdown {
    token: tokio_util::sync::CancellationToken,
    tasks: tokio_util::task::TaskTracker,
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Cancelled when the daemon is stopping.
    pub fn token(&self) -> &tokio_util::sync::CancellationToken {
        &self.token
    }

    pub fn is_stopping(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Spawns a task that shutdown waits for.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tasks.spawn(task)
    }

    /// Tells every task to stop, then waits for them up to `grace`. Returns how many were
    /// still running when the grace ran out (they end with the runtime).
    pub async fn finish(&self, grace: std::time::Duration) -> usize {
        self.token.cancel();
        self.tasks.close();
        match tokio::time::timeout(grace, self.tasks.wait()).await {
            Ok(()) => 0,
            Err(_) => self.tasks.len(),
        }
    }
}
