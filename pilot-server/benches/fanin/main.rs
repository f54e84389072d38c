//! Fan-in benchmark of the agent listener.
//!
//! Simulated agents (real TCP connections, real frames, node tokens
//! registered in a real SQLite store) each send a 40-sample batch every 5 s
//! to a hub running in a child process. For each crowd size it prints the
//! time from sending a batch to its acknowledgement (the batch is then
//! durable and queryable), the hub's resident memory and its CPU use.
//!
//! ```text
//! cargo bench -p pilot-server --bench fanin                  # 1000, 5000, 10000 agents
//! cargo bench -p pilot-server --bench fanin -- 2000 --window 30
//! PILOT_BENCH_HEAD_MEMORY=0 cargo bench -p pilot-server --bench fanin -- 10000
//! ```
//!
//! `PILOT_BENCH_HEAD_MEMORY` sets the timeseries store's
//! `head_memory_samples` in the hub (its default otherwise).

mod agents;
mod hub_process;
mod report;
mod samples;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use pilot_core::protocol::NodeToken;
use pilot_store::{Database, SqlStore, SqliteDurability};

use agents::Crowd;
use hub_process::{CHILD_FLAG, HubProcess};
use report::Row;

type Error = Box<dyn std::error::Error>;

/// The allocator of the `pilot` binary, so that the hub child's memory is
/// what the server's would be.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Crowd sizes measured by default.
const DEFAULT_SCALES: [usize; 3] = [1000, 5000, 10_000];

/// Seconds each agent waits between batches.
const INTERVAL: Duration = Duration::from_secs(5);

/// How long the crowd runs at least before measuring (every agent's first
/// batch registers its series).
const WARM_UP: Duration = Duration::from_secs(15);

/// Longest wait for the registration backlog to clear.
const MAX_WARM_UP: Duration = Duration::from_secs(180);

/// What to run, from the command line.
struct Plan {
    scales: Vec<usize>,
    window: Duration,
}

fn plan() -> Plan {
    let mut scales = Vec::new();
    let mut window = Duration::from_secs(60);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--window" {
            if let Some(secs) = args.next().and_then(|s| s.parse().ok()) {
                window = Duration::from_secs(secs);
            }
        } else if let Ok(n) = arg.parse() {
            scales.push(n);
        }
    }
    if scales.is_empty() {
        scales = DEFAULT_SCALES.to_vec();
    }
    Plan { scales, window }
}

/// Lets this process and the hub child (which inherits it) open a socket per agent.
fn raise_file_limit() -> Result<u64, Error> {
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    Ok(hard)
}

/// Registers `count` nodes in a new database at `path` and returns their tokens.
async fn register(path: &Path, count: usize) -> Result<Vec<(String, NodeToken)>, Error> {
    // Registration is set-up, not measured: commit without waiting for the disk.
    let db = Database::open_sqlite(path, SqliteDurability::Normal).await?;
    let store = SqlStore::new(db.clone());
    let mut nodes = Vec::with_capacity(count);
    for i in 0..count {
        let name = format!("bench-{i:05}");
        let (_, token) = store.register_node(&name).await?;
        nodes.push((name, token));
    }
    db.close().await;
    Ok(nodes)
}

/// Lets the crowd run until every agent's series are registered (its first
/// batch acknowledged) and no backlog is left, then one more interval.
async fn warm_up(crowd: &Crowd, agents: usize) -> Duration {
    let started = Instant::now();
    tokio::time::sleep(WARM_UP).await;
    let tally = &crowd.tally;
    while started.elapsed() < MAX_WARM_UP {
        let sent = tally.sent_total.load(Ordering::Relaxed);
        let acked = tally.acked_total.load(Ordering::Relaxed);
        if acked >= agents as u64 && sent.saturating_sub(acked) <= (agents / 20) as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(INTERVAL).await;
    started.elapsed()
}

/// Runs one crowd size against a fresh hub on a copy of the registered database.
async fn measure(
    pristine: &Path,
    work: &Path,
    nodes: &[(String, NodeToken)],
    window: Duration,
) -> Result<Row, Error> {
    let db = work.join(format!("hub-{}.db", nodes.len()));
    std::fs::copy(pristine, &db)?;
    let hub = HubProcess::spawn(&db).await?;
    let idle_mib = hub.rss_mib().0;
    let connect_started = Instant::now();
    let crowd = Crowd::connect(hub.address, nodes, INTERVAL).await?;
    let connect_time = connect_started.elapsed();
    let connected_mib = hub.rss_mib().0;
    crowd.start();
    let warm_up = warm_up(&crowd, nodes.len()).await;
    eprintln!(
        "  connected in {:.1} s, warmed up in {:.1} s",
        connect_time.as_secs_f64(),
        warm_up.as_secs_f64()
    );

    let ticks_before = hub.cpu_ticks();
    let started = Instant::now();
    crowd.tally.measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(window).await;
    crowd.tally.measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let ticks = hub.cpu_ticks().saturating_sub(ticks_before);
    let (rss, peak) = hub.rss_mib();
    // Let the last timed batches be acknowledged.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let tally = &crowd.tally;
    let latencies =
        std::mem::take(&mut *tally.latencies_us.lock().unwrap_or_else(|e| e.into_inner()));
    let sent = tally.sent.load(Ordering::Relaxed);
    let sent_total = tally.sent_total.load(Ordering::Relaxed);
    let acked_total = tally.acked_total.load(Ordering::Relaxed);
    crowd.stop().await;
    let stats = hub.stop().await?;
    let clock_ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)?.unwrap_or(100) as f64;
    Ok(Row::new(
        nodes.len(),
        connect_time,
        latencies,
        sent,
        (sent_total, acked_total),
        elapsed,
        ticks as f64 / clock_ticks,
        [idle_mib, connected_mib, rss, peak],
        stats,
    ))
}

async fn parent(plan: Plan) -> Result<(), Error> {
    let limit = raise_file_limit()?;
    let largest = plan.scales.iter().copied().max().unwrap_or(0);
    let dir = tempfile::tempdir()?;
    let pristine: PathBuf = dir.path().join("registered.db");
    eprintln!("registering {largest} nodes (open files limit {limit}) ...");
    let nodes = register(&pristine, largest).await?;
    let mut rows = Vec::new();
    for &scale in &plan.scales {
        eprintln!(
            "{scale} agents: connecting, warming up, measuring {} s ...",
            plan.window.as_secs()
        );
        let row = measure(&pristine, dir.path(), &nodes[..scale], plan.window).await?;
        eprintln!("{}", row.line());
        rows.push(row);
    }
    report::print(&rows, INTERVAL);
    Ok(())
}

fn main() -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some(CHILD_FLAG) {
        let db = args
            .next()
            .ok_or("missing database path after --hub-child")?;
        return runtime.block_on(hub_process::run_child(Path::new(&db)));
    }
    runtime.block_on(parent(plan()))
}
