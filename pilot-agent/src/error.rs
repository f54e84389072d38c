//! The error type of pilot-agent.

use std::path::PathBuf;

use pilot_core::protocol::ProtocolError;

/// Result of fallible pilot-agent operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in pilot-agent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A core operation failed.
    #[error(transparent)]
    Core(#[from] pilot_core::Error),

    /// The metrics collector or its endpoint failed.
    #[error(transparent)]
    Metrics(#[from] pilot_metrics::Error),

    /// The server refused this agent (unknown or revoked token, version mismatch, ...).
    #[error(
        "the server {server} refused this agent: {reason}; check the node token (enrol the node \
         again with `pilot node add` if it was revoked) and that both sides run the same Pilot release"
    )]
    Refused {
        /// The server address.
        server: String,
        /// The reason the server gave.
        reason: String,
    },

    /// A frame, the handshake or the TLS setup of the link failed.
    #[error("agent link to {server}: {cause}")]
    Protocol {
        /// The server address.
        server: String,
        /// What went wrong.
        cause: ProtocolError,
    },

    /// The server address is not `host:port`.
    #[error(
        "invalid server address {address:?}: {reason}; give it as host:port, e.g. pilot.example.com:55001"
    )]
    InvalidServerAddress {
        /// The address given.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The server could not be reached.
    #[error(
        "could not connect to {server}: {cause}; check that the server runs and the address and port are right"
    )]
    Connect {
        /// The server address.
        server: String,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// The TLS handshake with the server failed (e.g. the certificate does not match the pin).
    #[error(
        "TLS handshake with {server} failed: {cause}; check that the pinned fingerprint is the \
         one `pilot serve` printed for this server"
    )]
    TlsHandshake {
        /// The server address.
        server: String,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// The server did not answer in time.
    #[error(
        "{server} did not {what} within {seconds} s; check that the address points at a Pilot server's agent port"
    )]
    Timeout {
        /// The server address.
        server: String,
        /// What it did not do, e.g. "answer the hello".
        what: &'static str,
        /// How long the agent waited.
        seconds: u64,
    },

    /// The server sent a message that does not fit the conversation.
    #[error(
        "{server} sent {got} while the agent expected {expected}; check that both sides run the same Pilot release"
    )]
    UnexpectedMessage {
        /// The server address.
        server: String,
        /// What the agent waited for.
        expected: &'static str,
        /// What arrived.
        got: String,
    },

    /// The server closed the connection.
    #[error("{server} closed the connection{during}; the agent reconnects")]
    Closed {
        /// The server address.
        server: String,
        /// When, e.g. " before answering the hello" (empty when idle).
        during: &'static str,
    },

    /// A file or directory of the agent's data could not be used.
    #[error(
        "could not {action} {path}: {cause}; check the data directory's permissions and free space"
    )]
    Io {
        /// What was being done, e.g. "read".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// A metrics batch could not be encoded for the spool.
    #[error(
        "could not encode a metrics batch for the spool in {dir}: {cause}; this is a bug in Pilot, please report it"
    )]
    EncodeBatch {
        /// The spool directory.
        dir: PathBuf,
        /// The JSON error.
        cause: serde_json::Error,
    },

    /// The node token file does not hold a valid token.
    #[error("token file {path}: {cause}")]
    Token {
        /// The token file.
        path: PathBuf,
        /// What is wrong with the token.
        cause: ProtocolError,
    },

    /// A non-loopback server needs TLS or an explicit opt-out.
    #[error(
        "the server {server} is not on this machine, so the link must be encrypted: give \
         --tls-fingerprint with the fingerprint `pilot serve` printed (or put it in {fingerprint_file}), \
         or pass --no-tls to send everything, secrets excepted, in clear text"
    )]
    TlsRequired {
        /// The server address.
        server: String,
        /// The file a pinned fingerprint may be kept in.
        fingerprint_file: PathBuf,
    },

    /// An option has an unusable value.
    #[error("invalid option {option}: {problem}")]
    InvalidOption {
        /// The option, e.g. "metrics_interval".
        option: &'static str,
        /// What is wrong and what to use instead.
        problem: &'static str,
    },

    /// A background task of the agent panicked.
    #[error(
        "the agent's {task} task panicked; this is a bug in Pilot, please report it with the agent's log"
    )]
    TaskPanicked {
        /// Which task, e.g. "link".
        task: &'static str,
    },
}

impl Error {
    /// An [`Error::Io`] for `action` on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            cause: source,
        }
    }

    /// Whether reconnecting cannot help: the agent stops on such an error.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Error::Refused { .. }
                | Error::InvalidServerAddress { .. }
                | Error::Protocol {
                    cause: ProtocolError::VersionMismatch { .. } | ProtocolError::TlsConfig { .. },
                    ..
                }
        )
    }
}
