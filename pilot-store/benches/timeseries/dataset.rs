//! The generated dataset: per node, 10-second host metrics as the collector
//! produces them.
//!
//! - `cpu_usage_percent{cpu="total"}`: a mean-reverting noisy random walk in
//!   0..100, one decimal (as the seed's dashboards show it, e.g. 45.2);
//! - `memory_used_bytes`: step changes every couple of hours, small page-sized
//!   moves in between;
//! - `net_rx_bytes_total` / `net_tx_bytes_total{device="eth0"}`: monotonic
//!   byte counters whose rate wanders;
//! - `disk_used_bytes{mount="/"}`: mostly constant, growing now and then.
//!
//! Timestamps are those of a 10-second collection loop: a per-node offset,
//! and 1 ms of jitter on one collection in ten.

use std::collections::BTreeMap;

/// One generated series.
pub(crate) struct SeriesData {
    pub(crate) node: String,
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) ts: Vec<i64>,
    pub(crate) values: Vec<f64>,
    /// Short name of the metric kind, for tables.
    pub(crate) kind: &'static str,
}

/// SplitMix64: small, fast, deterministic.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

const STEP_MS: i64 = 10_000;
const PAGE: f64 = 4096.0;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `nodes` nodes × 5 metrics, `days` days of samples ending at `end_ms`.
pub(crate) fn generate(nodes: usize, days: i64, end_ms: i64) -> Vec<SeriesData> {
    let n = (days * 86_400_000 / STEP_MS) as usize;
    let start = end_ms - days * 86_400_000;
    let mut out = Vec::new();
    for node_index in 0..nodes {
        let node = format!("node-{:02}", node_index + 1);
        let mut rng = Rng::new(0x5EED_0000 + node_index as u64);
        let offset = rng.below(10_000) as i64;
        let ts: Vec<i64> = (0..n)
            .map(|i| start + offset + i as i64 * STEP_MS + i64::from(rng.below(10) == 0))
            .collect();
        let series = |name: &str, pairs: &[(&str, &str)], kind, values| SeriesData {
            node: node.clone(),
            name: name.into(),
            labels: labels(pairs),
            ts: ts.clone(),
            values,
            kind,
        };
        out.push(series(
            "cpu_usage_percent",
            &[("cpu", "total")],
            "cpu %",
            cpu(&mut rng, n),
        ));
        out.push(series(
            "memory_used_bytes",
            &[],
            "memory",
            memory(&mut rng, n),
        ));
        out.push(series(
            "net_rx_bytes_total",
            &[("device", "eth0")],
            "counter",
            counter(&mut rng, n, 60_000.0),
        ));
        out.push(series(
            "net_tx_bytes_total",
            &[("device", "eth0")],
            "counter",
            counter(&mut rng, n, 20_000.0),
        ));
        out.push(series(
            "disk_used_bytes",
            &[("mount", "/")],
            "disk",
            disk(&mut rng, n),
        ));
    }
    out
}

fn cpu(rng: &mut Rng, n: usize) -> Vec<f64> {
    let mean = 10.0 + rng.unit() * 50.0;
    let mut x = mean;
    (0..n)
        .map(|_| {
            x += 0.05 * (mean - x) + 2.0 * rng.normal();
            x = x.clamp(0.0, 100.0);
            (x * 10.0).round() / 10.0
        })
        .collect()
}

fn memory(rng: &mut Rng, n: usize) -> Vec<f64> {
    let total = 8.0 * 1024.0 * 1024.0 * 1024.0;
    let mut used = (1.0 + rng.unit() * 3.0) * 1024.0 * 1024.0 * 1024.0;
    (0..n)
        .map(|_| {
            let r = rng.unit();
            if r < 1.0 / 720.0 {
                used += rng.normal() * 300.0 * 1024.0 * 1024.0;
            } else if r < 0.2 {
                used += (rng.below(129) as f64 - 64.0) * PAGE;
            }
            used = (used / PAGE).round().clamp(65_536.0, total / PAGE) * PAGE;
            used
        })
        .collect()
}

fn counter(rng: &mut Rng, n: usize, typical_rate: f64) -> Vec<f64> {
    let mut log_rate = typical_rate.ln();
    let mut total = (rng.below(1 << 40)) as f64;
    (0..n)
        .map(|_| {
            log_rate += 0.02 * (typical_rate.ln() - log_rate) + 0.1 * rng.normal();
            let bytes = (log_rate.exp() * 10.0 * (0.5 + rng.unit())).round();
            total += bytes;
            total
        })
        .collect()
}

fn disk(rng: &mut Rng, n: usize) -> Vec<f64> {
    let mut used = (rng.below(40) + 5) as f64 * 1e9;
    used = (used / PAGE).round() * PAGE;
    (0..n)
        .map(|_| {
            let r = rng.unit();
            if r < 0.01 {
                used += (rng.below(256) + 1) as f64 * PAGE;
            } else if r < 0.0105 {
                used -= (rng.below(100_000)) as f64 * PAGE;
            }
            used
        })
        .collect()
}
