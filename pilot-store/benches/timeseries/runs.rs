//! One measured run per store: ingest the dataset, measure its size, time queries.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pilot_core::{MetricBatch, Sample};
use pilot_store::Database;
use pilot_store::timeseries::{
    Aggregation, ChunkCodec, RangeQuery, SeriesSelector, TimeseriesOptions, TimeseriesStore,
};

use crate::dataset::SeriesData;
use crate::naive::{Naive, Row};
use crate::report::{NAIVE_BULK, NAIVE_ROWS, percentiles};
use crate::{Config, Outcome, env_or};

const DAY: i64 = 86_400_000;

/// The batches of the run, in time order: per block of `cfg.batch`
/// collections, one batch per node (its series and the block's first index).
fn batches<'a>(data: &'a [SeriesData], cfg: &Config) -> Vec<(Vec<&'a SeriesData>, usize)> {
    let mut by_node: BTreeMap<&str, Vec<&SeriesData>> = BTreeMap::new();
    for s in data {
        by_node.entry(&s.node).or_default().push(s);
    }
    let n = data.first().map_or(0, |s| s.ts.len());
    let mut out = Vec::new();
    for from in (0..n).step_by(cfg.batch) {
        for series in by_node.values() {
            out.push((series.clone(), from));
        }
    }
    out
}

/// The naive schema's tables: one per series of a node (every node has the
/// same series, in the same order), named after the metric, with the label
/// values appended where a metric has several series.
fn naive_tables(data: &[SeriesData]) -> Vec<String> {
    let first: Vec<&SeriesData> = data.iter().filter(|s| s.node == data[0].node).collect();
    first
        .iter()
        .map(|s| {
            if first.iter().filter(|o| o.name == s.name).count() == 1 {
                return s.name.clone();
            }
            let mut table = s.name.clone();
            for value in s.labels.values() {
                table.push('_');
                table.extend(value.chars().map(
                    |c| {
                        if c.is_ascii_alphanumeric() { c } else { '_' }
                    },
                ));
            }
            table
        })
        .collect()
}

/// The naive table of the CPU series that queries read.
fn naive_cpu_table(data: &[SeriesData], tables: &[String]) -> String {
    let index = data
        .iter()
        .position(|s| s.name == "cpu_usage_percent")
        .expect("a cpu_usage_percent series");
    tables[index].clone()
}

/// The naive rows of one batch: each node's series in order, so a series'
/// position is its table.
fn naive_rows<'a>(series: &[&'a SeriesData], from: usize, len: usize) -> Vec<Row<'a>> {
    let to = (from + len).min(series[0].ts.len());
    let mut rows = Vec::with_capacity(series.len() * (to - from));
    for i in from..to {
        for (table, s) in series.iter().enumerate() {
            rows.push((table, s.ts[i], s.node.as_str(), s.values[i]));
        }
    }
    rows
}

fn metric_batch(series: &[&SeriesData], from: usize, len: usize) -> MetricBatch {
    let to = (from + len).min(series[0].ts.len());
    let mut samples = Vec::with_capacity(series.len() * (to - from));
    for i in from..to {
        for s in series {
            samples.push(Sample {
                name: s.name.clone(),
                labels: s.labels.clone(),
                timestamp_ms: s.ts[i],
                value: s.values[i],
            });
        }
    }
    MetricBatch {
        node: series[0].node.clone(),
        samples,
    }
}

pub(crate) async fn run_pilot(
    backend: &'static str,
    db: Database,
    codec: ChunkCodec,
    data: &[SeriesData],
    cfg: &Config,
    end: i64,
) -> Outcome {
    let defaults = TimeseriesOptions::default();
    let options = TimeseriesOptions {
        codec,
        auto_compact_samples: env_or("PILOT_BENCH_COMPACT_EVERY", defaults.auto_compact_samples),
        ..defaults
    };
    let store = TimeseriesStore::open(db.clone(), options.clone())
        .await
        .expect("open store");
    let mut ingest = Duration::ZERO;
    let n = data[0].ts.len();
    let mut samples = 0;
    for (series, from) in batches(data, cfg) {
        let batch = metric_batch(&series, from, cfg.batch);
        samples += batch.samples.len();
        let t = Instant::now();
        store.write(&batch).await.expect("write");
        ingest += t.elapsed();
    }
    // Let the clock pass the last window so that everything is compacted.
    let t = Instant::now();
    store
        .compact_at(end + options.window_ms + options.grace_ms)
        .await
        .expect("compact");
    eprintln!(
        "{backend} {codec:?}: writes {:?}, final compaction {:?}",
        ingest,
        t.elapsed()
    );
    ingest += t.elapsed();
    assert_eq!(samples, n * data.len());
    db.reclaim_space().await.expect("reclaim");
    let mut bytes = 0;
    for table in ["ts_series", "ts_head", "ts_blocks", "ts_chunks"] {
        let size = db.tables_size(&[table]).await.expect("size");
        eprintln!(
            "  {backend} {table}: {:.3} B/sample",
            size as f64 / samples as f64
        );
        bytes += size;
    }

    let mut times = Vec::new();
    let mut points = 0;
    let (from, to) = (end - cfg.days * DAY, end);
    let step = (to - from) / 1000;
    for q in 0..cfg.queries {
        let node = format!("node-{:02}", q % cfg.nodes + 1);
        let mut sel = SeriesSelector::metric("cpu_usage_percent").on_node(node);
        sel.labels.insert("cpu".into(), "total".into());
        let query = RangeQuery::stepped(sel, from, to, step, Aggregation::Avg);
        let t = Instant::now();
        let result = store.query(&query).await.expect("query");
        times.push(t.elapsed());
        points = result[0].points.len();
    }
    let (query_p50, query_p95) = percentiles(&mut times);
    db.close().await;
    Outcome {
        backend,
        store: format!("pilot ({codec:?})").to_lowercase(),
        group: 1,
        samples,
        bytes,
        ingest,
        query_p50,
        query_p95,
        points,
    }
}

