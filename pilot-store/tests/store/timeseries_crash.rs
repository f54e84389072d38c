//! Crash safety of the timeseries engine: a writer process acknowledges
//! batches (printing each index after `accept` returned) while compactions
//! run, and is killed with SIGKILL at an arbitrary moment. After reopening,
//! every acknowledged sample must be there with its exact value, and no batch
//! may be half there. Several rounds resume where the previous one stopped.
//!
//! The same runs with group commit: each acknowledged call stores the
//! batches of three nodes with `write_batches`, and no call may be torn
//! between nodes either.
//!
//! The writer is this test binary started again with `PILOT_TS_CRASH_ROLE`,
//! running only the test that started it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use pilot_core::{MetricBatch, MetricsSink, Sample};
use pilot_store::Database;
use pilot_store::timeseries::{
    RangeQuery, SeriesSelector, Tier, TimeseriesOptions, TimeseriesStore,
};

const SERIES: i64 = 5;
const PER_BATCH: i64 = 20;
const STEP_MS: i64 = 10_000;
/// Nodes of a group-commit call.
const GROUP: [&str; 3] = ["n1", "n2", "n3"];
/// Set in the writer process: which [`Mode`] it writes in.
const ROLE: &str = "PILOT_TS_CRASH_ROLE";
/// Starts each acknowledgement line of the writer (the test harness prints
/// lines of its own).
const ACK: &str = "ack ";

/// How the writer stores what it acknowledges.
#[derive(Clone, Copy)]
enum Mode {
    /// One `accept` per batch, all of node n1.
    Single,
    /// One `write_batches` per acknowledgement, a batch of each [`GROUP`] node.
    Group,
}

impl Mode {
    fn role(self) -> &'static str {
        match self {
            Mode::Single => "writer",
            Mode::Group => "group-writer",
        }
    }

    fn nodes(self) -> &'static [&'static str] {
        match self {
            Mode::Single => &GROUP[..1],
            Mode::Group => &GROUP,
        }
    }
}

/// Test outcome; failures say what went wrong.
type Outcome<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Runs one crash test, or, in the writer process started by that test (the
/// same test of this binary, with [`ROLE`] set), the writer.
fn crash_test(test: &str, backend: Backend, mode: Mode) -> Outcome {
    if let Ok(role) = std::env::var(ROLE) {
        writer(&role);
        return Ok(());
    }
    let test = format!(
        "{}::{test}",
        module_path!().split_once("::").map_or("", |(_, m)| m)
    );
    let rt = runtime();
    let db = match backend {
        Backend::Sqlite => Some(rt.block_on(crate::common::sqlite())),
        Backend::Postgres => rt.block_on(crate::common::postgres()),
    };
    match db {
        Some(t) => crash_rounds(&rt, &test, &t.url, mode),
        None => Ok(()),
    }
}

/// Where a crash test stores its samples.
enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A database on the test PostgreSQL cluster (skipped when unavailable).
    Postgres,
}

#[test]
fn sqlite_acknowledged_samples_survive_sigkill() -> Outcome {
    crash_test(
        "sqlite_acknowledged_samples_survive_sigkill",
        Backend::Sqlite,
        Mode::Single,
    )
}

#[test]
fn postgres_acknowledged_samples_survive_sigkill() -> Outcome {
    crash_test(
        "postgres_acknowledged_samples_survive_sigkill",
        Backend::Postgres,
        Mode::Single,
    )
}

#[test]
fn sqlite_group_commits_survive_sigkill() -> Outcome {
    crash_test(
        "sqlite_group_commits_survive_sigkill",
        Backend::Sqlite,
        Mode::Group,
    )
}

