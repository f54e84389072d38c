//! Errors of the built-in proxy.

use std::net::SocketAddr;

/// Why the proxy could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The public address could not be bound.
    #[error("cannot listen on {addr}: {source}; pick another public port")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}
