//! One welcomed connection: a reader that hands commands to the dispatcher
//! and acknowledgements to the spool, and a writer that sends heartbeats,
//! command messages, top processes and every unacknowledged metric batch.

use std::sync::Arc;
use std::time::Duration;

use pilot_core::TopProcesses;
use pilot_core::protocol::{AgentMessage, FrameCodec, ServerMessage};
use pilot_core::time::now_ms;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connect::{LinkReader, LinkWriter, Welcomed, message_kind};
use crate::commands::{Dispatcher, LinkInfo};
use crate::error::{Error, Result};
use crate::outbox::Outbox;
use crate::spool::MetricSpool;
use crate::status::Counters;

/// What a session works with, shared with the rest of the agent.
pub(crate) struct SessionContext {
    /// The server address, for errors.
    pub server: String,
    /// Unacknowledged metric batches.
    pub spool: Arc<MetricSpool>,
    /// Command messages waiting for the link.
    pub outbox: Arc<Outbox>,
    /// Runs commands.
    pub dispatcher: Arc<Dispatcher>,
    /// The latest top processes.
    pub processes: watch::Receiver<Option<TopProcesses>>,
    /// Shared counters.
    pub counters: Arc<Counters>,
}

/// Serves one welcomed connection until it drops (an error saying why) or
/// `stop` is cancelled (`Ok`). Log follows started on it end with it.
pub(crate) async fn serve(
    context: &SessionContext,
    reader: LinkReader,
    writer: LinkWriter,
    link: LinkInfo,
    welcomed: &Welcomed,
    stop: &CancellationToken,
) -> Result<()> {
    let _lost = link.lost.clone().drop_guard();
    let processes = context.processes.clone();
    let read = read_loop(context, reader, &link);
    let write = write_loop(context, writer, welcomed, processes);
    tokio::pin!(read, write);
    tokio::select! {
        result = &mut read => return result,
        result = &mut write => return result,
        () = stop.cancelled() => {}
    }
    // Stopping: the writer sends what it still can and the reader takes the
    // acknowledgements of batches already sent, so that a clean stop does
    // not leave batches the server has stored in the spool to be sent again.
    let acknowledged = async {
        while context.spool.figures().batches > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let writer_done = async {
        let _ = (&mut write).await;
        std::future::pending::<()>().await
    };
    let _ = tokio::time::timeout(FLUSH_ON_STOP, async {
        tokio::select! {
            _ = &mut read => {}
            () = acknowledged => {}
            () = writer_done => {}
        }
    })
    .await;
    Ok(())
}

/// How long a stopping agent waits for its last metric batches to be
/// acknowledged.
const FLUSH_ON_STOP: Duration = Duration::from_secs(1);

/// Reads server messages until the connection ends.
async fn read_loop(
    context: &SessionContext,
    mut reader: LinkReader,
    link: &LinkInfo,
) -> Result<()> {
    let codec = FrameCodec::new();
    loop {
        let message = codec
            .read::<_, ServerMessage>(&mut reader)
            .await
            .map_err(|cause| Error::Protocol {
                server: context.server.clone(),
                cause,
            })?;
        match message {
            None => {
                return Err(Error::Closed {
                    server: context.server.clone(),
                    during: "",
                });
            }
            Some(ServerMessage::Command { id, command }) => {
                context.dispatcher.start(id, command, link.clone());
            }
            Some(ServerMessage::Cancel { id }) => context.dispatcher.cancel(id),
            Some(ServerMessage::MetricsAck { seq }) => {
                let removed = context.spool.ack(seq);
                tracing::trace!(seq, removed, "metrics acknowledged");
            }
            Some(ServerMessage::Refused { reason }) => {
                return Err(Error::Refused {
                    server: context.server.clone(),
                    reason,
                });
            }
            Some(other @ ServerMessage::Welcome { .. }) => {
                tracing::warn!(
                    server = %context.server,
                    message = message_kind(&other),
                    "ignoring a second welcome on the same connection"
                );
            }
        }
    }
}

/// A message the writer is about to send, and what to do once it is sent.
enum Outgoing {
    /// Nothing to record.
    Plain(AgentMessage),
    /// Remove it from the outbox.
    Queued(AgentMessage),
    /// Remember that batches up to this seq went out on this connection.
    Batch(u64, AgentMessage),
}

impl Outgoing {
    fn message(&self) -> &AgentMessage {
        match self {
            Outgoing::Plain(m) | Outgoing::Queued(m) | Outgoing::Batch(_, m) => m,
        }
    }
}

/// The writer's position on one connection.
struct Writer {
    /// Metric batches up to this seq went out on this connection.
    sent_through: u64,
    /// When the next heartbeat is due.
    next_heartbeat: Instant,
    /// Whether the collector still publishes top processes.
    watching_processes: bool,
    processes: watch::Receiver<Option<TopProcesses>>,
}

impl Writer {
    /// The next message to send, by priority: a due heartbeat, queued
    /// command messages, fresh top processes, then metric batches not yet
    /// sent on this connection, oldest first.
    fn next(&mut self, context: &SessionContext, welcomed: &Welcomed) -> Result<Option<Outgoing>> {
        if Instant::now() >= self.next_heartbeat {
            self.next_heartbeat = Instant::now() + welcomed.heartbeat;
            return Ok(Some(Outgoing::Plain(AgentMessage::Heartbeat {
                at_ms: now_ms(),
            })));
        }
        if let Some(message) = context.outbox.front() {
            return Ok(Some(Outgoing::Queued(message)));
        }
        if self.watching_processes && self.processes.has_changed().unwrap_or(false) {
            let top = self.processes.borrow_and_update().clone();
            if let Some(top) = top {
                return Ok(Some(Outgoing::Plain(AgentMessage::Processes { top })));
            }
        }
        if let Some((seq, mut batch)) = context.spool.next_after(self.sent_through)? {
            batch.node.clone_from(&welcomed.node);
            return Ok(Some(Outgoing::Batch(
                seq,
                AgentMessage::Metrics { batch, seq },
            )));
        }
        Ok(None)
    }

    /// Records that `outgoing` was written.
    fn sent(&mut self, context: &SessionContext, outgoing: &Outgoing) {
        match outgoing {
            Outgoing::Queued(_) => context.outbox.pop(),
            Outgoing::Batch(seq, _) => {
                self.sent_through = *seq;
                Counters::bump(&context.counters.batches_sent);
            }
            Outgoing::Plain(_) => {}
        }
    }

    /// Waits until there may be something to send.
    async fn idle(&mut self, context: &SessionContext) {
        tokio::select! {
            () = context.outbox.pushed() => {}
            () = context.spool.appended() => {}
            () = tokio::time::sleep_until(self.next_heartbeat) => {}
            changed = self.processes.changed(), if self.watching_processes => {
                // An error means the collector stopped: the agent is shutting down.
                self.watching_processes = changed.is_ok();
            }
        }
    }
}

/// Writes until writing fails.
async fn write_loop(
    context: &SessionContext,
    mut link: LinkWriter,
    welcomed: &Welcomed,
    mut processes: watch::Receiver<Option<TopProcesses>>,
) -> Result<()> {
    let codec = FrameCodec::new();
    // Processes collected before this connection are sent too.
    processes.mark_changed();
    let mut writer = Writer {
        sent_through: 0,
        next_heartbeat: Instant::now(),
        watching_processes: true,
        processes,
    };
    loop {
        match writer.next(context, welcomed)? {
            Some(outgoing) => {
                codec
                    .write(&mut link, outgoing.message())
                    .await
                    .map_err(|cause| Error::Protocol {
                        server: context.server.clone(),
                        cause,
                    })?;
                writer.sent(context, &outgoing);
            }
            None => writer.idle(context).await,
        }
    }
}
