//! The timeseries engine on SQLite and on PostgreSQL: head and chunks,
//! rollup tiers, late and duplicate samples, retention, reopening.

use std::collections::BTreeMap;

use pilot_core::{MetricBatch, MetricsSink, Sample};
use pilot_store::Database;
use pilot_store::timeseries::{
    Aggregation, ChunkCodec, RangeQuery, SeriesSelector, Tier, TimeseriesOptions, TimeseriesStore,
};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// 2023-11-14T22:13:20Z, a window boundary for every window used here.
const T0: i64 = 1_700_006_400_000;

fn options(codec: ChunkCodec) -> TimeseriesOptions {
    TimeseriesOptions {
        window_ms: HOUR,
        grace_ms: MIN,
        raw_retention_ms: 10 * DAY,
        tiers: vec![Tier::new(MIN, 20 * DAY), Tier::new(10 * MIN, 40 * DAY)],
        codec,
        auto_compact_samples: 0,
        head_memory_samples: usize::MAX,
    }
}

fn sample(name: &str, labels: &[(&str, &str)], ts: i64, value: f64) -> Sample {
    Sample {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        timestamp_ms: ts,
        value,
    }
}

fn batch(node: &str, samples: Vec<Sample>) -> MetricBatch {
    MetricBatch {
        node: node.into(),
        samples,
    }
}

/// Three hours of a 10-second CPU series on one node.
fn cpu_series() -> Vec<(i64, f64)> {
    (0..3 * 360)
        .map(|i| (T0 + i * 10_000, ((i * 37) % 1000) as f64 / 10.0))
        .collect()
}

async fn write_cpu(store: &TimeseriesStore, node: &str, series: &[(i64, f64)]) {
    for part in series.chunks(100) {
        let samples = part
            .iter()
            .map(|&(t, v)| sample("cpu", &[("cpu", "total")], t, v))
            .collect();
        store.accept(batch(node, samples)).await.unwrap();
    }
}

async fn raw(store: &TimeseriesStore, sel: SeriesSelector, from: i64, to: i64) -> Vec<(i64, f64)> {
    let mut out = store.query(&RangeQuery::raw(sel, from, to)).await.unwrap();
    assert!(out.len() <= 1, "one series expected");
    out.pop()
        .map(|s| s.points.iter().map(|p| (p.timestamp_ms, p.value)).collect())
        .unwrap_or_default()
}

