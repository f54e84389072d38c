//! A server restart in the middle of things: two agents keep sending
//! metrics and a deploy is building when the server is killed (SIGKILL) and
//! started again. The deploy finishes and is recorded, the agents
//! reconnect, and every metric sample they collected is stored or still
//! queued on the node — none is lost.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::processes::*;
use pilot_agent::{Agent, AgentOptions, MetricSpool, RuntimeKind, ServerTls};
use pilot_core::protocol::{CertFingerprint, NodeToken};
use pilot_store::timeseries::{RangeQuery, SeriesSelector};
use pilot_store::{Database, SqliteDurability, TimeseriesOptions, TimeseriesStore};

const ADMIN_PASSWORD: &str = "outage-admin-password";

fn serve(root: &Path, api: &str, agents: &str) -> (Proc, CertFingerprint) {
    let mut command = Command::new(pilot_bin());
    command
        .arg("serve")
        .arg("--data")
        .arg(root.join("server"))
        .args(["--listen", api, "--agent-listen", agents])
        .env("PILOT_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let server = Proc::spawn("server", command);
    let printed = server.wait_for("agent tls fingerprint:", Duration::from_secs(30));
    let fingerprint = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("agent tls fingerprint:"))
        .expect("fingerprint line")
        .trim()
        .parse()
        .expect("a fingerprint");
    wait_listening(api, Duration::from_secs(30));
    (server, fingerprint)
}

fn login(home: &Path, api: &str) {
    let mut child = Command::new(pilot_bin())
        .args([
            "--server",
            &format!("http://{api}"),
            "login",
            "--password-stdin",
        ])
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{ADMIN_PASSWORD}").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
}

/// python-hello with a build slow enough to be running at the restart.
fn slow_app(root: &Path) -> std::path::PathBuf {
    let app = root.join("app");
    copy_dir(&python_hello(), &app);
    let config = std::fs::read_to_string(app.join("config.vpspilot.json")).unwrap();
    let config = config.replace(
        r#""commands": ["python3 -m py_compile app.py"]"#,
        r#""commands": ["sleep 4", "python3 -m py_compile app.py"]"#,
    );
    assert!(config.contains("sleep 4"));
    std::fs::write(app.join("config.vpspilot.json"), config).unwrap();
    app
}

/// A sample's identity: node, metric, labels, time.
type SampleKey = (String, String, Vec<(String, String)>, i64);

