//! The accept loop.

use std::sync::Arc;
use std::time::Duration;

use pilot_core::protocol::TlsAcceptor;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::Hub;
use super::error::{HubError, Result};
use super::liveness::{Pipes, SEEN_QUEUE};

/// Pause after a failed accept (e.g. out of file descriptors) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

impl Hub {
    /// Accepts agents on `listener` until `shutdown` is cancelled, then
    /// closes every connection, stores the metrics already received and
    /// returns. Fails only when the TLS identity cannot be used.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<()> {
        let acceptor = match &self.options.tls {
            Some(identity) => Some(TlsAcceptor::from(
                identity
                    .server_config()
                    .map_err(|source| HubError::Tls { cause: source })?,
            )),
            None => None,
        };
        let (ingest, ingest_queue) = mpsc::channel(self.options.ingest_queue.max(1));
        let (seen, seen_queue) = mpsc::channel(SEEN_QUEUE);
        let writer = tokio::spawn(Arc::clone(&self).store_metrics(ingest_queue));
        let recorder = tokio::spawn(Arc::clone(&self).record_seen(seen_queue));
        let pipes = Pipes { ingest, seen };
        tracing::info!(
            address = ?listener.local_addr().ok(),
            tls = acceptor.is_some(),
            "listening for agents"
        );
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        connections.spawn(Arc::clone(&self).serve_connection(
                            tcp,
                            peer,
                            acceptor.clone(),
                            pipes.clone(),
                            shutdown.clone(),
                        ));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not accept an agent connection; retrying");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                },
            }
        }
        drop(listener);
        while connections.join_next().await.is_some() {}
        drop(pipes);
        for task in [writer, recorder] {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a background task of the agent listener failed");
            }
        }
        tracing::info!("agent listener stopped");
        Ok(())
    }
}
