//! Errors of the built-in proxy and of its control socket.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the proxy could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The public address could not be bound.
    #[error("cannot listen on {addr}: {cause}; pick another public port")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        cause: std::io::Error,
    },

    /// The proxy daemon reported a failure that is not a bind error.
    #[error("the proxy daemon failed: {message}; see the pilot-proxy log for details")]
    Daemon {
        /// The daemon's error message.
        message: String,
    },

    /// The proxy daemon's control socket cannot be reached.
    #[error(
        "cannot reach the proxy daemon at {}: {cause}; start it with \
         `pilot-proxy serve --socket {} --state <file>`",
        socket.display(),
        socket.display()
    )]
    Unreachable {
        /// The control socket.
        socket: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },

    /// The proxy daemon answered something this side does not understand.
    #[error(
        "unexpected answer from the proxy daemon at {}: {reason}; run pilot-proxy and \
         its clients from the same Pilot version",
        socket.display()
    )]
    Protocol {
        /// The control socket.
        socket: PathBuf,
        /// What was wrong with the exchange.
        reason: String,
    },

    /// Another proxy daemon already serves the control socket.
    #[error(
        "a proxy daemon is already serving {}; stop it first or pick another --socket path",
        socket.display()
    )]
    AlreadyRunning {
        /// The control socket.
        socket: PathBuf,
    },

    /// The worker threads could not be started.
    #[error("cannot start {count} proxy worker threads: {cause}; lower the worker count")]
    Workers {
        /// How many were asked for.
        count: usize,
        /// The I/O error.
        cause: std::io::Error,
    },

    /// The control socket could not be created.
    #[error(
        "cannot listen on control socket {}: {cause}; remove the file if it is stale or \
         pick another --socket path",
        socket.display()
    )]
    ControlSocket {
        /// The control socket.
        socket: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
}
