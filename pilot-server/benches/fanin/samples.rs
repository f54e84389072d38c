//! What a simulated agent sends: 40 samples shaped like the collector's
//! (CPU, memory, load, file system, disk, network), with moving values.

use std::collections::BTreeMap;

use pilot_core::{MetricBatch, Sample};

/// Samples per batch.
pub const PER_BATCH: usize = 40;

/// The 40 series of a node: metric name and labels.
fn series() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    let mut out: Vec<(&'static str, Vec<(&'static str, &'static str)>)> = Vec::new();
    for cpu in ["total", "0", "1"] {
        out.push(("cpu_usage_percent", vec![("cpu", cpu)]));
    }
    for mode in ["user", "system", "idle", "iowait", "steal"] {
        out.push(("cpu_mode_percent", vec![("mode", mode)]));
    }
    for name in [
        "memory_total_bytes",
        "memory_used_bytes",
        "memory_available_bytes",
        "memory_free_bytes",
        "memory_buffers_bytes",
        "memory_cached_bytes",
        "swap_total_bytes",
        "swap_used_bytes",
        "swap_free_bytes",
        "memory_usage_percent",
    ] {
        out.push((name, Vec::new()));
    }
    for period in ["1m", "5m", "15m"] {
        out.push(("load_average", vec![("period", period)]));
    }
    for name in [
        "filesystem_size_bytes",
        "filesystem_used_bytes",
        "filesystem_available_bytes",
        "filesystem_usage_percent",
    ] {
        out.push((name, vec![("mountpoint", "/")]));
    }
    for name in [
        "disk_read_bytes_total",
        "disk_written_bytes_total",
        "disk_reads_completed_total",
        "disk_writes_completed_total",
        "disk_io_time_seconds_total",
    ] {
        out.push((name, vec![("device", "vda")]));
    }
    for name in [
        "network_receive_bytes_total",
        "network_transmit_bytes_total",
        "network_receive_packets_total",
        "network_transmit_packets_total",
        "network_receive_errors_total",
        "network_transmit_errors_total",
        "network_receive_drops_total",
        "network_transmit_drops_total",
    ] {
        out.push((name, vec![("interface", "eth0")]));
    }
    out.push(("uptime_seconds", Vec::new()));
    out.push(("processes_running", Vec::new()));
    out
}

/// Builds the batches of one node, round after round.
pub struct BatchMaker {
    node: String,
    series: Vec<(&'static str, BTreeMap<String, String>)>,
    round: u64,
}

impl BatchMaker {
    /// The batches of `node`.
    pub fn new(node: &str) -> Self {
        let series: Vec<_> = series()
            .into_iter()
            .map(|(name, labels)| {
                let labels = labels
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                (name, labels)
            })
            .collect();
        assert_eq!(series.len(), PER_BATCH);
        BatchMaker {
            node: node.to_string(),
            series,
            round: 0,
        }
    }

    /// The next batch, stamped `now_ms`.
    pub fn next(&mut self, now_ms: i64) -> MetricBatch {
        self.round += 1;
        let round = self.round as f64;
        let samples = self
            .series
            .iter()
            .enumerate()
            .map(|(i, (name, labels))| {
                let value = if name.ends_with("_total") {
                    round * (1000.0 + i as f64)
                } else if name.ends_with("_percent") {
                    ((round * 7.3 + i as f64 * 3.1) % 100.0 * 10.0).round() / 10.0
                } else {
                    (1u64 << 30) as f64 + round * 4096.0
                };
                Sample {
                    name: (*name).to_string(),
                    labels: labels.clone(),
                    timestamp_ms: now_ms,
                    value,
                }
            })
            .collect();
        MetricBatch {
            node: self.node.clone(),
            samples,
        }
    }
}