#[test]
fn postgres_group_commits_survive_sigkill() -> Outcome {
    crash_test(
        "postgres_group_commits_survive_sigkill",
        Backend::Postgres,
        Mode::Group,
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Small windows and frequent compaction, so kills land in compactions too.
fn options() -> TimeseriesOptions {
    TimeseriesOptions {
        window_ms: 3_600_000,
        grace_ms: 60_000,
        raw_retention_ms: 30 * 86_400_000,
        tiers: vec![
            Tier::new(60_000, 60 * 86_400_000),
            Tier::new(600_000, 60 * 86_400_000),
        ],
        auto_compact_samples: 300,
        ..TimeseriesOptions::default()
    }
}

/// Start of the data: three days ago, so that windows keep closing.
fn base_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    (now - 3 * 86_400_000) / 3_600_000 * 3_600_000
}

fn value(series: i64, index: i64) -> f64 {
    (index * 7 + series) as f64 * 0.25
}

fn batch(node: &str, base: i64, i: i64) -> MetricBatch {
    let mut samples = Vec::new();
    for k in 0..PER_BATCH {
        let index = i * PER_BATCH + k;
        for s in 0..SERIES {
            samples.push(Sample {
                name: format!("m{s}"),
                labels: BTreeMap::new(),
                timestamp_ms: base + index * STEP_MS,
                value: value(s, index),
            });
        }
    }
    MetricBatch {
        node: node.into(),
        samples,
    }
}

// ---- writer process ---------------------------------------------------------

fn writer(role: &str) {
    let mode = match role {
        "writer" => Mode::Single,
        "group-writer" => Mode::Group,
        _ => panic!("unknown role {role}"),
    };
    let url = std::env::var("PILOT_TS_DB").expect("PILOT_TS_DB");
    let base: i64 = std::env::var("PILOT_TS_BASE")
        .expect("base")
        .parse()
        .expect("base");
    let start: i64 = std::env::var("PILOT_TS_START")
        .expect("start")
        .parse()
        .expect("start");
    runtime().block_on(async {
        let db = Database::open(&url).await.expect("open database");
        let store = TimeseriesStore::open(db, options())
            .await
            .expect("open store");
        let mut i = start;
        loop {
            match mode {
                Mode::Single => store.accept(batch("n1", base, i)).await.expect("accept"),
                Mode::Group => {
                    let batches: Vec<MetricBatch> =
                        GROUP.iter().map(|node| batch(node, base, i)).collect();
                    store.write_batches(&batches).await.expect("write_batches");
                }
            }
            println!("{ACK}{i}");
            i += 1;
        }
    });
}

// ---- test side --------------------------------------------------------------

/// Starts the writer: this binary, running only `test` (which, with [`ROLE`]
/// set, writes instead of testing).
fn spawn_writer(test: &str, url: &str, mode: Mode, base: i64, start: i64) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args([test, "--exact", "--nocapture"])
        .env(ROLE, mode.role())
        .env("PILOT_TS_DB", url)
        .env("PILOT_TS_BASE", base.to_string())
        .env("PILOT_TS_START", start.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn writer")
}

/// Runs the writer until it acknowledged `acks` batches (plus a short
/// delay), kills it, and returns the highest acknowledged index.
fn run_and_kill(
    test: &str,
    url: &str,
    mode: Mode,
    base: i64,
    start: i64,
    acks: usize,
    delay: Duration,
) -> Outcome<Option<i64>> {
    let mut child = spawn_writer(test, url, mode, base, start);
    let outcome = acknowledgements(&mut child, acks, delay);
    // SIGKILL (a no-op when the writer is already dead), then reap it.
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
    child.wait().map_err(|e| format!("wait: {e}"))?;
    let (mut last, rx, reader) = outcome?;
    reader.join().map_err(|_| "reader thread panicked")?;
    // Acknowledgements printed before the kill count too.
    for line in rx.try_iter() {
        last = Some(parse_ack(&line)?);
    }
    Ok(last)
}

type Acks = (
    Option<i64>,
    mpsc::Receiver<String>,
    std::thread::JoinHandle<()>,
);

/// Reads `acks` acknowledgements, waits `delay`, then kills the writer.
fn acknowledgements(child: &mut Child, acks: usize, delay: Duration) -> Outcome<Acks> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Some(ack) = line.strip_prefix(ACK) else {
                continue;
            };
            if tx.send(ack.to_string()).is_err() {
                break;
            }
        }
    });
    let mut last = None;
    for seen in 0..acks {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| format!("writer stopped acknowledging after {seen} batches"))?;
        last = Some(parse_ack(&line)?);
    }
    std::thread::sleep(delay);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).map_err(|e| format!("kill: {e}"))?;
    Ok((last, rx, reader))
}

