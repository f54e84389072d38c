//! What a running agent reports about itself: [`AgentStatus`], read from
//! counters its tasks update.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;

/// A snapshot of an agent's link and metrics shipping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgentStatus {
    /// Whether the link is up and welcomed right now.
    pub connected: bool,
    /// The node name the server welcomed this agent with, once known.
    pub node: Option<String>,
    /// Connections the server welcomed since the agent started.
    pub connections: u64,
    /// Connection attempts that failed or links that dropped.
    pub reconnects: u64,
    /// The last delay waited before reconnecting, in milliseconds.
    pub last_backoff_ms: Option<u64>,
    /// Why the last connection attempt failed or the last link dropped.
    pub last_error: Option<String>,
    /// Metric batches on disk waiting for the server's acknowledgement.
    pub batches_buffered: u64,
    /// Bytes those batches take on disk.
    pub bytes_buffered: u64,
    /// Metric batches written to the link (replays included).
    pub batches_sent: u64,
    /// Metric batches the server acknowledged.
    pub batches_acked: u64,
    /// Oldest metric batches dropped because the spool was full.
    pub batches_dropped: u64,
    /// Metric samples collected by this agent since it started.
    pub samples_collected: u64,
    /// The sequence number of the newest batch ever spooled (it survives restarts).
    pub last_seq: Option<u64>,
    /// Commands running now.
    pub commands_running: u64,
    /// Progress and log messages dropped while the link was down and the
    /// in-memory queue was full.
    pub messages_dropped: u64,
}

/// Counters shared by the agent's tasks; [`Counters::snapshot`] adds the
/// spool's figures.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub connected: AtomicBool,
    pub connections: AtomicU64,
    pub reconnects: AtomicU64,
    pub last_backoff_ms: AtomicU64,
    pub batches_sent: AtomicU64,
    pub samples_collected: AtomicU64,
    pub commands_running: AtomicU64,
    pub messages_dropped: AtomicU64,
    node: Mutex<Option<String>>,
    last_error: Mutex<Option<String>>,
    metrics_addr: Mutex<Option<SocketAddr>>,
}

impl Counters {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The welcomed node name.
    pub fn node(&self) -> Option<String> {
        lock(&self.node).clone()
    }

    /// Records the welcomed node name.
    pub fn set_node(&self, node: &str) {
        *lock(&self.node) = Some(node.to_owned());
    }

    /// Records why the link failed.
    pub fn set_error(&self, error: &str) {
        *lock(&self.last_error) = Some(error.to_owned());
    }

    /// Records the delay before the next attempt.
    pub fn set_backoff(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        // 0 means "never waited"; a real delay is at least 1 ms.
        self.last_backoff_ms.store(ms.max(1), Ordering::Relaxed);
    }

    /// The Prometheus endpoint's address.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        *lock(&self.metrics_addr)
    }

    /// Records the Prometheus endpoint's address.
    pub fn set_metrics_addr(&self, addr: SocketAddr) {
        *lock(&self.metrics_addr) = Some(addr);
    }

    /// The counters as a status; the spool figures come from `spool`.
    pub fn snapshot(&self, spool: crate::spool::SpoolFigures) -> AgentStatus {
        let backoff = self.last_backoff_ms.load(Ordering::Relaxed);
        AgentStatus {
            connected: self.connected.load(Ordering::Relaxed),
            node: self.node(),
            connections: self.connections.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            last_backoff_ms: (backoff > 0).then_some(backoff),
            last_error: lock(&self.last_error).clone(),
            batches_buffered: spool.batches,
            bytes_buffered: spool.bytes,
            batches_sent: self.batches_sent.load(Ordering::Relaxed),
            batches_acked: spool.acked,
            batches_dropped: spool.dropped,
            samples_collected: self.samples_collected.load(Ordering::Relaxed),
            last_seq: spool.last_seq,
            commands_running: self.commands_running.load(Ordering::Relaxed),
            messages_dropped: self.messages_dropped.load(Ordering::Relaxed),
        }
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked
/// (every critical section is a single assignment or clone).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
