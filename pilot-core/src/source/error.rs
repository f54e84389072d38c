//! Errors of fetching a release.

/// Why a release could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The git operation failed.
    #[error("git {action} of {url} failed: {message}")]
    Git {
        /// What was being done ("clone", "checkout").
        action: &'static str,
        /// The repository URL.
        url: String,
        /// git's message.
        message: String,
    },
}
