//! Git repositories: resolve the reference against the remote's
//! advertisement, download as little history as the transport allows, check
//! the tree, then check it out.
//!
//! Branches and tags are fetched shallow (depth 1); libgit2's local
//! transport (plain paths, `file://`) cannot do that, so those fall back to a
//! full fetch. A commit at a branch or tag tip is fetched like that tip; a
//! full commit id is tried directly (servers that allow it send only that
//! commit); anything else fetches every branch and tag and looks the commit up.
//! Credentials in the URL are used by libgit2 but never written to disk,
//! logged or put in an error.

use std::cell::Cell;
use std::path::Path;

use git2::{AutotagOption, Direction, ErrorCode, FetchOptions, Oid, RemoteCallbacks, Repository};

use super::git_refs::{Advertised, Wanted};
use super::{FetchLimits, Fetched, GitRef, SourceError, git_tree, url};

/// Hex digits of the commit id kept as the version.
const VERSION_LEN: usize = 12;

/// Local ref a commit fetched by id is stored under.
const COMMIT_REF: &str = "refs/pilot/commit";

/// libgit2's `GIT_ENOTSUPPORTED`, which git2's `ErrorCode` does not name; the
/// local transport returns it for a shallow fetch.
const GIT_ENOTSUPPORTED: i32 = -39;

/// Refspecs of a full fetch: every branch and tag.
const ALL_REFS: [&str; 2] = [
    "+refs/heads/*:refs/remotes/origin/*",
    "+refs/tags/*:refs/tags/*",
];

/// Fetches `reference` of `url_text` and checks it out into `dest` (an empty directory).
pub(crate) fn fetch(
    url_text: &str,
    reference: &GitRef,
    dest: &Path,
    limits: &FetchLimits,
) -> Result<Fetched, SourceError> {
    let remote = GitRemote {
        url: url_text,
        masked: url::mask(url_text),
        reference: reference.to_string(),
        limits,
    };
    let repo = Repository::init(dest).map_err(|e| remote.git_error("init", e))?;
    let advertised = remote.advertised(&repo)?;
    let wanted = advertised.resolve(reference, &remote.masked)?;
    tracing::debug!(?wanted, "resolved reference");
    let oid = match &wanted {
        Wanted::Ref {
            remote_ref,
            local_ref,
            ..
        } => {
            remote.fetch_shallow(&repo, &[format!("+{remote_ref}:{local_ref}")])?;
            let target = repo
                .find_reference(local_ref)
                .and_then(|r| r.peel_to_commit())
                .map_err(|e| remote.git_error("fetch", e))?;
            target.id()
        }
        Wanted::Commit { id } => remote.fetch_commit(&repo, id)?,
    };
    let commit = repo
        .find_commit(oid)
        .map_err(|e| remote.git_error("checkout", e))?;
    let size = git_tree::check(&repo, commit.tree_id(), limits, &|e| {
        remote.git_error("checkout", e)
    })?;
    let mut checkout = git2::build::CheckoutBuilder::new();
    checkout.force();
    repo.checkout_tree(commit.as_object(), Some(&mut checkout))
        .map_err(|e| remote.git_error("checkout", e))?;
    match &wanted {
        Wanted::Ref {
            branch: Some(branch),
            ..
        } => repo
            .branch(branch, &commit, true)
            .and_then(|_| repo.set_head(&format!("refs/heads/{branch}"))),
        _ => repo.set_head_detached(oid),
    }
    .map_err(|e| remote.git_error("checkout", e))?;
    let id = oid.to_string();
    Ok(Fetched {
        version: id[..VERSION_LEN].to_owned(),
        commit: Some(id),
        files: size.files,
        bytes: size.bytes,
    })
}

/// The remote being fetched from, and how to word its errors.
struct GitRemote<'a> {
    url: &'a str,
    masked: String,
    reference: String,
    limits: &'a FetchLimits,
}

/// Why a fetch failed.
enum FetchFailure {
    /// The download went over the byte limit.
    TooLarge,
    /// libgit2 failed.
    Git(git2::Error),
}

