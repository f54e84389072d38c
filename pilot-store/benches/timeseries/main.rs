//! Timeseries benchmark: Pilot's engine against the seeds' naive schema (one
//! row per sample), on SQLite and on PostgreSQL, over a generated dataset.
//! Prints two tables: the chunk codecs compared on the raw data, and
//! storage / ingest / query per store.
//!
//! ```text
//! cargo bench -p pilot-store --bench timeseries
//! PILOT_BENCH_DATASET=five cargo bench -p pilot-store --bench timeseries
//! ```
//!
//! Two datasets (`PILOT_BENCH_DATASET`):
//! - `collector` (the default, `collector_mix.rs`): the 78 series Pilot's
//!   collector writes for a small host, one node by default: what a Pilot
//!   server actually stores;
//! - `five` (`dataset.rs`): five series per node (CPU, memory, two byte
//!   counters, disk usage), ten nodes by default; its byte counters make it
//!   much denser in information than a real host's mix, and the benchmark
//!   prints the lower bound no lossless encoding can beat.
//!
//! Knobs (environment): `PILOT_BENCH_NODES` (1 with `collector`, 10 with
//! `five`), `PILOT_BENCH_DAYS` (30), `PILOT_BENCH_BATCH` (collections per
//! batch, 1000: one node's series × 1000 timestamps), `PILOT_BENCH_QUERIES`
//! (200), `PILOT_BENCH_POSTGRES_URL` (default: the cluster of
//! `scripts/setup/postgres.sh`; `none` skips PostgreSQL),
//! `PILOT_BENCH_SQLITE` (`none` skips SQLite).

mod collector_mix;
mod dataset;
mod fan_in;
mod naive;
mod report;
mod runs;

use std::process::Command;
use std::time::Duration;

use naive::Naive;
use pilot_store::timeseries::ChunkCodec;
use pilot_store::{Database, SqliteDurability};
use sqlx::Connection;

/// A number from the environment, or the default.
fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What to generate and measure.
pub(crate) struct Config {
    pub(crate) nodes: usize,
    pub(crate) days: i64,
    pub(crate) batch: usize,
    pub(crate) queries: usize,
}

/// One line of the results table.
pub(crate) struct Outcome {
    pub(crate) backend: &'static str,
    pub(crate) store: String,
    /// Node batches per commit.
    pub(crate) group: usize,
    pub(crate) samples: usize,
    pub(crate) bytes: u64,
    pub(crate) ingest: Duration,
    pub query_p50: Duration,
    pub query_p95: Duration,
    pub(crate) points: usize,
}

