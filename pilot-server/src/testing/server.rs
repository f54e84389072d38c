//! [`TestServer`]: the server's parts assembled once for tests, over a
//! temporary SQLite store, real secrets and metrics stores, the real
//! deployer and [`FakeNodes`]; optionally served on loopback, with or
//! without the agent listener.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use pilot_core::metrics::TopProcesses;
use pilot_store::records::Role;
use pilot_store::{
    Database, MasterKey, SqlSecretStore, SqlStore, SqliteDurability, TimeseriesOptions,
    TimeseriesStore,
};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::FakeNodes;
use crate::api::types::NodeConnection;
use crate::api::{AgentFacts, ApiSettings, AppParts, AppState, router};
use crate::deploy::Deployer;
use crate::events::EventBus;
use crate::hub::{Hub, HubError, HubOptions};
use crate::node_link::NodeLink;

/// The password of the admin `ada` every [`TestServer`] has.
pub const ADMIN_PASSWORD: &str = "correct horse battery";
/// The password of the viewer `vic` every [`TestServer`] has.
pub const VIEWER_PASSWORD: &str = "viewer password 1";
/// The key signing the test server's session tokens.
const SIGNING_KEY: &[u8] = b"test signing key of thirty-two bytes!";

/// A change to the API settings, applied when the state is built.
type SettingsChange = Box<dyn FnOnce(&mut ApiSettings) + Send>;

/// Builds a [`TestServer`]; see [`TestServer::builder`].
pub struct TestServerBuilder {
    nodes: FakeNodes,
    registered: Vec<(String, bool)>,
    settings: Vec<SettingsChange>,
    agent_facts: Arc<dyn AgentFacts>,
    users: bool,
    durability: SqliteDurability,
}

impl TestServerBuilder {
    /// The fake nodes commands go to (default: [`FakeNodes::new`]).
    pub fn nodes(mut self, nodes: FakeNodes) -> Self {
        self.nodes = nodes;
        self
    }

    /// Registers `name`, connected when `online`.
    pub fn node(mut self, name: &str, online: bool) -> Self {
        self.registered.push((name.to_string(), online));
        self
    }

    /// Changes the API settings before the state is built.
    pub fn settings(mut self, change: impl FnOnce(&mut ApiSettings) + Send + 'static) -> Self {
        self.settings.push(Box::new(change));
        self
    }

    /// What the API reports about connections and processes (default:
    /// nothing).
    pub fn agent_facts(mut self, info: impl AgentFacts + 'static) -> Self {
        self.agent_facts = Arc::new(info);
        self
    }

    /// Leaves out the users `ada` and `vic` (hashing their passwords is
    /// the slowest part of building).
    pub fn without_users(mut self) -> Self {
        self.users = false;
        self
    }

    /// How the SQLite store syncs (default: `Normal`).
    pub fn durability(mut self, durability: SqliteDurability) -> Self {
        self.durability = durability;
        self
    }

    /// Opens the stores, registers the nodes, creates the users and builds
    /// the API state. Panics on failure: it is for tests.
    pub async fn build(self) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::open_sqlite(&dir.path().join("pilot.db"), self.durability)
            .await
            .expect("open database");
        let store = SqlStore::new(db.clone());
        let secrets = Arc::new(SqlSecretStore::with_key(db.clone(), MasterKey::generate()));
        let metrics = Arc::new(
            TimeseriesStore::open(db, TimeseriesOptions::default())
                .await
                .expect("open timeseries"),
        );
        let nodes = Arc::new(self.nodes);
        for (node, online) in &self.registered {
            store.register_node(node).await.expect("register node");
            nodes.set_online(node, *online);
        }
        if self.users {
            store
                .create_user("ada", ADMIN_PASSWORD, Role::Admin)
                .await
                .expect("admin");
            store
                .create_user("vic", VIEWER_PASSWORD, Role::Viewer)
                .await
                .expect("viewer");
        }
        let link: Arc<dyn NodeLink> = nodes.clone();
        let events = EventBus::default();
        let deployer = Deployer::new(store.clone(), secrets.clone(), link.clone(), events.clone());
        let mut settings = ApiSettings::new(SIGNING_KEY.to_vec(), dir.path());
        for change in self.settings {
            change(&mut settings);
        }
        let state = AppState::new(AppParts {
            store: store.clone(),
            secrets: secrets.clone(),
            metrics: metrics.clone(),
            nodes: link,
            agent_facts: self.agent_facts,
            deployer: deployer.clone(),
            events: events.clone(),
            settings,
        });
        TestServer {
            dir,
            store,
            secrets,
            metrics,
            events,
            nodes,
            deployer,
            state,
            stop: CancellationToken::new(),
            tasks: Vec::new(),
        }
    }
}

/// The server's parts for one test. Everything it serves stops when it is
/// dropped (or, waiting for the end, with [`TestServer::stop`]).
pub struct TestServer {
    /// The data directory (the store's files, uploads); removed on drop.
    pub dir: TempDir,
    /// The operational store.
    pub store: SqlStore,
    /// The secret store.
    pub secrets: Arc<SqlSecretStore>,
    /// The metrics store.
    pub metrics: Arc<TimeseriesStore>,
    /// Live events.
    pub events: EventBus,
    /// The fake nodes behind the deployer and the API.
    pub nodes: Arc<FakeNodes>,
    /// The real deployer, sending to [`TestServer::nodes`].
    pub deployer: Deployer,
    /// The API state over all of the above.
    pub state: AppState,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<Result<(), HubError>>>,
}

impl TestServer {
    /// A builder: no nodes, the users `ada` (admin, [`ADMIN_PASSWORD`]) and
    /// `vic` (viewer, [`VIEWER_PASSWORD`]), default settings.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder {
            nodes: FakeNodes::new(),
            registered: Vec::new(),
            settings: Vec::new(),
            agent_facts: Arc::new(NoAgentFacts),
            users: true,
            durability: SqliteDurability::Normal,
        }
    }

    /// The API's router over [`TestServer::state`].
    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    /// Serves `app` (usually [`TestServer::router`], perhaps with layers)
    /// on a free loopback port; returns its address.
    pub async fn serve(&mut self, app: Router) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let stopped = self.stop.clone();
        self.tasks.push(tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, service)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
            Ok(())
        }));
        addr
    }

    /// Starts an agent listener with `options` on a free loopback port,
    /// over this server's stores and events; returns the hub and its
    /// address. (The API's nodes stay [`TestServer::nodes`].)
    pub async fn start_hub(&mut self, options: HubOptions) -> (Arc<Hub>, SocketAddr) {
        let hub = Arc::new(Hub::new(
            self.store.clone(),
            Arc::clone(&self.metrics),
            self.events.clone(),
            options,
        ));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let serve = Arc::clone(&hub).serve(listener, self.stop.clone());
        self.tasks.push(tokio::spawn(serve));
        (hub, addr)
    }

    /// Stops everything started here and waits for it; panics when a
    /// listener failed.
    pub async fn stop(mut self) {
        self.stop.cancel();
        for task in std::mem::take(&mut self.tasks) {
            task.await
                .expect("a served task panicked")
                .expect("the hub serves");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// No connection details or process reports.
struct NoAgentFacts;

impl AgentFacts for NoAgentFacts {
    fn top_processes(&self, _node: &str) -> Option<TopProcesses> {
        None
    }

    fn connection(&self, _node: &str) -> Option<NodeConnection> {
        None
    }
}
