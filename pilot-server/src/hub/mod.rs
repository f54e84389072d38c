//! The agent listener: the server's end of the agent link.
//!
//! [`Hub`] accepts agents on TCP (optionally TLS), checks each hello's
//! protocol version and node token, and then, per connection:
//!
//! - records the node's heartbeats and system info in the store, and closes
//!   the connection after [`HubOptions::offline_after`] of silence;
//! - stores metrics batches under the registered node name, many batches per
//!   transaction across connections, and acknowledges each one once it is
//!   durable and queryable;
//! - keeps the node's latest [top processes](Hub::top_processes);
//! - carries commands ([`NodeLink`]) and routes the agent's progress, logs,
//!   journals and results back to the waiting [`CommandRun`].
//!
//! A node has at most one connection: a new one replaces the old. Node status,
//! metrics and processes are published on the [`EventBus`]. Tokens are never
//! logged.
//!
//! ```
//! use std::sync::Arc;
//!
//! use pilot_core::protocol::{AgentMessage, FrameCodec, ServerMessage};
//! use pilot_server::hub::{Hub, HubOptions};
//! use pilot_server::{EventBus, NodeLink};
//! use pilot_store::{Database, SqlStore, SqliteDurability, TimeseriesOptions, TimeseriesStore};
//! use tokio_util::sync::CancellationToken;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let db = Database::open_sqlite(&dir.path().join("pilot.db"), SqliteDurability::Full).await?;
//! let store = SqlStore::new(db.clone());
//! let (_, token) = store.register_node("web-1").await?;
//! let metrics = TimeseriesStore::open(db, TimeseriesOptions::default()).await?;
//! let hub = Arc::new(Hub::new(store, metrics, EventBus::default(), HubOptions::default()));
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let address = listener.local_addr()?;
//! let shutdown = CancellationToken::new();
//! let server = tokio::spawn(Arc::clone(&hub).serve(listener, shutdown.clone()));
//!
//! // An agent introduces itself with its token and is welcomed.
//! let mut agent = tokio::net::TcpStream::connect(address).await?;
//! let codec = FrameCodec::new();
//! let hello = AgentMessage::hello("web-1", token, serde_json::json!({ "os": "linux" }));
//! codec.write(&mut agent, &hello).await?;
//! let welcome: Option<ServerMessage> = codec.read(&mut agent).await?;
//! assert!(matches!(welcome, Some(ServerMessage::Welcome { node, .. }) if node == "web-1"));
//! assert_eq!(hub.online(), ["web-1"]);
//!
//! shutdown.cancel();
//! server.await??;
//! # Ok(())
//! # }
//! ```

mod connection;
mod error;
mod handshake;
mod ingest;
mod liveness;
mod options;
mod orphans;
mod serve;
mod session;
mod stats;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use pilot_core::TopProcesses;
use pilot_core::protocol::{Command, CommandId, CommandOutcome, FrameCodec, ServerMessage};
use pilot_store::{SqlStore, TimeseriesStore};
use tokio::sync::mpsc;

pub use connection::ConnectionInfo;
pub use error::{HubError, Result};
pub use options::HubOptions;
pub use stats::HubStats;

use crate::events::{EventBus, ServerEvent};
use crate::node_link::{CommandRun, CommandUpdate, LinkError, NodeLink};
use connection::Connection;
use liveness::Pipes;
use stats::Counters;

/// The agent listener. Share it in an `Arc`: [`Hub::serve`] runs the
/// listener, and the same value is the server's [`NodeLink`].
pub struct Hub {
    store: SqlStore,
    metrics: Arc<TimeseriesStore>,
    events: EventBus,
    options: HubOptions,
    codec: FrameCodec,
    /// The live connection of every connected node.
    nodes: Mutex<HashMap<String, Arc<Connection>>>,
    /// The latest top processes of every node heard from.
    processes: Mutex<HashMap<String, TopProcesses>>,
    counters: Counters,
    next_command: AtomicU64,
    next_connection: AtomicU64,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("options", &self.options)
            .field("online", &self.online())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) use pilot_core::time::now_ms;

impl Hub {
    /// A hub authenticating nodes against `store`, storing metrics in
    /// `metrics` (a store or an `Arc` shared with the API) and publishing on
    /// `events`.
    pub fn new(
        store: SqlStore,
        metrics: impl Into<Arc<TimeseriesStore>>,
        events: EventBus,
        options: HubOptions,
    ) -> Self {
        // Command ids start from the clock, so that results an agent still
        // sends for commands of a previous server process match no new command.
        let first_command = u64::try_from(now_ms()).unwrap_or(0).saturating_mul(1000);
        Hub {
            store,
            metrics: metrics.into(),
            events,
            codec: FrameCodec::with_max_frame_len(options.max_frame_len),
            options,
            nodes: Mutex::new(HashMap::new()),
            processes: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            next_command: AtomicU64::new(first_command),
            next_connection: AtomicU64::new(1),
        }
    }

