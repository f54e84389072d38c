//! Many agents sending small batches at once, as a server sees them: one
//! commit per batch (`write`, serialised by the store) against group commit
//! (a collector that stores whatever arrived while its previous commit ran
//! with one `write_batches` call). Every agent waits for its batch to be
//! durable before sending the next one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pilot_core::{MetricBatch, Sample};
use pilot_store::Database;
use pilot_store::timeseries::{TimeseriesOptions, TimeseriesStore};
use tokio::sync::{mpsc, oneshot};

use crate::report::{group, percentiles};

/// Agents sending at the same time.
const AGENTS: usize = 100;
/// Batches each agent sends.
const ROUNDS: usize = 20;
/// Series per agent, and collections per batch.
const SERIES: usize = 5;
const COLLECTIONS: usize = 5;

/// One line of the fan-in table.
pub(crate) struct FanIn {
    backend: &'static str,
    mode: &'static str,
    batches: usize,
    samples: usize,
    commits: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

fn batch(agent: usize, round: usize, base: i64) -> MetricBatch {
    let mut samples = Vec::with_capacity(SERIES * COLLECTIONS);
    for c in 0..COLLECTIONS {
        let ts = base + ((round * COLLECTIONS + c) as i64) * 10_000;
        for s in 0..SERIES {
            samples.push(Sample {
                name: format!("metric_{s}"),
                labels: BTreeMap::new(),
                timestamp_ms: ts,
                value: (agent * 7 + round * 3 + c + s) as f64 / 10.0,
            });
        }
    }
    MetricBatch {
        node: format!("agent-{agent:03}"),
        samples,
    }
}

type Job = (MetricBatch, oneshot::Sender<()>);

/// Stores what arrives, everything pending at once; returns the commits made.
async fn collector(store: Arc<TimeseriesStore>, mut rx: mpsc::Receiver<Job>) -> usize {
    let mut commits = 0;
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while let Ok(more) = rx.try_recv() {
            jobs.push(more);
        }
        let (batches, acks): (Vec<MetricBatch>, Vec<oneshot::Sender<()>>) =
            jobs.into_iter().unzip();
        store.write_batches(&batches).await.expect("write_batches");
        commits += 1;
        for ack in acks {
            let _ = ack.send(());
        }
    }
    commits
}

pub(crate) async fn run(backend: &'static str, db: Database, grouped: bool) -> FanIn {
    let options = TimeseriesOptions {
        auto_compact_samples: 0,
        ..TimeseriesOptions::default()
    };
    let store = Arc::new(
        TimeseriesStore::open(db.clone(), options)
            .await
            .expect("open store"),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let base = now / 3_600_000 * 3_600_000 - 3_600_000;
    // Register every agent's series first: the run measures steady state.
    let first: Vec<MetricBatch> = (0..AGENTS).map(|a| batch(a, ROUNDS, base)).collect();
    store.write_batches(&first).await.expect("register");

    let (tx, rx) = mpsc::channel::<Job>(AGENTS);
    let collecting = grouped.then(|| tokio::spawn(collector(Arc::clone(&store), rx)));
    let started = Instant::now();
    let mut agents = Vec::new();
    for agent in 0..AGENTS {
        let (store, tx) = (Arc::clone(&store), tx.clone());
        agents.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(ROUNDS);
            for round in 0..ROUNDS {
                let batch = batch(agent, round, base);
                let t = Instant::now();
                if grouped {
                    let (ack, done) = oneshot::channel();
                    tx.send((batch, ack)).await.expect("collector");
                    done.await.expect("acknowledgement");
                } else {
                    store.write(&batch).await.expect("write");
                }
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    drop(tx);
    let mut latencies = Vec::new();
    for agent in agents {
        latencies.extend(agent.await.expect("agent"));
    }
    let elapsed = started.elapsed();
    let commits = match collecting {
        Some(task) => task.await.expect("collector"),
        None => AGENTS * ROUNDS,
    };
    db.close().await;
    let (p50, _) = percentiles(&mut latencies);
    let p99 = latencies[(latencies.len() - 1) * 99 / 100];
    FanIn {
        backend,
        mode: if grouped {
            "group commit (write_batches)"
        } else {
            "commit per batch (write)"
        },
        batches: AGENTS * ROUNDS,
        samples: AGENTS * ROUNDS * SERIES * COLLECTIONS,
        commits,
        elapsed,
        p50,
        p99,
    }
}

/// The fan-in table.
pub(crate) fn table(rows: &[FanIn]) {
    if rows.is_empty() {
        return;
    }
    println!(
        "\nfan-in: {AGENTS} agents at once, each sending {ROUNDS} batches of {} samples and waiting \
         for each to be durable:",
        SERIES * COLLECTIONS
    );
    println!(
        "{:<9} {:<30} {:>9} {:>10} {:>10} {:>12} {:>12} {:>12}",
        "backend", "mode", "commits", "batches/s", "samples/s", "ack p50", "ack p99", "speed-up"
    );
    for r in rows {
        let rate = |r: &FanIn| r.batches as f64 / r.elapsed.as_secs_f64();
        let baseline = rows
            .iter()
            .find(|b| b.backend == r.backend && b.commits == b.batches)
            .map_or("-".to_string(), |b| format!("{:.1}x", rate(r) / rate(b)));
        println!(
            "{:<9} {:<30} {:>9} {:>10} {:>10} {:>10.2}ms {:>10.2}ms {:>12}",
            r.backend,
            r.mode,
            r.commits,
            group(rate(r) as u64),
            group((r.samples as f64 / r.elapsed.as_secs_f64()) as u64),
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            baseline
        );
    }
}
