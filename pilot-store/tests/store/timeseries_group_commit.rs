//! Group commit, on SQLite and on PostgreSQL: `TimeseriesStore::write_batches`
//! stores the batches of many nodes in one transaction, and batches handed
//! to `MetricsSink::accept` at the same time share commits.

use std::collections::BTreeMap;
use std::sync::Arc;

use pilot_core::{MetricBatch, MetricsSink, Sample};
use pilot_store::Database;
use pilot_store::timeseries::{
    ChunkCodec, RangeQuery, SeriesSelector, Tier, TimeseriesOptions, TimeseriesStore,
};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// A window boundary for the one-hour windows used here.
const T0: i64 = 1_700_006_400_000;

fn options() -> TimeseriesOptions {
    TimeseriesOptions {
        window_ms: HOUR,
        grace_ms: MIN,
        raw_retention_ms: 10 * DAY,
        tiers: vec![Tier::new(10 * MIN, 20 * DAY)],
        codec: ChunkCodec::Pco,
        auto_compact_samples: 0,
        head_memory_samples: usize::MAX,
    }
}

fn sample(name: &str, ts: i64, value: f64) -> Sample {
    Sample {
        name: name.into(),
        labels: BTreeMap::from([("project".to_string(), "shop".to_string())]),
        timestamp_ms: ts,
        value,
    }
}

/// One collection of a node: two metrics at one instant.
fn collection(node: usize, i: i64) -> MetricBatch {
    let ts = T0 + i * 10_000;
    MetricBatch {
        node: format!("node-{node}"),
        samples: vec![
            sample("cpu", ts, (node as i64 * 1000 + i) as f64 / 10.0),
            sample("load", ts, i as f64),
        ],
    }
}

async fn raw(store: &TimeseriesStore, node: &str, name: &str) -> Vec<(i64, f64)> {
    let sel = SeriesSelector::metric(name).on_node(node);
    let mut out = store
        .query(&RangeQuery::raw(sel, i64::MIN, i64::MAX))
        .await
        .unwrap();
    assert!(out.len() <= 1, "one series expected");
    out.pop()
        .map(|s| s.points.iter().map(|p| (p.timestamp_ms, p.value)).collect())
        .unwrap_or_default()
}

fn expected_cpu(node: usize, count: i64) -> Vec<(i64, f64)> {
    (0..count)
        .map(|i| (T0 + i * 10_000, (node as i64 * 1000 + i) as f64 / 10.0))
        .collect()
}

async fn batches_of_many_nodes_commit_together(db: &Database) {
    const NODES: usize = 12;
    const ROUNDS: i64 = 30;
    let store = TimeseriesStore::open(db.clone(), options()).await.unwrap();
    for i in 0..ROUNDS {
        // Every node's collection of this round, plus a correction of
        // node 0's previous sample later in the same call.
        let mut batches: Vec<MetricBatch> = (0..NODES).map(|n| collection(n, i)).collect();
        if i > 0 {
            let mut fix = collection(0, i - 1);
            fix.samples.truncate(1);
            fix.samples[0].value = -1.0;
            batches.push(fix);
        }
        store.write_batches(&batches).await.unwrap();
    }
    // Every node's series were registered by the first call.
    assert_eq!(store.series(&SeriesSelector::metric("cpu")).len(), NODES);
    assert_eq!(store.series(&SeriesSelector::metric("load")).len(), NODES);
    let mut node0 = expected_cpu(0, ROUNDS);
    for p in &mut node0[..ROUNDS as usize - 1] {
        p.1 = -1.0;
    }
    assert_eq!(
        raw(&store, "node-0", "cpu").await,
        node0,
        "later batch wins"
    );
    for n in 1..NODES {
        let node = format!("node-{n}");
        assert_eq!(raw(&store, &node, "cpu").await, expected_cpu(n, ROUNDS));
        assert_eq!(raw(&store, &node, "load").await.len(), ROUNDS as usize);
    }
    assert_eq!(store.latest("node-3").len(), 2);

    // Durable: a reopened store sees the same, before and after compaction.
    drop(store);
    let store = TimeseriesStore::open(db.clone(), options()).await.unwrap();
    assert_eq!(raw(&store, "node-0", "cpu").await, node0);
    store.compact_at(T0 + 2 * HOUR).await.unwrap();
    assert_eq!(store.head_len(), 0);
    assert_eq!(raw(&store, "node-0", "cpu").await, node0);
    assert_eq!(
        raw(&store, "node-11", "cpu").await,
        expected_cpu(11, ROUNDS)
    );
}

