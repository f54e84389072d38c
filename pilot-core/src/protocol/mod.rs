//! The agent ⇄ server link, shared by both ends: length-prefixed JSON
//! [frames](FrameCodec) carrying [`AgentMessage`]s and [`ServerMessage`]s,
//! node tokens, and TLS with a self-signed certificate pinned by fingerprint.
//!
//! A connection starts with [`AgentMessage::Hello`]; the server answers
//! [`ServerMessage::Welcome`] or [`ServerMessage::Refused`]. Both sides check
//! the peer's version with [`check_version`].
//!
//! ```
//! use pilot_core::protocol::{AgentMessage, FrameCodec, NodeToken, ServerMessage};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let (mut agent, mut server) = tokio::io::duplex(1024);
//! let codec = FrameCodec::new();
//! let hello = AgentMessage::hello("web-1", NodeToken::generate(), serde_json::json!({}));
//! codec.write(&mut agent, &hello).await.unwrap();
//! let got: Option<AgentMessage> = codec.read(&mut server).await.unwrap();
//! assert_eq!(got, Some(hello));
//! codec.write(&mut server, &ServerMessage::welcome("web-1", 10)).await.unwrap();
//! # });
//! ```

mod command;
mod error;
mod frame;
mod link;
mod message;
mod pin;
mod tls;
mod token;

pub use command::{ArchiveBytes, Command, DeploySecrets};
pub use error::{ProtocolError, Result};
pub use frame::FrameCodec;
pub use link::link_allows_secrets;
pub use message::{AgentMessage, CommandId, CommandOutcome, ServerMessage};
pub use pin::{PinnedCertVerifier, pinned_client_config};
pub use tls::{CertFingerprint, SelfSignedCert, TlsIdentity};
pub use token::{NodeToken, TokenHash};
pub use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Version of the agent link spoken by this build; carried in hello and welcome.
pub const PROTOCOL_VERSION: u32 = 1;

/// TCP port the server listens on for agents unless configured otherwise.
pub const DEFAULT_PORT: u16 = 55001;

/// Checks a version announced by the peer against [`PROTOCOL_VERSION`].
pub fn check_version(theirs: u32) -> Result<()> {
    if theirs == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(ProtocolError::VersionMismatch {
            ours: PROTOCOL_VERSION,
            theirs,
        })
    }
}
