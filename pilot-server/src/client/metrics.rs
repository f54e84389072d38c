//! Metric queries, the server's machine and its health.

use super::Client;
use super::error::Result;
use crate::api::types::{HealthResponse, MetricsQuery, MetricsQueryResponse};

impl Client {
    /// Stored metrics over a range (`GET /metrics/query`): one series per
    /// node and label set, points by step.
    pub async fn query_metrics(&self, query: &MetricsQuery) -> Result<MetricsQueryResponse> {
        self.get(self.api_url(&["metrics", "query"]), &query.to_pairs())
            .await
    }

    /// The server's own machine: OS, kernel, CPUs, memory, disks (`GET /system`).
    pub async fn system(&self) -> Result<pilot_metrics::SystemInfo> {
        self.get(self.api_url(&["system"]), &[]).await
    }

    /// Whether the server answers and reaches its database (`GET /health`,
    /// no login needed).
    pub async fn health(&self) -> Result<HealthResponse> {
        self.get(self.url(&["health"]), &[]).await
    }
}
