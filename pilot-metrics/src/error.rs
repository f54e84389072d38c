//! The error type of pilot-metrics.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Result of fallible pilot-metrics operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in pilot-metrics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A core operation failed.
    #[error(transparent)]
    Core(#[from] pilot_core::Error),

    /// A kernel statistics file could not be read.
    #[error(
        "could not {action} {path}: {cause}; check that /proc and /sys are mounted and readable"
    )]
    Io {
        /// What was being done, e.g. "read".
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// A kernel statistics file did not have the expected layout.
    #[error(
        "unexpected content in {path}: {problem}; this kernel's format is not supported, \
         please report it with the file's content"
    )]
    Format {
        /// The file that was parsed.
        path: PathBuf,
        /// What was missing or malformed, e.g. "no `cpu` line".
        problem: &'static str,
    },

    /// A collector or exporter option has an unusable value.
    #[error("invalid option {option}: {problem}")]
    InvalidOption {
        /// The option, e.g. "interval".
        option: &'static str,
        /// What is wrong and what to use instead.
        problem: &'static str,
    },

    /// The operating system could not be described.
    #[error(
        "could not read the system description: {cause}; check that /proc and /sys are mounted and readable"
    )]
    SystemInfo {
        /// The underlying error.
        cause: sysinfo::Error,
    },

    /// The Prometheus endpoint could not listen on its address.
    #[error("could not listen on {addr}: {cause}; pick a free port or another address")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying error.
        cause: std::io::Error,
    },
}

impl Error {
    /// An [`Error::Io`] for `action` on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            cause: source,
        }
    }

    /// An [`Error::Format`] for `path`.
    pub(crate) fn format(path: impl Into<PathBuf>, problem: &'static str) -> Self {
        Error::Format {
            path: path.into(),
            problem,
        }
    }
}
