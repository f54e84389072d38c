//! Memory an open timeseries store holds per series, for a server's worth of
//! agents: NODES nodes × 40 series shaped like an agent's (node
//! "node-00042", metrics such as "cpu_percent" or "net_rx_bytes", labels
//! `{"device": "eth0"}`, `{"mount": "/"}`, `{"project": "shop"}` or none).
//!
//! It writes one sample per series into a temporary SQLite database and
//! compacts it (so the head is empty), then reopens the store and counts the
//! heap bytes and blocks that opening keeps: the series registry and the
//! newest value of each series. It then writes a second sample for every
//! series, which looks each one up in the registry.
//!
//! ```text
//! cargo run --release -p pilot-store --example registry_memory [-- NODES]
//! ```
//!
//! NODES defaults to 10,000 (400,000 series).

use std::alloc::{GlobalAlloc, Layout, System};
use std::error::Error;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use pilot_core::{MetricBatch, Sample};
use pilot_store::timeseries::{TimeseriesOptions, TimeseriesStore};
use pilot_store::{Database, SqliteDurability};

/// Live heap bytes, counted by [`Counting`].
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
/// Live heap blocks, counted by [`Counting`].
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);

/// The system allocator, counting what is live.
struct Counting;

fn allocated(size: usize) {
    LIVE_BYTES.fetch_add(size as isize, Ordering::Relaxed);
    LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
}

fn freed(size: usize) {
    LIVE_BYTES.fetch_sub(size as isize, Ordering::Relaxed);
    LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters only record the sizes of the blocks it hands out and takes back.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as this method's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            allocated(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as this method's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            allocated(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as this method's.
        unsafe { System.dealloc(ptr, layout) };
        freed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as this method's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            freed(layout.size());
            allocated(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The 40 series of an agent: metric name and labels.
const AGENT_SERIES: [(&str, &[(&str, &str)]); 40] = [
    ("cpu_percent", &[]),
    ("cpu_user_percent", &[]),
    ("cpu_system_percent", &[]),
    ("cpu_iowait_percent", &[]),
    ("load_1m", &[]),
    ("load_5m", &[]),
    ("load_15m", &[]),
    ("mem_used_bytes", &[]),
    ("mem_available_bytes", &[]),
    ("mem_cached_bytes", &[]),
    ("swap_used_bytes", &[]),
    ("processes", &[]),
    ("uptime_seconds", &[]),
    ("open_files", &[]),
    ("net_rx_bytes", &[("device", "eth0")]),
    ("net_tx_bytes", &[("device", "eth0")]),
    ("net_rx_packets", &[("device", "eth0")]),
    ("net_tx_packets", &[("device", "eth0")]),
    ("net_rx_errors", &[("device", "eth0")]),
    ("net_tx_errors", &[("device", "eth0")]),
    ("net_rx_bytes", &[("device", "lo")]),
    ("net_tx_bytes", &[("device", "lo")]),
    ("disk_used_bytes", &[("mount", "/")]),
    ("disk_free_bytes", &[("mount", "/")]),
    ("disk_inodes_used", &[("mount", "/")]),
    ("disk_read_bytes", &[("mount", "/")]),
    ("disk_write_bytes", &[("mount", "/")]),
    ("disk_used_bytes", &[("mount", "/var")]),
    ("disk_free_bytes", &[("mount", "/var")]),
    ("app_cpu_percent", &[("project", "shop")]),
    ("app_mem_bytes", &[("project", "shop")]),
    ("app_restarts", &[("project", "shop")]),
    ("http_requests", &[("project", "shop")]),
    ("http_errors", &[("project", "shop")]),
    ("app_cpu_percent", &[("project", "blog")]),
    ("app_mem_bytes", &[("project", "blog")]),
    ("app_restarts", &[("project", "blog")]),
    ("http_requests", &[("project", "blog")]),
    ("http_errors", &[("project", "blog")]),
    ("tcp_connections", &[]),
];

/// Nodes per `write_batches` call.
const NODES_PER_WRITE: usize = 500;

/// One sample of each series of node number `node`.
fn agent_batch(node: usize, timestamp_ms: i64) -> MetricBatch {
    MetricBatch {
        node: format!("node-{node:05}"),
        samples: AGENT_SERIES
            .iter()
            .map(|(name, labels)| Sample {
                name: name.to_string(),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                timestamp_ms,
                value: 1.0,
            })
            .collect(),
    }
}

/// Writes one sample of every series of `nodes` nodes.
async fn write_all(
    store: &TimeseriesStore,
    nodes: usize,
    timestamp_ms: i64,
) -> pilot_store::Result<()> {
    let mut node = 0;
    while node < nodes {
        let end = (node + NODES_PER_WRITE).min(nodes);
        let batches: Vec<MetricBatch> = (node..end).map(|n| agent_batch(n, timestamp_ms)).collect();
        store.write_batches(&batches).await?;
        node = end;
    }
    Ok(())
}

fn live() -> (isize, isize) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        LIVE_BLOCKS.load(Ordering::Relaxed),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let nodes: usize = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("NODES must be a count of nodes, not {arg:?}"))?,
        None => 10_000,
    };
    let series = nodes * AGENT_SERIES.len();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("metrics.db");
    let options = TimeseriesOptions {
        auto_compact_samples: 0,
        ..TimeseriesOptions::default()
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
    let two_days_ago = now - 2 * 24 * 3_600_000;

    let db = Database::open_sqlite(&path, SqliteDurability::Normal).await?;
    let store = TimeseriesStore::open(db.clone(), options.clone()).await?;
    let started = Instant::now();
    write_all(&store, nodes, two_days_ago).await?;
    let report = store.compact().await?;
    println!(
        "wrote and compacted {series} series ({} samples) in {:.1} s",
        report.samples,
        started.elapsed().as_secs_f64()
    );
    drop(store);
    db.close().await;

    let db = Database::open_sqlite(&path, SqliteDurability::Normal).await?;
    let (bytes_before, blocks_before) = live();
    let started = Instant::now();
    let store = TimeseriesStore::open(db.clone(), options).await?;
    let opened = started.elapsed();
    let (bytes_after, blocks_after) = live();
    let per_series = |v: isize| v as f64 / series as f64;
    println!(
        "open: {:.1} s; keeps {:.0} heap bytes in {:.2} blocks per series \
         (series registry and newest values)",
        opened.as_secs_f64(),
        per_series(bytes_after - bytes_before),
        per_series(blocks_after - blocks_before),
    );

    let started = Instant::now();
    write_all(&store, nodes, two_days_ago + 10_000).await?;
    println!(
        "second sample of every (known) series: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(store);
    db.close().await;
    Ok(())
}
