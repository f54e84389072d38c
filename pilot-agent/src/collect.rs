//! The agent's metrics collection: host and per-service figures every
//! interval into the spool (and the Prometheus endpoint, when served), and
//! the top processes to the link.
//!
//! This is pilot-metrics' collection loop with one addition: each cycle's
//! top processes, which a [`pilot_core::MetricBatch`] does not carry, are
//! published for the link to send as `AgentMessage::Processes`.

use std::sync::Arc;
use std::time::Duration;

use pilot_core::{ProcessSummary, TopProcesses};
use pilot_metrics::{Collector, ProcessUsage, PrometheusSink, ServiceTargets, Snapshot};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::spool::MetricSpool;
use crate::status::Counters;

/// Everything one collection cycle feeds.
pub(crate) struct Collection {
    /// Measures the host and the services.
    pub collector: Collector,
    /// The services running right now.
    pub services: Arc<dyn ServiceTargets>,
    /// Where batches wait for the server.
    pub spool: Arc<MetricSpool>,
    /// The Prometheus exposition, when served.
    pub prometheus: Option<PrometheusSink>,
    /// The latest top processes, for the link.
    pub processes: watch::Sender<Option<TopProcesses>>,
    /// Shared counters (and the welcomed node name).
    pub counters: Arc<Counters>,
    /// The node name used until the server welcomed the agent.
    pub fallback_node: String,
}

impl Collection {
    /// Collects right away and then every `interval` until `stop`.
    pub async fn run(mut self, interval: Duration, stop: CancellationToken) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            self.cycle().await;
        }
    }

    /// One collection: measure, spool, expose, publish the top processes.
    async fn cycle(&mut self) {
        let targets = self.services.targets().await.unwrap_or_else(|error| {
            tracing::warn!(%error, "listing services failed; collecting host metrics only");
            Vec::new()
        });
        let snapshot = match self.collector.collect(&targets) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                tracing::warn!(%error, "metrics collection failed");
                return;
            }
        };
        let node = self
            .counters
            .node()
            .unwrap_or_else(|| self.fallback_node.clone());
        let mut batch = snapshot.to_batch(&node);
        // JSON has no NaN or infinity: such a sample would spoil the whole batch.
        batch.samples.retain(|sample| sample.value.is_finite());
        if let Some(prometheus) = &self.prometheus {
            prometheus.render(&batch);
        }
        let samples = batch.samples.len() as u64;
        let spool = self.spool.clone();
        match tokio::task::spawn_blocking(move || spool.append(&batch)).await {
            Ok(Ok(_seq)) => {
                self.counters
                    .samples_collected
                    .fetch_add(samples, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "could not spool a metrics batch; it is lost")
            }
            Err(error) => tracing::error!(%error, "spooling a metrics batch was aborted"),
        }
        self.processes.send_replace(Some(top_processes(snapshot)));
    }
}

/// The snapshot's top processes in the link's terms.
pub(crate) fn top_processes(snapshot: &Snapshot) -> TopProcesses {
    let summary = |p: &ProcessUsage| ProcessSummary {
        pid: p.pid,
        name: p.name.clone(),
        project: p.project.clone(),
        cpu_percent: p.cpu_percent,
        rss_bytes: p.rss_bytes,
        threads: p.threads,
    };
    TopProcesses {
        timestamp_ms: snapshot.timestamp_ms,
        by_cpu: snapshot.top_cpu.iter().map(summary).collect(),
        by_memory: snapshot.top_memory.iter().map(summary).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_processes_keep_both_orders() {
        let process = |pid, cpu, rss| ProcessUsage {
            pid,
            name: format!("p{pid}"),
            project: (pid == 2).then(|| "shop".to_owned()),
            cpu_percent: Some(cpu),
            rss_bytes: rss,
            threads: 3,
        };
        let snapshot = Snapshot {
            timestamp_ms: 42,
            top_cpu: vec![process(1, 90.0, 10), process(2, 5.0, 500)],
            top_memory: vec![process(2, 5.0, 500), process(1, 90.0, 10)],
            ..Snapshot::default()
        };
        let top = top_processes(&snapshot);
        assert_eq!(top.timestamp_ms, 42);
        assert_eq!(top.by_cpu[0].pid, 1);
        assert_eq!(top.by_memory[0].pid, 2);
        assert_eq!(top.by_memory[0].project.as_deref(), Some("shop"));
        assert_eq!(top.by_cpu[1].threads, 3);
    }
}
