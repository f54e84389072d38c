//! Shared helpers of the engine integration tests: sample app versions, an
//! engine on real components, and an HTTP client that records every request.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pilot_core::engine::{Engine, EngineOptions, EngineParts, EventSink};
use pilot_core::proxy::Proxy;
use pilot_core::router::Router;
use pilot_core::supervisor::Supervisor;
use pilot_core::{CommandsBuilder, HostRuntime, MemorySecretStore, NodeLayout};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The repository's sample Python app.
pub fn python_app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/apps/python-hello")
}

/// Copies the sample Python app to `dir/<version>` with VERSION set, applying
/// `edit` to its config, and returns the directory.
pub fn app_version(dir: &Path, version: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let out = dir.join(version);
    std::fs::create_dir_all(&out).unwrap();
    for file in ["app.py", "config.vpspilot.json"] {
        std::fs::copy(python_app().join(file), out.join(file)).unwrap();
    }
    std::fs::write(out.join("VERSION"), format!("{version}\n")).unwrap();
    let path = out.join("config.vpspilot.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut config);
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    out
}

/// A free port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Fast timings for tests: quick health polls, short watch and drain.
pub fn fast_deployment(config: &mut Value, port: u16) {
    config["port"] = port.into();
    let d = &mut config["deployment"];
    d["healthcheck_interval"] = 0.2.into();
    d["healthcheck_timeout"] = 1.0.into();
    d["healthcheck_retries"] = 2.into();
    d["healthcheck_start_period"] = 5.into();
    d["watch_seconds"] = 1.into();
    d["drain_seconds"] = 3.into();
}

/// An engine on the real supervisor, the given router, the host runtime and
/// an in-memory secret store.
pub async fn engine(
    data: &Path,
    router: Arc<dyn Router>,
    secrets: Arc<MemorySecretStore>,
    events: Arc<dyn EventSink>,
) -> Engine {
    let layout = NodeLayout::new(data);
    let services = Supervisor::open(layout.supervisor_dir()).await.unwrap();
    Engine::new(
        EngineParts {
            layout,
            runtime: Arc::new(HostRuntime::new()),
            builder: Arc::new(CommandsBuilder),
            services,
            router,
            secrets,
            events,
        },
        EngineOptions {
            public_ip: "127.0.0.1".parse().unwrap(),
            stop_timeout: Duration::from_secs(3),
            ..EngineOptions::default()
        },
    )
}

/// An engine with an in-process proxy.
pub async fn local_engine(
    data: &Path,
    events: Arc<dyn EventSink>,
) -> (Engine, Arc<MemorySecretStore>) {
    let secrets = Arc::new(MemorySecretStore::new());
    let engine = engine(data, Proxy::new(), secrets.clone(), events).await;
    (engine, secrets)
}

/// One HTTP GET on a new connection; returns the body.
pub async fn get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("incomplete response: {text:?}"))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("status: {}", head.lines().next().unwrap_or("")));
    }
    Ok(body.trim().to_string())
}

/// The version in a python-hello greeting ("hello from python-hello v2" → "v2").
pub fn version_of(body: &str) -> String {
    body.rsplit(' ').next().unwrap_or("").to_string()
}

/// One request a client made.
#[derive(Debug, Clone)]
pub struct Observation {
    /// When it started.
    pub start: Instant,
    /// When it ended.
    pub end: Instant,
    /// The version that answered, or the error.
    pub result: Result<String, String>,
}

/// Clients sending requests to a public port in a loop until stopped.
pub struct Load {
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Observation>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Starts `clients` clients against `addr`.
    pub fn start(addr: SocketAddr, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let tasks = (0..clients)
            .map(|_| {
                let stop = stop.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let start = Instant::now();
                        let result = get(addr, "/").await.map(|b| version_of(&b));
                        let end = Instant::now();
                        log.lock().unwrap().push(Observation { start, end, result });
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                })
            })
            .collect();
        Load { stop, log, tasks }
    }

    /// Stops the clients and returns every observation.
    pub async fn finish(self) -> Vec<Observation> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

/// Every process whose environment carries `PILOT_SUPERVISOR` pointing into `data`.
pub fn supervised_pids(data: &Path) -> Vec<(u32, String)> {
    let data = std::fs::canonicalize(data).unwrap_or_else(|_| data.to_path_buf());
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let vars: Vec<String> = environ
            .split(|b| *b == 0)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        let supervisor = vars
            .iter()
            .find_map(|v| v.strip_prefix("PILOT_SUPERVISOR="));
        let service = vars.iter().find_map(|v| v.strip_prefix("PILOT_SERVICE="));
        if let (Some(sup), Some(service)) = (supervisor, service)
            && Path::new(sup).starts_with(&data)
        {
            out.push((pid, service.to_string()));
        }
    }
    out
}

/// A temp dir with a data dir, an apps dir, a public port and a local engine.
pub struct Setup {
    /// Keeps the temp dir alive.
    pub tmp: tempfile::TempDir,
    /// The engine's data dir.
    pub data: PathBuf,
    /// Where app versions are written.
    pub apps: PathBuf,
    /// The public port of the test's project.
    pub port: u16,
    /// An engine with an in-process proxy.
    pub engine: Engine,
    /// The engine's secret store.
    pub secrets: Arc<MemorySecretStore>,
}

impl Setup {
    /// A fresh setup whose events go to `events`.
    pub async fn new(events: Arc<dyn EventSink>) -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let apps = tmp.path().join("apps");
        let (engine, secrets) = local_engine(&data, events).await;
        Setup {
            tmp,
            data,
            apps,
            port: free_port(),
            engine,
            secrets,
        }
    }

    /// The public address.
    pub fn public(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Writes app `version` with fast timings on this setup's port, then `edit`.
    pub fn app(&self, version: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
        app_version(&self.apps, version, |c| {
            fast_deployment(c, self.port);
            edit(c);
        })
    }

    /// Deploys `dir` as `project` and insists it succeeds.
    pub async fn deploy_ok(&self, project: &str, dir: PathBuf) -> pilot_core::Deployment {
        self.engine
            .deploy(pilot_core::NewRelease::new(
                project,
                pilot_core::source::SourceSpec::Dir { path: dir },
            ))
            .await
            .unwrap()
            .succeeded()
            .unwrap()
    }

    /// Deploys `dir` as `project` and returns the journal, whatever the outcome.
    pub async fn deploy(&self, project: &str, dir: PathBuf) -> pilot_core::Deployment {
        self.engine
            .deploy(pilot_core::NewRelease::new(
                project,
                pilot_core::source::SourceSpec::Dir { path: dir },
            ))
            .await
            .unwrap()
    }

    /// Removes every service the engine's supervisor runs.
    pub async fn stop_all(&self) {
        let services = &self.engine.parts().services;
        for status in services.list().await.unwrap() {
            services.remove(&status.name).await.unwrap();
        }
    }
}
