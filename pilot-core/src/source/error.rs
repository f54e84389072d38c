//! Errors of fetching a release.

use std::path::PathBuf;

/// Why a release could not be fetched. Git URLs in these errors always have
/// their credentials masked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The destination directory exists and is not empty.
    #[error("release directory {path} is not empty; remove it or fetch into a new directory")]
    DestNotEmpty {
        /// The destination.
        path: PathBuf,
    },

    /// The destination exists and is not a directory (or is a symlink).
    #[error(
        "release path {path} exists and is not a directory; remove it or fetch into a new directory"
    )]
    DestNotDirectory {
        /// The destination.
        path: PathBuf,
    },

    /// A file or directory operation failed.
    #[error("could not {action} {path}: {cause}")]
    Io {
        /// What was being done, e.g. "create directory".
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// The git repository does not exist or could not be reached.
    #[error(
        "git repository {url} ({reference}) was not found or could not be reached: {message}; \
         check the URL, that the repository exists and that this machine can reach it"
    )]
    RepositoryNotFound {
        /// The repository URL (credentials masked).
        url: String,
        /// The requested reference, e.g. "branch main".
        reference: String,
        /// git's message.
        message: String,
    },

    /// The git server asked for credentials, or refused the ones given.
    #[error(
        "git repository {url} ({reference}) requires authentication: {message}; put a user \
         name and access token in the URL (https://user:token@host/repo) or make it public"
    )]
    AuthenticationRequired {
        /// The repository URL (credentials masked).
        url: String,
        /// The requested reference.
        reference: String,
        /// git's message.
        message: String,
    },

    /// The remote has no branch of that name.
    #[error(
        "branch {branch} not found in git repository {url}; its branches are: {}; \
         pick one of them or push the branch",
        list_or_none(available)
    )]
    BranchNotFound {
        /// The repository URL (credentials masked).
        url: String,
        /// The missing branch.
        branch: String,
        /// Up to 10 branches the remote has.
        available: Vec<String>,
    },

    /// The remote has no tag of that name.
    #[error(
        "tag {tag} not found in git repository {url}; its tags are: {}; \
         pick one of them or push the tag",
        list_or_none(available)
    )]
    TagNotFound {
        /// The repository URL (credentials masked).
        url: String,
        /// The missing tag.
        tag: String,
        /// Up to 10 tags the remote has.
        available: Vec<String>,
    },

    /// The remote has no default branch (an empty repository, or `HEAD` is unset).
    #[error(
        "git repository {url} has no default branch; its branches are: {}; \
         push a commit or name a branch explicitly",
        list_or_none(available)
    )]
    NoDefaultBranch {
        /// The repository URL (credentials masked).
        url: String,
        /// Up to 10 branches the remote has.
        available: Vec<String>,
    },

    /// No commit with that id is reachable from the remote's branches and tags.
    #[error(
        "commit {commit} not found in git repository {url} (searched every branch and tag); \
         check the id and that the commit was pushed"
    )]
    CommitNotFound {
        /// The repository URL (credentials masked).
        url: String,
        /// The requested commit id.
        commit: String,
    },

    /// An abbreviated commit id matches several commits.
    #[error("commit id {commit} is ambiguous in git repository {url}; give more hex digits")]
    AmbiguousCommit {
        /// The repository URL (credentials masked).
        url: String,
        /// The requested commit id.
        commit: String,
    },

    /// The commit id is not 7 to 40 hex digits.
    #[error("invalid commit id {commit:?} for git repository {url}; give 7 to 40 hex digits")]
    InvalidCommit {
        /// The repository URL (credentials masked).
        url: String,
        /// The rejected id.
        commit: String,
    },

    /// Another git failure (fetching objects, checking out).
    #[error(
        "git {action} of {url} ({reference}) failed: {message}; check the repository and try again"
    )]
    Git {
        /// What was being done ("fetch", "checkout").
        action: &'static str,
        /// The repository URL (credentials masked).
        url: String,
        /// The requested reference.
        reference: String,
        /// git's message (credentials masked).
        message: String,
    },

    /// The git download alone is larger than the byte limit.
    #[error(
        "the download from git repository {url} ({reference}) exceeds the limit of {limit} bytes; \
         raise max_bytes, or fetch a branch or tag (a shallow download) instead of a commit"
    )]
    DownloadTooLarge {
        /// The repository URL (credentials masked).
        url: String,
        /// The requested reference.
        reference: String,
        /// The byte limit.
        limit: u64,
    },

    /// An archive entry, directory entry or git tree entry is unsafe to write.
    #[error("unsafe entry {entry:?}: {reason}; nothing was kept, fix the source and try again")]
    UnsafeEntry {
        /// The entry's name as found in the source.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Writing the release went over the byte limit.
    #[error(
        "the release exceeds the limit of {limit} bytes (reached at {entry}); \
         make the release smaller or raise max_bytes"
    )]
    TooLarge {
        /// The byte limit.
        limit: u64,
        /// The entry being written when the limit was reached.
        entry: String,
    },

    /// The release has more entries than the file limit.
    #[error(
        "the release has more than {limit} files and directories; \
         make it smaller or raise max_files"
    )]
    TooManyFiles {
        /// The limit.
        limit: u64,
    },

    /// The archive is neither a zip nor a gzip-compressed tar.
    #[error("{path} is neither a zip nor a gzip-compressed tar archive; upload a .zip or .tar.gz")]
    UnknownArchiveFormat {
        /// The archive file.
        path: PathBuf,
    },

    /// The archive could not be read.
    #[error("archive {path} is damaged: {message}; create it again")]
    CorruptArchive {
        /// The archive file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// An archive entry uses a feature Pilot does not read.
    #[error(
        "entry {entry:?} of archive {path} is {reason}; create the archive again without \
         encryption, using deflate or no compression"
    )]
    UnsupportedArchiveEntry {
        /// The archive file.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// What is not supported, e.g. "encrypted".
        reason: String,
    },

    /// The directory to copy does not exist or is not a directory.
    #[error("source directory {path} does not exist or is not a directory; check the path")]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },

    /// The background task doing the work stopped unexpectedly.
    #[error("fetching {source_description} stopped unexpectedly: {message}; try again")]
    Aborted {
        /// What was being fetched (credentials masked).
        source_description: String,
        /// Why it stopped.
        message: String,
    },
}

impl SourceError {
    /// Builds a [`SourceError::Io`].
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        SourceError::Io {
            action,
            path: path.into(),
            cause: source,
        }
    }

    /// Builds a [`SourceError::UnsafeEntry`].
    pub(crate) fn unsafe_entry(entry: impl Into<String>, reason: impl Into<String>) -> Self {
        SourceError::UnsafeEntry {
            entry: entry.into(),
            reason: reason.into(),
        }
    }
}

/// Joins names for a message, or says "none".
fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
