//! The [`ServiceManager`] trait: install, start, stop, inspect and read the
//! logs of one long-running service (one release of one app).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::error::Result;

/// When a service that exited is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartMode {
    /// Restart whenever it exits.
    Always,
    /// Restart only when it exits unsuccessfully or by a signal.
    OnFailure,
    /// Never restart.
    Never,
}

/// Restart behaviour of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartPolicy {
    /// When to restart.
    pub mode: RestartMode,
    /// Delay before the first restart; doubled after each quick failure.
    pub backoff_initial: Duration,
    /// Upper bound of the delay.
    pub backoff_max: Duration,
    /// At most this many starts within `start_limit_interval`; beyond it the
    /// service is marked failed and left stopped.
    pub start_limit_burst: u32,
    /// The window of `start_limit_burst`.
    pub start_limit_interval: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            mode: RestartMode::OnFailure,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            start_limit_burst: 5,
            start_limit_interval: Duration::from_secs(60),
        }
    }
}

/// Everything needed to run one service.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// Unique name within the manager, e.g. "shop-g12".
    pub name: String,
    /// Shell command line, run with `/bin/sh -c`.
    pub command: String,
    /// Working directory.
    pub cwd: PathBuf,
    /// The complete environment (toolchain, app env with secrets, PORT).
    pub env: BTreeMap<String, String>,
    /// File that receives stdout and stderr (rotated by size).
    pub log_file: PathBuf,
    /// Restart behaviour.
    pub restart: RestartPolicy,
    /// Time between SIGTERM and SIGKILL on stop.
    pub stop_timeout: Duration,
    /// Values masked in the service's log output (usually the secret values).
    pub redact: Vec<String>,
    /// Memory limit in bytes, enforced where the manager can.
    pub memory_limit: Option<u64>,
    /// CPU limit in cores, enforced where the manager can.
    pub cpu_limit: Option<f64>,
}

impl fmt::Debug for ServiceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceSpec")
            .field("name", &self.name)
            .field("command", &self.command)
            .field("cwd", &self.cwd)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("log_file", &self.log_file)
            .field("restart", &self.restart)
            .field("stop_timeout", &self.stop_timeout)
            .field("redact", &format_args!("[{} values]", self.redact.len()))
            .field("memory_limit", &self.memory_limit)
            .field("cpu_limit", &self.cpu_limit)
            .finish()
    }
}

/// The state of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ServiceState {
    /// Installed but not started (or stopped on request).
    Stopped,
    /// Running.
    Running,
    /// Exited and waiting for its next restart.
    BackingOff,
    /// Exited and will not be restarted.
    Exited {
        /// Why, e.g. "exit code 1" or "start limit reached: 5 starts in 60 s".
        reason: String,
    },
}

/// A snapshot of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// The service name.
    pub name: String,
    /// Its state.
    pub state: ServiceState,
    /// Pid of the main process while running.
    pub pid: Option<u32>,
    /// When the current process started.
    pub started_at: Option<SystemTime>,
    /// How many times it was restarted after an exit.
    pub restarts: u32,
    /// Description of the last exit, if any.
    pub last_exit: Option<String>,
}

impl ServiceStatus {
    /// How long the current process has been running.
    pub fn uptime(&self) -> Option<Duration> {
        self.started_at
            .and_then(|t| SystemTime::now().duration_since(t).ok())
    }

    /// Whether the service is running right now.
    pub fn is_running(&self) -> bool {
        self.state == ServiceState::Running
    }
}

/// Live log lines of a service; ends when the service is removed.
pub type LogFollow = mpsc::Receiver<String>;

/// Installs and runs services.
#[async_trait]
pub trait ServiceManager: Send + Sync {
    /// Short name for logs, e.g. "supervisor" or "systemd".
    fn name(&self) -> &'static str;

    /// Registers (or replaces) a service without starting it.
    async fn install(&self, spec: &ServiceSpec) -> Result<()>;

    /// Starts an installed service; a no-op when it is running.
    async fn start(&self, name: &str) -> Result<()>;

    /// Stops a service gracefully (SIGTERM, then SIGKILL after its stop timeout),
    /// including every process it started. A no-op when it is stopped.
    async fn stop(&self, name: &str) -> Result<()>;

    /// Stops then starts a service.
    async fn restart(&self, name: &str) -> Result<()> {
        self.stop(name).await?;
        self.start(name).await
    }

    /// Stops a service and forgets it. Its log file is kept. A no-op for an
    /// unknown name, so reverts can call it blindly.
    async fn remove(&self, name: &str) -> Result<()>;

    /// The status of one service.
    async fn status(&self, name: &str) -> Result<ServiceStatus>;

    /// The status of every installed service.
    async fn list(&self) -> Result<Vec<ServiceStatus>>;

    /// The last `lines` lines of the service's log.
    async fn logs(&self, name: &str, lines: usize) -> Result<Vec<String>>;

    /// New log lines as they are written.
    async fn follow(&self, name: &str) -> Result<LogFollow>;
}
