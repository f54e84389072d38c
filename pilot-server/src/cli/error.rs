//! [`CliError`]: why a `pilot` command failed, and its exit code.

use std::path::PathBuf;

use crate::client::ClientError;

/// Result of CLI commands.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// Exit code of a command that failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a command used wrongly.
pub const EXIT_USAGE: u8 = 2;

/// Why a `pilot` command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// A call to the server failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Starting or running the server failed.
    #[error(transparent)]
    Server(Box<crate::Error>),
    /// The arguments do not fit together.
    #[error("{message}")]
    Usage {
        /// What is wrong and what to pass instead.
        message: String,
    },
    /// The client config file could not be read or written.
    #[error("cannot {action} the client config {}: {reason}; fix or delete it and run `pilot login`", path.display())]
    Config {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Neither `$XDG_CONFIG_HOME` nor `$HOME` says where the config lives.
    #[error("cannot tell where the client config goes: set HOME or XDG_CONFIG_HOME")]
    NoConfigDir,
    /// Reading input (a password, a value on stdin, a file) failed.
    #[error("cannot read {what}: {cause}")]
    Input {
        /// What was being read.
        what: String,
        /// The underlying error.
        cause: std::io::Error,
    },
    /// Writing the output failed (e.g. a closed pipe).
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
    /// The command ran, but what it did failed (a deploy that failed, a
    /// node that could not stop); the details were printed.
    #[error("{summary}")]
    Failed {
        /// One line about what failed and what to look at.
        summary: String,
    },
}

impl CliError {
    /// A [`CliError::Usage`].
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage {
            message: message.into(),
        }
    }

    /// A [`CliError::Failed`].
    pub fn failed(summary: impl Into<String>) -> Self {
        CliError::Failed {
            summary: summary.into(),
        }
    }

    /// The process exit code for this error: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage { .. } => EXIT_USAGE,
            _ => EXIT_FAILURE,
        }
    }
}

impl From<crate::Error> for CliError {
    fn from(e: crate::Error) -> Self {
        CliError::Server(Box::new(e))
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Output(e)
    }
}
