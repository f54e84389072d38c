//! The error type of pilot-core.
//!
//! Every fallible function of the crate returns [`Result`]. Areas with many
//! distinct failures (config, sources, supervisor, proxy) have their own enum,
//! wrapped here, so callers can match on the area first and the detail second.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::proxy::ProxyError;
use crate::source::SourceError;
use crate::supervisor::SupervisorError;

/// Result of every fallible operation in pilot-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in pilot-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The app's `config.vpspilot.json` is invalid; every problem is listed.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// Fetching the release (git or archive) failed.
    #[error(transparent)]
    Source(#[from] SourceError),

    /// The embedded supervisor could not do what was asked.
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),

    /// The traffic proxy could not do what was asked.
    #[error(transparent)]
    Proxy(#[from] ProxyError),

    /// A file or directory operation failed.
    #[error("{action} {path}: {cause}")]
    Io {
        /// What was being done, e.g. "create directory".
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// A requested runtime is not installed on this host.
    #[error(
        "runtime {language} {wanted} is not available on this host ({found}); install it, \
         pick a version the host has, or deploy with the Nix runtime"
    )]
    RuntimeMissing {
        /// The language, e.g. "python".
        language: String,
        /// The version the config asks for.
        wanted: String,
        /// What the host has, e.g. "python3 reports 3.9.2" or "python3 not found on PATH".
        found: String,
    },

    /// A build, test or other release command exited unsuccessfully.
    #[error(
        "{phase} command `{command}` failed with {status}; the last lines of its output are in {log}"
    )]
    CommandFailed {
        /// Which phase ran the command: "build", "test", ...
        phase: &'static str,
        /// The command line (secrets masked).
        command: String,
        /// Exit status description.
        status: String,
        /// The log file holding the full output.
        log: PathBuf,
    },

    /// Secrets referenced by `{{NAME}}` placeholders are not set.
    #[error("missing secrets for project {project}: {}; set them before deploying", names.join(", "))]
    MissingSecrets {
        /// The project.
        project: String,
        /// Every missing name, sorted.
        names: Vec<String>,
    },

    /// The release did not become healthy.
    #[error("health check of {target} failed: {reason}")]
    Unhealthy {
        /// What was probed, e.g. "http://127.0.0.1:41233/health".
        target: String,
        /// The reason of the last failed attempt.
        reason: String,
    },

    /// A project name is not usable.
    #[error("invalid project name {name:?}: {reason}")]
    InvalidProjectName {
        /// The rejected name.
        name: String,
        /// Why.
        reason: &'static str,
    },

    /// The project has never been deployed on this node.
    #[error("project {project} is not known on this node; deploy it first")]
    UnknownProject {
        /// The project.
        project: String,
    },

    /// The requested generation is not kept any more (or never existed).
    #[error("generation {generation} of {project} is not kept; kept generations: {kept:?}")]
    UnknownGeneration {
        /// The project.
        project: String,
        /// The generation asked for.
        generation: u64,
        /// Generations that can be rolled back to.
        kept: Vec<u64>,
    },

    /// Another deployment of the same project is running.
    #[error("a deployment of {project} is already running ({holder}); wait for it to finish")]
    Busy {
        /// The project.
        project: String,
        /// Who holds the lock.
        holder: String,
    },

    /// A state transition that the deploy state machine does not allow.
    #[error("deployment {deployment} cannot go from {from} to {to}")]
    InvalidTransition {
        /// The deployment id.
        deployment: String,
        /// Current state.
        from: String,
        /// Requested state.
        to: String,
    },

    /// A persisted state or journal file could not be read.
    #[error("corrupt state file {path}: {reason}; move it away to start fresh")]
    CorruptState {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// The operation is not supported by this implementation.
    #[error("{operation} is not supported by {implementation}")]
    Unsupported {
        /// What was asked.
        operation: &'static str,
        /// Which implementation refused.
        implementation: &'static str,
    },

    /// A secret store operation failed.
    #[error("secret store: {reason}")]
    SecretStore {
        /// What failed (never contains a secret value).
        reason: String,
    },

    /// The deployment failed before traffic moved; the previous release kept serving.
    #[error("deployment {deployment} of {project} failed: {reason}")]
    DeployFailed {
        /// The project.
        project: String,
        /// The deployment id.
        deployment: String,
        /// Why (secrets masked).
        reason: String,
    },

    /// The deployment was rolled back; the reason says why.
    #[error("deployment {deployment} of {project} was rolled back: {reason}")]
    RolledBack {
        /// The project.
        project: String,
        /// The deployment id.
        deployment: String,
        /// Why the new release was abandoned.
        reason: String,
    },
}

impl Error {
    /// Builds an [`Error::Io`] from an action, a path and an I/O error.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            cause,
        }
    }
}

/// Adds path context to I/O results.
pub(crate) trait IoContext<T> {
    /// Maps an I/O error to [`Error::Io`] with the given action and path.
    fn ctx(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(action, path, e))
    }
}
