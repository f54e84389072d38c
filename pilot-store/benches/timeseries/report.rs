//! The printed tables, and where the bytes of a store go.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pilot_store::timeseries::{ChunkCodec, decode_samples, encode_samples};
use sqlx::Connection;

use crate::Outcome;
use crate::dataset::SeriesData;

/// Name of the bulk-insert naive store.
pub(crate) const NAIVE_BULK: &str = "naive, 500-row INSERTs";
/// Name of the row-by-row naive store.
pub(crate) const NAIVE_ROWS: &str = "naive, INSERT per row";
/// 8 h of 10-second samples, the default raw window.
const WINDOW: usize = 2880;

/// Both codecs on every 8-hour window of every series.
pub(crate) fn codec_table(data: &[SeriesData]) {
    println!("\nraw chunk codecs (8 h windows, payload bytes only):");
    println!(
        "{:<10} {:>14} {:>14} {:>16} {:>16} {:>16} {:>16}",
        "metric",
        "gorilla B/smp",
        "pco B/smp",
        "gorilla enc ns",
        "pco enc ns",
        "gorilla dec ns",
        "pco dec ns"
    );
    let mut kinds: BTreeMap<&str, [(u64, Duration, Duration); 2]> = BTreeMap::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut floors: BTreeMap<&str, f64> = BTreeMap::new();
    for s in data {
        *counts.entry(s.kind).or_default() += s.ts.len();
        *floors.entry(s.kind).or_default() += s.floor_bits / 8.0;
        for (i, codec) in [ChunkCodec::Gorilla, ChunkCodec::Pco]
            .into_iter()
            .enumerate()
        {
            let slot = &mut kinds.entry(s.kind).or_default()[i];
            for (ts, vs) in s.ts.chunks(WINDOW).zip(s.values.chunks(WINDOW)) {
                let t = Instant::now();
                let payload = encode_samples(codec, ts, vs).expect("encode");
                slot.1 += t.elapsed();
                let t = Instant::now();
                let (back_ts, back_vs) = decode_samples(&payload).expect("decode");
                slot.2 += t.elapsed();
                assert_eq!(back_ts, ts);
                assert_eq!(back_vs, vs);
                slot.0 += payload.len() as u64;
            }
        }
    }
    let mut all = [(0u64, Duration::ZERO, Duration::ZERO); 2];
    let total: usize = counts.values().sum();
    let row = |name: &str, r: &[(u64, Duration, Duration); 2], n: usize| {
        let per = |b: u64| b as f64 / n as f64;
        let ns = |d: Duration| d.as_nanos() as f64 / n as f64;
        println!(
            "{:<10} {:>14.3} {:>14.3} {:>16.1} {:>16.1} {:>16.1} {:>16.1}",
            name,
            per(r[0].0),
            per(r[1].0),
            ns(r[0].1),
            ns(r[1].1),
            ns(r[0].2),
            ns(r[1].2)
        );
    };
    for (kind, r) in &kinds {
        row(kind, r, counts[kind]);
        for i in 0..2 {
            all[i].0 += r[i].0;
            all[i].1 += r[i].1;
            all[i].2 += r[i].2;
        }
    }
    row("all", &all, total);
    if data.iter().all(|s| s.floor_bits == 0.0) {
        return;
    }
    println!(
        "information floor (B/smp, no lossless encoding averages less): {}; all {:.3}",
        floors
            .iter()
            .map(|(kind, bytes)| format!("{kind} {:.3}", bytes / counts[kind] as f64))
            .collect::<Vec<_>>()
            .join(", "),
        floor(data)
    );
}

/// Bytes per sample no lossless encoding of the dataset can average below.
pub(crate) fn floor(data: &[SeriesData]) -> f64 {
    let bits: f64 = data.iter().map(|s| s.floor_bits).sum();
    let samples: usize = data.iter().map(|s| s.ts.len()).sum();
    bits / 8.0 / samples as f64
}

/// Chunk payload bytes per tier of an SQLite store.
pub(crate) async fn breakdown(path: &std::path::Path, samples: usize) {
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open for breakdown");
    let tiers: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT tier, COUNT(*), SUM(LENGTH(payload)) FROM ts_chunks GROUP BY tier ORDER BY tier",
    )
    .fetch_all(&mut c)
    .await
    .expect("tiers");
    let per = |b: i64| b as f64 / samples as f64;
    let (rows, bytes): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), SUM(LENGTH(payload)) FROM ts_blocks")
            .fetch_one(&mut c)
            .await
            .expect("blocks");
    eprintln!(
        "  raw blocks:   {rows:>6} rows,   payload {:.3} B/sample",
        per(bytes.unwrap_or(0))
    );
    for (tier, rows, bytes) in tiers {
        eprintln!(
            "  tier {tier:>9} ms: {rows:>6} chunks, payload {:.3} B/sample",
            per(bytes)
        );
    }
}

/// The 50th and 95th percentiles.
pub(crate) fn percentiles(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.95))
}

/// The results table.
pub(crate) fn results_table(outcomes: &[Outcome], batch_samples: usize) {
    println!(
        "\nstores (ingest includes compaction; \"per commit\": node batches of {} samples stored per\n\
         commit; \"x naive\": against the naive schema with 500-row INSERTs and the same batches per\n\
         commit; query = 30 days of one series at ~1,000 points, avg; INSERT-per-row ingest measured\n\
         on the first day only):",
        batch_samples
    );
    println!(
        "{:<9} {:<24} {:>10} {:>12} {:>9} {:>13} {:>8} {:>8} {:>10} {:>10} {:>7}",
        "backend",
        "store",
        "per commit",
        "bytes",
        "B/sample",
        "ingest smp/s",
        "x naive",
        "x rows",
        "query p50",
        "query p95",
        "points"
    );
    let rate = |o: &Outcome| o.samples as f64 / o.ingest.as_secs_f64();
    for o in outcomes {
        let versus = |name: &str, group: usize| {
            outcomes
                .iter()
                .find(|n| n.backend == o.backend && n.store == name && n.group == group)
                .map_or("-".to_string(), |n| format!("{:.1}x", rate(o) / rate(n)))
        };
        let ms = |d: Duration| {
            if d.is_zero() {
                "-".to_string()
            } else {
                format!("{:.2}ms", d.as_secs_f64() * 1e3)
            }
        };
        let (bytes, per) = if o.bytes == 0 {
            ("-".to_string(), "-".to_string())
        } else {
            (
                group(o.bytes),
                format!("{:.3}", o.bytes as f64 / o.samples as f64),
            )
        };
        let rows = if o.group == 1 {
            versus(NAIVE_ROWS, 1)
        } else {
            "-".to_string()
        };
        println!(
            "{:<9} {:<24} {:>10} {:>12} {:>9} {:>13} {:>8} {:>8} {:>10} {:>10} {:>7}",
            o.backend,
            o.store,
            o.group,
            bytes,
            per,
            group(rate(o) as u64),
            versus(NAIVE_BULK, o.group),
            rows,
            ms(o.query_p50),
            ms(o.query_p95),
            o.points
        );
    }
}

/// 12,345,678
pub(crate) fn group(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
