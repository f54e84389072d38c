//! Where connections hand their work: the metrics queue and the last-seen
//! recorder, which writes heartbeats to the store one at a time so that a
//! crowd of agents does not compete with the metrics writer.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::Hub;
use super::ingest::Ingest;

/// Heartbeats waiting to be written; more are dropped (the next one of the
/// same node will be written).
pub(crate) const SEEN_QUEUE: usize = 4096;

/// A node heard from at `at_ms`.
pub(crate) struct Seen {
    node: Arc<str>,
    at_ms: i64,
}

/// The queues of one [`Hub::serve`] call, shared by its connections.
#[derive(Clone)]
pub(crate) struct Pipes {
    /// Metrics batches for the writer.
    pub ingest: mpsc::Sender<Ingest>,
    /// Heartbeats for the recorder.
    pub seen: mpsc::Sender<Seen>,
}

impl Pipes {
    /// Queues a last-seen write for `node`, unless the queue is full.
    pub fn seen(&self, node: &Arc<str>, at_ms: i64) {
        let seen = Seen {
            node: Arc::clone(node),
            at_ms,
        };
        if self.seen.try_send(seen).is_err() {
            tracing::debug!(%node, "last-seen queue full; skipping one heartbeat write");
        }
    }
}

impl Hub {
    /// Writes queued heartbeats until every sender is gone.
    pub(crate) async fn record_seen(self: Arc<Self>, mut queue: mpsc::Receiver<Seen>) {
        while let Some(seen) = queue.recv().await {
            if let Err(e) = self
                .store
                .record_heartbeat(&seen.node, seen.at_ms, None)
                .await
            {
                tracing::warn!(node = %seen.node, error = %e, "could not record a node's heartbeat");
            }
        }
    }
}
