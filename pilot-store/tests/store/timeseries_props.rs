//! Property: what is written is what is read back — exactly for raw samples,
//! with correct aggregates for rollups — across chunk boundaries, with
//! out-of-order and duplicate timestamps (the last write wins), NaN (any
//! payload), infinities and signed zeros, with compactions at any point.

use std::collections::BTreeMap;

use pilot_core::{MetricBatch, MetricsSink, Sample};
use pilot_store::Database;
use pilot_store::timeseries::{
    Aggregation, ChunkCodec, RangeQuery, SeriesSelector, Tier, TimeseriesOptions, TimeseriesStore,
};
use proptest::prelude::*;

const WINDOW: i64 = 60_000;
const T0: i64 = 1_000_000_020_000 - 20_000; // a window boundary
const NODES: [&str; 2] = ["a", "b"];

#[derive(Debug, Clone)]
enum Step {
    /// A batch for one node: (timestamp offset, value) pairs, in the given order.
    Write(usize, Vec<(i64, f64)>),
    /// Compaction as of `T0 + offset`.
    Compact(i64),
    /// Closing and opening the store again.
    Reopen,
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1000.0..1000.0f64,
        1 => (0..10_000i64).prop_map(|v| v as f64 / 10.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-0.0),
        1 => any::<u64>().prop_map(f64::from_bits),
    ]
}

fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        // On a 5-second grid: many duplicates.
        3 => (0..72i64).prop_map(|k| k * 5_000),
        // Anywhere in six windows.
        2 => 0..6 * WINDOW,
        // Next to a window boundary.
        1 => (1..6i64, -1..=1i64).prop_map(|(w, d)| w * WINDOW + d),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let write = (
        0..NODES.len(),
        prop::collection::vec((offset(), value()), 1..60),
    )
        .prop_map(|(n, s)| Step::Write(n, s));
    let compact = (0..8i64).prop_map(|w| Step::Compact(w * WINDOW + 1_000));
    prop::collection::vec(
        prop_oneof![4 => write, 1 => compact, 1 => Just(Step::Reopen)],
        1..12,
    )
}

/// Head samples kept in memory: none (always read from the database), a
/// few (the head spills during the run and may come back after a
/// compaction), or all.
fn head_memory() -> impl Strategy<Value = usize> {
    prop_oneof![Just(0), Just(40), Just(usize::MAX)]
}

fn options(codec: ChunkCodec, head_memory_samples: usize) -> TimeseriesOptions {
    TimeseriesOptions {
        window_ms: WINDOW,
        grace_ms: 500,
        raw_retention_ms: 1 << 40,
        tiers: vec![Tier::new(5_000, 1 << 40), Tier::new(20_000, 1 << 40)],
        codec,
        auto_compact_samples: 0,
        head_memory_samples,
    }
}

type Model = BTreeMap<usize, BTreeMap<i64, f64>>;

async fn raw_of(store: &TimeseriesStore, node: &str) -> Vec<(i64, u64)> {
    raw_between(store, node, i64::MIN, i64::MAX).await
}

/// Raw samples in `[from, to)`: a short range is read through the store's
/// cache of decoded blocks, which compactions must keep up to date.
async fn raw_between(store: &TimeseriesStore, node: &str, from: i64, to: i64) -> Vec<(i64, u64)> {
    let q = RangeQuery::raw(SeriesSelector::metric("m").on_node(node), from, to);
    store
        .query(&q)
        .await
        .unwrap()
        .pop()
        .map(|s| {
            s.points
                .iter()
                .map(|p| (p.timestamp_ms, p.value.to_bits()))
                .collect()
        })
        .unwrap_or_default()
}

fn model_raw(model: &Model, node: usize) -> Vec<(i64, u64)> {
    model
        .get(&node)
        .map(|m| m.iter().map(|(&t, v)| (t, v.to_bits())).collect())
        .unwrap_or_default()
}

/// Per step: min, max, count, sum in time order, and the sum of |v| (error bound).
fn model_steps(series: &BTreeMap<i64, f64>, step: i64) -> BTreeMap<i64, (f64, f64, u64, f64, f64)> {
    let mut out: BTreeMap<i64, (f64, f64, u64, f64, f64)> = BTreeMap::new();
    for (&t, &v) in series {
        if v.is_nan() {
            continue;
        }
        let e = out
            .entry(t.div_euclid(step) * step)
            .or_insert((v, v, 0, 0.0, 0.0));
        e.0 = e.0.min(v);
        e.1 = e.1.max(v);
        e.2 += 1;
        e.3 += v;
        e.4 += v.abs();
    }
    out
}

