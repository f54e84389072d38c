//! A hub on a [`TestServer`]'s stores, and fake agents speaking the real
//! protocol over loopback TCP.

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use pilot_core::protocol::{AgentMessage, FrameCodec, NodeToken, ServerMessage};
use pilot_core::{MetricBatch, Sample};
use pilot_server::hub::{Hub, HubOptions};
use pilot_server::testing::TestServer;
use pilot_store::SqliteDurability;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How long a test waits for something that should happen at once.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running agent listener over a [`TestServer`]'s stores; the server's
/// parts are reached through `Deref`.
pub struct TestHub {
    pub server: TestServer,
    pub hub: Arc<Hub>,
    pub address: SocketAddr,
}

impl Deref for TestHub {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl TestHub {
    /// A hub with default options.
    pub async fn start() -> Self {
        Self::with_options(HubOptions::default()).await
    }

    /// A hub with `options`, listening on a free loopback port.
    pub async fn with_options(options: HubOptions) -> Self {
        let mut server = TestServer::builder()
            .without_users()
            .durability(SqliteDurability::Full)
            .build()
            .await;
        let (hub, address) = server.start_hub(options).await;
        TestHub {
            server,
            hub,
            address,
        }
    }

    /// Registers a node and returns its token.
    pub async fn register(&self, node: &str) -> NodeToken {
        self.store.register_node(node).await.expect("register").1
    }

    /// An agent of a newly registered `node`, welcomed.
    pub async fn agent(&self, node: &str) -> FakeAgent {
        let token = self.register(node).await;
        let mut agent = FakeAgent::connect(self.address).await;
        let welcome = agent.hello(node, token).await;
        assert!(
            matches!(welcome, ServerMessage::Welcome { .. }),
            "{welcome:?}"
        );
        agent
    }

    /// Stops the hub and waits until it stopped.
    pub async fn stop(self) {
        tokio::time::timeout(PATIENCE, self.server.stop())
            .await
            .expect("the hub stops in time");
    }
}

/// A stream of any kind (TCP or TLS).
pub trait AgentStream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> AgentStream for T {}

/// An agent made of the real codec on a real connection.
pub struct FakeAgent {
    pub stream: Box<dyn AgentStream>,
    pub local: SocketAddr,
    codec: FrameCodec,
}

impl FakeAgent {
    /// Connects over plain TCP.
    pub async fn connect(address: SocketAddr) -> Self {
        let tcp = TcpStream::connect(address).await.expect("connect");
        let local = tcp.local_addr().expect("local address");
        FakeAgent::over(Box::new(tcp), local)
    }

    /// An agent on an established stream.
    pub fn over(stream: Box<dyn AgentStream>, local: SocketAddr) -> Self {
        FakeAgent {
            stream,
            local,
            codec: FrameCodec::new(),
        }
    }

    /// Sends a hello and returns the answer.
    pub async fn hello(&mut self, node: &str, token: NodeToken) -> ServerMessage {
        let hello = AgentMessage::hello(node, token, serde_json::json!({ "cpus": 2 }));
        self.send(&hello).await;
        self.recv().await.expect("an answer to the hello")
    }

    /// Sends one message.
    pub async fn send(&mut self, message: &AgentMessage) {
        self.codec
            .write(&mut self.stream, message)
            .await
            .expect("send a frame");
    }

    /// The next message; `None` when the server closed the connection.
    pub async fn recv(&mut self) -> Option<ServerMessage> {
        tokio::time::timeout(PATIENCE, self.codec.read(&mut self.stream))
            .await
            .expect("a message from the hub in time")
            .unwrap_or(None)
    }
}

/// A batch of `count` samples of metric `name`, one second apart from `start_ms`.
pub fn batch(node: &str, name: &str, start_ms: i64, count: usize) -> MetricBatch {
    let samples = (0..count)
        .map(|i| Sample {
            name: name.to_string(),
            labels: Default::default(),
            timestamp_ms: start_ms + 1000 * i as i64,
            value: i as f64,
        })
        .collect();
    MetricBatch {
        node: node.to_string(),
        samples,
    }
}

/// Waits until `check` holds, failing the test after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
