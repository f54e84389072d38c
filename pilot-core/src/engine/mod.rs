//! The deploy engine: a journaled plan of steps, each with execute and revert.
//!
//! A deployment runs Fetch → Configure → Build → Test → Start → HealthCheck →
//! Switch → Watch → Retire (a rollback runs Start … Retire for a kept
//! generation). The journal (`projects/<p>/deployments/<id>.json`) is written
//! atomically after every change, so an engine that dies mid-deploy finds it
//! on its next start ([`Engine::recover`]) and reverts it: the live release
//! keeps serving throughout. A failure before Switch never touches the live
//! release; a failure in the watch window after Switch sends traffic back to
//! the previous release and ends the deployment `rolled_back`.
//!
//! ```no_run
//! # async fn demo() -> pilot_core::Result<()> {
//! use std::sync::Arc;
//! use pilot_core::engine::{Engine, EngineOptions, EngineParts, NewRelease, NoEvents};
//! use pilot_core::proxy::Proxy;
//! use pilot_core::source::SourceSpec;
//! use pilot_core::supervisor::Supervisor;
//! use pilot_core::{CommandsBuilder, HostRuntime, MemorySecretStore, NodeLayout};
//!
//! let layout = NodeLayout::new("./pilot-data");
//! let engine = Engine::new(
//!     EngineParts {
//!         services: Supervisor::open(layout.supervisor_dir()).await?,
//!         layout,
//!         runtime: Arc::new(HostRuntime::new()),
//!         builder: Arc::new(CommandsBuilder),
//!         router: Proxy::new(),
//!         secrets: Arc::new(MemorySecretStore::new()),
//!         events: Arc::new(NoEvents),
//!     },
//!     EngineOptions::default(),
//! );
//! engine.recover().await?;
//! let source = SourceSpec::Dir { path: "examples/apps/python-hello".into() };
//! let done = engine.deploy(NewRelease::new("hello", source)).await?.succeeded()?;
//! println!("generation {} is live", done.generation);
//! # Ok(()) }
//! ```

mod deploylog;
mod events;
mod execution;
mod lock;
mod project;
mod recovery;
mod release;
mod state;
mod steps;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use events::{DeployEvent, DeployEventKind, EventLog, EventSink, FnEvents, NoEvents};
pub use project::{Generation, ProjectState, Slot};
pub use recovery::RecoveryReport;
pub use release::{PILOT_DIR, ReleaseFiles, ReleaseInfo, render_env};
pub use state::{DeployState, Deployment, DeploymentKind, StepKind, StepRecord, StepStatus};

use crate::builder::Builder;
use crate::config::AppConfig;
use crate::error::{Error, Result};
use crate::fsutil::read_json;
use crate::layout::{NodeLayout, validate_project_name};
use crate::router::Router;
use crate::runtime::Runtime;
use crate::secrets::{SecretStore, SecretValue};
use crate::service::{RestartMode, RestartPolicy, ServiceManager};
use crate::source::{FetchLimits, SourceSpec};

/// The components an engine drives.
#[derive(Clone)]
pub struct EngineParts {
    /// Where releases, state and logs live.
    pub layout: NodeLayout,
    /// Provides each release's toolchain.
    pub runtime: Arc<dyn Runtime>,
    /// Builds and tests releases.
    pub builder: Arc<dyn Builder>,
    /// Runs releases as services.
    pub services: Arc<dyn ServiceManager>,
    /// Points public ports at releases.
    pub router: Arc<dyn Router>,
    /// Secrets for `{{NAME}}` placeholders.
    pub secrets: Arc<dyn SecretStore>,
    /// Receives progress events.
    pub events: Arc<dyn EventSink>,
}

/// Engine settings that do not come from an app's config.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// This node's name, for per-node secret overrides.
    pub node: Option<String>,
    /// Address public ports listen on (default 0.0.0.0).
    pub public_ip: IpAddr,
    /// Address releases listen on (default 127.0.0.1).
    pub slot_ip: IpAddr,
    /// Limits on fetched sources.
    pub fetch_limits: FetchLimits,
    /// Restart policy of release services (default: always restart, with
    /// backoff and a start limit).
    pub restart: RestartPolicy,
    /// SIGTERM → SIGKILL grace period of release services.
    pub stop_timeout: Duration,
    /// Fastest health poll while a release starts (doubles up to `health_poll_max`).
    pub health_poll_min: Duration,
    /// Slowest health poll while a release starts.
    pub health_poll_max: Duration,
    /// Test hook: pause forever inside this step, after its main effect and
    /// before the journal records it, touching the given file first. Lets
    /// crash tests kill the engine at the worst moment of every step.
    #[cfg(feature = "test-util")]
    pub pause_in: Option<(StepKind, PathBuf)>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            node: None,
            public_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            slot_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            fetch_limits: FetchLimits::default(),
            restart: RestartPolicy {
                mode: RestartMode::Always,
                ..RestartPolicy::default()
            },
            stop_timeout: Duration::from_secs(10),
            health_poll_min: Duration::from_millis(5),
            health_poll_max: Duration::from_millis(250),
            #[cfg(feature = "test-util")]
            pause_in: None,
        }
    }
}

