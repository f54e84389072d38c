//! `pilot up`: a server and an in-process agent (node `local`) in one
//! process, and optionally an app directory deployed on it.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pilot_agent::{AgentHandle, AgentOptions, RuntimeKind, ServerTls};
use pilot_core::protocol::{Command, CommandOutcome, DEFAULT_PORT, NodeToken};
use pilot_store::records::{NewProject, ProjectSource, ProjectStatus};

use crate::deploy::{DeployOrder, Rollout, RolloutStatus};
use crate::error::{Error, Result};
use crate::events::ServerEvent;
use crate::server::{RunningServer, ServerOptions, start};

/// The node name of the in-process agent.
pub const LOCAL_NODE: &str = "local";

/// How long stopping one app may take when `pilot up` ends.
const STOP_WAIT: Duration = Duration::from_secs(30);

/// How long the in-process agent may take to connect.
const CONNECT_WAIT: Duration = Duration::from_secs(20);

/// What `pilot up` runs.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// The server's options (data directory, listen addresses, ...).
    pub server: ServerOptions,
    /// An app directory to create as a project and deploy.
    pub app_dir: Option<PathBuf>,
    /// The project's name (default: from the directory name).
    pub project: Option<String>,
    /// Toolchains of the local agent (default: Nix when `nix` is on PATH,
    /// the host's otherwise).
    pub runtime: RuntimeKind,
}

impl UpOptions {
    /// `pilot up` defaults: data in `./pilot-data`, API on 127.0.0.1:8080,
    /// agents on 127.0.0.1:55001 (TLS, self-signed).
    pub fn new(app_dir: Option<PathBuf>) -> Self {
        let mut server = ServerOptions::new("pilot-data");
        server.agent_listen = SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT));
        UpOptions {
            server,
            app_dir,
            project: None,
            runtime: RuntimeKind::Auto,
        }
    }
}

/// The deployed app of a `pilot up`.
#[derive(Debug, Clone)]
pub struct UpApp {
    /// The project name.
    pub project: String,
    /// Where the app answers, when its deploy succeeded.
    pub url: Option<String>,
    /// How its deploy went.
    pub rollout: Rollout,
}

/// A running `pilot up`.
pub struct Up {
    /// The server.
    pub server: RunningServer,
    /// The in-process agent.
    pub agent: AgentHandle,
    /// The app deployed from the given directory, if any.
    pub app: Option<UpApp>,
    /// A session token of the `admin` user, for the CLI's config.
    pub admin_token: String,
}

impl Up {
    /// Stops the apps of node `local`, the agent and the server. Releases
    /// and data stay for the next start (`pilot project start` or another
    /// deploy brings an app back).
    pub async fn shutdown(self) {
        self.stop_local_apps().await;
        if let Err(e) = self.agent.shutdown().await {
            tracing::warn!(error = %e, "the local agent did not stop cleanly");
        }
        self.server.shutdown().await;
    }
}

impl Up {
    async fn stop_local_apps(&self) {
        let state = self.server.state();
        let projects = match state.store.projects().await {
            Ok(projects) => projects,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list projects to stop");
                return;
            }
        };
        for project in projects
            .iter()
            .filter(|p| p.nodes.iter().any(|n| n == LOCAL_NODE))
        {
            let stop = Command::Stop {
                project: project.name.clone(),
            };
            let stopped = match state.nodes.send(LOCAL_NODE, stop).await {
                Ok(run) => tokio::time::timeout(STOP_WAIT, run.outcome(|_| {})).await,
                Err(e) => {
                    tracing::warn!(project = %project.name, error = %e, "cannot stop app");
                    continue;
                }
            };
            match stopped {
                Ok(Ok(CommandOutcome::Succeeded { .. })) if project.nodes.len() == 1 => {
                    if let Err(e) = state
                        .store
                        .set_project_status(&project.name, ProjectStatus::Stopped)
                        .await
                    {
                        tracing::warn!(project = %project.name, error = %e, "cannot record project status");
                    }
                }
                Ok(Ok(CommandOutcome::Succeeded { .. })) => {}
                other => {
                    tracing::warn!(project = %project.name, outcome = ?other, "the app did not stop cleanly")
                }
            }
        }
    }
}

/// Starts a server and a local agent, waits for the agent to connect, and
/// deploys `options.app_dir` when given; `on_event` sees the deploy's
/// progress.
pub async fn up(
    options: UpOptions,
    on_event: impl Fn(&ServerEvent) + Send + Sync + 'static,
) -> Result<Up> {
    let data_dir = options.server.data_dir.clone();
    let server = start(options.server).await?;
    let token = local_token(&server, &data_dir).await?;
    let mut agent_options = AgentOptions::new(
        data_dir.join("agent"),
        SocketAddr::from((Ipv4Addr::LOCALHOST, server.agent_addr().port())).to_string(),
        token,
    );
    agent_options.runtime = options.runtime;
    if let Some(fingerprint) = server.cert_fingerprint() {
        agent_options.tls = ServerTls::Pinned(fingerprint);
    }
    let agent = pilot_agent::Agent::start(agent_options).await?;
    wait_online(&server).await?;

    let admin_token = admin_token(&server).await?;
    let app = match &options.app_dir {
        Some(dir) => Some(deploy_dir(&server, dir, options.project.as_deref(), on_event).await?),
        None => None,
    };
    Ok(Up {
        server,
        agent,
        app,
        admin_token,
    })
}

