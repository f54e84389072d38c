//! The benchmark's table.

use std::time::Duration;

use pilot_server::hub::HubStats;

/// The figures of one crowd size.
pub struct Row {
    agents: usize,
    connect: Duration,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    timed: usize,
    sent: u64,
    unacked: u64,
    batches_per_s: f64,
    cpu_percent: f64,
    idle_mib: f64,
    connected_mib: f64,
    rss_mib: f64,
    peak_mib: f64,
    per_commit: f64,
    store_failures: u64,
}

/// The `p`-th percentile (0..=100) of sorted values.
fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)])
}

impl Row {
    /// Computes a row from raw measurements.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        agents: usize,
        connect: Duration,
        mut latencies_us: Vec<u32>,
        sent: u64,
        (sent_total, acked_total): (u64, u64),
        window: Duration,
        cpu_seconds: f64,
        [idle_mib, connected_mib, rss_mib, peak_mib]: [f64; 4],
        stats: HubStats,
    ) -> Self {
        latencies_us.sort_unstable();
        let ms = |us: f64| us / 1000.0;
        Row {
            agents,
            connect,
            p50_ms: ms(percentile(&latencies_us, 50.0)),
            p99_ms: ms(percentile(&latencies_us, 99.0)),
            max_ms: ms(latencies_us.last().map_or(f64::NAN, |&v| f64::from(v))),
            timed: latencies_us.len(),
            sent,
            unacked: sent_total.saturating_sub(acked_total),
            batches_per_s: sent as f64 / window.as_secs_f64(),
            cpu_percent: 100.0 * cpu_seconds / window.as_secs_f64(),
            idle_mib,
            connected_mib,
            rss_mib,
            peak_mib,
            per_commit: stats.batches_stored as f64 / stats.commits.max(1) as f64,
            store_failures: stats.store_failures,
        }
    }

    /// A one-line summary while the benchmark runs.
    pub fn line(&self) -> String {
        format!(
            "  {} agents: p50 {:.1} ms, p99 {:.1} ms, RSS {:.0} MiB, CPU {:.0} %",
            self.agents, self.p50_ms, self.p99_ms, self.rss_mib, self.cpu_percent
        )
    }
}

/// Prints the table.
pub fn print(rows: &[Row], interval: Duration) {
    println!();
    println!(
        "fan-in: one 40-sample batch per agent every {} s; latency = send -> MetricsAck (stored, queryable)",
        interval.as_secs()
    );
    println!(
        "RSS: idle = hub started, conn = all agents connected (no metrics yet), RSS / peak = end of the window"
    );
    println!(
        "{:>7} {:>9} {:>9} {:>8} {:>8} {:>8} {:>14} {:>8} {:>9} {:>9} {:>9} {:>9} {:>10} {:>8} {:>8}",
        "agents",
        "connect",
        "batches/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "acked/sent",
        "unacked",
        "idle MiB",
        "conn MiB",
        "RSS MiB",
        "peak MiB",
        "CPU % core",
        "b/commit",
        "failures"
    );
    for r in rows {
        println!(
            "{:>7} {:>8.1}s {:>9.0} {:>8.1} {:>8.1} {:>8.1} {:>14} {:>8} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>10.1} {:>8.1} {:>8}",
            r.agents,
            r.connect.as_secs_f64(),
            r.batches_per_s,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            format!("{}/{}", r.timed, r.sent),
            r.unacked,
            r.idle_mib,
            r.connected_mib,
            r.rss_mib,
            r.peak_mib,
            r.cpu_percent,
            r.per_commit,
            r.store_failures
        );
    }
}
