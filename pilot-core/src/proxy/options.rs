//! Tuning knobs of the proxy.

use std::time::Duration;

/// One worker per available core, for [`ProxyOptions::workers`].
pub fn workers_per_core() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// How the proxy forwards connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyOptions {
    /// How long a new connection keeps retrying an upstream that refuses it
    /// (e.g. while an in-place restart brings it back on the same port)
    /// before the client is closed.
    pub connect_retry: Duration,
    /// Size of each of the two copy buffers of a connection, in bytes.
    pub buffer_size: usize,
    /// Dedicated I/O threads that connections are spread over, each running
    /// its own single-threaded runtime. 0 runs connections on the tokio
    /// runtime that calls [`Router::set_route`](crate::Router::set_route).
    pub workers: usize,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            connect_retry: Duration::from_secs(5),
            buffer_size: 16 * 1024,
            workers: 0,
        }
    }
}