    /// The options the hub runs with.
    pub fn options(&self) -> &HubOptions {
        &self.options
    }

    /// The latest busiest processes `node` reported, kept after it disconnects.
    pub fn top_processes(&self, node: &str) -> Option<TopProcesses> {
        lock(&self.processes).get(node).cloned()
    }

    /// Details of `node`'s live connection, if it has one.
    pub fn connection(&self, node: &str) -> Option<ConnectionInfo> {
        lock(&self.nodes).get(node).map(|c| c.info())
    }

    /// Counters since the hub was created.
    pub fn stats(&self) -> HubStats {
        self.counters.snapshot()
    }

    fn next_connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// Makes `connection` its node's live connection, closing the one it replaces.
    fn attach(&self, connection: &Arc<Connection>) {
        let node = connection.node.to_string();
        let previous = lock(&self.nodes).insert(node.clone(), Arc::clone(connection));
        Counters::add(&self.counters.connections, 1);
        Counters::add(&self.counters.hellos_accepted, 1);
        let info = connection.info();
        if let Some(previous) = previous {
            Counters::add(&self.counters.replaced, 1);
            previous.close(format!(
                "node {node} connected again from {}; the newer connection replaced this one",
                info.peer
            ));
        }
        tracing::info!(node, peer = %info.peer, tls = info.tls, "agent connected");
        self.events.publish(ServerEvent::NodeStatus {
            node,
            online: true,
            at_ms: info.connected_ms,
        });
    }

    /// Forgets a closed connection; the node goes offline unless a newer
    /// connection replaced it.
    fn detach(&self, connection: &Arc<Connection>, pipes: &Pipes) {
        self.counters.connections.fetch_sub(1, Ordering::Relaxed);
        let node = &connection.node;
        let removed = {
            let mut nodes = lock(&self.nodes);
            let current = nodes.get(&**node).is_some_and(|c| c.id == connection.id);
            current && nodes.remove(&**node).is_some()
        };
        if removed {
            pipes.seen(node, connection.info().last_heartbeat_ms);
            self.events.publish(ServerEvent::NodeStatus {
                node: node.to_string(),
                online: false,
                at_ms: now_ms(),
            });
        }
    }

    /// Keeps a node's latest top processes and publishes them.
    fn keep_processes(&self, node: &str, top: TopProcesses) {
        lock(&self.processes).insert(node.to_string(), top.clone());
        self.events.publish(ServerEvent::Processes {
            node: node.to_string(),
            top,
        });
    }

    /// The error for a node without connection: offline if registered.
    async fn not_connected(&self, node: &str) -> LinkError {
        match self.store.node(node).await {
            Ok(None) => LinkError::UnknownNode {
                node: node.to_string(),
            },
            Ok(Some(_)) => LinkError::NodeOffline {
                node: node.to_string(),
            },
            Err(e) => {
                tracing::warn!(node, error = %e, "could not look up a node");
                LinkError::NodeOffline {
                    node: node.to_string(),
                }
            }
        }
    }
}

#[async_trait]
impl NodeLink for Hub {
    fn online(&self) -> Vec<String> {
        let mut nodes: Vec<String> = lock(&self.nodes).keys().cloned().collect();
        nodes.sort();
        nodes
    }

    fn is_online(&self, node: &str) -> bool {
        lock(&self.nodes).contains_key(node)
    }

    async fn send(&self, node: &str, command: Command) -> Result<CommandRun, LinkError> {
        let connection = lock(&self.nodes).get(node).cloned();
        let Some(connection) = connection else {
            return Err(self.not_connected(node).await);
        };
        let id = CommandId(self.next_command.fetch_add(1, Ordering::Relaxed));
        let frame = match self.codec.encode(&ServerMessage::Command { id, command }) {
            Ok(frame) => frame,
            Err(e) => {
                // The command never leaves the server: its run ends at once.
                let (updates, receiver) = mpsc::channel(1);
                let error = format!("command {id} could not be sent to node {node}: {e}");
                let _ = updates.try_send(CommandUpdate::Finished(CommandOutcome::Failed { error }));
                return Ok(CommandRun::new(id, node, receiver));
            }
        };
        let offline = || LinkError::NodeOffline {
            node: node.to_string(),
        };
        let receiver = connection.register_run(id).ok_or_else(offline)?;
        if !connection.push_frame(frame) {
            connection.take_run(id);
            return Err(offline());
        }
        Counters::add(&self.counters.commands_sent, 1);
        tracing::debug!(node, command = %id, "command sent");
        Ok(CommandRun::new(id, node, receiver))
    }

    fn disconnect(&self, node: &str) {
        let connection = lock(&self.nodes).get(node).cloned();
        if let Some(connection) = connection {
            connection.close(format!("the server disconnected node {node}"));
        }
    }
}
