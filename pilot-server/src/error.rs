//! The error type of pilot-server.
//!
//! Like every Pilot error, a message carries its cause (`cause` fields) and
//! does not also return it as its `source()`, so it is printed once.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::node_link::LinkError;

/// Result of fallible pilot-server operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in pilot-server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A core operation failed.
    #[error(transparent)]
    Core(#[from] pilot_core::Error),
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] pilot_store::Error),
    /// A command could not reach a node.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// No project has this name.
    #[error("project {project} does not exist; list projects with `pilot project list`")]
    UnknownProject {
        /// The name asked for.
        project: String,
    },
    /// The project has no node to run on.
    #[error(
        "project {project} is not assigned to any node; assign one with `pilot project create --node NAME` or the API"
    )]
    NoNodes {
        /// The project.
        project: String,
    },
    /// The request does not fit the project (e.g. an archive for a git project).
    #[error("invalid request for project {project}: {reason}")]
    InvalidRequest {
        /// The project.
        project: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A listening address could not be bound.
    #[error("cannot listen on {addr}: {cause}; pick another address{}", if flag.is_empty() { String::new() } else { format!(" with {flag}") })]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The command-line option that sets it.
        flag: String,
        /// The underlying error.
        cause: std::io::Error,
    },
    /// The agent listener's TLS certificate or key is unusable.
    #[error("cannot use the TLS certificate {}: {cause}", path.display())]
    Tls {
        /// The certificate file.
        path: PathBuf,
        /// The underlying error.
        cause: pilot_core::protocol::ProtocolError,
    },
    /// The agent listener failed.
    #[error(transparent)]
    Hub(#[from] crate::hub::HubError),
    /// The in-process agent failed.
    #[error(transparent)]
    Agent(#[from] pilot_agent::Error),
    /// The in-process agent of `pilot up` could not start or connect.
    #[error("the local agent is not usable: {reason}")]
    LocalAgent {
        /// What went wrong and what to do.
        reason: String,
    },
    /// A file or directory operation failed.
    #[error("cannot {action} {}: {cause}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_cause_is_printed_once_in_the_message_and_not_returned_again() {
        let error = Error::Io {
            action: "create",
            path: "/srv/pilot".into(),
            cause: std::io::Error::other("read-only file system"),
        };
        assert_eq!(
            error.to_string(),
            "cannot create /srv/pilot: read-only file system"
        );
        assert!(error.source().is_none());
    }
}
