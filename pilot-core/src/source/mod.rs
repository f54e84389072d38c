//! Fetching a release: a git repository, an uploaded archive or a local directory.
//!
//! [`fetch`] writes the release into a fresh directory and returns its
//! [`Fetched`] summary. Every source goes through the same safety rules:
//! nothing is written outside the destination, no symlink may point out of the
//! release or be written through, and [`FetchLimits`] bound what is written.
//! On any failure the destination is left as it was found.
//!
//! ```no_run
//! use std::path::Path;
//! use pilot_core::source::{fetch, FetchLimits, GitRef, SourceSpec};
//!
//! # async fn demo() -> Result<(), pilot_core::source::SourceError> {
//! let spec = SourceSpec::Git {
//!     url: "https://example.com/app.git".into(),
//!     reference: GitRef::Branch("main".into()),
//! };
//! let fetched = fetch(&spec, Path::new("/srv/pilot/tmp/app-release"), &FetchLimits::default()).await?;
//! println!("fetched {} ({} files)", fetched.version, fetched.files);
//! # Ok(())
//! # }
//! ```

mod archive;
mod digest;
mod dir;
mod error;
mod git;
mod git_refs;
mod git_tree;
mod limits;
mod names;
mod plan;
mod release_dir;
mod tar_gz;
mod url;
mod writer;
mod zip_file;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use error::SourceError;
pub use limits::FetchLimits;

use release_dir::ReleaseDir;

/// Where a release comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceSpec {
    /// A git repository: `https://`, `http://`, `git://`, `file://` URL or a plain local path.
    Git {
        /// The repository URL; credentials in it are never logged.
        url: String,
        /// What to check out.
        reference: GitRef,
    },
    /// A `.zip` or `.tar.gz` file (recognised by its content, not its name).
    Archive {
        /// The archive file.
        path: PathBuf,
    },
    /// A local app directory, copied without its `.git`.
    Dir {
        /// The directory to copy.
        path: PathBuf,
    },
}

/// Which revision of a git repository to check out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "name", rename_all = "lowercase")]
pub enum GitRef {
    /// The remote's default branch (what its `HEAD` points at).
    Default,
    /// The tip of a branch.
    Branch(String),
    /// A tag (lightweight or annotated).
    Tag(String),
    /// A commit id, full or abbreviated to at least 7 hex digits.
    Commit(String),
}

/// What [`fetch`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fetched {
    /// Short version id: the first 12 hex digits of the git commit, or for
    /// archives and directories `"a"` followed by 11 hex digits of a sha256
    /// content digest.
    pub version: String,
    /// The full git commit id (git sources only).
    pub commit: Option<String>,
    /// Entries written: regular files, symlinks and directories (a git
    /// checkout's `.git` directory is not counted).
    pub files: u64,
    /// Bytes of regular file content written (not counting `.git`).
    pub bytes: u64,
}

impl SourceSpec {
    /// A one-line description for logs and messages; a password (or a token
    /// given as the user name of an http(s) URL) is masked.
    pub fn describe(&self) -> String {
        match self {
            SourceSpec::Git { url, reference } => {
                format!("git {} ({reference})", url::mask(url))
            }
            SourceSpec::Archive { path } => format!("archive {}", path.display()),
            SourceSpec::Dir { path } => format!("directory {}", path.display()),
        }
    }
}

impl fmt::Display for GitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GitRef::Default => f.write_str("default branch"),
            GitRef::Branch(name) => write!(f, "branch {name}"),
            GitRef::Tag(name) => write!(f, "tag {name}"),
            GitRef::Commit(id) => write!(f, "commit {id}"),
        }
    }
}

/// Fetches the release described by `spec` into `dest`.
///
/// `dest` must not exist (its parent must) or be an empty directory. The work
/// runs on tokio's blocking pool. On failure everything written under `dest`
/// is removed again, and `dest` itself too when this call created it.
pub async fn fetch(
    spec: &SourceSpec,
    dest: &Path,
    limits: &FetchLimits,
) -> Result<Fetched, SourceError> {
    let owned_spec = spec.clone();
    let owned_dest = dest.to_path_buf();
    let limits = *limits;
    tokio::task::spawn_blocking(move || fetch_blocking(&owned_spec, &owned_dest, &limits))
        .await
        .map_err(|e| SourceError::Aborted {
            source_description: spec.describe(),
            message: e.to_string(),
        })?
}

/// The synchronous body of [`fetch`].
fn fetch_blocking(
    spec: &SourceSpec,
    dest: &Path,
    limits: &FetchLimits,
) -> Result<Fetched, SourceError> {
    let description = spec.describe();
    let span = tracing::info_span!("fetch", source = %description, dest = %dest.display());
    let _entered = span.enter();
    let release = ReleaseDir::prepare(dest)?;
    let result = match spec {
        SourceSpec::Git { url, reference } => git::fetch(url, reference, release.path(), limits),
        SourceSpec::Archive { path } => archive::extract(path, release.path(), limits),
        SourceSpec::Dir { path } => dir::copy(path, release.path(), limits),
    };
    match result {
        Ok(fetched) => {
            release.keep();
            tracing::info!(
                version = %fetched.version,
                files = fetched.files,
                bytes = fetched.bytes,
                "release fetched"
            );
            Ok(fetched)
        }
        Err(error) => {
            tracing::warn!(%error, "fetch failed; removing what was written");
            Err(error)
        }
    }
}
