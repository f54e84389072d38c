//! The [`MetricsSink`] trait and the sample types every metrics producer and
//! consumer shares.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// One measured value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Metric name, e.g. "cpu_usage_percent".
    pub name: String,
    /// Labels that identify the series besides the node, e.g. `{"project": "shop"}`.
    pub labels: BTreeMap<String, String>,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The value.
    pub value: f64,
}

/// Samples collected together on one node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricBatch {
    /// The node the samples were taken on.
    pub node: String,
    /// The samples.
    pub samples: Vec<Sample>,
}

/// Accepts batches of metrics (a store, a network link, an exposition endpoint).
#[async_trait]
pub trait MetricsSink: Send + Sync {
    /// Takes one batch. When this returns `Ok`, the sink has accepted the batch
    /// with whatever durability it promises.
    async fn accept(&self, batch: MetricBatch) -> Result<()>;
}
