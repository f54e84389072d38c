//! Errors of the agent listener.

use std::net::SocketAddr;
use std::time::Duration;

use pilot_core::protocol::ProtocolError;

/// Result of the agent listener's fallible operations.
pub type Result<T, E = HubError> = std::result::Result<T, E>;

/// Why the agent listener, or one agent connection, failed.
///
/// Only [`HubError::Tls`] is returned by [`Hub::serve`](super::Hub::serve);
/// the others end a single connection and are logged with its peer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// The TLS identity could not be turned into a server configuration.
    #[error(
        "cannot serve agents over TLS: {cause}; check the certificate and key files given to the server"
    )]
    Tls {
        /// The protocol layer's error.
        cause: ProtocolError,
    },

    /// The TLS handshake with an agent failed.
    #[error(
        "TLS handshake with {peer} failed: {cause}; check that the agent pins this server's certificate fingerprint"
    )]
    Handshake {
        /// The agent's address.
        peer: SocketAddr,
        /// The I/O error rustls reported.
        cause: std::io::Error,
    },

    /// The agent did not complete the TLS handshake and send its hello in time.
    #[error(
        "{peer} sent no hello within {} ms; the agent must send its hello right after connecting",
        after.as_millis()
    )]
    HelloTimeout {
        /// The agent's address.
        peer: SocketAddr,
        /// The time allowed.
        after: Duration,
    },

    /// The peer closed the connection without sending anything.
    #[error("{peer} closed the connection before sending a hello")]
    ClosedBeforeHello {
        /// The peer's address.
        peer: SocketAddr,
    },

    /// The first message of a connection was not a hello.
    #[error("{peer} sent a {kind} message before its hello; the agent must introduce itself first")]
    NotHello {
        /// The agent's address.
        peer: SocketAddr,
        /// The kind of message received, e.g. "heartbeat".
        kind: &'static str,
    },

    /// The agent's hello was refused (unknown or revoked token, other protocol version).
    #[error("refused the hello of {peer}: {reason}")]
    Refused {
        /// The agent's address.
        peer: SocketAddr,
        /// The reason sent to the agent.
        reason: String,
    },

    /// Reading or writing a frame failed.
    #[error("link with {peer} failed: {cause}")]
    Link {
        /// The agent's address.
        peer: SocketAddr,
        /// The protocol layer's error.
        cause: ProtocolError,
    },

    /// A store operation failed while serving an agent.
    #[error(
        "could not {action} for the agent at {peer}: {cause}; check that the database is reachable"
    )]
    Store {
        /// What was being done, e.g. "authenticate the node token".
        action: &'static str,
        /// The agent's address.
        peer: SocketAddr,
        /// The store's error (boxed: it is large and rare).
        cause: Box<pilot_store::Error>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_stays_small_enough_to_wrap() {
        // The crate error wraps it; clippy flags results whose error exceeds 128 bytes.
        assert!(std::mem::size_of::<HubError>() <= 112);
    }
}
