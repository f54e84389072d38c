//! Metric queries, latest values and top processes.

use std::collections::BTreeMap;

use pilot_store::timeseries::{Aggregation, LatestValue, Point, SeriesPoints};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// How the samples of one step are combined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricAggregation {
    /// Mean (default).
    #[default]
    Avg,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Sum.
    Sum,
    /// Number of samples.
    Count,
}

impl From<MetricAggregation> for Aggregation {
    fn from(agg: MetricAggregation) -> Self {
        match agg {
            MetricAggregation::Avg => Aggregation::Avg,
            MetricAggregation::Min => Aggregation::Min,
            MetricAggregation::Max => Aggregation::Max,
            MetricAggregation::Sum => Aggregation::Sum,
            MetricAggregation::Count => Aggregation::Count,
        }
    }
}

/// Query string of `GET /api/v1/metrics/query`. Besides these parameters,
/// `label.<key>=<value>` narrows to series carrying that label (e.g.
/// `label.project=shop`); several may be given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    /// Metric name, e.g. `cpu_usage_percent`.
    pub metric: String,
    /// Only this node.
    pub node: Option<String>,
    /// Start: Unix ms, or a duration before now such as `-24h`, `-30m`, `-7d`
    /// (default: one hour before `end`).
    pub start: Option<String>,
    /// End: Unix ms, or a duration before now (default: now).
    pub end: Option<String>,
    /// Step in ms, or a duration such as `5m`; `0` for raw samples
    /// (default: the range divided into 300 points).
    pub step: Option<String>,
    /// Aggregation per step: avg (default), min, max, sum, count.
    pub agg: Option<MetricAggregation>,
    /// Label filters, sent as `label.<key>=<value>`.
    #[serde(skip)]
    #[param(ignore)]
    pub labels: BTreeMap<String, String>,
}

impl MetricsQuery {
    /// The query as URL query pairs, labels as `label.<key>`.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = vec![("metric".to_string(), self.metric.clone())];
        let optional = [
            ("node", self.node.clone()),
            ("start", self.start.clone()),
            ("end", self.end.clone()),
            ("step", self.step.clone()),
            (
                "agg",
                self.agg.map(|a| {
                    serde_json::to_value(a)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                }),
            ),
        ];
        pairs.extend(
            optional
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v))),
        );
        pairs.extend(
            self.labels
                .iter()
                .map(|(k, v)| (format!("label.{k}"), v.clone())),
        );
        pairs
    }
}

/// The answer to a metrics query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricsQueryResponse {
    /// The metric.
    pub metric: String,
    /// Start, Unix ms, inclusive.
    pub start_ms: i64,
    /// End, Unix ms, exclusive.
    pub end_ms: i64,
    /// Step in ms (0: raw samples).
    pub step_ms: i64,
    /// Aggregation per step.
    pub aggregation: MetricAggregation,
    /// One entry per matching series.
    pub series: Vec<SeriesView>,
}

/// The points of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesView {
    /// The node.
    pub node: String,
    /// Labels besides the node.
    pub labels: BTreeMap<String, String>,
    /// Bucket width the points were computed from (0: raw samples).
    pub resolution_ms: i64,
    /// Points by time.
    pub points: Vec<Point>,
}

impl From<SeriesPoints> for SeriesView {
    fn from(s: SeriesPoints) -> Self {
        SeriesView {
            node: s.series.node,
            labels: s.series.labels,
            resolution_ms: s.resolution_ms,
            points: s.points,
        }
    }
}

/// The newest value of one series of a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LatestMetric {
    /// Metric name.
    pub name: String,
    /// Labels besides the node.
    pub labels: BTreeMap<String, String>,
    /// Unix ms of the sample.
    pub timestamp_ms: i64,
    /// The value.
    pub value: f64,
}

impl From<LatestValue> for LatestMetric {
    fn from(v: LatestValue) -> Self {
        LatestMetric {
            name: v.series.name,
            labels: v.series.labels,
            timestamp_ms: v.point.timestamp_ms,
            value: v.point.value,
        }
    }
}

/// `GET /api/v1/nodes/{name}/processes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NodeProcesses {
    /// The node.
    pub node: String,
    /// Its busiest processes by CPU and by memory, as last reported; absent
    /// until the connected agent sent a report.
    #[schema(value_type = Option<Object>)]
    pub top: Option<pilot_core::TopProcesses>,
}
