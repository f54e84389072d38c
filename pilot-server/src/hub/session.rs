//! A welcomed connection: the reader that dispatches what the agent sends,
//! and the writer task that sends what the server queued.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use pilot_core::protocol::{AgentMessage, ServerMessage, TlsAcceptor};
use tokio::io::{AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::connection::{Connection, ConnectionInfo};
use super::error::HubError;
use super::handshake::{AgentStream, Welcomed, is_notable};
use super::ingest::Ingest;
use super::liveness::Pipes;
use super::stats::Counters;
use super::{Hub, now_ms};
use crate::node_link::CommandUpdate;

/// Frames queued for one agent before it counts as not reading.
const OUTGOING_FRAMES: usize = 1024;

/// Frames written together, in bytes, when several are queued.
const COALESCE_BYTES: usize = 64 * 1024;

impl Hub {
    /// Serves one accepted TCP connection until it ends.
    pub(crate) async fn serve_connection(
        self: Arc<Self>,
        tcp: TcpStream,
        peer: SocketAddr,
        acceptor: Option<TlsAcceptor>,
        pipes: Pipes,
        shutdown: CancellationToken,
    ) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "could not disable Nagle's algorithm");
        }
        let tls = acceptor.is_some();
        let after = self.options.hello_timeout;
        let handshake = tokio::select! {
            () = shutdown.cancelled() => return,
            result = tokio::time::timeout(after, self.handshake(tcp, peer, acceptor.as_ref())) => {
                result.unwrap_or(Err(HubError::HelloTimeout { peer, after }))
            }
        };
        match handshake {
            Ok(welcomed) => self.session(welcomed, peer, tls, &pipes, &shutdown).await,
            Err(e) if is_notable(&e) => tracing::warn!(%peer, error = %e, "agent not admitted"),
            Err(e) => tracing::debug!(%peer, error = %e, "agent not admitted"),
        }
    }

    /// Runs a welcomed connection: registers it, reads until it ends, then
    /// ends its pending commands and unregisters it.
    async fn session(
        &self,
        welcomed: Welcomed,
        peer: SocketAddr,
        tls: bool,
        pipes: &Pipes,
        shutdown: &CancellationToken,
    ) {
        let Welcomed {
            mut stream,
            node,
            version,
            at_ms,
        } = welcomed;
        let (outgoing, frames) = mpsc::channel(OUTGOING_FRAMES);
        let info = ConnectionInfo {
            peer,
            tls,
            connected_ms: at_ms,
            last_heartbeat_ms: at_ms,
            version,
        };
        let connection = Arc::new(Connection::new(
            self.next_connection_id(),
            node.into(),
            self.codec,
            info,
            outgoing,
            shutdown.child_token(),
        ));
        // Registered before the welcome, so that a welcomed agent is online;
        // commands sent meanwhile wait in the queue until the writer starts.
        self.attach(&connection);
        let welcome = ServerMessage::welcome(&*connection.node, self.options.heartbeat_secs());
        // The socket stays open until the node is unregistered, so that an
        // agent seeing its connection closed finds the node offline.
        let mut halves = None;
        let reason = match self.codec.write(&mut stream, &welcome).await {
            Err(e) => e.to_string(),
            Ok(()) => {
                let (mut reader, writer) = tokio::io::split(stream);
                let writer = tokio::spawn(write_frames(writer, frames, Arc::clone(&connection)));
                let reason = tokio::select! {
                    () = connection.closed().cancelled() => connection
                        .close_reason()
                        .unwrap_or_else(|| "the server is shutting down".to_string()),
                    reason = self.read_frames(&mut reader, &connection, pipes) => reason,
                };
                connection.close(reason.as_str());
                match writer.await {
                    Ok(writer) => halves = Some((reader, writer)),
                    Err(e) => {
                        tracing::error!(node = %connection.node, error = %e, "the writer of an agent connection failed");
                    }
                }
                reason
            }
        };
        connection.close(reason.as_str());
        connection.lose_runs(&reason);
        self.detach(&connection, pipes);
        drop(halves);
        tracing::info!(node = %connection.node, %peer, reason, "agent disconnected");
    }

    /// Reads and dispatches frames until the connection ends; returns why.
    async fn read_frames(
        &self,
        reader: &mut ReadHalf<Box<dyn AgentStream>>,
        connection: &Arc<Connection>,
        pipes: &Pipes,
    ) -> String {
        let silence = self.options.offline_after;
        let mut seen_written = Instant::now();
        loop {
            let read = self.codec.read_body(reader);
            let body = match tokio::time::timeout(silence, read).await {
                Err(_) => {
                    Counters::add(&self.counters.silent, 1);
                    return format!(
                        "node {} sent nothing for {} s (heartbeats are due every {} s); \
                         check the agent and the network between it and the server",
                        connection.node,
                        silence.as_secs(),
                        self.options.heartbeat_secs()
                    );
                }
                Ok(Ok(None)) => return "the agent closed the connection".to_string(),
                Ok(Err(e)) => return e.to_string(),
                Ok(Ok(Some(body))) => body,
            };
            // A slot in the metrics queue first, then the message: while the
            // queue is full, a connection waits holding the frame's few bytes
            // instead of a decoded batch (several times larger), so that a
            // burst of thousands of agents does not balloon memory.
            let Ok(slot) = pipes.ingest.reserve().await else {
                return "the server is shutting down".to_string();
            };
            let message = match self.codec.decode::<AgentMessage>(&body) {
                Ok(message) => message,
                Err(e) => return e.to_string(),
            };
            drop(body);
            match message {
                AgentMessage::Hello { .. } => {
                    tracing::warn!(node = %connection.node, "ignoring a second hello on a welcomed connection");
                }
                AgentMessage::Heartbeat { .. } => {
                    let now = now_ms();
                    connection.touch(now);
                    if seen_written.elapsed() >= self.options.seen_every {
                        seen_written = Instant::now();
                        pipes.seen(&connection.node, now);
                    }
                }
                AgentMessage::Metrics { mut batch, seq } => {
                    batch.node = connection.node.to_string();
                    slot.send(Ingest {
                        connection: Arc::clone(connection),
                        seq,
                        batch,
                    });
                }
                AgentMessage::Processes { top } => self.keep_processes(&connection.node, top),
                AgentMessage::Progress { command_id, event } => {
                    connection
                        .route(command_id, CommandUpdate::Progress(event))
                        .await;
                }
                AgentMessage::Journal {
                    command_id,
                    deployment,
                } => {
                    let update = CommandUpdate::Journal(deployment.clone());
                    if !connection.route(command_id, update).await {
                        self.record_orphan_journal(&connection.node, &deployment)
                            .await;
                    }
                }
                AgentMessage::LogChunk { command_id, lines } => {
                    connection
                        .route(command_id, CommandUpdate::Log(lines))
                        .await;
                }
                AgentMessage::Result {
                    command_id,
                    outcome,
                } => {
                    connection
                        .route(command_id, CommandUpdate::Finished(outcome))
                        .await;
                }
            }
        }
    }
}

/// Writes queued frames to the agent, several at a time when they pile up,
/// until the connection closes; gives the write half back.
async fn write_frames(
    mut writer: WriteHalf<Box<dyn AgentStream>>,
    mut frames: mpsc::Receiver<Vec<u8>>,
    connection: Arc<Connection>,
) -> WriteHalf<Box<dyn AgentStream>> {
    let closed = connection.closed().clone();
    loop {
        let mut chunk = tokio::select! {
            () = closed.cancelled() => return writer,
            frame = frames.recv() => match frame {
                Some(frame) => frame,
                None => return writer,
            },
        };
        while chunk.len() < COALESCE_BYTES {
            match frames.try_recv() {
                Ok(frame) => chunk.extend_from_slice(&frame),
                Err(_) => break,
            }
        }
        let write = async {
            writer.write_all(&chunk).await?;
            writer.flush().await
        };
        let written = tokio::select! {
            () = closed.cancelled() => None,
            written = write => Some(written),
        };
        match written {
            None => return writer,
            Some(Ok(())) => {}
            Some(Err(e)) => {
                connection.close(format!("could not write to the agent: {e}"));
                return writer;
            }
        }
    }
}
