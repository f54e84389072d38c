//! API query load: 50 concurrent clients read 24 h of one node's CPU at
//! 300 points through `GET /api/v1/metrics/query` of a real server (HTTP
//! on loopback, JWT auth, SQLite metrics store holding 7 days of 10 s
//! samples of 10 nodes, compacted as the server would). Prints latency
//! percentiles and throughput.
//!
//! ```text
//! cargo bench -p pilot-server --bench api_query [-- CLIENTS REQUESTS_PER_CLIENT]
//! ```

#[path = "../common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Instant;

use pilot_core::time::now_ms;

use common::{cpu_walk, ms, percentile};

/// The allocator of the `pilot` binary, so that the server runs as it would.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NODES: usize = 10;
const DAYS: i64 = 7;
const INTERVAL_MS: i64 = 10_000;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let clients = args.first().copied().unwrap_or(50);
    let per_client = args.get(1).copied().unwrap_or(200);

    common::init_logging();
    let dir = tempfile::tempdir().expect("temp dir");
    let server = common::server(dir.path()).await;

    // 7 days of CPU for 10 nodes, then compaction into chunks and tiers.
    let end = now_ms() / INTERVAL_MS * INTERVAL_MS;
    let start_ms = end - DAYS * 86_400_000;
    let points = (DAYS * 86_400_000 / INTERVAL_MS) as usize;
    let fill = Instant::now();
    for node in 0..NODES {
        let values = cpu_walk(node as u64 + 1, points);
        common::store_series(
            &server,
            &format!("node-{node}"),
            "cpu_usage_percent",
            &[],
            start_ms,
            INTERVAL_MS,
            &values,
        )
        .await;
    }
    let metrics = server.state().metrics.clone();
    metrics.compact().await.expect("compaction");
    eprintln!(
        "stored {} samples in {:.1} s",
        NODES * points,
        fill.elapsed().as_secs_f64()
    );

    let base = server.url();
    let (client, token) = common::signed_in(&base).await;
    let url = format!(
        "{base}/api/v1/metrics/query?metric=cpu_usage_percent&node=node-3&start=-24h&step=288s"
    );
    // Every client sends this same request (URL parsed and token header
    // built once) over the client's kept-alive connections.
    let request = Arc::new(
        client
            .get(&url)
            .bearer_auth(&token)
            .build()
            .expect("query request"),
    );
    // Warm up and check the answer's shape once.
    let first: serde_json::Value = client
        .execute(request.try_clone().expect("a request without a body"))
        .await
        .expect("query")
        .json()
        .await
        .expect("query body");
    let returned = first["series"][0]["points"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);

    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let client = client.clone();
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_client);
            for _ in 0..per_client {
                let t = Instant::now();
                let request = request.try_clone().expect("a request without a body");
                let response = client.execute(request).await.expect("query");
                assert!(response.status().is_success(), "{}", response.status());
                let _ = response.bytes().await.expect("body");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("client task"));
    }
    let wall = started.elapsed();
    all.sort();
    println!("API query: 24 h of one node's CPU at 300 points (7 days x {NODES} nodes stored)");
    println!(
        "{:>8} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "clients", "requests", "points", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s"
    );
    println!(
        "{:>8} {:>9} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>10.0}",
        clients,
        all.len(),
        returned,
        ms(percentile(&all, 0.50)),
        ms(percentile(&all, 0.90)),
        ms(percentile(&all, 0.99)),
        all.last().map(|d| ms(*d)).unwrap_or(0.0),
        all.len() as f64 / wall.as_secs_f64()
    );
    server.shutdown().await;
}
