//! The collection loop: collect at a fixed interval and hand each batch to
//! a [`MetricsSink`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use pilot_core::{MetricBatch, MetricsSink};
use tokio::time::MissedTickBehavior;

use crate::collector::Collector;
use crate::error::{Error, Result};
use crate::targets::ServiceTargets;

/// The default time between collections.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// Collects every `interval` and sends the batch to a sink.
///
/// The collection itself runs on the calling task: it only reads `/proc`
/// and `statvfs` of local filesystems, which do not block on I/O.
pub struct CollectionLoop {
    collector: Collector,
    node: String,
    interval: Duration,
    sink: Arc<dyn MetricsSink>,
    services: Option<Arc<dyn ServiceTargets>>,
}

impl std::fmt::Debug for CollectionLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectionLoop")
            .field("node", &self.node)
            .field("interval", &self.interval)
            .field("services", &self.services.is_some())
            .finish_non_exhaustive()
    }
}

impl CollectionLoop {
    /// A loop that collects host metrics of `node` every 5 s into `sink`.
    pub fn new(node: impl Into<String>, collector: Collector, sink: Arc<dyn MetricsSink>) -> Self {
        CollectionLoop {
            collector,
            node: node.into(),
            interval: DEFAULT_INTERVAL,
            sink,
            services: None,
        }
    }

    /// Sets the time between collections.
    pub fn with_interval(mut self, interval: Duration) -> Result<Self> {
        if interval.is_zero() {
            return Err(Error::InvalidOption {
                option: "interval",
                problem: "must be greater than zero; the default is 5 s",
            });
        }
        self.interval = interval;
        Ok(self)
    }

    /// Measures the services `services` lists, each collection.
    pub fn with_services(mut self, services: Arc<dyn ServiceTargets>) -> Self {
        self.services = Some(services);
        self
    }

    /// The time between collections.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Collects once and returns the batch without sending it. When the
    /// service list cannot be had, the host is still measured.
    pub async fn collect(&mut self) -> Result<MetricBatch> {
        let targets = match &self.services {
            Some(source) => source.targets().await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "listing services failed; collecting host metrics only");
                Vec::new()
            }),
            None => Vec::new(),
        };
        let snapshot = self.collector.collect(&targets)?;
        Ok(snapshot.to_batch(&self.node))
    }

    /// Collects once and sends the batch to the sink.
    pub async fn tick(&mut self) -> Result<()> {
        let batch = self.collect().await?;
        self.sink.accept(batch).await?;
        Ok(())
    }

    /// Collects right away and then every interval until `shutdown`
    /// completes. A failed collection or a refused batch is logged and the
    /// loop goes on; a collection late by more than an interval is not
    /// made up for.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            let cycle = async {
                ticker.tick().await;
                self.tick().await
            };
            tokio::select! {
                () = &mut shutdown => return,
                result = cycle => {
                    if let Err(e) = result {
                        tracing::warn!(node = %self.node, error = %e, "metrics collection failed");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChannelSink;
    use crate::collector::{CollectorOptions, ServiceTarget};

    fn collector() -> Collector {
        Collector::new(CollectorOptions::default()).unwrap()
    }

    #[tokio::test]
    async fn sends_a_batch_every_interval_until_shutdown() {
        let (sink, mut rx) = ChannelSink::new(4);
        let services = Arc::new(vec![ServiceTarget::process("me-g1", std::process::id())]);
        let lp = CollectionLoop::new("node-a", collector(), Arc::new(sink))
            .with_interval(Duration::from_millis(50))
            .unwrap()
            .with_services(services);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(lp.run(async {
            let _ = stopped.await;
        }));
        let first = rx.recv().await.unwrap();
        assert_eq!(first.node, "node-a");
        assert!(!first.samples.iter().any(|s| s.name == "cpu_usage_percent"));
        let second = rx.recv().await.unwrap();
        assert!(second.samples.iter().any(|s| s.name == "cpu_usage_percent"));
        let project = second
            .samples
            .iter()
            .find(|s| s.name == "service_resident_memory_bytes")
            .unwrap();
        assert_eq!(project.labels["project"], "me");
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn tick_reports_a_refused_batch_and_zero_intervals_are_rejected() {
        let (sink, rx) = ChannelSink::new(1);
        drop(rx);
        let mut lp = CollectionLoop::new("n", collector(), Arc::new(sink));
        assert!(lp.tick().await.is_err());
        assert!(lp.collect().await.is_ok());
        assert_eq!(lp.interval(), DEFAULT_INTERVAL);
        assert!(lp.with_interval(Duration::ZERO).is_err());
    }
}