/// Ingest only, with the batches of every node for the same time block
/// stored by one `write_batches` call (one commit).
pub(crate) async fn ingest_pilot_grouped(
    backend: &'static str,
    db: Database,
    data: &[SeriesData],
    cfg: &Config,
    end: i64,
) -> Outcome {
    let options = TimeseriesOptions {
        auto_compact_samples: env_or(
            "PILOT_BENCH_COMPACT_EVERY",
            TimeseriesOptions::default().auto_compact_samples,
        ),
        ..TimeseriesOptions::default()
    };
    let store = TimeseriesStore::open(db.clone(), options.clone())
        .await
        .expect("open store");
    let mut ingest = Duration::ZERO;
    let mut samples = 0;
    for group in grouped(batches(data, cfg)) {
        let group: Vec<MetricBatch> = group
            .iter()
            .map(|(series, from)| metric_batch(series, *from, cfg.batch))
            .collect();
        samples += group.iter().map(|b| b.samples.len()).sum::<usize>();
        let t = Instant::now();
        store.write_batches(&group).await.expect("write_batches");
        ingest += t.elapsed();
    }
    let t = Instant::now();
    store
        .compact_at(end + options.window_ms + options.grace_ms)
        .await
        .expect("compact");
    ingest += t.elapsed();
    db.close().await;
    ingest_outcome(backend, "pilot (pco)", cfg.nodes, samples, ingest)
}

/// The naive schema with the same grouping: one transaction for the
/// batches of every node for the same time block.
pub(crate) async fn ingest_naive_grouped(
    backend: &'static str,
    naive: Naive,
    data: &[SeriesData],
    cfg: &Config,
) -> Outcome {
    let tables = naive_tables(data);
    naive.create_tables(&tables).await;
    let mut ingest = Duration::ZERO;
    let mut samples = 0;
    for group in grouped(batches(data, cfg)) {
        let mut rows = Vec::new();
        for (series, from) in &group {
            rows.extend(naive_rows(series, *from, cfg.batch));
        }
        samples += rows.len();
        let t = Instant::now();
        naive.insert(&tables, &rows).await;
        ingest += t.elapsed();
    }
    naive.close().await;
    ingest_outcome(backend, NAIVE_BULK, cfg.nodes, samples, ingest)
}

/// Batches of the same time block (one per node) together.
fn grouped(batches: Vec<(Vec<&SeriesData>, usize)>) -> Vec<Vec<(Vec<&SeriesData>, usize)>> {
    let mut out: Vec<Vec<(Vec<&SeriesData>, usize)>> = Vec::new();
    for b in batches {
        match out.last_mut() {
            Some(group) if group[0].1 == b.1 => group.push(b),
            _ => out.push(vec![b]),
        }
    }
    out
}

fn ingest_outcome(
    backend: &'static str,
    store: &str,
    group: usize,
    samples: usize,
    ingest: Duration,
) -> Outcome {
    Outcome {
        backend,
        store: store.into(),
        group,
        samples,
        bytes: 0,
        ingest,
        query_p50: Duration::ZERO,
        query_p95: Duration::ZERO,
        points: 0,
    }
}

pub(crate) async fn run_naive(
    backend: &'static str,
    naive: Naive,
    data: &[SeriesData],
    cfg: &Config,
    end: i64,
) -> Vec<Outcome> {
    let tables = naive_tables(data);
    let row_tables: Vec<String> = tables.iter().map(|t| format!("{t}_rowwise")).collect();
    naive.create_tables(&tables).await;
    naive.create_tables(&row_tables).await;
    let mut ingest = Duration::ZERO;
    let mut samples = 0;
    let (mut row_ingest, mut row_samples) = (Duration::ZERO, 0);
    let row_limit = 8640 * data.len(); // one day of the dataset
    for (series, from) in batches(data, cfg) {
        let rows = naive_rows(&series, from, cfg.batch);
        samples += rows.len();
        let t = Instant::now();
        naive.insert(&tables, &rows).await;
        ingest += t.elapsed();
        if row_samples < row_limit {
            row_samples += rows.len();
            let t = Instant::now();
            naive.insert_row_by_row(&row_tables, &rows).await;
            row_ingest += t.elapsed();
        }
    }
    let bytes = naive.size(&tables).await;
    let cpu_table = naive_cpu_table(data, &tables);
    let mut times = Vec::new();
    let mut points = 0;
    let (from, to) = (end - cfg.days * DAY, end);
    let step = (to - from) / 1000;
    for q in 0..cfg.queries.min(50) {
        let node = format!("node-{:02}", q % cfg.nodes + 1);
        let t = Instant::now();
        let result = naive.query_avg(&cpu_table, &node, from, to, step).await;
        times.push(t.elapsed());
        points = result.len();
    }
    let (query_p50, query_p95) = percentiles(&mut times);
    naive.close().await;
    vec![
        Outcome {
            backend,
            store: NAIVE_BULK.into(),
            group: 1,
            samples,
            bytes,
            ingest,
            query_p50,
            query_p95,
            points,
        },
        Outcome {
            backend,
            store: NAIVE_ROWS.into(),
            group: 1,
            samples: row_samples,
            bytes: 0,
            ingest: row_ingest,
            query_p50: Duration::ZERO,
            query_p95: Duration::ZERO,
            points: 0,
        },
    ]
}
