//! A whole Pilot server in one call: stores, agent listener, deploy
//! orchestration and the HTTP API, started by [`start`] and stopped by
//! [`RunningServer::shutdown`]. Used by `pilot serve`, `pilot up` and tests.

mod bootstrap;

pub use bootstrap::FIRST_ADMIN;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pilot_core::TopProcesses;
use pilot_core::protocol::{CertFingerprint, DEFAULT_PORT};
use pilot_store::TimeseriesStore;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::types::NodeConnection;
use crate::api::{self, AgentFacts, ApiSettings, AppParts, AppState};
use crate::deploy::Deployer;
use crate::error::{Error, Result};
use crate::events::EventBus;
use crate::hub::{Hub, HubOptions};

/// How often closed metric windows are compressed and old tiers pruned.
const COMPACTION_INTERVAL: Duration = Duration::from_secs(60);

/// How the agent listener secures its connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentTls {
    /// Plain TCP (agents on loopback only may receive secrets over it).
    Off,
    /// A self-signed certificate created on first start under
    /// `<data>/tls/` and reused after; agents pin its fingerprint.
    SelfSigned,
    /// A certificate and key from PEM files.
    Files {
        /// The certificate chain.
        cert: PathBuf,
        /// The private key.
        key: PathBuf,
    },
}

/// What a server needs to start.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where the databases, keys and temporary files live.
    pub data_dir: PathBuf,
    /// `postgres://...` for PostgreSQL; SQLite files under `data_dir` when absent.
    pub database_url: Option<String>,
    /// Where the HTTP API listens (default 127.0.0.1:8080).
    pub http_listen: SocketAddr,
    /// Where agents connect (default 0.0.0.0:55001).
    pub agent_listen: SocketAddr,
    /// The address agents are told to connect to (default: the listen
    /// address, with this machine's host name when it listens on all interfaces).
    pub agent_advertise: Option<String>,
    /// TLS of the agent listener (default self-signed).
    pub agent_tls: AgentTls,
    /// The first admin's password; generated (and shown once) when absent.
    pub admin_password: Option<String>,
    /// The server's public base URL, for webhook URLs.
    pub public_url: Option<String>,
    /// How often agents send heartbeats.
    pub heartbeat: Duration,
}

impl ServerOptions {
    /// Defaults with data under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        ServerOptions {
            data_dir: data_dir.into(),
            database_url: None,
            http_listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            agent_listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, DEFAULT_PORT)),
            agent_advertise: None,
            agent_tls: AgentTls::SelfSigned,
            admin_password: None,
            public_url: None,
            heartbeat: Duration::from_secs(10),
        }
    }
}

/// A started server; dropping it without [`shutdown`](Self::shutdown)
/// leaves its tasks running until the runtime ends.
pub struct RunningServer {
    http_addr: SocketAddr,
    agent_addr: SocketAddr,
    initial_admin_password: Option<String>,
    fingerprint: Option<CertFingerprint>,
    state: AppState,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// Where the HTTP API listens.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Where agents connect.
    pub fn agent_addr(&self) -> SocketAddr {
        self.agent_addr
    }

    /// The API's base URL, e.g. `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The generated password of the `admin` user, on the start that
    /// created it only.
    pub fn initial_admin_password(&self) -> Option<&str> {
        self.initial_admin_password.as_deref()
    }

    /// SHA-256 fingerprint (hex) of the agent listener's certificate, when TLS is on.
    pub fn fingerprint(&self) -> Option<String> {
        self.fingerprint.map(|f| f.to_string())
    }

    /// The agent listener's certificate fingerprint, for agents to pin.
    pub fn cert_fingerprint(&self) -> Option<CertFingerprint> {
        self.fingerprint
    }

    /// The API's state (stores, deployer, event bus).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The agent listener.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Stops accepting requests and agents, lets running requests finish,
    /// stores the metrics already received, and closes the databases.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "a server task ended abnormally");
            }
        }
        self.state.store.database().close().await;
        self.state.metrics.database().close().await;
    }
}

