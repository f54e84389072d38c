//! The start of a connection: optional TLS, the hello, the token check, and
//! the refusal when it fails.

use std::net::SocketAddr;

use pilot_core::protocol::{
    AgentMessage, ProtocolError, ServerMessage, TlsAcceptor, check_version,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::error::{HubError, Result};
use super::stats::Counters;
use super::{Hub, now_ms};

/// What a connection reads from and writes to: TCP, or TLS over TCP.
pub(crate) trait AgentStream: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> AgentStream for T {}

/// An agent whose hello was accepted; the session sends the welcome.
pub(crate) struct Welcomed {
    /// The stream, after the hello.
    pub stream: Box<dyn AgentStream>,
    /// The registered node name.
    pub node: String,
    /// The agent's protocol version.
    pub version: u32,
    /// Unix ms of the welcome.
    pub at_ms: i64,
}

/// Why a hello is refused when the token matches no node. Rotated tokens
/// are unknown too: the store keeps only the current token's hash.
const UNKNOWN_TOKEN: &str = "the node token is unknown or was revoked; enrol the node with \
     `pilot node add NAME` (or rotate its token) and start the agent with the new token";

/// The name of a message's kind, for logs.
fn kind(message: &AgentMessage) -> &'static str {
    match message {
        AgentMessage::Hello { .. } => "hello",
        AgentMessage::Heartbeat { .. } => "heartbeat",
        AgentMessage::Metrics { .. } => "metrics",
        AgentMessage::Processes { .. } => "processes",
        AgentMessage::Progress { .. } => "progress",
        AgentMessage::Journal { .. } => "journal",
        AgentMessage::Result { .. } => "result",
        AgentMessage::LogChunk { .. } => "log chunk",
    }
}

impl Hub {
    /// Runs TLS (when configured) and the hello exchange on a new connection.
    /// The caller bounds the time it takes.
    pub(crate) async fn handshake(
        &self,
        tcp: TcpStream,
        peer: SocketAddr,
        acceptor: Option<&TlsAcceptor>,
    ) -> Result<Welcomed> {
        let mut stream: Box<dyn AgentStream> = match acceptor {
            Some(acceptor) => {
                Box::new(
                    acceptor
                        .accept(tcp)
                        .await
                        .map_err(|source| HubError::Handshake {
                            peer,
                            cause: source,
                        })?,
                )
            }
            None => Box::new(tcp),
        };
        let codec = self.codec;
        let first = codec.read::<_, AgentMessage>(&mut stream).await;
        let (claimed, version, token, system) = match first {
            Ok(Some(AgentMessage::Hello {
                node,
                version,
                token,
                system,
            })) => (node, version, token, system),
            Ok(Some(other)) => {
                let kind = kind(&other);
                let reason = format!("the first message must be a hello, not a {kind} message");
                self.refuse(&mut stream, peer, &reason).await;
                return Err(HubError::NotHello { peer, kind });
            }
            Ok(None) => return Err(HubError::ClosedBeforeHello { peer }),
            Err(e @ ProtocolError::Decode { .. }) => {
                let reason = format!("the hello is malformed: {e}");
                self.refuse(&mut stream, peer, &reason).await;
                return Err(HubError::Refused { peer, reason });
            }
            Err(source) => {
                return Err(HubError::Link {
                    peer,
                    cause: source,
                });
            }
        };
        if let Err(e) = check_version(version) {
            let reason = e.to_string();
            self.refuse(&mut stream, peer, &reason).await;
            return Err(HubError::Refused { peer, reason });
        }
        let registered = self
            .store
            .authenticate_node(token.expose())
            .await
            .map_err(|source| HubError::Store {
                action: "authenticate the node token",
                peer,
                cause: Box::new(source),
            })?;
        let Some(registered) = registered else {
            self.refuse(&mut stream, peer, UNKNOWN_TOKEN).await;
            return Err(HubError::Refused {
                peer,
                reason: UNKNOWN_TOKEN.to_string(),
            });
        };
        let node = registered.name;
        if claimed != node {
            tracing::info!(%peer, claimed, node, "agent introduced itself under another name; using the registered one");
        }
        let at_ms = now_ms();
        if let Err(e) = self
            .store
            .record_heartbeat(&node, at_ms, Some(&system))
            .await
        {
            tracing::warn!(%peer, node, error = %e, "could not record the hello of a node");
        }
        Ok(Welcomed {
            stream,
            node,
            version,
            at_ms,
        })
    }

    /// Tells the agent why its hello is refused (best effort: it may be gone).
    async fn refuse(&self, stream: &mut Box<dyn AgentStream>, peer: SocketAddr, reason: &str) {
        Counters::add(&self.counters.hellos_refused, 1);
        let refused = ServerMessage::Refused {
            reason: reason.to_string(),
        };
        if let Err(e) = self.codec.write(stream, &refused).await {
            tracing::debug!(%peer, error = %e, "could not send the refusal");
        }
        let _ = tokio::io::AsyncWriteExt::shutdown(stream).await;
    }
}

/// Whether a handshake error is worth a warning (others are routine: a
/// port scan, an agent that went away).
pub(crate) fn is_notable(error: &HubError) -> bool {
    !matches!(
        error,
        HubError::Link { .. } | HubError::HelloTimeout { .. } | HubError::ClosedBeforeHello { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_name_the_message() {
        assert_eq!(kind(&AgentMessage::Heartbeat { at_ms: 1 }), "heartbeat");
    }

    #[test]
    fn the_unknown_token_reason_says_what_to_do() {
        assert!(UNKNOWN_TOKEN.contains("pilot node add"));
    }

    #[test]
    fn routine_failures_are_not_notable() {
        let peer: SocketAddr = "127.0.0.1:1".parse().expect("address");
        let timeout = HubError::HelloTimeout {
            peer,
            after: std::time::Duration::from_secs(1),
        };
        assert!(!is_notable(&timeout));
        let refused = HubError::Refused {
            peer,
            reason: "x".into(),
        };
        assert!(is_notable(&refused));
    }
}
