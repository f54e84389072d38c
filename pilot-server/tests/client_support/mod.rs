//! A real API served on a loopback port, over a temporary SQLite store,
//! real secrets and metrics stores, the real deployer and scripted nodes,
//! for tests of the client and the CLI.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use pilot_core::SecretStore;
use pilot_core::TopProcesses;
use pilot_core::engine::{DeployEvent, DeployState, Deployment, DeploymentKind, StepKind};
use pilot_core::output::Stream;
use pilot_core::protocol::{Command, CommandId, CommandOutcome};
use pilot_core::source::SourceSpec;
use pilot_server::api::types::NodeConnection;
use pilot_server::api::{ApiSettings, AppParts, AppState, NodeInfo, router};
use pilot_server::deploy::Deployer;
use pilot_server::{CommandRun, CommandUpdate, EventBus, LinkError, NodeLink};
use pilot_store::records::Role;
use pilot_store::{
    Database, MasterKey, SqlSecretStore, SqlStore, SqliteDurability, TimeseriesOptions,
    TimeseriesStore,
};
use tempfile::TempDir;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// The admin's password.
pub const ADMIN_PASSWORD: &str = "correct horse battery";
/// The viewer's password.
pub const VIEWER_PASSWORD: &str = "viewer password 1";
/// The line every scripted build prints.
pub const BUILD_LINE: &str = "building the app";

/// A valid app config referring to the secret `DB_PASSWORD`.
pub const CONFIG: &str = r#"{
  "name": "Shop",
  "type": "python",
  "runtime": { "python": "3.11" },
  "start": { "command": "python3 app.py" },
  "env": { "DATABASE_URL": "postgresql://app:{{DB_PASSWORD}}@localhost/app" }
}"#;

/// A config with two problems.
pub const BAD_CONFIG: &str = r#"{
  "name": "Shop",
  "type": "python",
  "runtime": { "python": "2.1" },
  "start": { "command": "" }
}"#;

/// Agents that answer from a script: deploys and rollbacks report a build
/// step with one line of output and succeed with generation 1 (nodes named
/// `bad-*` fail their build), log requests answer two lines. While held,
/// answers wait until [`ScriptedNodes::release`].
pub struct ScriptedNodes {
    online: Mutex<BTreeSet<String>>,
    sent: Mutex<Vec<(String, Command)>>,
    open: watch::Sender<bool>,
    next_id: AtomicU64,
}

impl ScriptedNodes {
    /// Nodes answering at once.
    pub fn new() -> Self {
        ScriptedNodes {
            online: Mutex::new(BTreeSet::new()),
            sent: Mutex::new(Vec::new()),
            open: watch::Sender::new(true),
            next_id: AtomicU64::new(1),
        }
    }

    /// Makes answers wait until [`ScriptedNodes::release`].
    pub fn hold(&self) {
        self.open.send_replace(false);
    }

    /// Lets every held and future answer through.
    pub fn release(&self) {
        self.open.send_replace(true);
    }

    /// Marks a node connected.
    pub fn set_online(&self, node: &str) {
        self.online.lock().unwrap().insert(node.to_string());
    }

    /// Every command sent so far.
    pub fn sent(&self) -> Vec<(String, Command)> {
        self.sent.lock().unwrap().clone()
    }
}

/// What a scripted node answers to `command`.
fn script(node: &str, command: &Command) -> Vec<CommandUpdate> {
    let project = command.project().to_string();
    match command {
        Command::Deploy { .. } | Command::Rollback { .. } => deploy_script(node, &project),
        Command::Logs { .. } => vec![
            CommandUpdate::Log(vec![format!("{node} line 1"), format!("{node} line 2")]),
            CommandUpdate::Finished(CommandOutcome::Succeeded {
                deployment: None,
                generation: None,
            }),
        ],
        _ => vec![CommandUpdate::Finished(CommandOutcome::Succeeded {
            deployment: None,
            generation: None,
        })],
    }
}

