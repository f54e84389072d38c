//! The sections of a config as read-only Python objects.

use std::collections::BTreeMap;

use pilot_core::config as model;
use pyo3::prelude::*;

use crate::convert::{repr, serde_name};

/// Requested runtime versions (``None`` where not requested).
#[pyclass(module = "pilot", frozen, get_all, eq)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Runtimes {
    /// Node.js version, e.g. ``"20"``.
    node: Option<String>,
    /// PHP version, e.g. ``"8.2"``.
    php: Option<String>,
    /// Python version, e.g. ``"3.11"`` or ``"3.11.7"``.
    python: Option<String>,
    /// Go version, e.g. ``"1.22"``.
    go: Option<String>,
    /// Ruby version, e.g. ``"3.3"``.
    ruby: Option<String>,
}

#[pymethods]
impl Runtimes {
    /// The requested runtimes as ``{language: version}``, in config order.
    fn requested(&self) -> BTreeMap<String, String> {
        [
            ("node", &self.node),
            ("php", &self.php),
            ("python", &self.python),
            ("go", &self.go),
            ("ruby", &self.ruby),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
        .collect()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("Runtimes({})", repr(py, &self.requested()))
    }
}

impl From<&model::Runtimes> for Runtimes {
    fn from(r: &model::Runtimes) -> Self {
        Runtimes {
            node: r.node.clone(),
            php: r.php.clone(),
            python: r.python.clone(),
            go: r.go.clone(),
            ruby: r.ruby.clone(),
        }
    }
}

/// The ``build`` section.
#[pyclass(module = "pilot", frozen, get_all, eq)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BuildSection {
    /// Shell commands run in order in the release directory.
    commands: Vec<String>,
}

#[pymethods]
impl BuildSection {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!("BuildSection(commands={})", repr(py, &self.commands))
    }
}

/// A section holding one shell command (``start`` and ``test``).
#[pyclass(module = "pilot", frozen, get_all, eq)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CommandSection {
    /// The shell command.
    command: String,
}

#[pymethods]
impl CommandSection {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!("CommandSection(command={})", repr(py, &self.command))
    }
}

/// The ``nix`` section.
#[pyclass(module = "pilot", frozen, get_all, eq)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NixSection {
    /// Path of the app's own flake, relative to the app root.
    flake_file: Option<String>,
}

#[pymethods]
impl NixSection {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!("NixSection(flake_file={})", repr(py, &self.flake_file))
    }
}

/// The ``deployment`` section: rollout strategy, health check and timings
/// (seconds, possibly fractional).
#[pyclass(module = "pilot", frozen, get_all, eq)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DeploymentSection {
    /// ``"blue-green"`` or ``"in-place"``.
    strategy: String,
    /// ``"http"`` or ``"tcp"``.
    healthcheck_type: String,
    /// Health check URL, when given.
    healthcheck_url: Option<String>,
    /// Health check path, when given.
    healthcheck_path: Option<String>,
    /// The path (with query) the HTTP health check requests.
    health_path: String,
    /// Seconds between checks while watching a live release.
    healthcheck_interval: f64,
    /// Seconds one check may take.
    healthcheck_timeout: f64,
    /// Consecutive failed checks that make a live release unhealthy.
    healthcheck_retries: u32,
    /// Seconds a new release has to become healthy.
    healthcheck_start_period: f64,
    /// Seconds after the switch during which a failure rolls back.
    watch_seconds: f64,
    /// Seconds open connections to the old release may take to finish.
    drain_seconds: f64,
    /// Releases kept for rollback, the live one included.
    keep_generations: u32,
    /// Whether the previous release keeps running for instant rollback.
    warm_standby: bool,
}

#[pymethods]
impl DeploymentSection {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "DeploymentSection(strategy={}, health_path={}, watch_seconds={})",
            repr(py, &self.strategy),
            repr(py, &self.health_path),
            repr(py, &self.watch_seconds)
        )
    }
}

impl From<&model::DeploymentSection> for DeploymentSection {
    fn from(d: &model::DeploymentSection) -> Self {
        DeploymentSection {
            strategy: serde_name(&d.strategy),
            healthcheck_type: serde_name(&d.healthcheck_type),
            healthcheck_url: d.healthcheck_url.clone(),
            healthcheck_path: d.healthcheck_path.clone(),
            health_path: d.health_path(),
            healthcheck_interval: d.healthcheck_interval,
            healthcheck_timeout: d.healthcheck_timeout,
            healthcheck_retries: d.healthcheck_retries,
            healthcheck_start_period: d.healthcheck_start_period,
            watch_seconds: d.watch_seconds,
            drain_seconds: d.drain_seconds,
            keep_generations: d.keep_generations,
            warm_standby: d.warm_standby,
        }
    }
}

/// The ``resources`` section.
#[pyclass(module = "pilot", frozen, get_all, eq)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resources {
    /// Memory limit as written, e.g. ``"512M"``.
    memory: Option<String>,
    /// The memory limit in bytes.
    memory_bytes: Option<u64>,
    /// CPU limit in cores, e.g. ``0.5``.
    cpu: Option<f64>,
}

#[pymethods]
impl Resources {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Resources(memory={}, cpu={})",
            repr(py, &self.memory),
            repr(py, &self.cpu)
        )
    }
}

impl From<&model::Resources> for Resources {
    fn from(r: &model::Resources) -> Self {
        Resources {
            memory: r.memory.clone(),
            memory_bytes: r.memory_bytes(),
            cpu: r.cpu,
        }
    }
}

/// Builds the section objects of a config.
pub(crate) fn build_section(b: &model::BuildSection) -> BuildSection {
    BuildSection {
        commands: b.commands.clone(),
    }
}

/// Builds a command section.
pub(crate) fn command_section(command: &str) -> CommandSection {
    CommandSection {
        command: command.to_string(),
    }
}

/// Builds a nix section.
pub(crate) fn nix_section(n: &model::NixSection) -> NixSection {
    NixSection {
        flake_file: n.flake_file.clone(),
    }
}
