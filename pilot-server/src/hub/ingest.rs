//! The metrics writer: one task takes the batches of every connection and
//! stores as many as are waiting in one transaction (group commit), then
//! acknowledges each batch to its agent. An acknowledged batch is durable
//! and visible to queries.

use std::collections::HashSet;
use std::sync::Arc;

use pilot_core::MetricBatch;
use pilot_core::protocol::ServerMessage;
use tokio::sync::mpsc;

use super::Hub;
use super::connection::Connection;
use super::stats::Counters;
use crate::events::ServerEvent;

/// A batch received on a connection, its node already set to the
/// connection's registered name.
pub(crate) struct Ingest {
    /// Where the acknowledgement goes.
    pub connection: Arc<Connection>,
    /// The agent's sequence number of the batch.
    pub seq: u64,
    /// The samples.
    pub batch: MetricBatch,
}

impl Hub {
    /// Stores queued batches until every sender is gone.
    pub(crate) async fn store_metrics(self: Arc<Self>, mut queue: mpsc::Receiver<Ingest>) {
        let limit = self.options.max_group.max(1);
        let mut group = Vec::with_capacity(limit);
        while queue.recv_many(&mut group, limit).await > 0 {
            self.store_group(&mut group).await;
            group.clear();
        }
    }

    /// Stores a group in one transaction; when that fails, stores its
    /// batches one by one to find the ones at fault.
    async fn store_group(&self, group: &mut Vec<Ingest>) {
        let batches: Vec<MetricBatch> = group
            .iter_mut()
            .map(|item| std::mem::take(&mut item.batch))
            .collect();
        let written = self.metrics.write_batches(&batches).await;
        Counters::add(&self.counters.commits, 1);
        let items = group.drain(..).zip(batches);
        match written {
            Ok(()) => items.for_each(|(item, batch)| self.stored(item, batch)),
            Err(e) if items.len() == 1 => {
                for (item, batch) in items {
                    self.not_stored(item, batch, &e);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "storing a group of metrics batches failed; storing them one by one");
                // Connections with a batch not stored get no later acknowledgement:
                // an acknowledgement covers every earlier batch.
                let mut failed = HashSet::new();
                for (item, batch) in items {
                    if failed.contains(&item.connection.id) {
                        continue;
                    }
                    Counters::add(&self.counters.commits, 1);
                    match self.metrics.write(&batch).await {
                        Ok(()) => self.stored(item, batch),
                        Err(e) => {
                            let id = item.connection.id;
                            if !self.not_stored(item, batch, &e) {
                                failed.insert(id);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Acknowledges a stored batch and publishes its samples.
    fn stored(&self, item: Ingest, batch: MetricBatch) {
        Counters::add(&self.counters.batches_stored, 1);
        Counters::add(&self.counters.samples_stored, batch.samples.len() as u64);
        item.connection
            .push(&ServerMessage::MetricsAck { seq: item.seq });
        if !batch.samples.is_empty() {
            self.events.publish(ServerEvent::Metrics {
                node: batch.node,
                samples: batch.samples,
            });
        }
    }

    /// Handles a batch the store did not take. A batch the store refuses as
    /// invalid is acknowledged and dropped (sending it again cannot help);
    /// otherwise the connection is closed unacknowledged, so that the agent
    /// keeps the batch and sends it again. Returns whether it was acknowledged.
    fn not_stored(&self, item: Ingest, batch: MetricBatch, error: &pilot_store::Error) -> bool {
        let node = &batch.node;
        if let pilot_store::Error::Invalid { .. } = error {
            tracing::warn!(node, seq = item.seq, error = %error, "dropping a metrics batch the store refuses");
            Counters::add(&self.counters.batches_rejected, 1);
            item.connection
                .push(&ServerMessage::MetricsAck { seq: item.seq });
            true
        } else {
            tracing::error!(node, seq = item.seq, error = %error, "could not store a metrics batch");
            Counters::add(&self.counters.store_failures, 1);
            item.connection.close(format!(
                "the server could not store metrics batch {}: {error}; the agent keeps it and sends \
                 it again after reconnecting",
                item.seq
            ));
            false
        }
    }
}