/// Starts a server: opens (and migrates) the stores, creates the first
/// admin when there is no user, binds the API and the agent listener.
pub async fn start(options: ServerOptions) -> Result<RunningServer> {
    let stores = bootstrap::open_stores(&options).await?;
    let initial_admin_password =
        bootstrap::ensure_admin(&stores.store, options.admin_password.as_deref()).await?;
    let identity = bootstrap::tls_identity(&options)?;
    let fingerprint = identity.as_ref().map(|i| i.fingerprint());

    let http = bind(options.http_listen, "--listen").await?;
    let agents = bind(options.agent_listen, "--agent-listen").await?;
    let http_addr = local_addr(&http, options.http_listen)?;
    let agent_addr = local_addr(&agents, options.agent_listen)?;

    let events = EventBus::default();
    let mut hub_options = HubOptions::default().with_heartbeat(options.heartbeat);
    if let Some(identity) = identity {
        hub_options = hub_options.with_tls(identity);
    }
    let hub = Arc::new(Hub::new(
        stores.store.clone(),
        stores.metrics.clone(),
        events.clone(),
        hub_options,
    ));
    let deployer = Deployer::new(
        stores.store.clone(),
        stores.secrets.clone(),
        hub.clone(),
        events.clone(),
    );
    let mut settings = ApiSettings::new(
        ApiSettings::load_or_create_jwt_secret(&stores.store).await?,
        &options.data_dir,
    );
    settings.agent_address = options
        .agent_advertise
        .clone()
        .unwrap_or_else(|| bootstrap::advertised(agent_addr));
    settings.agent_fingerprint = fingerprint.map(|f| f.to_string());
    settings.public_url = options.public_url.clone();
    let state = AppState::new(AppParts {
        store: stores.store,
        secrets: stores.secrets,
        metrics: stores.metrics.clone(),
        nodes: hub.clone(),
        agent_facts: Arc::new(HubFacts(hub.clone())),
        deployer,
        events,
        settings,
    });

    let shutdown = CancellationToken::new();
    let mut tasks = Vec::new();
    let serve_agents = hub.clone().serve(agents, shutdown.child_token());
    tasks.push(tokio::spawn(async move {
        if let Err(e) = serve_agents.await {
            tracing::error!(error = %e, "the agent listener stopped");
        }
    }));
    let app = api::router(state.clone());
    let stop_http = shutdown.child_token();
    tasks.push(tokio::spawn(async move {
        let serve = axum::serve(
            http,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop_http.cancelled().await });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "the HTTP server stopped");
        }
    }));
    tasks.push(tokio::spawn(compact_metrics(
        stores.metrics,
        shutdown.child_token(),
    )));
    tracing::info!(%http_addr, %agent_addr, "pilot server started");
    Ok(RunningServer {
        http_addr,
        agent_addr,
        initial_admin_password,
        fingerprint,
        state,
        hub,
        shutdown,
        tasks,
    })
}

async fn bind(addr: SocketAddr, flag: &str) -> Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|source| Error::Bind {
        addr,
        flag: flag.to_string(),
        cause: source,
    })
}

fn local_addr(listener: &TcpListener, asked: SocketAddr) -> Result<SocketAddr> {
    listener.local_addr().map_err(|source| Error::Bind {
        addr: asked,
        flag: String::new(),
        cause: source,
    })
}

/// Compresses closed metric windows and applies retention, every minute.
async fn compact_metrics(metrics: Arc<TimeseriesStore>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(COMPACTION_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = metrics.compact().await {
            tracing::warn!(error = %e, "metrics compaction failed; it is retried next minute");
        }
    }
}

/// The API's view of the agent listener.
struct HubFacts(Arc<Hub>);

impl AgentFacts for HubFacts {
    fn top_processes(&self, node: &str) -> Option<TopProcesses> {
        self.0.top_processes(node)
    }

    fn connection(&self, node: &str) -> Option<NodeConnection> {
        self.0.connection(node).map(|c| NodeConnection {
            peer: c.peer.to_string(),
            connected_ms: c.connected_ms,
            agent_version: format!("protocol {}", c.version),
            tls: c.tls,
        })
    }
}