/// The token of node `local`: registered on first start and kept in
/// `<data>/local-node.token` (mode 0600).
async fn local_token(server: &RunningServer, data_dir: &Path) -> Result<NodeToken> {
    let path = data_dir.join("local-node.token");
    let store = &server.state().store;
    if store.node(LOCAL_NODE).await?.is_some()
        && let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(token) = NodeToken::parse(text.trim())
        && store.authenticate_node(token.expose()).await?.is_some()
    {
        return Ok(token);
    }
    let token = match store.node(LOCAL_NODE).await? {
        Some(_) => store.rotate_node_token(LOCAL_NODE).await?,
        None => store.register_node(LOCAL_NODE).await?.1,
    };
    pilot_core::fsutil::write_atomic(&path, token.expose().as_bytes(), 0o600)?;
    Ok(token)
}

async fn wait_online(server: &RunningServer) -> Result<()> {
    let nodes = &server.state().nodes;
    let deadline = tokio::time::Instant::now() + CONNECT_WAIT;
    while !nodes.is_online(LOCAL_NODE) {
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::LocalAgent {
                reason: format!(
                    "it did not connect to {} within {} s; see the log above",
                    server.agent_addr(),
                    CONNECT_WAIT.as_secs()
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn admin_token(server: &RunningServer) -> Result<String> {
    let state = server.state();
    let admin = state
        .store
        .user(crate::server::FIRST_ADMIN)
        .await?
        .ok_or_else(|| Error::LocalAgent {
            reason: "the admin user is missing; log in with `pilot login` instead".into(),
        })?;
    let session = crate::api::issue_session(state, admin)
        .await
        .map_err(|e| Error::LocalAgent {
            reason: format!("cannot issue a session for the CLI: {e}"),
        })?;
    Ok(session.token)
}

/// Creates (first time) and deploys the project of an app directory.
async fn deploy_dir(
    server: &RunningServer,
    dir: &Path,
    name: Option<&str>,
    on_event: impl Fn(&ServerEvent) + Send + Sync + 'static,
) -> Result<UpApp> {
    let config = pilot_core::config::load(dir).map_err(pilot_core::Error::from)?;
    let project = match name {
        Some(name) => name.to_string(),
        None => project_name(dir)?,
    };
    let state = server.state();
    if state.store.project(&project).await?.is_none() {
        state
            .store
            .create_project(NewProject {
                name: project.clone(),
                config,
                nodes: vec![LOCAL_NODE.to_string()],
                public_port: None,
                source: ProjectSource::Upload,
            })
            .await?;
    } else {
        state.store.record_source_config(&project, &config).await?;
    }
    let data_dir = server.state().settings.data_dir.clone();
    let archive =
        crate::client::pack_dir_excluding(dir, &[data_dir]).map_err(|e| Error::InvalidRequest {
            project: project.clone(),
            reason: format!("cannot pack {}: {e}", dir.display()),
        })?;
    let mut events = state.events.subscribe();
    let rollout = state
        .deployer
        .deploy(DeployOrder {
            project: project.clone(),
            archive: Some(archive),
            requested_by: "pilot up".into(),
            ..DeployOrder::default()
        })
        .await?;
    let id = rollout.id.clone();
    let forward = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            match &*event {
                ServerEvent::Deploy { rollout, .. } if *rollout == id => on_event(&event),
                ServerEvent::RolloutFinished { rollout, .. } if *rollout == id => {
                    on_event(&event);
                    return;
                }
                _ => {}
            }
        }
    });
    let rollout = state.deployer.wait(&rollout.id).await.unwrap_or(rollout);
    // The finished event was published before `wait` returned.
    let _ = tokio::time::timeout(Duration::from_secs(1), forward).await;
    let url = app_url(server, &rollout).await?;
    Ok(UpApp {
        project,
        url,
        rollout,
    })
}

/// `http://127.0.0.1:<public port>/` of a successful rollout.
async fn app_url(server: &RunningServer, rollout: &Rollout) -> Result<Option<String>> {
    if rollout.status != RolloutStatus::Succeeded {
        return Ok(None);
    }
    let Some(id) = rollout.nodes.first().and_then(|n| n.deployment.clone()) else {
        return Ok(None);
    };
    let record = server.state().store.deployment(&id).await?;
    Ok(record
        .and_then(|r| r.deployment.public_port)
        .map(|port| format!("http://127.0.0.1:{port}/")))
}

/// A project name from a directory name: lowercase letters, digits, '-'.
fn project_name(dir: &Path) -> Result<String> {
    let base = std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches('-').to_string();
    if name.is_empty() {
        return Err(Error::InvalidRequest {
            project: base,
            reason: "cannot derive a project name from the directory; pass --project NAME".into(),
        });
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_come_from_directory_names() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("My_App.v2");
        std::fs::create_dir(&app).unwrap();
        assert_eq!(project_name(&app).unwrap(), "my-app-v2");
    }
}
