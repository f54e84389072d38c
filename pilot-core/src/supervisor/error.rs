//! Errors of the embedded supervisor.

/// Why the supervisor could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// No service of that name is installed.
    #[error("no service named {name} is installed")]
    UnknownService {
        /// The name asked for.
        name: String,
    },
}
