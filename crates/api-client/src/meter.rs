//! What a piece of work cost in requests and bytes, without threading a counter through
//! every call: the caller runs the work inside [`measured`], and every GraphQL request made
//! by that task (and by the tasks it hands the meter to with [`within`]) is counted.
//!
//! A task-local rather than a counter on the client: the push, a `doctor` check or another
//! stream may use the same client at the same time, and their requests are not this work's.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Requests sent and bytes received by the work it measures.
#[derive(Debug, Default)]
pub struct Meter {
    requests: AtomicU64,
    bytes_received: AtomicU64,
}

/// A reading of a [`Meter`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reading {
    /// HTTP requests sent to the GraphQL endpoint, retries and refreshed retries included.
    pub requests: u64,
    /// Bytes of the answers' bodies, as decoded (after gzip).
    pub bytes_received: u64,
}

impl Meter {
    pub fn reading(&self) -> Reading {
        Reading {
            requests: self.requests.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
        }
    }
}

tokio::task_local! {
    static METER: Arc<Meter>;
}

/// Runs `work` with `meter` counting its requests.
pub async fn measured<F: Future>(meter: Arc<Meter>, work: F) -> F::Output {
    METER.scope(meter, work).await
}

/// The meter of the current task, to hand to a task it spawns.
pub fn current() -> Option<Arc<Meter>> {
    METER.try_with(Arc::clone).ok()
}

/// Runs `work` under `meter` if there is one (for a spawned task doing measured work).
pub async fn within<F: Future>(meter: Option<Arc<Meter>>, work: F) -> F::Output {
    match meter {
        Some(meter) => METER.scope(meter, work).await,
        None => work.await,
    }
}

/// Counts a request sent.
pub(crate) fn request_sent() {
    let _ = METER.try_with(|m| m.requests.fetch_add(1, Ordering::Relaxed));
}

/// Counts an answer's bytes.
pub(crate) fn received(bytes: usize) {
    let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
    let _ = METER.try_with(|m| m.bytes_received.fetch_add(bytes, Ordering::Relaxed));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_measured_work_and_its_handed_tasks_count() {
        let meter = Arc::new(Meter::default());
        request_sent(); // outside: not counted
        measured(meter.clone(), async {
            request_sent();
            received(100);
            let handed = current();
            tokio::spawn(within(handed, async {
                request_sent();
                received(20);
            }))
            .await
            .unwrap();
            // A task spawned without the meter is someone else's work.
            tokio::spawn(async { request_sent() }).await.unwrap();
        })
        .await;
        assert_eq!(
            meter.reading(),
            Reading {
                requests: 2,
                bytes_received: 120
            }
        );
    }
}