async fn one_bad_batch_rejects_the_call(db: &Database) {
    let store = TimeseriesStore::open(db.clone(), options()).await.unwrap();
    let mut bad = collection(2, 0);
    bad.samples[1].name.clear();
    let err = store
        .write_batches(&[collection(1, 0), bad])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("empty name") && text.contains("node-2"),
        "{text}"
    );
    assert_eq!(store.head_len(), 0);
    assert!(store.series(&SeriesSelector::metric("cpu")).is_empty());
    // Empty input is a no-op.
    store.write_batches(&[]).await.unwrap();
    store
        .write_batches(&[MetricBatch {
            node: "node-1".into(),
            samples: Vec::new(),
        }])
        .await
        .unwrap();
    assert_eq!(store.head_len(), 0);
    drop(store);
    let store = TimeseriesStore::open(db.clone(), options()).await.unwrap();
    assert!(store.series(&SeriesSelector::metric("cpu")).is_empty());
}

async fn concurrent_group_commits_keep_every_sample(db: &Database) {
    const TASKS: usize = 8;
    const CALLS: i64 = 25;
    let store = Arc::new(TimeseriesStore::open(db.clone(), options()).await.unwrap());
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in 0..CALLS {
                // Two nodes per task, each call carrying both.
                let batches = [collection(2 * t, i), collection(2 * t + 1, i)];
                store.write_batches(&batches).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.head_len(), TASKS * 2 * 2 * CALLS as usize);
    for n in 0..2 * TASKS {
        let node = format!("node-{n}");
        assert_eq!(raw(&store, &node, "cpu").await, expected_cpu(n, CALLS));
    }
}

async fn concurrent_accepts_are_grouped(db: &Database) {
    const AGENTS: usize = 24;
    const ROUNDS: i64 = 15;
    let store = Arc::new(TimeseriesStore::open(db.clone(), options()).await.unwrap());
    let mut agents = Vec::new();
    for n in 0..AGENTS {
        let store = Arc::clone(&store);
        agents.push(tokio::spawn(async move {
            for i in 0..ROUNDS {
                store.accept(collection(n, i)).await.unwrap();
            }
            // A bad batch fails alone, whatever it is grouped with.
            let mut bad = collection(n, ROUNDS);
            bad.samples[0].name.clear();
            let err = store.accept(bad).await.unwrap_err();
            assert!(err.to_string().contains("empty name"), "{err}");
        }));
    }
    for agent in agents {
        agent.await.unwrap();
    }
    assert_eq!(store.head_len(), AGENTS * 2 * ROUNDS as usize);
    for n in 0..AGENTS {
        let node = format!("node-{n}");
        assert_eq!(raw(&store, &node, "cpu").await, expected_cpu(n, ROUNDS));
    }
    // Durable: a reopened store replays the same.
    drop(store);
    let store = TimeseriesStore::open(db.clone(), options()).await.unwrap();
    assert_eq!(store.head_len(), AGENTS * 2 * ROUNDS as usize);
    assert_eq!(raw(&store, "node-7", "cpu").await, expected_cpu(7, ROUNDS));
}

crate::on_both_backends!(
    batches_of_many_nodes_commit_together,
    one_bad_batch_rejects_the_call,
    concurrent_group_commits_keep_every_sample,
    concurrent_accepts_are_grouped,
);
