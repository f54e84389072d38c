//! The `five` dataset: per node, five 10-second host metrics, two of them
//! busy byte counters (a dense stress set; `collector_mix.rs` has the whole
//! mix a host sends). Also the random source both datasets use.
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
//!
//! ## Information content
//!
//! The generator also adds up a lower bound of the information its random
//! draws put into every series ([`SeriesData::floor_bits`]): for each sample,
//! the entropy of its value given the generator's hidden state before the
//! draw (the counter's current rate, the CPU walk's unrounded position...).
//! By the chain rule, no lossless encoding can store the series in fewer bits
//! on average. Parts that are hard to bound exactly (CPU values near 0 or
//! 100 %, memory next to its limits) count as 0 bits, so the bound stays low.

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
    /// Lower bound of the information in `values` (and, for the first
    /// series of a node, in the node's shared timestamps), in bits.
    pub(crate) floor_bits: f64,
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

/// The collection times of one node: `days` days at 10 s ending at
/// `end_ms`, from a per-node offset, with 1 ms of jitter on one collection
/// in ten (the collection loop wakes within about a millisecond).
pub(crate) fn collection_times(rng: &mut Rng, days: i64, end_ms: i64) -> Vec<i64> {
    let n = days * 86_400_000 / STEP_MS;
    let start = end_ms - days * 86_400_000 + rng.below(10_000) as i64;
    (0..n)
        .map(|i| start + i * STEP_MS + i64::from(rng.below(10) == 0))
        .collect()
}

