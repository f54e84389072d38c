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

/// One process among a node's busiest, as agents report them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSummary {
    /// Process id.
    pub pid: u32,
    /// Command name.
    pub name: String,
    /// The project whose service it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// CPU use in percent of one core, once measurable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    /// Resident memory in bytes.
    pub rss_bytes: u64,
    /// Threads.
    pub threads: u64,
}

/// A node's busiest processes at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TopProcesses {
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// Highest CPU use first.
    pub by_cpu: Vec<ProcessSummary>,
    /// Highest resident memory first.
    pub by_memory: Vec<ProcessSummary>,
}

/// Accepts batches of metrics (a store, a network link, an exposition endpoint).
#[async_trait]
pub trait MetricsSink: Send + Sync {
    /// Takes one batch. When this returns `Ok`, the sink has accepted the batch
    /// with whatever durability it promises.
    async fn accept(&self, batch: MetricBatch) -> Result<()>;
}