fn deploy_script(node: &str, project: &str) -> Vec<CommandUpdate> {
    let journal = Deployment::new(
        project,
        DeploymentKind::Deploy {
            source: SourceSpec::Dir {
                path: "/srv/app".into(),
            },
            config: None,
        },
        pilot_core::config::Strategy::BlueGreen,
        1,
        None,
        &[StepKind::Build],
    );
    let id = journal.id.clone();
    let event = |e: DeployEvent| CommandUpdate::Progress(e);
    let failing = node.starts_with("bad-");
    let mut updates = vec![
        event(DeployEvent::StepStarted {
            deployment: id.clone(),
            project: project.to_string(),
            step: StepKind::Build,
        }),
        event(DeployEvent::Log {
            deployment: id.clone(),
            project: project.to_string(),
            stream: Stream::Stdout,
            line: BUILD_LINE.to_string(),
        }),
    ];
    if failing {
        updates.push(event(DeployEvent::StepFailed {
            deployment: id.clone(),
            project: project.to_string(),
            step: StepKind::Build,
            error: "exit status 1".into(),
        }));
        updates.push(CommandUpdate::Journal(Box::new(journal)));
        updates.push(CommandUpdate::Finished(CommandOutcome::Failed {
            error: "build failed: exit status 1".into(),
        }));
        return updates;
    }
    updates.push(event(DeployEvent::StepFinished {
        deployment: id.clone(),
        project: project.to_string(),
        step: StepKind::Build,
        duration_ms: 1200,
    }));
    updates.push(event(DeployEvent::Finished {
        deployment: id.clone(),
        project: project.to_string(),
        state: DeployState::Succeeded,
        reason: None,
    }));
    updates.push(CommandUpdate::Journal(Box::new(journal)));
    updates.push(CommandUpdate::Finished(CommandOutcome::Succeeded {
        deployment: Some(id),
        generation: Some(1),
    }));
    updates
}

#[async_trait]
impl NodeLink for ScriptedNodes {
    fn online(&self) -> Vec<String> {
        self.online.lock().unwrap().iter().cloned().collect()
    }

    async fn send(&self, node: &str, command: Command) -> Result<CommandRun, LinkError> {
        if !self.is_online(node) {
            return Err(LinkError::NodeOffline {
                node: node.to_string(),
            });
        }
        let id = CommandId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let updates = script(node, &command);
        self.sent.lock().unwrap().push((node.to_string(), command));
        let (tx, rx) = mpsc::channel(updates.len().max(1));
        let mut open = self.open.subscribe();
        tokio::spawn(async move {
            if open.wait_for(|open| *open).await.is_err() {
                return;
            }
            for update in updates {
                if tx.send(update).await.is_err() {
                    return;
                }
            }
        });
        Ok(CommandRun::new(id, node, rx))
    }

    fn disconnect(&self, node: &str) {
        self.online.lock().unwrap().remove(node);
    }
}

/// No connection details or process reports.
struct NoInfo;

impl NodeInfo for NoInfo {
    fn top_processes(&self, _node: &str) -> Option<TopProcesses> {
        None
    }

    fn connection(&self, _node: &str) -> Option<NodeConnection> {
        None
    }
}

