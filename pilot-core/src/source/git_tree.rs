//! Checking a commit's tree before it is checked out.
//!
//! The tree is listed from the object database (sizes from object headers,
//! nothing is inflated except symlink targets) and run through the same
//! [`Plan`] as archives, so a repository cannot smuggle in a symlink that
//! points out of the release, and the limits hold before a byte is written.

use git2::{ObjectType, Oid, Repository};

use super::names::display_name;
use super::plan::{Plan, RawEntry, RawKind};
use super::{FetchLimits, SourceError};

/// Longest symlink target accepted, in bytes.
const MAX_LINK_TARGET: usize = 4096;

/// What a checkout of the tree will write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TreeSize {
    /// Files, symlinks and directories.
    pub(crate) files: u64,
    /// Bytes of regular file content.
    pub(crate) bytes: u64,
}

/// Lists the tree `root` and checks it against the safety rules and `limits`;
/// `git_error` words a failure to read the object database.
pub(crate) fn check(
    repo: &Repository,
    root: Oid,
    limits: &FetchLimits,
    git_error: &dyn Fn(git2::Error) -> SourceError,
) -> Result<TreeSize, SourceError> {
    let odb = repo.odb().map_err(git_error)?;
    let mut raw = Vec::new();
    let mut bytes = 0u64;
    let mut pending: Vec<(Vec<u8>, Oid)> = vec![(Vec::new(), root)];
    while let Some((prefix, tree_id)) = pending.pop() {
        let tree = repo.find_tree(tree_id).map_err(git_error)?;
        for entry in tree.iter() {
            let mut name = prefix.clone();
            name.extend_from_slice(entry.name_bytes());
            let mode = entry.filemode();
            let kind = match (mode, entry.kind()) {
                (0o040000, Some(ObjectType::Tree)) => {
                    let mut child = name.clone();
                    child.push(b'/');
                    pending.push((child, entry.id()));
                    RawKind::Dir
                }
                (0o100644 | 0o100664 | 0o100755, Some(ObjectType::Blob)) => {
                    let (size, _) = odb.read_header(entry.id()).map_err(git_error)?;
                    bytes = bytes.saturating_add(size as u64);
                    if bytes > limits.max_bytes {
                        return Err(SourceError::TooLarge {
                            limit: limits.max_bytes,
                            entry: display_name(&name),
                        });
                    }
                    RawKind::File {
                        executable: mode & 0o111 != 0,
                    }
                }
                (0o120000, Some(ObjectType::Blob)) => {
                    let blob = repo.find_blob(entry.id()).map_err(git_error)?;
                    if blob.content().len() > MAX_LINK_TARGET {
                        return Err(SourceError::unsafe_entry(
                            display_name(&name),
                            format!("the symlink target is longer than {MAX_LINK_TARGET} bytes"),
                        ));
                    }
                    RawKind::Symlink {
                        target: blob.content().to_vec(),
                    }
                }
                // A submodule: checked out as an empty directory, not fetched.
                (0o160000, _) => continue,
                _ => {
                    return Err(SourceError::unsafe_entry(
                        display_name(&name),
                        format!("git tree entry with unexpected mode {mode:o}"),
                    ));
                }
            };
            raw.push(RawEntry { name, kind });
            limits.check_files(raw.len() as u64)?;
        }
    }
    let plan = Plan::check(&raw, false, limits)?;
    Ok(TreeSize {
        files: plan.count(),
        bytes,
    })
}
