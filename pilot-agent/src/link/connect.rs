//! Opening a connection to the server: TCP, TLS with the pinned
//! certificate when asked, then hello and welcome.

use std::net::SocketAddr;
use std::time::Duration;

use pilot_core::protocol::{
    AgentMessage, FrameCodec, ServerMessage, TlsConnector, check_version, pinned_client_config,
};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::error::{Error, Result};
use crate::options::{ServerTls, server_host};

/// The reading half of a connection.
pub(crate) type LinkReader = Box<dyn AsyncRead + Send + Unpin>;
/// The writing half of a connection.
pub(crate) type LinkWriter = Box<dyn AsyncWrite + Send + Unpin>;

/// Server name presented when the address's host is not a valid one.
const FALLBACK_SERVER_NAME: &str = "pilot-server";
/// Shortest heartbeat interval the agent accepts from a welcome.
const MIN_HEARTBEAT: Duration = Duration::from_secs(1);

/// An open connection to the server.
pub(crate) struct Connection {
    /// Frames from the server.
    pub reader: LinkReader,
    /// Frames to the server.
    pub writer: LinkWriter,
    /// The server's address as connected.
    pub peer: SocketAddr,
    /// Whether the connection is encrypted.
    pub tls: bool,
}

/// What the server's welcome said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Welcomed {
    /// The node name the server knows this agent by.
    pub node: String,
    /// How often to send a heartbeat.
    pub heartbeat: Duration,
}

/// Connects to `server` (`host:port`), with TLS when `tls` pins a certificate.
pub(crate) async fn connect(server: &str, tls: ServerTls, timeout: Duration) -> Result<Connection> {
    let host = server_host(server)?;
    let tcp = tokio::time::timeout(timeout, TcpStream::connect(server))
        .await
        .map_err(|_| Error::Timeout {
            server: server.to_owned(),
            what: "accept the connection",
            seconds: timeout.as_secs(),
        })?
        .map_err(|source| Error::Connect {
            server: server.to_owned(),
            cause: source,
        })?;
    let peer = tcp.peer_addr().map_err(|cause| Error::Connect {
        server: server.to_owned(),
        cause,
    })?;
    // Small frames (heartbeats, acks) must not wait for Nagle.
    let _ = tcp.set_nodelay(true);
    match tls {
        ServerTls::Off => {
            let (reader, writer) = tokio::io::split(tcp);
            Ok(Connection {
                reader: Box::new(reader),
                writer: Box::new(writer),
                peer,
                tls: false,
            })
        }
        ServerTls::Pinned(fingerprint) => {
            let config = pinned_client_config(fingerprint).map_err(|cause| Error::Protocol {
                server: server.to_owned(),
                cause,
            })?;
            let name = ServerName::try_from(host.to_owned())
                .or_else(|_| ServerName::try_from(FALLBACK_SERVER_NAME))
                .map_err(|_| Error::InvalidServerAddress {
                    address: server.to_owned(),
                    reason: "the host is not a valid DNS name or IP address",
                })?;
            let handshake = TlsConnector::from(config).connect(name, tcp);
            let stream = tokio::time::timeout(timeout, handshake)
                .await
                .map_err(|_| Error::Timeout {
                    server: server.to_owned(),
                    what: "finish the TLS handshake",
                    seconds: timeout.as_secs(),
                })?
                .map_err(|cause| Error::TlsHandshake {
                    server: server.to_owned(),
                    cause,
                })?;
            let (reader, writer) = tokio::io::split(stream);
            Ok(Connection {
                reader: Box::new(reader),
                writer: Box::new(writer),
                peer,
                tls: true,
            })
        }
    }
}

/// Sends `hello` and waits for the welcome. A refusal or another protocol
/// version is an error that reconnecting does not fix ([`Error::is_fatal`]).
pub(crate) async fn handshake(
    connection: &mut Connection,
    hello: &AgentMessage,
    server: &str,
    timeout: Duration,
) -> Result<Welcomed> {
    let codec = FrameCodec::new();
    let protocol = |cause| Error::Protocol {
        server: server.to_owned(),
        cause,
    };
    let exchange = async {
        codec
            .write(&mut connection.writer, hello)
            .await
            .map_err(protocol)?;
        codec
            .read::<_, ServerMessage>(&mut connection.reader)
            .await
            .map_err(protocol)
    };
    let answer = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| Error::Timeout {
            server: server.to_owned(),
            what: "answer the hello",
            seconds: timeout.as_secs(),
        })??;
    match answer {
        Some(ServerMessage::Welcome {
            version,
            node,
            heartbeat_secs,
        }) => {
            check_version(version).map_err(protocol)?;
            Ok(Welcomed {
                node,
                heartbeat: Duration::from_secs(heartbeat_secs).max(MIN_HEARTBEAT),
            })
        }
        Some(ServerMessage::Refused { reason }) => Err(Error::Refused {
            server: server.to_owned(),
            reason,
        }),
        Some(other) => Err(Error::UnexpectedMessage {
            server: server.to_owned(),
            expected: "a welcome",
            got: message_kind(&other).to_owned(),
        }),
        None => Err(Error::Closed {
            server: server.to_owned(),
            during: " before answering the hello",
        }),
    }
}

/// The kind of a server message, for errors (never its content).
pub(crate) fn message_kind(message: &ServerMessage) -> &'static str {
    match message {
        ServerMessage::Welcome { .. } => "a welcome",
        ServerMessage::Refused { .. } => "a refusal",
        ServerMessage::Command { .. } => "a command",
        ServerMessage::Cancel { .. } => "a cancel",
        ServerMessage::MetricsAck { .. } => "a metrics acknowledgement",
    }
}