/// Every sample of `node` in the store, by identity; also how many points
/// the store holds (more than the set's size if any was stored twice).
async fn stored_samples(metrics: &TimeseriesStore, node: &str) -> (BTreeSet<SampleKey>, u64) {
    let mut keys = BTreeSet::new();
    let mut points = 0;
    for latest in metrics.latest(node) {
        let selector = SeriesSelector {
            name: latest.series.name.clone(),
            node: Some(node.to_string()),
            labels: latest.series.labels.clone(),
        };
        for series in metrics
            .query(&RangeQuery::raw(selector, 0, i64::MAX / 2))
            .await
            .unwrap()
        {
            if series.series.labels == latest.series.labels {
                points += series.points.len() as u64;
                let labels: Vec<_> = series.series.labels.clone().into_iter().collect();
                keys.extend(series.points.iter().map(|p| {
                    (
                        node.to_string(),
                        series.series.name.clone(),
                        labels.clone(),
                        p.timestamp_ms,
                    )
                }));
            }
        }
    }
    (keys, points)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_restart_loses_no_metric_and_no_deploy() {
    let root_dir = tempfile::tempdir().unwrap();
    let root = root_dir.path().to_path_buf();
    let home = root.join("home");
    let (api_port, agent_port, app_port) = (free_port(), free_port(), free_port());
    let api = format!("127.0.0.1:{api_port}");
    let agents_addr = format!("127.0.0.1:{agent_port}");

    let (mut server, fingerprint) = serve(&root, &api, &agents_addr);
    login(&home, &api);
    let mut handles = Vec::new();
    for (name, ip) in [("a", "127.0.0.2"), ("b", "127.0.0.3")] {
        let enrolment = pilot_json(&home, &["node", "add", name]);
        let token = NodeToken::parse(enrolment["token"].as_str().unwrap()).unwrap();
        let mut options = AgentOptions::new(
            root.join(format!("node-{name}")),
            agents_addr.clone(),
            token,
        );
        options.tls = ServerTls::Pinned(fingerprint);
        options.runtime = RuntimeKind::Host;
        options.metrics_interval = Duration::from_millis(250);
        options.backoff_min = Duration::from_millis(100);
        options.backoff_max = Duration::from_secs(1);
        options.public_ip = ip.parse().unwrap();
        handles.push((name, Agent::start(options).await.unwrap()));
    }
    let app = slow_app(&root);
    let port = app_port.to_string();
    pilot_ok(
        &home,
        &[
            "project",
            "create",
            "shop",
            "--dir",
            app.to_str().unwrap(),
            "--node",
            "a,b",
            "--port",
            &port,
        ],
    );
    pilot_ok(
        &home,
        &[
            "deploy",
            "shop",
            "--dir",
            app.to_str().unwrap(),
            "--no-wait",
        ],
    );

    // Kill the server while both nodes build, then start it again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        handles.iter().all(|(_, h)| h.status().commands_running > 0),
        "the deploy runs"
    );
    server.kill();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (mut server, again) = serve(&root, &api, &agents_addr);
    assert_eq!(again, fingerprint, "the certificate survives a restart");

    // The agents reconnect.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !handles
        .iter()
        .all(|(_, h)| h.status().connected && h.status().connections >= 2)
    {
        assert!(
            Instant::now() < deadline,
            "agents did not reconnect: {:?}",
            handles.iter().map(|(_, h)| h.status()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The deploy finished on both nodes and its journals reached the new server.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed = pilot_json(&home, &["project", "show", "shop"]);
        let text = listed.to_string();
        let done = ["a", "b"].iter().all(|node| {
            listed["deployments"].as_array().is_some_and(|ds| {
                ds.iter()
                    .any(|d| d["node"] == *node && d["deployment"]["state"] == "succeeded")
            })
        });
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the deploy was not reported finished: {text}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    wait_http(
        &format!("127.0.0.2:{app_port}"),
        "/",
        "python-hello v1",
        Duration::from_secs(10),
    );
    wait_http(
        &format!("127.0.0.3:{app_port}"),
        "/",
        "python-hello v1",
        Duration::from_secs(10),
    );

    // Let metrics flow over the new connection, then remove the project
    // (its apps stop) and stop the agents.
    tokio::time::sleep(Duration::from_secs(2)).await;
    pilot_ok(&home, &["project", "remove", "shop"]);
    let mut collected = 0;
    let mut pending = BTreeSet::new();
    for (name, handle) in handles {
        let status = handle.shutdown().await.unwrap();
        assert_eq!(status.batches_dropped, 0, "node {name} dropped batches");
        collected += status.samples_collected;
        let spool =
            MetricSpool::open(root.join(format!("node-{name}/agent/metrics")), u64::MAX).unwrap();
        for (_, batch) in spool.pending().unwrap() {
            pending.extend(batch.samples.into_iter().map(|s| {
                let labels = s.labels.into_iter().collect();
                (batch.node.clone(), s.name, labels, s.timestamp_ms)
            }));
        }
    }
    server.stop(Duration::from_secs(30));
    drop(server);

    let db = Database::open_sqlite(&root.join("server/metrics.db"), SqliteDurability::Full)
        .await
        .unwrap();
    let metrics = TimeseriesStore::open(db, TimeseriesOptions::default())
        .await
        .unwrap();
    let (mut stored, mut points) = stored_samples(&metrics, "a").await;
    let (stored_b, points_b) = stored_samples(&metrics, "b").await;
    stored.extend(stored_b);
    points += points_b;
    assert!(collected > 0);
    // A batch whose acknowledgement the stopping agent did not get is both
    // stored and still queued (it is sent again, and stored once, later).
    let queued_only = pending.difference(&stored).count() as u64;
    println!(
        "samples collected {collected}, stored {}, still queued on the nodes {} ({queued_only} not stored yet)",
        stored.len(),
        pending.len()
    );
    assert_eq!(points, stored.len() as u64, "no sample is stored twice");
    assert_eq!(
        stored.len() as u64 + queued_only,
        collected,
        "every collected sample is stored or still queued, and nothing else is"
    );
}
