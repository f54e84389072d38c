//! Counters of the agent listener.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// What the [`Hub`](super::Hub) has done since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubStats {
    /// Authenticated connections open now.
    pub connections: u64,
    /// Hellos accepted.
    pub hellos_accepted: u64,
    /// Hellos refused (unknown or revoked token, other protocol version, malformed hello).
    pub hellos_refused: u64,
    /// Connections closed because the same node connected again.
    pub replaced: u64,
    /// Connections closed because the agent stayed silent.
    pub silent: u64,
    /// Metrics batches stored and acknowledged.
    pub batches_stored: u64,
    /// Samples in those batches.
    pub samples_stored: u64,
    /// Batches the store refused as invalid (acknowledged and dropped).
    pub batches_rejected: u64,
    /// Database transactions used to store the batches.
    pub commits: u64,
    /// Batches that could not be stored because the database failed (not
    /// acknowledged; the agent sends them again after reconnecting).
    pub store_failures: u64,
    /// Commands sent to agents.
    pub commands_sent: u64,
}

/// The live counters behind [`HubStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub connections: AtomicU64,
    pub hellos_accepted: AtomicU64,
    pub hellos_refused: AtomicU64,
    pub replaced: AtomicU64,
    pub silent: AtomicU64,
    pub batches_stored: AtomicU64,
    pub samples_stored: AtomicU64,
    pub batches_rejected: AtomicU64,
    pub commits: AtomicU64,
    pub store_failures: AtomicU64,
    pub commands_sent: AtomicU64,
}

impl Counters {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> HubStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        HubStats {
            connections: get(&self.connections),
            hellos_accepted: get(&self.hellos_accepted),
            hellos_refused: get(&self.hellos_refused),
            replaced: get(&self.replaced),
            silent: get(&self.silent),
            batches_stored: get(&self.batches_stored),
            samples_stored: get(&self.samples_stored),
            batches_rejected: get(&self.batches_rejected),
            commits: get(&self.commits),
            store_failures: get(&self.store_failures),
            commands_sent: get(&self.commands_sent),
        }
    }
}