fn parse_ack(line: &str) -> Outcome<i64> {
    line.trim()
        .parse()
        .map_err(|e| format!("bad acknowledgement {line:?}: {e}").into())
}

/// Checks the stored samples; returns the number of complete batches
/// (acknowledged units) stored.
async fn verify(url: &str, mode: Mode, base: i64, acked: Option<i64>) -> Outcome<i64> {
    let db = Database::open(url).await?;
    let store = TimeseriesStore::open(db.clone(), options()).await?;
    let mut complete = i64::MAX;
    let mut first = true;
    for node in mode.nodes() {
        for s in 0..SERIES {
            let n = stored_batches(&store, node, s, base).await?;
            if !first && n != complete {
                return Err(format!(
                    "{node} m{s} holds {n} batches, others {complete}: a write was torn"
                )
                .into());
            }
            complete = complete.min(n);
            first = false;
        }
    }
    if let Some(acked) = acked
        && complete <= acked
    {
        return Err(format!(
            "batch {acked} was acknowledged but only {complete} batches are stored"
        )
        .into());
    }
    db.close().await;
    Ok(complete)
}

/// Checks every stored sample of one series; returns how many whole batches it holds.
async fn stored_batches(store: &TimeseriesStore, node: &str, s: i64, base: i64) -> Outcome<i64> {
    let sel = SeriesSelector::metric(format!("m{s}")).on_node(node);
    let q = RangeQuery::raw(sel, i64::MIN, i64::MAX);
    let points = store
        .query(&q)
        .await?
        .pop()
        .map(|p| p.points)
        .unwrap_or_default();
    for (index, p) in points.iter().enumerate() {
        let index = index as i64;
        if p.timestamp_ms != base + index * STEP_MS || p.value != value(s, index) {
            return Err(format!("{node} m{s}: sample {index} is {p:?}").into());
        }
    }
    let n = points.len() as i64;
    if n % PER_BATCH != 0 {
        return Err(format!("{node} m{s} holds a partial batch ({n} samples)").into());
    }
    Ok(n / PER_BATCH)
}

fn crash_rounds(rt: &tokio::runtime::Runtime, test: &str, url: &str, mode: Mode) -> Outcome {
    let base = base_ms();
    let mut next = 0;
    let mut acked_total = None;
    for (round, (acks, delay_ms)) in [(15, 0), (40, 3), (25, 11), (60, 1), (30, 7)]
        .into_iter()
        .enumerate()
    {
        let acked = run_and_kill(
            test,
            url,
            mode,
            base,
            next,
            acks,
            Duration::from_millis(delay_ms),
        )?;
        acked_total = acked.or(acked_total);
        next = rt.block_on(verify(url, mode, base, acked_total))?;
        eprintln!("round {round}: acknowledged up to {acked:?}, {next} batches stored");
    }
    // The writers compacted as they went, and a final compaction keeps everything too.
    rt.block_on(async {
        let db = Database::open(url).await?;
        let store = TimeseriesStore::open(db.clone(), options()).await?;
        let written = (next * PER_BATCH * SERIES) as usize * mode.nodes().len();
        assert!(
            store.head_len() < written,
            "no compaction ran in the writers"
        );
        store.compact().await?;
        db.close().await;
        Ok::<_, pilot_store::Error>(())
    })?;
    let after = rt.block_on(verify(url, mode, base, acked_total))?;
    if after != next {
        return Err(format!("compaction changed the stored batches: {next} -> {after}").into());
    }
    Ok(())
}
