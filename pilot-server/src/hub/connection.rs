//! One authenticated agent connection: what the server queues for it, the
//! commands it runs, and how it is closed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use pilot_core::protocol::{CommandId, FrameCodec, ServerMessage};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use crate::node_link::CommandUpdate;

/// Updates of one command that may wait for a slow reader before the
/// connection stops reading from the agent.
const RUN_BUFFER: usize = 256;

/// What the server knows about a node's live connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionInfo {
    /// The agent's address.
    pub peer: SocketAddr,
    /// Whether the link is encrypted.
    pub tls: bool,
    /// Unix ms when the hello was accepted.
    pub connected_ms: i64,
    /// Unix ms of the last heartbeat (the hello counts as one).
    pub last_heartbeat_ms: i64,
    /// The agent's protocol version.
    pub version: u32,
}

/// A command waiting for its result.
struct PendingRun {
    updates: mpsc::Sender<CommandUpdate>,
    /// Cancelled once the run ended, to stop watching its receiver.
    ended: CancellationToken,
}

/// The shared state of one connection; the session task owns the socket.
pub(crate) struct Connection {
    /// Unique per hub, to tell a replaced connection from its successor.
    pub id: u64,
    /// The registered node name.
    pub node: Arc<str>,
    codec: FrameCodec,
    info: Mutex<ConnectionInfo>,
    /// Encoded frames for the writer task.
    outgoing: mpsc::Sender<Vec<u8>>,
    /// Pending commands; `None` once the connection is closing.
    runs: Mutex<Option<HashMap<CommandId, PendingRun>>>,
    closed: CancellationToken,
    close_reason: Mutex<Option<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Connection {
    /// A connection whose frames go to `outgoing` and which ends when
    /// `closed` is cancelled.
    pub fn new(
        id: u64,
        node: Arc<str>,
        codec: FrameCodec,
        info: ConnectionInfo,
        outgoing: mpsc::Sender<Vec<u8>>,
        closed: CancellationToken,
    ) -> Self {
        Connection {
            id,
            node,
            codec,
            info: Mutex::new(info),
            outgoing,
            runs: Mutex::new(Some(HashMap::new())),
            closed,
            close_reason: Mutex::new(None),
        }
    }

    /// A copy of the connection's details.
    pub fn info(&self) -> ConnectionInfo {
        lock(&self.info).clone()
    }

    /// Notes a heartbeat at `at_ms`.
    pub fn touch(&self, at_ms: i64) {
        lock(&self.info).last_heartbeat_ms = at_ms;
    }

    /// Cancelled when the connection closes.
    pub fn closed(&self) -> &CancellationToken {
        &self.closed
    }

    /// Closes the connection; the first reason given is the one kept.
    pub fn close(&self, reason: impl Into<String>) {
        lock(&self.close_reason).get_or_insert_with(|| reason.into());
        self.closed.cancel();
    }

    /// Why the connection closed, once it did.
    pub fn close_reason(&self) -> Option<String> {
        lock(&self.close_reason).clone()
    }

    /// Encodes `message` and queues it for the agent. Returns `false` when
    /// the connection is closed, or closes it when the agent does not read
    /// what was queued before.
    pub fn push(&self, message: &ServerMessage) -> bool {
        match self.codec.encode(message) {
            Ok(frame) => self.push_frame(frame),
            Err(e) => {
                tracing::error!(node = %self.node, error = %e, "cannot encode a message for the agent");
                false
            }
        }
    }

    /// Queues an encoded frame, like [`Connection::push`].
    pub fn push_frame(&self, frame: Vec<u8>) -> bool {
        if self.closed.is_cancelled() {
            return false;
        }
        match self.outgoing.try_send(frame) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.close(format!(
                    "node {} does not read what the server sends; the connection was closed, \
                     the agent will reconnect",
                    self.node
                ));
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Registers command `id` and returns the receiver of its updates, or
    /// `None` when the connection is closing. When the receiver is dropped
    /// before the command ended, the agent is told to cancel it.
    pub fn register_run(self: &Arc<Self>, id: CommandId) -> Option<mpsc::Receiver<CommandUpdate>> {
        let (updates, receiver) = mpsc::channel(RUN_BUFFER);
        let ended = CancellationToken::new();
        {
            let mut runs = lock(&self.runs);
            let runs = runs.as_mut()?;
            runs.insert(
                id,
                PendingRun {
                    updates: updates.clone(),
                    ended: ended.clone(),
                },
            );
        }
        let connection: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::select! {
                () = updates.closed() => {
                    let Some(connection) = connection.upgrade() else { return };
                    if connection.take_run(id).is_some() {
                        tracing::debug!(node = %connection.node, command = %id, "command abandoned by its reader; cancelling it");
                        connection.push(&ServerMessage::Cancel { id });
                    }
                }
                () = ended.cancelled() => {}
            }
        });
        Some(receiver)
    }

    /// Unregisters command `id`, ending the watch of its receiver.
    pub fn take_run(&self, id: CommandId) -> Option<mpsc::Sender<CommandUpdate>> {
        let run = lock(&self.runs).as_mut()?.remove(&id)?;
        run.ended.cancel();
        Some(run.updates)
    }

    /// Hands an update from the agent to the run of command `id`, waiting
    /// while its reader is behind. A final update ends the run. Updates of
    /// unknown commands (cancelled, or from before a reconnection) are
    /// dropped; returns whether a run took the update.
    pub async fn route(&self, id: CommandId, update: CommandUpdate) -> bool {
        let updates = if update.is_final() {
            self.take_run(id)
        } else {
            lock(&self.runs)
                .as_ref()
                .and_then(|runs| runs.get(&id))
                .map(|run| run.updates.clone())
        };
        match updates {
            // A dropped receiver is noticed by the run's watcher.
            Some(updates) => updates.send(update).await.is_ok(),
            None => {
                tracing::debug!(node = %self.node, command = %id, "update for a command no one waits for");
                false
            }
        }
    }

    /// Ends every pending run with [`CommandUpdate::Lost`] and refuses new ones.
    pub fn lose_runs(&self, reason: &str) {
        let runs = lock(&self.runs).take().unwrap_or_default();
        for (id, run) in runs {
            let lost = CommandUpdate::Lost {
                reason: format!(
                    "the connection to node {} ended before command {id} finished: {reason}",
                    self.node
                ),
            };
            // Delivered even if the reader is slow, without holding up the session.
            tokio::spawn(async move {
                let _ = run.updates.send(lost).await;
                run.ended.cancel();
            });
        }
    }
}