fn main() {
    let collector = match std::env::var("PILOT_BENCH_DATASET").as_deref() {
        Ok("collector") | Err(_) => true,
        Ok("five") => false,
        Ok(other) => panic!("PILOT_BENCH_DATASET={other:?}: use collector or five"),
    };
    let cfg = Config {
        nodes: env_or("PILOT_BENCH_NODES", if collector { 1 } else { 10 }),
        days: env_or("PILOT_BENCH_DAYS", 30) as i64,
        batch: env_or("PILOT_BENCH_BATCH", 1000),
        queries: env_or("PILOT_BENCH_QUERIES", 200),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let end = now / 10_000 * 10_000;
    let data = if collector {
        collector_mix::generate(cfg.nodes, cfg.days, end)
    } else {
        dataset::generate(cfg.nodes, cfg.days, end)
    };
    let samples: usize = data.iter().map(|s| s.ts.len()).sum();
    let per_node = data.len() / cfg.nodes;
    println!(
        "dataset {}: {} series ({} nodes x {per_node} series) x {} days at 10 s = {} samples; batches of {} samples",
        if collector { "collector" } else { "five" },
        data.len(),
        cfg.nodes,
        cfg.days,
        report::group(samples as u64),
        cfg.batch * per_node
    );
    report::codec_table(&data);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (outcomes, fan_in) = rt.block_on(async {
        let mut out = Vec::new();
        let mut fan_in = Vec::new();
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = std::env::var("PILOT_BENCH_SQLITE").map_or(true, |v| v != "none");
        if sqlite {
            let mut n = 0;
            let mut fresh = || {
                n += 1;
                dir.path().join(format!("bench-{n}.db"))
            };
            for codec in [ChunkCodec::Pco, ChunkCodec::Gorilla] {
                let path = fresh();
                let db = open_sqlite(&path).await;
                out.push(runs::run_pilot("sqlite", db, codec, &data, &cfg, end).await);
                report::breakdown(&path, out.last().map_or(1, |o| o.samples)).await;
            }
            let naive = Naive::sqlite(&fresh()).await;
            out.extend(runs::run_naive("sqlite", naive, &data, &cfg, end).await);
            let db = open_sqlite(&fresh()).await;
            out.push(runs::ingest_pilot_grouped("sqlite", db, &data, &cfg, end).await);
            let naive = Naive::sqlite(&fresh()).await;
            out.push(runs::ingest_naive_grouped("sqlite", naive, &data, &cfg).await);
            for group in [false, true] {
                let db = open_sqlite(&fresh()).await;
                fan_in.push(fan_in::run("sqlite", db, group).await);
            }
        }
        if let Some(admin) = postgres_url() {
            let (url, name) = create_database(&admin, "pilot").await;
            let db = Database::open(&url).await.expect("postgres");
            out.push(runs::run_pilot("postgres", db, ChunkCodec::Pco, &data, &cfg, end).await);
            drop_database(&admin, &name).await;
            let (url, name) = create_database(&admin, "naive").await;
            out.extend(
                runs::run_naive("postgres", Naive::postgres(&url).await, &data, &cfg, end).await,
            );
            drop_database(&admin, &name).await;
            let (url, name) = create_database(&admin, "grouped").await;
            let db = Database::open(&url).await.expect("postgres");
            out.push(runs::ingest_pilot_grouped("postgres", db, &data, &cfg, end).await);
            drop_database(&admin, &name).await;
            let (url, name) = create_database(&admin, "naive_grouped").await;
            let naive = Naive::postgres(&url).await;
            out.push(runs::ingest_naive_grouped("postgres", naive, &data, &cfg).await);
            drop_database(&admin, &name).await;
            for group in [false, true] {
                let (url, name) = create_database(&admin, "fan_in").await;
                let db = Database::open(&url).await.expect("postgres");
                fan_in.push(fan_in::run("postgres", db, group).await);
                drop_database(&admin, &name).await;
            }
        }
        (out, fan_in)
    });
    report::results_table(&outcomes, cfg.batch * per_node);
    fan_in::table(&fan_in);
}

async fn open_sqlite(path: &std::path::Path) -> Database {
    Database::open_sqlite(path, SqliteDurability::Full)
        .await
        .expect("sqlite")
}

fn postgres_url() -> Option<String> {
    match std::env::var("PILOT_BENCH_POSTGRES_URL") {
        Ok(v) if v == "none" => return None,
        Ok(v) => return Some(v),
        Err(_) => {}
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/setup/postgres.sh");
    let out = Command::new("bash").arg(script).output().ok()?;
    if !out.status.success() {
        eprintln!(
            "postgres unavailable: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

async fn create_database(admin: &str, what: &str) -> (String, String) {
    let name = format!("pilot_bench_{what}_{}", std::process::id());
    let mut c = sqlx::PgConnection::connect(admin).await.expect("connect");
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\"");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut c)
        .await
        .expect("drop");
    let sql = format!("CREATE DATABASE \"{name}\"");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut c)
        .await
        .expect("create");
    let base = admin.rsplit_once('/').map(|(b, _)| b).expect("url path");
    // The storage engine is measured without TLS: sqlx 0.9.0 leaves Nagle's
    // algorithm on, which stalls statements of over 16 KB sent over TLS on
    // loopback by the peer's delayed ACK (about 40 ms each).
    (format!("{base}/{name}?sslmode=disable"), name)
}

async fn drop_database(admin: &str, name: &str) {
    let mut c = sqlx::PgConnection::connect(admin).await.expect("connect");
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut c)
        .await
        .expect("drop");
}