async fn check_aggregates(store: &TimeseriesStore, model: &Model) {
    // 5 s and 20 s match a tier exactly; 3 s has no tier (raw); 15 s and 60 s
    // combine several tier buckets per step.
    for step in [5_000, 20_000, 3_000, 15_000, 60_000] {
        let exact = step != 15_000 && step != 60_000;
        for (n, node) in NODES.iter().enumerate() {
            let Some(series) = model.get(&n) else {
                continue;
            };
            let want = model_steps(series, step);
            let sel = SeriesSelector::metric("m").on_node(*node);
            let mut got = BTreeMap::new();
            for agg in [
                Aggregation::Min,
                Aggregation::Max,
                Aggregation::Count,
                Aggregation::Sum,
            ] {
                let q = RangeQuery::stepped(sel.clone(), T0 - WINDOW, T0 + 10 * WINDOW, step, agg);
                for p in &store.query(&q).await.unwrap()[0].points {
                    got.entry(p.timestamp_ms)
                        .or_insert_with(Vec::new)
                        .push(p.value);
                }
            }
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>(),
                "step {step}"
            );
            for (t, (min, max, count, sum, abs)) in want {
                let g = &got[&t];
                assert!(g[0] == min, "min at {t} step {step}: {} vs {min}", g[0]);
                assert!(g[1] == max, "max at {t} step {step}: {} vs {max}", g[1]);
                assert_eq!(g[2], count as f64, "count at {t} step {step}");
                let same = g[3] == sum || (g[3].is_nan() && sum.is_nan());
                if exact {
                    assert!(same, "sum at {t} step {step}: {} vs {sum}", g[3]);
                } else if abs.is_finite() {
                    let bound = 1e-12 * count as f64 * abs;
                    assert!(
                        (g[3] - sum).abs() <= bound,
                        "sum at {t} step {step}: {} vs {sum}",
                        g[3]
                    );
                }
            }
        }
    }
}

async fn run(db: &Database, codec: ChunkCodec, memory: usize, steps: Vec<Step>) {
    let mut store = TimeseriesStore::open(db.clone(), options(codec, memory))
        .await
        .unwrap();
    let mut model: Model = BTreeMap::new();
    for step in steps {
        match step {
            Step::Write(node, samples) => {
                let batch = MetricBatch {
                    node: NODES[node].into(),
                    samples: samples
                        .iter()
                        .map(|&(off, value)| Sample {
                            name: "m".into(),
                            labels: BTreeMap::new(),
                            timestamp_ms: T0 + off,
                            value,
                        })
                        .collect(),
                };
                store.accept(batch).await.unwrap();
                let series = model.entry(node).or_default();
                for (off, value) in samples {
                    series.insert(T0 + off, value);
                }
            }
            Step::Compact(at) => {
                store.compact_at(T0 + at).await.unwrap();
            }
            Step::Reopen => {
                drop(store);
                store = TimeseriesStore::open(db.clone(), options(codec, memory))
                    .await
                    .unwrap();
            }
        }
        for (n, node) in NODES.iter().enumerate() {
            assert_eq!(
                raw_of(&store, node).await,
                model_raw(&model, n),
                "raw of {node}"
            );
            let (from, to) = (T0 + WINDOW / 2, T0 + 5 * WINDOW + 7);
            let mut want = model_raw(&model, n);
            want.retain(|&(t, _)| t >= from && t < to);
            assert_eq!(
                raw_between(&store, node, from, to).await,
                want,
                "raw of {node} in a short range"
            );
        }
    }
    store.compact_at(T0 + 10 * WINDOW).await.unwrap();
    assert_eq!(store.head_len(), 0);
    for (n, node) in NODES.iter().enumerate() {
        assert_eq!(
            raw_of(&store, node).await,
            model_raw(&model, n),
            "raw of {node} after compaction"
        );
    }
    check_aggregates(&store, &model).await;
    // Reopening reads the same.
    drop(store);
    let store = TimeseriesStore::open(db.clone(), options(codec, memory))
        .await
        .unwrap();
    for (n, node) in NODES.iter().enumerate() {
        assert_eq!(
            raw_of(&store, node).await,
            model_raw(&model, n),
            "raw of {node} after reopen"
        );
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sqlite_reads_back_what_was_written(steps in steps(), gorilla in any::<bool>(), memory in head_memory()) {
        let codec = if gorilla { ChunkCodec::Gorilla } else { ChunkCodec::Pco };
        runtime().block_on(async {
            let t = crate::common::sqlite().await;
            run(&t.db, codec, memory, steps).await;
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn postgres_reads_back_what_was_written(steps in steps(), gorilla in any::<bool>(), memory in head_memory()) {
        let codec = if gorilla { ChunkCodec::Gorilla } else { ChunkCodec::Pco };
        runtime().block_on(async {
            if let Some(t) = crate::common::postgres().await {
                run(&t.db, codec, memory, steps).await;
            }
        });
    }
}