/// The API under test, served on 127.0.0.1 until dropped.
pub struct TestServer {
    pub dir: TempDir,
    pub state: AppState,
    pub nodes: Arc<ScriptedNodes>,
    pub addr: SocketAddr,
    /// `GET /api/v1/rollouts/...` requests answered so far.
    pub rollout_reads: watch::Sender<usize>,
    /// While set, the event WebSocket answers 503.
    pub live_off: Arc<AtomicBool>,
    stop: CancellationToken,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TestServer {
    /// A server with nodes `web-1` (online), `web-2` (offline) and
    /// `bad-1` (online, fails builds), an admin `ada` and a viewer `vic`.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::open_sqlite(&dir.path().join("pilot.db"), SqliteDurability::Normal)
            .await
            .expect("open database");
        let store = SqlStore::new(db.clone());
        let secrets = Arc::new(SqlSecretStore::with_key(db.clone(), MasterKey::generate()));
        let metrics = Arc::new(
            TimeseriesStore::open(db, TimeseriesOptions::default())
                .await
                .expect("open timeseries"),
        );
        let nodes = Arc::new(ScriptedNodes::new());
        for node in ["web-1", "web-2", "bad-1"] {
            store.register_node(node).await.expect("register node");
        }
        nodes.set_online("web-1");
        nodes.set_online("bad-1");
        store
            .create_user("ada", ADMIN_PASSWORD, Role::Admin)
            .await
            .expect("admin");
        store
            .create_user("vic", VIEWER_PASSWORD, Role::Viewer)
            .await
            .expect("viewer");
        let link: Arc<dyn NodeLink> = nodes.clone();
        let events = EventBus::default();
        let deployer = Deployer::new(
            store.clone(),
            secrets.clone() as Arc<dyn SecretStore>,
            link.clone(),
            events.clone(),
        );
        let settings = ApiSettings::new(
            b"test signing key of thirty-two bytes!".to_vec(),
            dir.path(),
        );
        let state = AppState::new(AppParts {
            store,
            secrets,
            metrics,
            nodes: link,
            node_info: Arc::new(NoInfo),
            deployer,
            events,
            settings,
        });
        let rollout_reads = watch::Sender::new(0usize);
        let counter = rollout_reads.clone();
        let live_off = Arc::new(AtomicBool::new(false));
        let refuse_live = live_off.clone();
        let app = router(state.clone()).layer(middleware::from_fn(
            move |request: Request, next: Next| {
                let counter = counter.clone();
                let refuse_live = refuse_live.load(Ordering::SeqCst);
                async move {
                    if refuse_live && request.uri().path() == "/api/v1/ws" {
                        let body = serde_json::json!({"error": {
                            "code": "unavailable", "message": "live events are off"}});
                        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
                    }
                    let is_read = request.method() == Method::GET
                        && request.uri().path().starts_with("/api/v1/rollouts/");
                    let response = next.run(request).await;
                    if is_read {
                        counter.send_modify(|reads| *reads += 1);
                    }
                    response
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, service)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
        });
        TestServer {
            dir,
            state,
            nodes,
            addr,
            rollout_reads,
            live_off,
            stop,
        }
    }

    /// The base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client of this server, not logged in.
    pub fn client(&self) -> pilot_server::client::Client {
        pilot_server::client::Client::new(&self.url()).expect("client")
    }

    /// A client logged in as the admin.
    pub async fn admin(&self) -> pilot_server::client::Client {
        let client = self.client();
        let session = client.login("ada", ADMIN_PASSWORD).await.expect("login");
        client.with_token(session.token)
    }

    /// A client logged in as the viewer.
    pub async fn viewer(&self) -> pilot_server::client::Client {
        let client = self.client();
        let session = client.login("vic", VIEWER_PASSWORD).await.expect("login");
        client.with_token(session.token)
    }

    /// Holds node answers until the client read a rollout `reads` times
    /// in total, then releases them (after that read was answered).
    pub fn release_after_rollout_reads(&self, reads: usize) {
        self.nodes.hold();
        let nodes = self.nodes.clone();
        let mut answered = self.rollout_reads.subscribe();
        tokio::spawn(async move {
            if answered.wait_for(|n| *n >= reads).await.is_ok() {
                nodes.release();
            }
        });
    }

    /// An app directory with a config, an app file and a `.git` directory.
    pub fn app_dir(&self, name: &str, config: &str) -> PathBuf {
        let dir = self.dir.path().join("apps").join(name);
        std::fs::create_dir_all(dir.join(".git")).expect("app dir");
        std::fs::write(dir.join("config.vpspilot.json"), config).expect("config");
        std::fs::write(dir.join("app.py"), "print('hello')\n").expect("app");
        std::fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").expect("git head");
        dir
    }
}

/// The names of the entries of a `.tar.gz`.
pub fn archive_names(archive: &[u8]) -> Vec<String> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    tar.entries()
        .expect("entries")
        .map(|e| {
            e.expect("entry")
                .path()
                .expect("path")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// Whether `path` exists below `root`.
pub fn exists(root: &Path, path: &str) -> bool {
    root.join(path).exists()
}
