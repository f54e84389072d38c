//! A fake Pilot server for the agent's tests: real TCP (and TLS) on
//! 127.0.0.1, real frames, scripted by each test.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use pilot_agent::{AgentHandle, AgentOptions, AgentStatus, RuntimeKind};
use pilot_core::protocol::{
    AgentMessage, CommandId, FrameCodec, NodeToken, PROTOCOL_VERSION, ServerMessage, TlsAcceptor,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

/// Longest wait for anything the agent should do soon.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A bidirectional stream, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The fake server's listener.
pub struct FakeServer {
    listener: TcpListener,
}

impl FakeServer {
    /// Listens on a free port of 127.0.0.1.
    pub async fn bind() -> Self {
        Self::bind_to("127.0.0.1:0".parse().unwrap()).await
    }

    /// Listens on `addr` (e.g. the address of a server that went away).
    pub async fn bind_to(addr: SocketAddr) -> Self {
        FakeServer {
            listener: TcpListener::bind(addr).await.expect("bind the fake server"),
        }
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap()
    }

    /// Accepts the next connection and reads its hello.
    pub async fn accept(&self) -> Conn {
        let (stream, _) = within("accept a connection", self.listener.accept())
            .await
            .unwrap();
        Conn::start(Box::new(stream)).await
    }

    /// Accepts the next TCP connection without reading anything.
    pub async fn accept_raw(&self) -> tokio::net::TcpStream {
        within("accept a connection", self.listener.accept())
            .await
            .unwrap()
            .0
    }

    /// Accepts the next connection over TLS and reads its hello.
    pub async fn accept_tls(&self, acceptor: &TlsAcceptor) -> Conn {
        let (stream, _) = within("accept a connection", self.listener.accept())
            .await
            .unwrap();
        let tls = within("finish the TLS handshake", acceptor.accept(stream))
            .await
            .expect("TLS handshake");
        Conn::start(Box::new(tls)).await
    }

    /// Whether another connection arrives within `wait`.
    pub async fn connects_within(&self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.listener.accept())
            .await
            .is_ok()
    }
}

/// One accepted agent connection.
pub struct Conn {
    stream: Box<dyn Io>,
    codec: FrameCodec,
    /// The agent's hello.
    pub hello: AgentMessage,
}

impl Conn {
    async fn start(mut stream: Box<dyn Io>) -> Conn {
        let codec = FrameCodec::new();
        let hello = within("read the hello", codec.read::<_, AgentMessage>(&mut stream))
            .await
            .expect("hello frame")
            .expect("a hello before the connection closes");
        assert!(matches!(hello, AgentMessage::Hello { .. }), "{hello:?}");
        Conn {
            stream,
            codec,
            hello,
        }
    }

    /// Welcomes the agent as `node` with a heartbeat every `heartbeat_secs`.
    pub async fn welcome(&mut self, node: &str, heartbeat_secs: u64) {
        self.send(ServerMessage::welcome(node, heartbeat_secs))
            .await;
    }

    /// Sends one message.
    pub async fn send(&mut self, message: ServerMessage) {
        self.codec
            .write(&mut self.stream, &message)
            .await
            .expect("write to the agent");
    }

    /// The next message; `None` when the agent closed the connection.
    pub async fn recv(&mut self) -> Option<AgentMessage> {
        within(
            "send a message",
            self.codec.read::<_, AgentMessage>(&mut self.stream),
        )
        .await
        .expect("a valid frame")
    }

    /// The next message `pick` accepts; metric batches on the way are
    /// acknowledged, other messages skipped.
    pub async fn recv_until<T>(&mut self, mut pick: impl FnMut(&AgentMessage) -> Option<T>) -> T {
        loop {
            let message = self.recv().await.expect("the agent closed the link");
            if let Some(found) = pick(&message) {
                return found;
            }
            if let AgentMessage::Metrics { seq, .. } = message {
                self.send(ServerMessage::MetricsAck { seq }).await;
            }
        }
    }

    /// Every message about `command` up to and including its result.
    pub async fn command_messages(&mut self, command: CommandId) -> Vec<AgentMessage> {
        let mut messages = Vec::new();
        loop {
            let message = self
                .recv_until(|m| (command_of(m) == Some(command)).then(|| m.clone()))
                .await;
            let done = matches!(message, AgentMessage::Result { .. });
            messages.push(message);
            if done {
                return messages;
            }
        }
    }
}

/// The command a message is about, if any.
pub fn command_of(message: &AgentMessage) -> Option<CommandId> {
    match message {
        AgentMessage::Progress { command_id, .. }
        | AgentMessage::Journal { command_id, .. }
        | AgentMessage::Result { command_id, .. }
        | AgentMessage::LogChunk { command_id, .. } => Some(*command_id),
        _ => None,
    }
}

/// Awaits `future`, failing the test if it takes longer than [`PATIENCE`].
pub async fn within<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("the agent did not {what} within {PATIENCE:?}"))
}

/// Polls `status` until `ready` holds, failing after [`PATIENCE`].
pub async fn wait_for(
    agent: &AgentHandle,
    what: &str,
    ready: impl Fn(&AgentStatus) -> bool,
) -> AgentStatus {
    within(what, async {
        loop {
            let status = agent.status();
            if ready(&status) {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// Options for a test agent: fast metrics and reconnects, host runtime,
/// apps on 127.0.0.1.
pub fn options(data_dir: &Path, server: SocketAddr, token: &NodeToken) -> AgentOptions {
    let mut options = AgentOptions::new(data_dir, server.to_string(), token.clone());
    options.metrics_interval = Duration::from_millis(100);
    options.backoff_min = Duration::from_millis(50);
    options.backoff_max = Duration::from_millis(400);
    options.connect_timeout = Duration::from_secs(5);
    options.public_ip = "127.0.0.1".parse().unwrap();
    options.runtime = RuntimeKind::Host;
    options.engine.stop_timeout = Duration::from_secs(3);
    options
}

/// The hello's fields.
pub fn hello_parts(hello: &AgentMessage) -> (&str, u32, &NodeToken, &serde_json::Value) {
    match hello {
        AgentMessage::Hello {
            node,
            version,
            token,
            system,
        } => (node, *version, token, system),
        other => panic!("not a hello: {other:?}"),
    }
}

/// The protocol version both sides speak.
pub const VERSION: u32 = PROTOCOL_VERSION;
