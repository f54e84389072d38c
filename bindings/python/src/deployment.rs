//! What `Deployer` returns: deployments with their steps, and the status of
//! a project.

use pilot_core::ServiceStatus;
use pilot_core::engine::{self, DeployState, DeploymentKind, ProjectState};
use pilot_core::service::ServiceState;
use pyo3::prelude::*;

use crate::convert::{repr, serde_name};

/// One step of a deployment and what happened to it.
#[pyclass(module = "pilot", frozen, get_all, eq)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    /// ``"fetch"``, ``"configure"``, ``"build"``, ``"test"``, ``"start"``,
    /// ``"health_check"``, ``"switch"``, ``"watch"`` or ``"retire"``.
    step: String,
    /// ``"pending"``, ``"running"``, ``"done"``, ``"failed"``,
    /// ``"reverted"`` or ``"revert_failed"``.
    status: String,
    /// Unix ms when it started.
    started_ms: Option<i64>,
    /// Unix ms when it ended.
    finished_ms: Option<i64>,
    /// Its error, secrets masked.
    error: Option<String>,
}

#[pymethods]
impl Step {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Step({}, status={})",
            repr(py, &self.step),
            repr(py, &self.status)
        )
    }
}

/// The record of one deployment or rollback.
#[pyclass(module = "pilot", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct Deployment {
    /// Unique, time-sortable id.
    id: String,
    /// The project.
    project: String,
    /// ``"deploy"`` or ``"rollback"``.
    kind: String,
    /// The generation rolled out.
    generation: u64,
    /// ``"succeeded"``, ``"failed"`` (the previous release kept serving) or
    /// ``"rolled_back"`` (unhealthy after the switch; traffic went back);
    /// ``"pending"``, ``"running"`` or ``"reverting"`` while it runs.
    state: String,
    /// Whether it succeeded.
    succeeded: bool,
    /// Version label of the release (short commit or content digest).
    version: Option<String>,
    /// Full git commit, for git sources.
    commit: Option<String>,
    /// Port the release listens on.
    port: Option<u16>,
    /// The project's public port.
    public_port: Option<u16>,
    /// ``http://<address>:<public_port>/``, once the port is known.
    url: Option<String>,
    /// Why it did not succeed (secrets masked).
    reason: Option<String>,
    /// Unix ms when it was created.
    created_ms: i64,
    /// Unix ms when it ended.
    finished_ms: Option<i64>,
    /// Milliseconds from creation to the end.
    duration_ms: Option<u64>,
    /// Every step of its plan.
    steps: Vec<Step>,
}

#[pymethods]
impl Deployment {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Deployment(id={}, project={}, kind={}, generation={}, state={})",
            repr(py, &self.id),
            repr(py, &self.project),
            repr(py, &self.kind),
            self.generation,
            repr(py, &self.state)
        )
    }
}

impl Deployment {
    /// The record of `d`; `host` is the address written into URLs.
    pub(crate) fn new(d: &engine::Deployment, host: &str) -> Self {
        Deployment {
            id: d.id.clone(),
            project: d.project.clone(),
            kind: match d.kind {
                DeploymentKind::Deploy { .. } => "deploy".to_string(),
                DeploymentKind::Rollback { .. } => "rollback".to_string(),
            },
            generation: d.generation,
            state: d.state().to_string(),
            succeeded: d.state() == DeployState::Succeeded,
            version: d.version.clone(),
            commit: d.commit.clone(),
            port: d.port,
            public_port: d.public_port,
            url: d.public_port.map(|port| url(host, port)),
            reason: d.reason.clone(),
            created_ms: d.created_ms,
            finished_ms: d.finished_ms,
            duration_ms: d.duration_ms(),
            steps: d
                .steps
                .iter()
                .map(|s| Step {
                    step: s.step.as_str().to_string(),
                    status: serde_name(&s.status),
                    started_ms: s.started_ms,
                    finished_ms: s.finished_ms,
                    error: s.error.clone(),
                })
                .collect(),
        }
    }

    /// The project.
    pub(crate) fn project(&self) -> &str {
        &self.project
    }

    /// The state name.
    pub(crate) fn state(&self) -> &str {
        &self.state
    }

    /// The reason it did not succeed.
    pub(crate) fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

/// A kept release of a project.
#[pyclass(module = "pilot", frozen, get_all, eq)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Generation {
    /// Generation number, increasing per project.
    number: u64,
    /// Version label (short commit or content digest).
    version: String,
    /// Full git commit, for git sources.
    commit: Option<String>,
    /// The deployment that built it.
    deployment: String,
    /// Unix ms when it was built.
    created_ms: i64,
}

#[pymethods]
impl Generation {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Generation({}, version={})",
            self.number,
            repr(py, &self.version)
        )
    }
}

/// Where a project stands on this machine.
#[pyclass(module = "pilot", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct ProjectStatus {
    /// The project.
    project: String,
    /// The stable public port.
    public_port: Option<u16>,
    /// ``http://<address>:<public_port>/``.
    url: Option<String>,
    /// The generation receiving traffic.
    live: Option<u64>,
    /// The port the live release listens on.
    live_port: Option<u16>,
    /// The previous generation, kept running without traffic (warm standby).
    standby: Option<u64>,
    /// Kept generations, oldest first (rollback targets).
    generations: Vec<Generation>,
    /// State of the live release's service: ``"running"``, ``"stopped"``,
    /// ``"backing-off"`` or ``"exited"``; ``None`` without a live release.
    service_state: Option<String>,
    /// Whether the live release's process runs.
    running: bool,
    /// Pid of the live release's main process while it runs.
    pid: Option<u32>,
    /// Restarts of the live release after it exited.
    restarts: u32,
}

#[pymethods]
impl ProjectStatus {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "ProjectStatus({}, live={}, running={}, url={})",
            repr(py, &self.project),
            repr(py, &self.live),
            repr(py, &self.running),
            repr(py, &self.url)
        )
    }
}

impl ProjectStatus {
    /// The status from the persisted state and the live service's status.
    pub(crate) fn new(state: &ProjectState, service: Option<&ServiceStatus>, host: &str) -> Self {
        ProjectStatus {
            project: state.project.clone(),
            public_port: state.public_port,
            url: state.public_port.map(|port| url(host, port)),
            live: state.live.map(|s| s.generation),
            live_port: state.live.map(|s| s.port),
            standby: state.standby.map(|s| s.generation),
            generations: state
                .generations
                .iter()
                .map(|g| Generation {
                    number: g.number,
                    version: g.version.clone(),
                    commit: g.commit.clone(),
                    deployment: g.deployment.clone(),
                    created_ms: g.created_ms,
                })
                .collect(),
            service_state: service.map(|s| service_state(&s.state).to_string()),
            running: service.is_some_and(ServiceStatus::is_running),
            pid: service.and_then(|s| s.pid),
            restarts: service.map_or(0, |s| s.restarts),
        }
    }
}

/// The name of a service state.
fn service_state(state: &ServiceState) -> &'static str {
    match state {
        ServiceState::Stopped => "stopped",
        ServiceState::Running => "running",
        ServiceState::BackingOff => "backing-off",
        ServiceState::Exited { .. } => "exited",
    }
}

/// `http://host:port/`, with IPv6 hosts in brackets.
pub(crate) fn url(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("http://[{host}]:{port}/")
    } else {
        format!("http://{host}:{port}/")
    }
}
