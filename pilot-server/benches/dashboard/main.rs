//! The dashboard's server side under a large inventory: the overview page
//! with 100 nodes and 300 projects (five deployments each), and the data of
//! a 30-day chart of one series (30 days of 5 s samples, compacted as the
//! server would), both through a real server on loopback with the session
//! cookie a browser sends. Prints latency percentiles.
//!
//! With `--draw` it then keeps the server up and runs `draw.mjs` beside
//! this file, which opens the node page in Debian's chromium (the browser
//! suite's playwright-core, `scripts/setup/browser.sh`), chooses 30 days and
//! prints how long the chart took from request to drawn.
//!
//! ```text
//! cargo bench -p pilot-server --bench dashboard [-- REQUESTS] [--draw]
//! ```

#[path = "../common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use pilot_core::config::{self, Strategy};
use pilot_core::engine::{DeployState, Deployment, DeploymentKind, StepKind};
use pilot_core::source::SourceSpec;
use pilot_store::SqlStore;
use pilot_store::records::{NewProject, ProjectSource};

use common::{cpu_walk, ms, percentile};

/// The allocator of the `pilot` binary, so that the server runs as it would.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NODES: usize = 100;
const PROJECTS: usize = 300;
const DEPLOYMENTS: u64 = 5;
const CHART_DAYS: i64 = 30;
/// The agents' default metrics interval.
const INTERVAL_MS: i64 = 5_000;

fn node_name(i: usize) -> String {
    format!("node-{i:03}")
}

/// 100 nodes with system info, 300 projects on two nodes each with five
/// finished deployments.
async fn inventory(store: &SqlStore) {
    let now = pilot_core::time::now_ms();
    for i in 0..NODES {
        let name = node_name(i);
        store.register_node(&name).await.expect("node");
        let info = serde_json::json!({
            "hostname": name, "os_name": "Debian GNU/Linux",
            "os_version": "Linux (Debian GNU/Linux 12)", "kernel_version": "6.1.0-18-amd64",
            "architecture": "x86_64", "cpu_model": "AMD EPYC 7763", "cpu_cores": 4,
            "memory_total_bytes": 8_589_934_592u64, "swap_total_bytes": 0, "disks": []
        });
        store
            .record_heartbeat(&name, now, Some(&info))
            .await
            .expect("heartbeat");
    }
    let app = config::parse(
        r#"{"name": "app", "type": "nodejs", "runtime": {"node": "20"},
            "start": {"command": "node server.js"}}"#,
    )
    .expect("config");
    for i in 0..PROJECTS {
        let name = format!("project-{i:03}");
        let nodes = vec![node_name(i % NODES), node_name((i + 1) % NODES)];
        store
            .create_project(NewProject {
                name: name.clone(),
                config: app.clone(),
                nodes: nodes.clone(),
                public_port: Some(10_000 + i as u16),
                source: ProjectSource::Upload,
            })
            .await
            .expect("project");
        for generation in 1..=DEPLOYMENTS {
            let mut d = Deployment::new(
                &name,
                DeploymentKind::Deploy {
                    source: SourceSpec::Dir {
                        path: format!("/srv/{name}").into(),
                    },
                    config: None,
                },
                Strategy::BlueGreen,
                generation,
                None,
                &[StepKind::Fetch, StepKind::Build, StepKind::Switch],
            );
            d.version = Some(format!("{:07x}", i as u64 * 16 + generation));
            d.public_port = Some(10_000 + i as u16);
            d.transition(DeployState::Running).expect("running");
            d.transition(DeployState::Succeeded).expect("succeeded");
            store
                .save_deployment(&nodes[0], &d)
                .await
                .expect("deployment");
        }
    }
}

/// `get` run 20 times to warm up, then `requests` times in a row: the
/// sorted latencies and the last answer's size.
async fn timed<F, Fut>(requests: usize, get: F) -> (Vec<Duration>, usize)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    for _ in 0..20 {
        get().await;
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut size = 0;
    for _ in 0..requests {
        let t = Instant::now();
        size = get().await;
        latencies.push(t.elapsed());
    }
    latencies.sort();
    (latencies, size)
}