/// Reference aggregates: per step, over non-NaN samples in time order.
fn expected(series: &[(i64, f64)], step: i64, agg: Aggregation) -> Vec<(i64, f64)> {
    let mut steps: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for &(t, v) in series {
        if !v.is_nan() {
            steps.entry(t.div_euclid(step) * step).or_default().push(v);
        }
    }
    steps
        .into_iter()
        .map(|(t, vs)| {
            let sum: f64 = vs.iter().sum();
            let value = match agg {
                Aggregation::Avg => sum / vs.len() as f64,
                Aggregation::Sum => sum,
                Aggregation::Min => vs.iter().copied().fold(f64::INFINITY, f64::min),
                Aggregation::Max => vs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                Aggregation::Count => vs.len() as f64,
            };
            (t, value)
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

async fn head_and_chunks_answer_the_same(db: &Database) {
    for codec in [ChunkCodec::Pco, ChunkCodec::Gorilla] {
        let node = format!("web-{codec:?}");
        let store = TimeseriesStore::open(db.clone(), options(codec))
            .await
            .unwrap();
        let series = cpu_series();
        write_cpu(&store, &node, &series).await;
        let sel = SeriesSelector::metric("cpu").on_node(&node);
        let from_head = raw(&store, sel.clone(), T0, T0 + DAY).await;
        assert_eq!(from_head, series);

        let report = store.compact_at(T0 + 3 * HOUR + 2 * MIN).await.unwrap();
        assert_eq!(report.samples, series.len());
        assert_eq!(report.raw_chunks, 3);
        // 1-minute buckets in 5-hour chunks, 10-minute buckets in 43-hour
        // chunks: for each tier, a chunk boundary falls in these three hours.
        assert_eq!(report.tier_chunks, 4);
        assert_eq!(store.head_len(), 0);
        assert_eq!(raw(&store, sel.clone(), T0, T0 + DAY).await, series);
        // A sub-range cuts chunks at the right samples.
        let part = raw(&store, sel.clone(), T0 + 30 * MIN, T0 + 90 * MIN + 1).await;
        assert_eq!(part.len(), 361);
        assert_eq!(part[0].0, T0 + 30 * MIN);

        for (step, agg, resolution) in [
            (MIN, Aggregation::Avg, MIN),
            (10 * MIN, Aggregation::Max, 10 * MIN),
            (30 * MIN, Aggregation::Min, 10 * MIN),
            (20_000, Aggregation::Count, 20_000),
            (HOUR, Aggregation::Sum, 10 * MIN),
        ] {
            let q = RangeQuery::stepped(sel.clone(), T0, T0 + DAY, step, agg);
            let got = store.query(&q).await.unwrap().remove(0);
            assert_eq!(got.resolution_ms, resolution, "step {step}");
            let want = expected(&series, step, agg);
            assert_eq!(got.points.len(), want.len(), "step {step}");
            for (p, (t, v)) in got.points.iter().zip(want) {
                assert_eq!(p.timestamp_ms, t);
                assert!(
                    close(p.value, v),
                    "step {step} {agg:?} at {t}: {} vs {v}",
                    p.value
                );
            }
        }
    }
}

async fn late_and_duplicate_samples_merge(db: &Database) {
    let store = TimeseriesStore::open(db.clone(), options(ChunkCodec::Pco))
        .await
        .unwrap();
    let series = cpu_series();
    write_cpu(&store, "n1", &series).await;
    store.compact_at(T0 + 4 * HOUR).await.unwrap();
    let sel = SeriesSelector::metric("cpu").on_node("n1");
    let mut want: BTreeMap<i64, f64> = series.iter().copied().collect();
    // A late sample between two, and a rewrite of an existing timestamp.
    let late = vec![
        sample("cpu", &[("cpu", "total")], T0 + 5_000, 99.5),
        sample("cpu", &[("cpu", "total")], T0 + 20_000, -1.0),
        sample("cpu", &[("cpu", "total")], T0 + 20_000, -2.0),
    ];
    store.accept(batch("n1", late)).await.unwrap();
    want.insert(T0 + 5_000, 99.5);
    want.insert(T0 + 20_000, -2.0);
    let want: Vec<(i64, f64)> = want.into_iter().collect();
    assert_eq!(
        raw(&store, sel.clone(), T0, T0 + DAY).await,
        want,
        "head wins before compaction"
    );
    let report = store.compact_at(T0 + 4 * HOUR).await.unwrap();
    assert_eq!(report.raw_chunks, 1, "only the late window is rewritten");
    assert_eq!(raw(&store, sel.clone(), T0, T0 + DAY).await, want);
    let q = RangeQuery::stepped(sel, T0, T0 + HOUR, MIN, Aggregation::Min);
    let got = store.query(&q).await.unwrap().remove(0);
    assert_eq!(got.points[0].value, -2.0);
    assert_eq!(
        got.points.len(),
        expected(&want, MIN, Aggregation::Min)[..60].len()
    );
}

async fn retention_per_tier(db: &Database) {
    let store = TimeseriesStore::open(db.clone(), options(ChunkCodec::Pco))
        .await
        .unwrap();
    write_cpu(&store, "n1", &cpu_series()).await;
    let sel = SeriesSelector::metric("cpu").on_node("n1");
    store.compact_at(T0 + 4 * HOUR).await.unwrap();
    // Raw samples are gone after 10 days; 1-minute buckets stay for 20.
    let report = store.compact_at(T0 + 11 * DAY).await.unwrap();
    assert_eq!(report.chunks_expired, 3);
    assert!(raw(&store, sel.clone(), T0, T0 + DAY).await.is_empty());
    let q = RangeQuery::stepped(sel.clone(), T0, T0 + DAY, MIN, Aggregation::Avg);
    assert_eq!(store.query(&q).await.unwrap()[0].points.len(), 180);
    store.compact_at(T0 + 21 * DAY).await.unwrap();
    assert!(store.query(&q).await.unwrap()[0].points.is_empty());
    let q = RangeQuery::stepped(sel, T0, T0 + DAY, 10 * MIN, Aggregation::Avg);
    assert_eq!(store.query(&q).await.unwrap()[0].points.len(), 18);

    // Samples that arrive after their window's raw retention are dropped.
    store
        .accept(batch(
            "n1",
            vec![sample("cpu", &[("cpu", "total")], T0, 1.0)],
        ))
        .await
        .unwrap();
    let report = store.compact_at(T0 + 21 * DAY).await.unwrap();
    assert_eq!(report.dropped_expired, 1);
    assert_eq!(store.head_len(), 0);
}

async fn reopen_replays_head_and_latest(db: &Database) {
    let opts = options(ChunkCodec::Pco);
    let store = TimeseriesStore::open(db.clone(), opts.clone())
        .await
        .unwrap();
    let series = cpu_series();
    write_cpu(&store, "n1", &series[..720]).await;
    store.compact_at(T0 + 2 * HOUR + 2 * MIN).await.unwrap();
    write_cpu(&store, "n1", &series[720..]).await;
    let mem = vec![
        sample("mem", &[], T0, 1e9),
        sample("mem", &[("project", "shop")], T0, 2e8),
        sample("mem", &[("project", "shop")], T0 + 10_000, f64::NAN),
    ];
    store.accept(batch("n1", mem)).await.unwrap();
    store
        .accept(batch("n2", vec![sample("mem", &[], T0, 5.0)]))
        .await
        .unwrap();
    let latest_before = store.latest("n1");
    drop(store);

    let store = TimeseriesStore::open(db.clone(), opts.clone())
        .await
        .unwrap();
    assert_eq!(store.head_len(), 360 + 4);
    let cpu = SeriesSelector::metric("cpu").on_node("n1");
    assert_eq!(raw(&store, cpu.clone(), T0, T0 + DAY).await, series);
    let latest = store.latest("n1");
    assert_eq!(latest.len(), 3);
    assert_eq!(latest.len(), latest_before.len());
    for (a, b) in latest.iter().zip(&latest_before) {
        assert_eq!(a.series, b.series);
        assert_eq!(a.point.timestamp_ms, b.point.timestamp_ms);
        assert_eq!(a.point.value.to_bits(), b.point.value.to_bits());
    }
    assert_eq!(latest[0].point.value, series.last().unwrap().1);
    let shop = SeriesSelector::metric("mem").with_label("project", "shop");
    assert_eq!(store.series(&shop).len(), 1);
    assert_eq!(store.series(&SeriesSelector::metric("mem")).len(), 3);
    assert_eq!(
        store
            .series(&SeriesSelector::metric("mem").on_node("n2"))
            .len(),
        1
    );

    // After everything is compacted, latest values come from the chunks.
    store.compact_at(T0 + DAY).await.unwrap();
    drop(store);
    let store = TimeseriesStore::open(db.clone(), opts).await.unwrap();
    assert_eq!(store.head_len(), 0);
    let latest = store.latest("n1");
    assert_eq!(latest[0].point.timestamp_ms, series.last().unwrap().0);
    assert!(latest[2].point.value.is_nan());
}

async fn writes_compact_on_their_own(db: &Database) {
    let opts = TimeseriesOptions {
        auto_compact_samples: 100,
        ..options(ChunkCodec::Pco)
    };
    let store = TimeseriesStore::open(db.clone(), opts).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Three closed hours of yesterday, then one sample of now.
    let start = (now - DAY) / HOUR * HOUR;
    let series: Vec<(i64, f64)> = cpu_series()
        .into_iter()
        .map(|(t, v)| (t - T0 + start, v))
        .collect();
    write_cpu(&store, "n1", &series).await;
    // A backfill: everything but the newest window (likely still being
    // filled) was compacted.
    assert_eq!(store.head_len(), 360);
    let sel = SeriesSelector::metric("cpu").on_node("n1");
    assert_eq!(raw(&store, sel.clone(), start, now).await, series);
    // The clock has closed that window too: the next write compacts it.
    store
        .accept(batch(
            "n1",
            vec![sample("cpu", &[("cpu", "total")], now, 1.0)],
        ))
        .await
        .unwrap();
    assert_eq!(store.head_len(), 1);
    let mut all = series.clone();
    all.push((now, 1.0));
    assert_eq!(raw(&store, sel, start, now + 1).await, all);
}

const SPILL_NODES: [&str; 3] = ["spill-a", "spill-b", "spill-c"];

/// What [`a_spilled_head_answers_the_same`] expects of every node.
async fn check_spilled(store: &TimeseriesStore, series: &[(i64, f64)]) {
    for (k, node) in SPILL_NODES.iter().enumerate() {
        let mut want: Vec<(i64, f64)> = series.iter().map(|&(t, v)| (t, v + k as f64)).collect();
        if *node == "spill-b" {
            want[0].1 = 99.5;
        }
        let sel = SeriesSelector::metric("cpu").on_node(*node);
        assert_eq!(raw(store, sel.clone(), T0, T0 + DAY).await, want, "{node}");
        let part = raw(store, sel.clone(), T0 + 30 * MIN, T0 + 90 * MIN + 1).await;
        assert_eq!(part.len(), 361, "{node}");
        for (step, agg) in [(MIN, Aggregation::Avg), (HOUR, Aggregation::Max)] {
            let q = RangeQuery::stepped(sel.clone(), T0, T0 + DAY, step, agg);
            let got = store.query(&q).await.unwrap().remove(0);
            let expect = expected(&want, step, agg);
            assert_eq!(got.points.len(), expect.len(), "{node} step {step}");
            for (p, (t, v)) in got.points.iter().zip(expect) {
                assert_eq!(p.timestamp_ms, t);
                assert!(close(p.value, v), "{node} step {step} at {t}");
            }
        }
        let latest = store.latest(node);
        assert_eq!(latest.len(), 1);
        assert_eq!(latest[0].point.timestamp_ms, want.last().unwrap().0);
        assert_eq!(latest[0].point.value, want.last().unwrap().1);
    }
}

/// A head over its memory limit is read from the database: queries,
/// reopening, compaction (node group by node group) and the latest values
/// give what a head in memory gives; after compaction it returns to memory.
async fn a_spilled_head_answers_the_same(db: &Database) {
    let options = TimeseriesOptions {
        head_memory_samples: 1_500,
        ..options(ChunkCodec::Pco)
    };
    let store = TimeseriesStore::open(db.clone(), options.clone())
        .await
        .unwrap();
    let series = cpu_series();
    let nodes = SPILL_NODES;
    for (k, node) in nodes.iter().enumerate() {
        let shifted: Vec<(i64, f64)> = series.iter().map(|&(t, v)| (t, v + k as f64)).collect();
        write_cpu(&store, node, &shifted).await;
        assert_eq!(store.head_spilled(), k >= 1, "after node {node}");
    }
    // A late duplicate: the later write wins, on disk too.
    store
        .accept(batch(
            "spill-b",
            vec![sample("cpu", &[("cpu", "total")], T0, 99.5)],
        ))
        .await
        .unwrap();
    check_spilled(&store, &series).await;
    assert_eq!(store.head_len(), 3 * series.len() + 1);

    // Reopening scans the head instead of loading it.
    drop(store);
    let store = TimeseriesStore::open(db.clone(), options.clone())
        .await
        .unwrap();
    assert!(store.head_spilled());
    assert_eq!(store.head_len(), 3 * series.len() + 1);
    check_spilled(&store, &series).await;

    let report = store.compact_at(T0 + 3 * HOUR + 2 * MIN).await.unwrap();
    assert_eq!(report.samples, 3 * series.len());
    assert_eq!(report.raw_chunks, 9);
    assert_eq!(store.head_len(), 0);
    assert!(!store.head_spilled(), "an empty head returns to memory");
    check_spilled(&store, &series).await;
}

async fn invalid_input_is_refused(db: &Database) {
    let store = TimeseriesStore::open(db.clone(), options(ChunkCodec::Pco))
        .await
        .unwrap();
    let err = store
        .accept(batch("n1", vec![sample("", &[], T0, 1.0)]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("empty name"), "{err}");
    let q = RangeQuery::stepped(
        SeriesSelector::metric("cpu"),
        T0,
        T0 + 1,
        -5,
        Aggregation::Avg,
    );
    assert!(store.query(&q).await.is_err());
    let bad = TimeseriesOptions {
        window_ms: 0,
        ..TimeseriesOptions::default()
    };
    assert!(TimeseriesStore::open(db.clone(), bad).await.is_err());
}

async fn metric_names_come_from_the_database(db: &Database) {
    let store = TimeseriesStore::open(db.clone(), options(ChunkCodec::Pco))
        .await
        .unwrap();
    let reader = TimeseriesStore::open(db.clone(), options(ChunkCodec::Pco))
        .await
        .unwrap();
    assert!(store.metric_names().await.unwrap().is_empty());
    store
        .accept(batch(
            "n1",
            vec![
                sample("mem", &[], T0, 1.0),
                sample("cpu", &[("cpu", "0")], T0, 2.0),
                sample("cpu", &[("cpu", "1")], T0, 3.0),
            ],
        ))
        .await
        .unwrap();
    store
        .accept(batch(
            "n2",
            vec![
                sample("cpu", &[("cpu", "0")], T0, 4.0),
                sample("cpu_usage", &[], T0, 5.0),
                sample("Disk_io", &[], T0, 6.0),
            ],
        ))
        .await
        .unwrap();
    let names = ["Disk_io", "cpu", "cpu_usage", "mem"];
    assert_eq!(store.metric_names().await.unwrap(), names);
    // Another store on the same database sees them without reopening.
    assert_eq!(reader.metric_names().await.unwrap(), names);
    store.compact().await.unwrap();
    assert_eq!(store.metric_names().await.unwrap(), names);
}

crate::on_both_backends!(
    head_and_chunks_answer_the_same,
    late_and_duplicate_samples_merge,
    retention_per_tier,
    reopen_replays_head_and_latest,
    writes_compact_on_their_own,
    invalid_input_is_refused,
    a_spilled_head_answers_the_same,
    metric_names_come_from_the_database,
);
