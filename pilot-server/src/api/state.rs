//! What every handler can reach: [`AppState`], built from [`AppParts`] and
//! [`ApiSettings`], and the [`AgentFacts`] seam for facts only the agent
//! listener knows.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pilot_core::TopProcesses;
use pilot_core::source::FetchLimits;
use pilot_store::{SqlSecretStore, SqlStore, TimeseriesStore};

use super::auth::AccountCache;
use super::ratelimit::{LoginLimiter, LoginPolicy};
use super::telemetry::Telemetry;
use super::types::NodeConnection;
use crate::deploy::Deployer;
use crate::events::EventBus;
use crate::node_link::NodeLink;

/// Settings key of the JWT signing secret (hex).
const JWT_SECRET_KEY: &str = "auth.jwt_secret";
/// Most accounts kept between database reads.
const ACCOUNT_CACHE_CAPACITY: usize = 1024;

/// Facts about connected nodes that only the agent listener has.
pub trait AgentFacts: Send + Sync {
    /// The newest top-processes report of `node`, if its agent sent one
    /// since it connected.
    fn top_processes(&self, node: &str) -> Option<TopProcesses>;

    /// Details of `node`'s live connection, if it is connected.
    fn connection(&self, node: &str) -> Option<NodeConnection>;
}

/// How the API behaves.
#[derive(Clone)]
pub struct ApiSettings {
    /// HS256 key signing session tokens (at least 32 bytes; see
    /// [`ApiSettings::load_or_create_jwt_secret`]).
    pub jwt_secret: Vec<u8>,
    /// How long a session token is valid (default 12 h).
    pub token_ttl: Duration,
    /// The address agents connect to, shown in enrolment commands
    /// (default `127.0.0.1:55001`).
    pub agent_address: String,
    /// SHA-256 fingerprint of the agent listener's TLS certificate, shown
    /// in enrolment commands so agents pin it.
    pub agent_fingerprint: Option<String>,
    /// The server's public base URL (e.g. `https://pilot.example.com`), used
    /// to show full webhook URLs.
    pub public_url: Option<String>,
    /// Largest accepted upload body in bytes (default 10 MiB).
    pub upload_limit: usize,
    /// Bounds on what an uploaded archive may unpack to.
    pub unpack_limits: FetchLimits,
    /// Directory for temporary files (uploads, config checks); created on demand.
    pub data_dir: PathBuf,
    /// Login throttling.
    pub login_policy: LoginPolicy,
    /// How long the user row and session epoch behind a token are reused
    /// before being read from the database again (default 5 s; zero reads
    /// them on every request). Changes made through this server's API
    /// apply at once regardless; this bounds how long a role change or
    /// revocation made by another server sharing the database takes.
    pub account_cache_ttl: Duration,
}

impl ApiSettings {
    /// Default settings with the given signing key and data directory.
    pub fn new(jwt_secret: impl Into<Vec<u8>>, data_dir: impl Into<PathBuf>) -> Self {
        ApiSettings {
            jwt_secret: jwt_secret.into(),
            token_ttl: Duration::from_secs(12 * 3600),
            agent_address: format!("127.0.0.1:{}", pilot_core::protocol::DEFAULT_PORT),
            agent_fingerprint: None,
            public_url: None,
            upload_limit: 10 * 1024 * 1024,
            unpack_limits: FetchLimits::default(),
            data_dir: data_dir.into(),
            login_policy: LoginPolicy::default(),
            account_cache_ttl: Duration::from_secs(5),
        }
    }

    /// The JWT signing secret kept in the store's settings, created (32
    /// random bytes) on first use, so sessions survive a server restart.
    pub async fn load_or_create_jwt_secret(store: &SqlStore) -> pilot_store::Result<Vec<u8>> {
        if let Some(text) = store.setting(JWT_SECRET_KEY).await?
            && let Ok(bytes) = hex::decode(text.trim())
            && bytes.len() >= 32
        {
            return Ok(bytes);
        }
        let mut secret = vec![0u8; 32];
        rand::fill(&mut secret[..]);
        store
            .set_setting(JWT_SECRET_KEY, &hex::encode(&secret))
            .await?;
        Ok(secret)
    }

    /// Where temporary files go.
    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.data_dir.join("tmp")
    }
}

impl fmt::Debug for ApiSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiSettings")
            .field("jwt_secret", &"********")
            .field("token_ttl", &self.token_ttl)
            .field("agent_address", &self.agent_address)
            .field("agent_fingerprint", &self.agent_fingerprint)
            .field("public_url", &self.public_url)
            .field("upload_limit", &self.upload_limit)
            .field("unpack_limits", &self.unpack_limits)
            .field("data_dir", &self.data_dir)
            .field("login_policy", &self.login_policy)
            .field("account_cache_ttl", &self.account_cache_ttl)
            .finish()
    }
}

/// The server's parts the API works with.
pub struct AppParts {
    /// Users, nodes, projects, deployments, audit log, settings.
    pub store: SqlStore,
    /// Encrypted project secrets.
    pub secrets: Arc<SqlSecretStore>,
    /// Metrics.
    pub metrics: Arc<TimeseriesStore>,
    /// Commands to agents and who is connected.
    pub nodes: Arc<dyn NodeLink>,
    /// Connection details and process reports of agents.
    pub agent_facts: Arc<dyn AgentFacts>,
    /// Deploys, rollbacks, start/stop/restart, logs.
    pub deployer: Deployer,
    /// Live events.
    pub events: EventBus,
    /// API settings.
    pub settings: ApiSettings,
}

/// Shared state of every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Users, nodes, projects, deployments, audit log, settings.
    pub store: SqlStore,
    /// Encrypted project secrets.
    pub secrets: Arc<SqlSecretStore>,
    /// Metrics.
    pub metrics: Arc<TimeseriesStore>,
    /// Commands to agents and who is connected.
    pub nodes: Arc<dyn NodeLink>,
    /// Connection details and process reports of agents.
    pub agent_facts: Arc<dyn AgentFacts>,
    /// Deploys, rollbacks, start/stop/restart, logs.
    pub deployer: Deployer,
    /// Live events.
    pub events: EventBus,
    /// API settings.
    pub settings: Arc<ApiSettings>,
    pub(crate) limiter: Arc<LoginLimiter>,
    pub(crate) telemetry: Arc<Telemetry>,
    pub(crate) accounts: Arc<AccountCache>,
}

impl AppState {
    /// State over the given parts.
    pub fn new(parts: AppParts) -> Self {
        let limiter = Arc::new(LoginLimiter::new(parts.settings.login_policy));
        let accounts = Arc::new(AccountCache::new(
            parts.settings.account_cache_ttl,
            ACCOUNT_CACHE_CAPACITY,
        ));
        AppState {
            store: parts.store,
            secrets: parts.secrets,
            metrics: parts.metrics,
            nodes: parts.nodes,
            agent_facts: parts.agent_facts,
            deployer: parts.deployer,
            events: parts.events,
            settings: Arc::new(parts.settings),
            limiter,
            telemetry: Arc::new(Telemetry::default()),
            accounts,
        }
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