/// `requests` sequential GETs of `url` with the session cookie, after a
/// warm-up; the sorted latencies and the last body's size.
async fn measure(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    requests: usize,
) -> (Vec<Duration>, usize) {
    let get = || async {
        let response = client
            .get(url)
            .header("cookie", cookie)
            .send()
            .await
            .expect("request");
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        response.bytes().await.expect("body").len()
    };
    timed(requests, get).await
}

/// `requests` GETs of `path` straight through the server's router (no
/// socket, no client): the server's own time per request, body included.
async fn server_time(
    router: &axum::Router,
    path: &str,
    cookie: &str,
    requests: usize,
) -> (Vec<Duration>, usize) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let get = || async {
        let request = axum::http::Request::get(path)
            .header("cookie", cookie)
            .header("host", "127.0.0.1")
            .body(axum::body::Body::empty())
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("infallible");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .len()
    };
    timed(requests, get).await
}

fn report(what: &str, latencies: &[Duration], size: usize) {
    println!(
        "{what:<34} {:>9} {:>9} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
        latencies.len(),
        size,
        ms(percentile(latencies, 0.50)),
        ms(percentile(latencies, 0.90)),
        ms(percentile(latencies, 0.99)),
        latencies.last().map(|d| ms(*d)).unwrap_or(0.0),
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let draw = args.iter().any(|a| a == "--draw");
    let requests = args.iter().find_map(|a| a.parse().ok()).unwrap_or(500usize);
    common::init_logging();

    let dir = tempfile::tempdir().expect("temp dir");
    let server = common::server(dir.path()).await;
    let fill = Instant::now();
    inventory(&server.state().store).await;
    let end = pilot_core::time::now_ms() / INTERVAL_MS * INTERVAL_MS;
    let points = (CHART_DAYS * 86_400_000 / INTERVAL_MS) as usize;
    common::store_series(
        &server,
        &node_name(0),
        "cpu_usage_percent",
        &[("cpu", "total")],
        end - CHART_DAYS * 86_400_000,
        INTERVAL_MS,
        &cpu_walk(1, points),
    )
    .await;
    server.state().metrics.compact().await.expect("compaction");
    eprintln!(
        "stored {NODES} nodes, {PROJECTS} projects, {} deployments and {points} samples in {:.1} s",
        PROJECTS as u64 * DEPLOYMENTS,
        fill.elapsed().as_secs_f64()
    );

    let base = server.url();
    let (client, token) = common::signed_in(&base).await;
    let cookie = format!("pilot_session={token}");
    println!(
        "{:<34} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "dashboard", "requests", "bytes", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    let router = pilot_server::api::router(server.state().clone());
    let (latencies, size) = server_time(&router, "/", &cookie, requests).await;
    report("overview, server time", &latencies, size);
    let (latencies, size) = measure(&client, &format!("{base}/"), &cookie, requests).await;
    report("overview over HTTP", &latencies, size);
    let chart = format!(
        "{base}/api/v1/metrics/query?metric=cpu_usage_percent&start=-30d&node={}&label.cpu=total",
        node_name(0)
    );
    let (latencies, size) = measure(&client, &chart, &cookie, requests).await;
    report("30-day chart data (one series)", &latencies, size);
    let (latencies, size) = measure(
        &client,
        &format!("{base}/nodes/{}", node_name(0)),
        &cookie,
        requests,
    )
    .await;
    report("node page", &latencies, size);

    if draw {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/dashboard/draw.mjs");
        let status = std::process::Command::new("node")
            .arg(script)
            .env("PILOT_BENCH_URL", &base)
            .env("PILOT_BENCH_PASSWORD", common::PASSWORD)
            .env("PILOT_BENCH_NODE", node_name(0))
            .status()
            .expect("node runs draw.mjs (apt-get install nodejs)");
        assert!(status.success(), "draw.mjs failed: {status}");
    }
    server.shutdown().await;
}
