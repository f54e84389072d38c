//! A [`TestServer`] served on a loopback port, whose nodes answer from a
//! script, for tests of the client and the CLI.

use std::net::SocketAddr;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use pilot_core::engine::{
    DeployEvent, DeployEventKind, DeployState, Deployment, DeploymentKind, StepKind,
};
use pilot_core::output::Stream;
use pilot_core::protocol::{Command, CommandOutcome};
use pilot_core::source::SourceSpec;
use pilot_server::CommandUpdate;
use pilot_server::testing::{FakeNodes, TestServer};
use tokio::sync::watch;

pub use super::{BAD_CONFIG, CONFIG};
pub use pilot_server::testing::{ADMIN_PASSWORD, VIEWER_PASSWORD};

/// The line every scripted build prints.
pub const BUILD_LINE: &str = "building the app";

/// Nodes that answer from [`script`]: deploys and rollbacks report a build
/// step with one line of output and succeed with generation 1 (nodes named
/// `bad-*` fail their build), log requests answer two lines.
pub fn scripted_nodes() -> FakeNodes {
    FakeNodes::with_responder(Box::new(script))
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
        event(DeployEvent {
            deployment: id.clone(),
            project: project.to_string(),
            kind: DeployEventKind::StepStarted {
                step: StepKind::Build,
            },
        }),
        event(DeployEvent {
            deployment: id.clone(),
            project: project.to_string(),
            kind: DeployEventKind::Log {
                stream: Stream::Stdout,
                line: BUILD_LINE.to_string(),
            },
        }),
    ];
    if failing {
        updates.push(event(DeployEvent {
            deployment: id.clone(),
            project: project.to_string(),
            kind: DeployEventKind::StepFailed {
                step: StepKind::Build,
                error: "exit status 1".into(),
            },
        }));
        updates.push(CommandUpdate::Journal(Box::new(journal)));
        updates.push(CommandUpdate::Finished(CommandOutcome::Failed {
            error: "build failed: exit status 1".into(),
        }));
        return updates;
    }
    updates.push(event(DeployEvent {
        deployment: id.clone(),
        project: project.to_string(),
        kind: DeployEventKind::StepFinished {
            step: StepKind::Build,
            duration_ms: 1200,
        },
    }));
    updates.push(event(DeployEvent {
        deployment: id.clone(),
        project: project.to_string(),
        kind: DeployEventKind::Finished {
            state: DeployState::Succeeded,
            reason: None,
        },
    }));
    updates.push(CommandUpdate::Journal(Box::new(journal)));
    updates.push(CommandUpdate::Finished(CommandOutcome::Succeeded {
        deployment: Some(id),
        generation: Some(1),
    }));
    updates
}

/// The API under test, served on 127.0.0.1 until dropped, with nodes
/// `web-1` (online), `web-2` (offline) and `bad-1` (online, fails builds);
/// the server's parts are reached through `Deref`.
pub struct ServedApi {
    pub server: TestServer,
    pub addr: SocketAddr,
    /// `GET /api/v1/rollouts/...` requests answered so far.
    pub rollout_reads: watch::Sender<usize>,
    /// While set, the event WebSocket answers 503.
    pub live_off: Arc<AtomicBool>,
}

impl Deref for ServedApi {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl ServedApi {
    /// Builds and serves the API.
    pub async fn start() -> Self {
        let mut server = TestServer::builder()
            .nodes(scripted_nodes())
            .node("web-1", true)
            .node("web-2", false)
            .node("bad-1", true)
            .build()
            .await;
        let rollout_reads = watch::Sender::new(0usize);
        let counter = rollout_reads.clone();
        let live_off = Arc::new(AtomicBool::new(false));
        let refuse_live = live_off.clone();
        let app =
            server
                .router()
                .layer(middleware::from_fn(move |request: Request, next: Next| {
                    let counter = counter.clone();
                    let refuse_live = refuse_live.load(Ordering::SeqCst);
                    async move {
                        if refuse_live && request.uri().path() == "/api/v1/ws" {
                            let body = serde_json::json!({"error": {
                            "code": "unavailable", "message": "live events are off"}});
                            return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body))
                                .into_response();
                        }
                        let is_read = request.method() == Method::GET
                            && request.uri().path().starts_with("/api/v1/rollouts/");
                        let response = next.run(request).await;
                        if is_read {
                            counter.send_modify(|reads| *reads += 1);
                        }
                        response
                    }
                }));
        let addr = server.serve(app).await;
        ServedApi {
            server,
            addr,
            rollout_reads,
            live_off,
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
