//! The agent's end of the link: connect, say hello, serve the welcomed
//! connection, and reconnect with jittered exponential backoff when it
//! drops. A refusal (unknown or revoked token) or another protocol version
//! ends the loop with an error: retrying cannot fix those.

mod backoff;
mod connect;
mod session;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use pilot_core::protocol::{AgentMessage, NodeToken};
use tokio_util::sync::CancellationToken;

pub(crate) use self::session::SessionContext;

use self::backoff::Backoff;
use self::connect::{Welcomed, connect, handshake};
use crate::commands::LinkInfo;
use crate::error::Result;
use crate::options::ServerTls;
use crate::status::Counters;

/// How the link reaches and greets the server.
pub(crate) struct LinkSettings {
    /// `host:port`.
    pub server: String,
    /// TLS of the link.
    pub tls: ServerTls,
    /// The token presented in the hello.
    pub token: NodeToken,
    /// The name presented in the hello.
    pub hello_name: String,
    /// What the node reports about itself.
    pub system: serde_json::Value,
    /// Limit of the connection and of the hello.
    pub connect_timeout: Duration,
    /// Reconnect delays.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// File the welcomed node name is kept in.
    pub node_file: PathBuf,
}

/// Keeps the agent connected until `stop` is cancelled (`Ok`) or the server
/// refuses it for good (the error).
pub(crate) async fn run(
    settings: LinkSettings,
    context: SessionContext,
    stop: CancellationToken,
) -> Result<()> {
    let counters = context.counters.clone();
    let mut backoff = Backoff::new(settings.backoff_min, settings.backoff_max);
    loop {
        let outcome = tokio::select! {
            outcome = connect_and_serve(&settings, &context, &mut backoff, &stop) => outcome,
            () = stop.cancelled() => Ok(()),
        };
        counters.connected.store(false, Ordering::Relaxed);
        let error = match outcome {
            Ok(()) => return Ok(()),
            Err(error) if error.is_fatal() => {
                tracing::error!(server = %settings.server, %error, "the agent stops");
                counters.set_error(&error.to_string());
                return Err(error);
            }
            Err(error) => error,
        };
        let delay = backoff.next_delay();
        tracing::warn!(server = %settings.server, %error, retry_in_ms = delay.as_millis() as u64,
            "agent link down; reconnecting");
        counters.set_error(&error.to_string());
        counters.set_backoff(delay);
        Counters::bump(&counters.reconnects);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stop.cancelled() => return Ok(()),
        }
    }
}

/// One connection: connect, hello, then serve it until it ends.
async fn connect_and_serve(
    settings: &LinkSettings,
    context: &SessionContext,
    backoff: &mut Backoff,
    stop: &CancellationToken,
) -> Result<()> {
    let mut connection = connect(&settings.server, settings.tls, settings.connect_timeout).await?;
    let hello = AgentMessage::hello(
        settings.hello_name.clone(),
        settings.token.clone(),
        settings.system.clone(),
    );
    let welcomed = handshake(
        &mut connection,
        &hello,
        &settings.server,
        settings.connect_timeout,
    )
    .await?;
    welcome(settings, context, &welcomed);
    backoff.reset();
    let link = LinkInfo {
        peer: connection.peer,
        tls: connection.tls,
        lost: CancellationToken::new(),
    };
    session::serve(
        context,
        connection.reader,
        connection.writer,
        link,
        &welcomed,
        stop,
    )
    .await
}

/// Records a welcome: the node name (kept for the next hello), the counters.
fn welcome(settings: &LinkSettings, context: &SessionContext, welcomed: &Welcomed) {
    let counters = &context.counters;
    if counters.node().as_deref() != Some(welcomed.node.as_str()) {
        if let Err(error) =
            pilot_core::fsutil::write_atomic(&settings.node_file, welcomed.node.as_bytes(), 0o644)
        {
            tracing::warn!(%error, "could not keep the node name for the next start");
        }
        counters.set_node(&welcomed.node);
    }
    counters.connected.store(true, Ordering::Relaxed);
    Counters::bump(&counters.connections);
    tracing::info!(
        server = %settings.server,
        node = %welcomed.node,
        heartbeat_secs = welcomed.heartbeat.as_secs(),
        tls = settings.tls.is_on(),
        queued_messages = context.outbox.len(),
        unacked_batches = context.spool.figures().batches,
        "connected to the server"
    );
}

/// The node name kept from the last welcome, if any.
pub(crate) fn remembered_node(node_file: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(node_file)
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}
