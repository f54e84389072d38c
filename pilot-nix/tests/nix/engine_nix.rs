//! End to end: the sample apps deploy through the core engine with
//! `NixRuntime` and `FlakeBuilder` (against the stub, whose Python and
//! Node.js wrap the host's), on the real supervisor and proxy; a rollback
//! starts the kept generation again without building.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::support::NixTestbed;
use pilot_core::engine::{Engine, EngineOptions, EngineParts, EventLog, NewRelease};
use pilot_core::proxy::Proxy;
use pilot_core::source::SourceSpec;
use pilot_core::supervisor::Supervisor;
use pilot_core::{MemorySecretStore, NodeLayout};
use pilot_nix::{FlakeBuilder, NixRuntime};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/apps")
        .join(name)
}

/// Copies a sample app to `dir`, with fast health checks on `port`.
fn copy_app(name: &str, dir: &Path, port: u16, edit: impl FnOnce(&Path)) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(sample(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let path = dir.join("config.vpspilot.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["port"] = port.into();
    let d = &mut config["deployment"];
    d["healthcheck_interval"] = 0.2.into();
    d["healthcheck_timeout"] = 1.0.into();
    d["healthcheck_start_period"] = 10.into();
    d["watch_seconds"] = 0.5.into();
    d["drain_seconds"] = 1.into();
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    edit(dir);
    dir.to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn engine(bed: &NixTestbed, data: &Path) -> Engine {
    let layout = NodeLayout::new(data);
    let services = Supervisor::open(layout.supervisor_dir()).await.unwrap();
    Engine::new(
        EngineParts {
            layout,
            runtime: Arc::new(NixRuntime::new(bed.options.clone())),
            builder: Arc::new(FlakeBuilder::new(bed.options.clone())),
            services,
            router: Proxy::new(),
            secrets: Arc::new(MemorySecretStore::new()),
            events: Arc::new(EventLog::new()),
        },
        EngineOptions {
            public_ip: "127.0.0.1".parse().unwrap(),
            stop_timeout: Duration::from_secs(3),
            ..EngineOptions::default()
        },
    )
}

/// One HTTP GET; returns the body of a 200 response.
async fn get(port: u16, path: &str) -> String {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_hello_deploys_with_nix_and_rolls_back_without_building() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let engine = engine(&bed, &data).await;
    let port = free_port();
    let v1 = copy_app("python-hello", &tmp.path().join("v1"), port, |_| {});
    let first = engine
        .deploy(NewRelease::new("hello", SourceSpec::Dir { path: v1 }))
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    assert_eq!(get(port, "/").await, "hello from python-hello v1");

    let release = data
        .join("projects/hello/releases")
        .join(format!("1-{}", first.version.clone().unwrap()));
    let info: Value = serde_json::from_str(
        &std::fs::read_to_string(release.join(".pilot/release.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(info["runtime"], "nix");
    let python = bed.versions.of("python311");
    assert_eq!(info["toolchain"], format!("python {python} (nix)"));
    assert!(
        info["toolchain_env"]["PATH"]
            .as_str()
            .unwrap()
            .starts_with("/nix/store/")
    );
    assert!(
        release.join(".pilot/nix/result/bin/python-hello").exists(),
        "the launcher is built and rooted"
    );

    let v2 = copy_app("python-hello", &tmp.path().join("v2"), port, |dir| {
        std::fs::write(dir.join("VERSION"), "v2\n").unwrap();
    });
    engine
        .deploy(NewRelease::new("hello", SourceSpec::Dir { path: v2 }))
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    assert_eq!(get(port, "/").await, "hello from python-hello v2");

    let build_log = release.join(".pilot/nix/build.log");
    let built_at = std::fs::metadata(&build_log).unwrap().modified().unwrap();
    let rollback = engine
        .rollback("hello", Some(1))
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    assert!(
        rollback
            .steps
            .iter()
            .all(|s| s.step != pilot_core::engine::StepKind::Build),
        "a rollback has no build step"
    );
    assert_eq!(get(port, "/").await, "hello from python-hello v1");
    assert_eq!(
        std::fs::metadata(&build_log).unwrap().modified().unwrap(),
        built_at,
        "no rebuild"
    );

    for generation in [1, 2] {
        engine
            .parts()
            .services
            .remove(&pilot_core::engine::service_name("hello", generation))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_hello_deploys_with_nix() {
    let Some(bed) = NixTestbed::new() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let engine = engine(&bed, &data).await;
    let port = free_port();
    let app = copy_app("node-hello", &tmp.path().join("app"), port, |_| {});
    let done = engine
        .deploy(NewRelease::new("node", SourceSpec::Dir { path: app }))
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    assert_eq!(get(port, "/").await, "hello from node-hello 1.0.0");
    let log = std::fs::read_to_string(
        data.join("logs/node")
            .join(format!("deploy-{}.log", done.id)),
    )
    .unwrap();
    let node = bed.versions.of("nodejs_20");
    assert!(
        log.contains(&format!("toolchain (nix): node {node} (nix)")),
        "{log}"
    );
    engine
        .parts()
        .services
        .remove(&pilot_core::engine::service_name("node", done.generation))
        .await
        .unwrap();
}