/// `nodes` nodes × 5 metrics, `days` days of samples ending at `end_ms`.
pub(crate) fn generate(nodes: usize, days: i64, end_ms: i64) -> Vec<SeriesData> {
    let mut out = Vec::new();
    for node_index in 0..nodes {
        let node = format!("node-{:02}", node_index + 1);
        let mut rng = Rng::new(0x5EED_0000 + node_index as u64);
        let ts = collection_times(&mut rng, days, end_ms);
        let n = ts.len();
        // One jitter draw per collection, shared by the node's series.
        let ts_bits = n as f64 * binary_entropy(0.1);
        let series = |name: &str, pairs: &[(&str, &str)], kind, (values, floor_bits)| SeriesData {
            node: node.clone(),
            name: name.into(),
            labels: labels(pairs),
            ts: ts.clone(),
            values,
            kind,
            floor_bits,
        };
        let (cpu_values, cpu_bits) = cpu(&mut rng, n);
        out.push(series(
            "cpu_usage_percent",
            &[("cpu", "total")],
            "cpu %",
            (cpu_values, cpu_bits + ts_bits),
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

/// Entropy in bits of a coin that shows heads with probability `p`.
fn binary_entropy(p: f64) -> f64 {
    -(p * p.log2() + (1.0 - p) * (1.0 - p).log2())
}

/// Entropy in bits of a distribution given by probabilities summing to 1.
fn entropy(probabilities: impl IntoIterator<Item = f64>) -> f64 {
    probabilities
        .into_iter()
        .filter(|&p| p > 0.0)
        .map(|p| -p * p.log2())
        .sum()
}

/// The standard normal distribution function (Abramowitz-Stegun 26.2.17,
/// absolute error below 7.5e-8).
fn normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.231_641_9 * x.abs());
    let poly = t
        * (0.319_381_530
            + t * (-0.356_563_782
                + t * (1.781_477_937 + t * (-1.821_255_978 + t * 1.330_274_429))));
    let tail = (-x * x / 2.0).exp() / (std::f64::consts::TAU).sqrt() * poly;
    if x >= 0.0 { 1.0 - tail } else { tail }
}

/// Entropy of a normal value with standard deviation `sd` rounded to a grid
/// of `grid` (far from any clamp).
fn rounded_normal_entropy(sd: f64, grid: f64) -> f64 {
    let s = sd / grid;
    let k_max = (10.0 * s).ceil() as i64;
    entropy(
        (-k_max..=k_max)
            .map(|k| normal_cdf((k as f64 + 0.5) / s) - normal_cdf((k as f64 - 0.5) / s)),
    )
}

fn cpu(rng: &mut Rng, n: usize) -> (Vec<f64>, f64) {
    const SD: f64 = 2.0;
    let mean = 10.0 + rng.unit() * 50.0;
    let mut x = mean;
    let interior_bits = rounded_normal_entropy(SD, 0.1);
    let mut bits = 0.0;
    let values = (0..n)
        .map(|_| {
            let mu = x + 0.05 * (mean - x);
            // More than 5 sd away from both clamps, the clamp changes the
            // rounded value's distribution by less than 3e-7.
            if (5.0 * SD..=100.0 - 5.0 * SD).contains(&mu) {
                bits += interior_bits;
            }
            x = mu + SD * rng.normal();
            x = x.clamp(0.0, 100.0);
            (x * 10.0).round() / 10.0
        })
        .collect();
    (values, bits)
}

fn memory(rng: &mut Rng, n: usize) -> (Vec<f64>, f64) {
    let total = 8.0 * 1024.0 * 1024.0 * 1024.0;
    let mut used = (1.0 + rng.unit() * 3.0) * 1024.0 * 1024.0 * 1024.0;
    // Small moves of -64..=64 pages with probability 0.2 - 1/720 (0 among
    // them), large steps (counted as one outcome) with probability 1/720.
    let p_big = 1.0 / 720.0;
    let p_move = (0.2 - p_big) / 129.0;
    let step_bits = entropy(
        [p_big, 0.8 + p_move]
            .into_iter()
            .chain(std::iter::repeat_n(p_move, 128)),
    );
    let mut bits = 0.0;
    let values = (0..n)
        .map(|_| {
            if used >= 65_600.0 * PAGE && used <= total - 64.0 * PAGE {
                bits += step_bits;
            }
            let r = rng.unit();
            if r < 1.0 / 720.0 {
                used += rng.normal() * 300.0 * 1024.0 * 1024.0;
            } else if r < 0.2 {
                used += (rng.below(129) as f64 - 64.0) * PAGE;
            }
            used = (used / PAGE).round().clamp(65_536.0, total / PAGE) * PAGE;
            used
        })
        .collect();
    (values, bits)
}

fn counter(rng: &mut Rng, n: usize, typical_rate: f64) -> (Vec<f64>, f64) {
    let mut log_rate = typical_rate.ln();
    let mut total = (rng.below(1 << 40)) as f64;
    let mut bits = 0.0;
    let values = (0..n)
        .map(|_| {
            log_rate += 0.02 * (typical_rate.ln() - log_rate) + 0.1 * rng.normal();
            // Given the rate, the increment is uniform over about 10 x rate
            // whole numbers.
            let width = log_rate.exp() * 10.0;
            bits += width.log2().max(0.0);
            let bytes = (width * (0.5 + rng.unit())).round();
            total += bytes;
            total
        })
        .collect();
    (values, bits)
}

fn disk(rng: &mut Rng, n: usize) -> (Vec<f64>, f64) {
    let mut used = (rng.below(40) + 5) as f64 * 1e9;
    used = (used / PAGE).round() * PAGE;
    // Growth by 1..=256 pages (1 %), shrinking by 0..100,000 pages (0.05 %).
    let step_bits = entropy(
        [0.9895]
            .into_iter()
            .chain(std::iter::repeat_n(0.01 / 256.0, 256))
            .chain(std::iter::repeat_n(0.0005 / 100_000.0, 100_000)),
    );
    let bits = n as f64 * step_bits;
    let values = (0..n)
        .map(|_| {
            let r = rng.unit();
            if r < 0.01 {
                used += (rng.below(256) + 1) as f64 * PAGE;
            } else if r < 0.0105 {
                used -= (rng.below(100_000)) as f64 * PAGE;
            }
            used
        })
        .collect();
    (values, bits)
}
