//! Resident memory across 100,000 collections: the collector, the batch and
//! the Prometheus rendering, in one process, as the exporter runs them.
//!
//! `cargo bench -p pilot-metrics --bench rss_flat`; `PILOT_BENCH_COLLECTIONS`
//! changes the count (default 100000).

use std::time::Instant;

use pilot_metrics::{Collector, CollectorOptions, PrometheusSink, ServiceTarget};

fn rss_kb() -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = text.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn main() {
    let total: u64 = std::env::var("PILOT_BENCH_COLLECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let checkpoints = [1_000, 10_000, 25_000, 50_000, 75_000, total];
    let mut collector = Collector::new(CollectorOptions::default()).expect("collector");
    let sink = PrometheusSink::default();
    let me = [ServiceTarget::process("bench-g1", std::process::id())];
    let start = Instant::now();
    let mut series = 0;
    println!(
        "{:>12}{:>12}{:>16}",
        "collections", "RSS (kB)", "µs/collection"
    );
    let mut last = (Instant::now(), 0u64);
    for n in 1..=total {
        let batch = collector.collect(&me).expect("collect").to_batch("bench");
        series = batch.samples.len();
        sink.render(&batch);
        if checkpoints.contains(&n) {
            let per = last.0.elapsed().as_secs_f64() * 1e6 / (n - last.1) as f64;
            println!("{n:>12}{:>12}{per:>16.1}", rss_kb());
            last = (Instant::now(), n);
        }
    }
    println!(
        "{total} collections of {series} samples each in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}
