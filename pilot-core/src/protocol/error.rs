//! Errors of the agent ⇄ server link.

use std::path::PathBuf;

/// Why a frame, a handshake, a token or a TLS setup of the agent link failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A frame is larger than the configured maximum (nothing was allocated for it).
    #[error(
        "frame of {len} bytes exceeds the maximum of {max} bytes; send smaller batches or raise \
         the maximum frame size on both the server and the agent"
    )]
    FrameTooLarge {
        /// The announced or encoded length.
        len: u64,
        /// The configured maximum.
        max: usize,
    },

    /// The connection ended in the middle of a frame.
    #[error(
        "connection closed in the middle of a frame ({received} of {expected} bytes of the \
         {part}); the peer went away, reconnect and resend"
    )]
    Truncated {
        /// Which part of the frame was cut: "length prefix" or "body".
        part: &'static str,
        /// Bytes the part should have had.
        expected: usize,
        /// Bytes that arrived.
        received: usize,
    },

    /// Reading or writing the connection failed.
    #[error("could not {action} on the agent link: {cause}; check the connection and reconnect")]
    Io {
        /// What was being done, e.g. "read a frame".
        action: &'static str,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// A frame's body is not a valid message of the expected kind.
    #[error(
        "frame is not a valid {expected} message: {cause}; check that the server and the agent \
         run the same Pilot release"
    )]
    Decode {
        /// The message type that was expected, e.g. "AgentMessage".
        expected: &'static str,
        /// The JSON error.
        cause: serde_json::Error,
    },

    /// A message could not be encoded as JSON.
    #[error("could not encode a {kind} message as JSON: {cause}")]
    Encode {
        /// The message type, e.g. "ServerMessage".
        kind: &'static str,
        /// The JSON error.
        cause: serde_json::Error,
    },

    /// The peer speaks another protocol version.
    #[error(
        "the peer speaks agent protocol version {theirs} but this side speaks version {ours}; \
         upgrade the server and the agent to the same Pilot release"
    )]
    VersionMismatch {
        /// Our [`PROTOCOL_VERSION`](super::PROTOCOL_VERSION).
        ours: u32,
        /// The version the peer announced.
        theirs: u32,
    },

    /// A node token does not have the expected shape.
    #[error(
        "node token is malformed: {reason}; copy the token exactly as `pilot node add` printed it"
    )]
    InvalidToken {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A stored token hash is not 64 hex digits.
    #[error(
        "node token hash {hash:?} is not 64 hex digits; the stored hash is corrupt, re-enrol the node"
    )]
    InvalidTokenHash {
        /// The offending value.
        hash: String,
    },

    /// A certificate fingerprint is not a SHA-256 in hex.
    #[error(
        "certificate fingerprint {fingerprint:?} is not 64 hex digits (colons allowed); copy it \
         exactly as the server printed it"
    )]
    InvalidFingerprint {
        /// The offending value.
        fingerprint: String,
    },

    /// A PEM file or text could not be read or parsed.
    #[error(
        "could not read the TLS {item} from {source_name}: {cause}; check the file is PEM-encoded"
    )]
    Pem {
        /// "certificate" or "private key".
        item: &'static str,
        /// The file path, or "PEM text".
        source_name: PathBuf,
        /// The parser's error.
        cause: rustls::pki_types::pem::Error,
    },

    /// A certificate file holds no certificate.
    #[error("no certificate found in {path}; give a PEM file with at least one CERTIFICATE block")]
    NoCertificate {
        /// The file path, or "PEM text".
        path: PathBuf,
    },

    /// rustls refused the configuration (e.g. the key does not match the certificate).
    #[error(
        "could not build the TLS configuration: {cause}; check that the key belongs to the certificate"
    )]
    TlsConfig {
        /// rustls' error.
        cause: rustls::Error,
    },

    /// A self-signed certificate could not be generated.
    #[error(
        "could not generate a self-signed TLS certificate: {cause}; check the host names given"
    )]
    CertificateGeneration {
        /// rcgen's error.
        cause: rcgen::Error,
    },
}

/// Result of the agent-link functions.
pub type Result<T> = std::result::Result<T, ProtocolError>;