/// A request to deploy a new release of a project.
#[derive(Debug, Clone)]
pub struct NewRelease {
    /// The project (lowercase letters, digits, '-').
    pub project: String,
    /// Where the release comes from.
    pub source: SourceSpec,
    /// Secret values sent with the request (e.g. by the server); they win over
    /// the engine's secret store.
    pub secrets: BTreeMap<String, SecretValue>,
    /// A config to use instead of the release's own `config.vpspilot.json`
    /// (it is written into the release, so rollbacks use it too).
    pub config: Option<AppConfig>,
    /// The project's public port, when fixed by whoever asks (e.g. the
    /// server); wins over the config's `port`.
    pub public_port: Option<u16>,
}

impl NewRelease {
    /// A request with no extra secrets.
    pub fn new(project: impl Into<String>, source: SourceSpec) -> Self {
        NewRelease {
            project: project.into(),
            source,
            secrets: BTreeMap::new(),
            config: None,
            public_port: None,
        }
    }
}

impl Deployment {
    /// `Ok(self)` when the deployment succeeded, otherwise the error saying why not.
    pub fn succeeded(self) -> Result<Deployment> {
        let reason = self
            .reason
            .clone()
            .unwrap_or_else(|| "no reason recorded".into());
        match self.state() {
            DeployState::Succeeded => Ok(self),
            DeployState::RolledBack => Err(Error::RolledBack {
                project: self.project,
                deployment: self.id,
                reason,
            }),
            _ => Err(Error::DeployFailed {
                project: self.project,
                deployment: self.id,
                reason,
            }),
        }
    }
}

/// The deploy engine of one node.
pub struct Engine {
    parts: EngineParts,
    options: EngineOptions,
}

impl Engine {
    /// An engine over the given components.
    pub fn new(parts: EngineParts, options: EngineOptions) -> Self {
        Engine { parts, options }
    }

    /// The node layout.
    pub fn layout(&self) -> &NodeLayout {
        &self.parts.layout
    }

    /// The components.
    pub fn parts(&self) -> &EngineParts {
        &self.parts
    }

    /// Deploys a new release. Returns the finished journal whatever the
    /// outcome (check [`Deployment::state`] or call [`Deployment::succeeded`]);
    /// errors only when the deployment could not begin (bad name, busy project).
    pub async fn deploy(&self, request: NewRelease) -> Result<Deployment> {
        validate_project_name(&request.project)?;
        execution::deploy(self, request).await
    }

    /// Rolls back to a kept generation (`None`: the one before the live one)
    /// without rebuilding. Same return convention as [`Engine::deploy`].
    pub async fn rollback(&self, project: &str, to: Option<u64>) -> Result<Deployment> {
        validate_project_name(project)?;
        execution::rollback(self, project, to).await
    }

    /// Finishes or reverts deployments interrupted by a crash and makes sure
    /// the live release of every project runs and receives traffic. Call it
    /// once at start-up, before any deploy.
    pub async fn recover(&self) -> Result<RecoveryReport> {
        recovery::recover(self).await
    }

    /// The persisted state of a project.
    pub fn project(&self, project: &str) -> Result<ProjectState> {
        validate_project_name(project)?;
        if !ProjectState::exists(self.layout(), project) {
            return Err(Error::UnknownProject {
                project: project.to_string(),
            });
        }
        ProjectState::load(self.layout(), project)
    }

    /// Every deployment of a project, oldest first.
    pub fn deployments(&self, project: &str) -> Result<Vec<Deployment>> {
        validate_project_name(project)?;
        let dir = self.layout().deployments_dir(project);
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io("list", dir, e)),
        };
        paths.sort();
        paths
            .iter()
            .filter_map(|p| read_json::<Deployment>(p).transpose())
            .collect()
    }

    /// The address clients use for a project.
    pub fn public_addr(&self, project: &str) -> Result<SocketAddr> {
        let state = self.project(project)?;
        let port = state.public_port.ok_or_else(|| Error::UnknownProject {
            project: project.to_string(),
        })?;
        Ok(SocketAddr::new(self.options.public_ip, port))
    }

    /// Stops the live release of a project (traffic gets connection errors until started again).
    pub async fn stop(&self, project: &str) -> Result<()> {
        let state = self.project(project)?;
        if let Some(live) = state.live {
            self.parts
                .services
                .stop(&service_name(project, live.generation))
                .await?;
        }
        Ok(())
    }

    /// Starts the live release of a project again after [`Engine::stop`].
    pub async fn start(&self, project: &str) -> Result<()> {
        let state = self.project(project)?;
        if state.live.is_some() {
            recovery::ensure_live(self, project).await?;
        }
        Ok(())
    }

    /// Stops and starts the live release of a project.
    pub async fn restart(&self, project: &str) -> Result<()> {
        self.stop(project).await?;
        self.start(project).await
    }

    /// The last `lines` log lines of a project's live release.
    pub async fn logs(&self, project: &str, lines: usize) -> Result<Vec<String>> {
        let state = self.project(project)?;
        match state.live {
            Some(live) => {
                self.parts
                    .services
                    .logs(&service_name(project, live.generation), lines)
                    .await
            }
            None => Ok(Vec::new()),
        }
    }
}

/// The service name of a project's generation: `<project>-g<gen>`.
pub fn service_name(project: &str, generation: u64) -> String {
    format!("{project}-g{generation}")
}
