//! Sinks that route batches: fan-out and channel.

use std::sync::Arc;

use async_trait::async_trait;
use pilot_core::{MetricBatch, MetricsSink};
use tokio::sync::mpsc;

/// Hands every batch to each of its sinks in turn; reports the first error
/// after all sinks had their turn.
#[derive(Clone, Default)]
pub struct FanoutSink {
    sinks: Vec<Arc<dyn MetricsSink>>,
}

impl FanoutSink {
    /// A fan-out over `sinks`.
    pub fn new(sinks: Vec<Arc<dyn MetricsSink>>) -> Self {
        FanoutSink { sinks }
    }
}

#[async_trait]
impl MetricsSink for FanoutSink {
    async fn accept(&self, batch: MetricBatch) -> pilot_core::Result<()> {
        let mut first_error = None;
        for sink in &self.sinks {
            if let Err(e) = sink.accept(batch.clone()).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Sends every batch into a bounded channel; waits when the channel is full.
#[derive(Clone)]
pub struct ChannelSink {
    tx: mpsc::Sender<MetricBatch>,
}

impl ChannelSink {
    /// A sink and the receiving end of its channel.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<MetricBatch>) {
        let (tx, rx) = mpsc::channel(capacity);
        (ChannelSink { tx }, rx)
    }
}

#[async_trait]
impl MetricsSink for ChannelSink {
    async fn accept(&self, batch: MetricBatch) -> pilot_core::Result<()> {
        self.tx
            .send(batch)
            .await
            .map_err(|_| pilot_core::Error::Unsupported {
                operation: "accepting metrics after the receiver was dropped",
                implementation: "ChannelSink",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pilot_core::Sample;

    #[tokio::test]
    async fn fanout_reaches_every_sink() {
        let (a, mut ra) = ChannelSink::new(1);
        let (b, mut rb) = ChannelSink::new(1);
        let fan = FanoutSink::new(vec![Arc::new(a), Arc::new(b)]);
        let batch = MetricBatch {
            node: "n".into(),
            samples: vec![Sample {
                name: "load1".into(),
                labels: Default::default(),
                timestamp_ms: 1,
                value: 0.5,
            }],
        };
        fan.accept(batch.clone()).await.unwrap();
        assert_eq!(ra.recv().await.unwrap(), batch);
        assert_eq!(rb.recv().await.unwrap(), batch);
        drop(rb);
        assert!(fan.accept(batch).await.is_err());
    }
}