impl GitRemote<'_> {
    /// Connects and lists the remote's refs and default branch.
    fn advertised(&self, repo: &Repository) -> Result<Advertised, SourceError> {
        let mut remote = repo
            .remote_anonymous(self.url)
            .map_err(|e| self.connect_error(e))?;
        let connection = remote
            .connect_auth(Direction::Fetch, None, None)
            .map_err(|e| self.connect_error(e))?;
        let refs = connection
            .list()
            .map_err(|e| self.connect_error(e))?
            .iter()
            .map(|head| (head.name().to_owned(), head.oid()))
            .collect();
        let default_branch = connection
            .default_branch()
            .ok()
            .and_then(|name| name.as_str().map(str::to_owned).ok());
        Ok(Advertised {
            refs,
            default_branch,
        })
    }

    /// Fetches `refspecs` with depth 1, or in full when the transport cannot.
    fn fetch_shallow(&self, repo: &Repository, refspecs: &[String]) -> Result<(), SourceError> {
        match self.fetch_refs(repo, refspecs, 1) {
            Err(FetchFailure::Git(e)) if e.raw_code() == GIT_ENOTSUPPORTED => {
                tracing::debug!(
                    message = e.message(),
                    "shallow fetch not supported; fetching full history"
                );
                self.fetch_refs(repo, refspecs, 0)
            }
            other => other,
        }
        .map_err(|failure| self.fetch_error(failure))
    }

    /// Fetches a commit that is not at an advertised tip; returns its full id.
    fn fetch_commit(&self, repo: &Repository, id: &str) -> Result<Oid, SourceError> {
        if id.len() == 40 {
            match self.fetch_shallow(repo, &[format!("{id}:{COMMIT_REF}")]) {
                Ok(()) => {
                    if let Ok(oid) = Oid::from_str(id) {
                        return Ok(oid);
                    }
                }
                Err(error @ SourceError::DownloadTooLarge { .. }) => return Err(error),
                Err(error) => {
                    tracing::debug!(%error, "remote refused a fetch by commit id; fetching all branches and tags");
                }
            }
        }
        let all: Vec<String> = ALL_REFS.iter().map(|s| (*s).to_owned()).collect();
        self.fetch_refs(repo, &all, 0)
            .map_err(|failure| self.fetch_error(failure))?;
        match repo.find_commit_by_prefix(id) {
            Ok(commit) => Ok(commit.id()),
            Err(e) if e.code() == ErrorCode::Ambiguous => Err(SourceError::AmbiguousCommit {
                url: self.masked.clone(),
                commit: id.to_owned(),
            }),
            Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => {
                Err(SourceError::CommitNotFound {
                    url: self.masked.clone(),
                    commit: id.to_owned(),
                })
            }
            Err(e) => Err(self.git_error("fetch", e)),
        }
    }

    /// One fetch of `refspecs`; `depth` 0 means full history. The download
    /// is stopped as soon as it passes the byte limit.
    fn fetch_refs(
        &self,
        repo: &Repository,
        refspecs: &[String],
        depth: i32,
    ) -> Result<(), FetchFailure> {
        let exceeded = Cell::new(false);
        let max_bytes = self.limits.max_bytes;
        let mut callbacks = RemoteCallbacks::new();
        callbacks.transfer_progress(|progress| {
            let over = progress.received_bytes() as u64 > max_bytes;
            exceeded.set(over);
            !over
        });
        let mut options = FetchOptions::new();
        options
            .remote_callbacks(callbacks)
            .download_tags(AutotagOption::None)
            .update_fetchhead(false)
            .depth(depth);
        let mut remote = repo.remote_anonymous(self.url).map_err(FetchFailure::Git)?;
        match remote.fetch(refspecs, Some(&mut options), None) {
            Ok(()) => Ok(()),
            Err(_) if exceeded.get() => Err(FetchFailure::TooLarge),
            Err(e) => Err(FetchFailure::Git(e)),
        }
    }

    /// Words a failed fetch.
    fn fetch_error(&self, failure: FetchFailure) -> SourceError {
        match failure {
            FetchFailure::TooLarge => SourceError::DownloadTooLarge {
                url: self.masked.clone(),
                reference: self.reference.clone(),
                limit: self.limits.max_bytes,
            },
            FetchFailure::Git(e) if e.code() == ErrorCode::Auth => self.auth_error(&e),
            FetchFailure::Git(e) => self.git_error("fetch", e),
        }
    }

    /// Words a failure to reach the repository.
    fn connect_error(&self, e: git2::Error) -> SourceError {
        if e.code() == ErrorCode::Auth {
            return self.auth_error(&e);
        }
        SourceError::RepositoryNotFound {
            url: self.masked.clone(),
            reference: self.reference.clone(),
            message: url::scrub(e.message(), self.url),
        }
    }

    /// A [`SourceError::AuthenticationRequired`].
    fn auth_error(&self, e: &git2::Error) -> SourceError {
        SourceError::AuthenticationRequired {
            url: self.masked.clone(),
            reference: self.reference.clone(),
            message: url::scrub(e.message(), self.url),
        }
    }

    /// A [`SourceError::Git`] for `action`.
    fn git_error(&self, action: &'static str, e: git2::Error) -> SourceError {
        SourceError::Git {
            action,
            url: self.masked.clone(),
            reference: self.reference.clone(),
            message: url::scrub(e.message(), self.url),
        }
    }
}
