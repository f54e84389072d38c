//! Errors of the embedded supervisor.

use std::path::PathBuf;

/// Why the supervisor could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// No service of that name is installed.
    #[error("no service named {name} is installed; install it first")]
    UnknownService {
        /// The name asked for.
        name: String,
    },

    /// A service name cannot be used (it also names the service's state file).
    #[error(
        "invalid service name {name:?}: {reason}; use letters, digits, '-', '_' and '.' \
         (not first)"
    )]
    InvalidName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// Another supervisor holds the state directory.
    #[error(
        "state directory {} is in use by another supervisor; stop that one first or use \
         another directory",
        path.display()
    )]
    StateDirBusy {
        /// The state directory.
        path: PathBuf,
    },

    /// The supervisor was detached and no longer manages its services.
    #[error(
        "the supervisor of {} was detached; open it again to manage its services",
        path.display()
    )]
    Detached {
        /// The state directory.
        path: PathBuf,
    },

    /// The log pipe of a service could not be created.
    #[error(
        "cannot create the log pipe of service {name}: {cause}; check the open file limit \
         (ulimit -n)"
    )]
    LogPipe {
        /// The service.
        name: String,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// The service process could not be started.
    #[error(
        "cannot start service {name}: running /bin/sh in {} failed: {cause}; check that the \
         working directory exists and the environment has no NUL bytes",
        cwd.display()
    )]
    Spawn {
        /// The service.
        name: String,
        /// Its working directory.
        cwd: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// `/proc` could not be read for a process the supervisor just started.
    #[error("cannot read /proc/{pid}/stat of service {name}; the supervisor needs /proc mounted")]
    ProcUnavailable {
        /// The service.
        name: String,
        /// The process.
        pid: u32,
    },

    /// Processes of a service were still alive after SIGKILL.
    #[error(
        "processes {pids:?} of service {name} are still alive after SIGKILL; they are probably \
         stuck in the kernel (state D), inspect them with `ps -o pid,stat,wchan -p <pid>`"
    )]
    Unkillable {
        /// The service.
        name: String,
        /// The surviving processes.
        pids: Vec<u32>,
    },
}
