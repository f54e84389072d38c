//! Tuning knobs of the proxy.

use std::time::Duration;

/// How the proxy forwards connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyOptions {
    /// How long a new connection keeps retrying an upstream that refuses it
    /// (e.g. while an in-place restart brings it back on the same port)
    /// before the client is closed.
    pub connect_retry: Duration,
    /// Size of each of the two copy buffers of a connection, in bytes.
    pub buffer_size: usize,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            connect_retry: Duration::from_secs(5),
            buffer_size: 16 * 1024,
        }
    }
}
