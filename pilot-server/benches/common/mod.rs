//! What the server's benchmarks share: a real server on loopback with an
//! admin password, a signed-in client, stored samples and percentiles.

use std::time::Duration;

use pilot_core::{MetricBatch, MetricsSink, Sample};
use pilot_server::server::{AgentTls, RunningServer, ServerOptions, start};

/// The admin password of the benchmarks' servers.
pub const PASSWORD: &str = "bench-password";

/// Logs as `pilot serve` does (info, or what PILOT_LOG says), so any
/// per-request logging shows in the cost and on stderr.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env(pilot_server::cli::ENV_LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// A server with its data in `dir`, HTTP on a free loopback port, agents'
/// TLS off, and user `admin` with [`PASSWORD`].
pub async fn server(dir: &std::path::Path) -> RunningServer {
    let mut options = ServerOptions::new(dir);
    options.http_listen = "127.0.0.1:0".parse().unwrap();
    options.agent_listen = "127.0.0.1:0".parse().unwrap();
    options.agent_tls = AgentTls::Off;
    options.admin_password = Some(PASSWORD.into());
    start(options).await.expect("server starts")
}

/// An HTTP client and the admin's session token from `POST /auth/login`.
pub async fn signed_in(base: &str) -> (reqwest::Client, String) {
    // reqwest is built without a bundled TLS provider; plain HTTP here, but
    // building a client still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["token"].as_str().expect("token").to_string();
    (client, token)
}

/// A noisy random walk between 0 and 100, like a CPU percentage.
pub fn cpu_walk(seed: u64, n: usize) -> Vec<f64> {
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

/// Stores `values` of `metric{labels}` for `node`, one every `interval_ms`
/// from `start_ms`, a day's worth per batch.
pub async fn store_series(
    server: &RunningServer,
    node: &str,
    metric: &str,
    labels: &[(&str, &str)],
    start_ms: i64,
    interval_ms: i64,
    values: &[f64],
) {
    let per_batch = (86_400_000 / interval_ms) as usize;
    let metrics = server.state().metrics.clone();
    for (batch, values) in values.chunks(per_batch).enumerate() {
        let samples = values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample {
                name: metric.into(),
                labels: labels
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                    .collect(),
                timestamp_ms: start_ms + ((batch * per_batch + i) as i64) * interval_ms,
                value: *v,
            })
            .collect();
        metrics
            .accept(MetricBatch {
                node: node.to_string(),
                samples,
            })
            .await
            .expect("write");
    }
}

/// The `p` quantile (0..=1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Milliseconds of a duration.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
