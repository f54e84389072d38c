//! API query load: 50 concurrent clients read 24 h of one node's CPU at
//! 300 points through `GET /api/v1/metrics/query` of a real server (HTTP
//! on loopback, JWT auth, SQLite metrics store holding 7 days of 10 s
//! samples of 10 nodes, compacted as the server would). Prints latency
//! percentiles and throughput.
//!
//! ```text
//! cargo bench -p pilot-server --bench api_query [-- CLIENTS REQUESTS_PER_CLIENT]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use pilot_core::{MetricBatch, MetricsSink, Sample};
use pilot_server::server::{AgentTls, ServerOptions, start};

/// The allocator of the `pilot` binary, so that the server runs as it would.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NODES: usize = 10;
const DAYS: i64 = 7;
const INTERVAL_MS: i64 = 10_000;

use pilot_core::time::now_ms;

/// A noisy random walk between 0 and 100, like a CPU percentage.
fn cpu_walk(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut value = 20.0_f64;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let step = ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 6.0;
            value = (value + step).clamp(0.0, 100.0);
            (value * 10.0).round() / 10.0
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let clients = args.first().copied().unwrap_or(50);
    let per_client = args.get(1).copied().unwrap_or(200);

    // Log as `pilot serve` does (info, or what PILOT_LOG says), so any
    // per-request logging would show in the cost and on stderr.
    let filter = tracing_subscriber::EnvFilter::try_from_env(pilot_server::cli::ENV_LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();

    let dir = tempfile::tempdir().expect("temp dir");
    let mut options = ServerOptions::new(dir.path());
    options.http_listen = "127.0.0.1:0".parse().unwrap();
    options.agent_listen = "127.0.0.1:0".parse().unwrap();
    options.agent_tls = AgentTls::Off;
    options.admin_password = Some("bench-password".into());
    let server = start(options).await.expect("server starts");

    // 7 days of CPU for 10 nodes, then compaction into chunks and tiers.
    let end = now_ms() / INTERVAL_MS * INTERVAL_MS;
    let start_ms = end - DAYS * 86_400_000;
    let points = (DAYS * 86_400_000 / INTERVAL_MS) as usize;
    let fill = Instant::now();
    let metrics = server.state().metrics.clone();
    for node in 0..NODES {
        let values = cpu_walk(node as u64 + 1, points);
        for chunk in values.chunks(8640).enumerate() {
            let (day, values) = chunk;
            let samples = values
                .iter()
                .enumerate()
                .map(|(i, v)| Sample {
                    name: "cpu_usage_percent".into(),
                    labels: Default::default(),
                    timestamp_ms: start_ms + ((day * 8640 + i) as i64) * INTERVAL_MS,
                    value: *v,
                })
                .collect();
            metrics
                .accept(MetricBatch {
                    node: format!("node-{node}"),
                    samples,
                })
                .await
                .expect("write");
        }
    }
    metrics.compact().await.expect("compaction");
    eprintln!(
        "stored {} samples in {:.1} s",
        NODES * points,
        fill.elapsed().as_secs_f64()
    );

    // reqwest is built without a bundled TLS provider; plain HTTP here, but
    // building a client still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let base = server.url();
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": "bench-password"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["token"].as_str().expect("token").to_string();
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
        percentile(&all, 0.50).as_secs_f64() * 1e3,
        percentile(&all, 0.90).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        all.last().map(|d| d.as_secs_f64() * 1e3).unwrap_or(0.0),
        all.len() as f64 / wall.as_secs_f64()
    );
    server.shutdown().await;
}
