//! Local app directories, copied into the release.

use std::fs::{self, File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::digest::{HashingReader, TreeDigest};
use super::names::RelPath;
use super::plan::{EntryKind, Plan, RawEntry, RawKind};
use super::writer::ReleaseWriter;
use super::{FetchLimits, Fetched, SourceError};

/// Name skipped at every level of the tree.
const GIT_DIR: &str = ".git";

/// One listed entry and where its content comes from.
struct Listed {
    path: RelPath,
    source: PathBuf,
    kind: RawKind,
}

/// Copies `source` into `dest`, skipping `.git`.
pub(crate) fn copy(
    source: &Path,
    dest: &Path,
    limits: &FetchLimits,
) -> Result<Fetched, SourceError> {
    if !fs::metadata(source).is_ok_and(|m| m.is_dir()) {
        return Err(SourceError::NotADirectory {
            path: source.to_path_buf(),
        });
    }
    let dest_meta = fs::metadata(dest).map_err(|e| SourceError::io("inspect", dest, e))?;
    let mut listed = list(source, (dest_meta.dev(), dest_meta.ino()), limits)?;
    listed.sort_by(|a, b| a.path.cmp(&b.path));
    let raw: Vec<RawEntry> = listed
        .iter()
        .map(|l| RawEntry {
            name: l.path.to_string().into_bytes(),
            kind: l.kind.clone(),
        })
        .collect();
    let plan = Plan::check(&raw, false, limits)?;
    let mut writer = ReleaseWriter::open(dest, limits.max_bytes)?;
    let mut digest = TreeDigest::new();
    for (index, item) in listed.iter().enumerate() {
        let Some(entry) = plan.entry(index) else {
            continue;
        };
        match &entry.kind {
            EntryKind::Dir => {
                writer.dir(entry)?;
                digest.dir(&entry.path);
            }
            EntryKind::File { executable } => {
                let file = open_no_follow(&item.source)?;
                let mut content = HashingReader::new(file);
                let read_error = |e: std::io::Error| SourceError::io("read", &item.source, e);
                writer.file(entry, *executable, &mut content, &read_error)?;
                digest.file(&entry.path, *executable, &content.finish());
            }
            EntryKind::Symlink { target } => {
                writer.symlink(entry, target)?;
                digest.symlink(&entry.path, target);
            }
            EntryKind::HardLink { target } => writer.hard_link(entry, target)?,
        }
    }
    Ok(Fetched {
        version: digest.finish(),
        commit: None,
        files: plan.count(),
        bytes: writer.bytes(),
    })
}

/// Lists the tree under `root` without following symlinks, skipping `.git`
/// and the directory identified by `skip` (the destination, should it lie inside).
fn list(root: &Path, skip: (u64, u64), limits: &FetchLimits) -> Result<Vec<Listed>, SourceError> {
    let mut listed = Vec::new();
    let mut pending = vec![RelPath::default()];
    while let Some(dir) = pending.pop() {
        let dir_path = source_path(root, &dir);
        let entries =
            fs::read_dir(&dir_path).map_err(|e| SourceError::io("read directory", &dir_path, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| SourceError::io("read directory", &dir_path, e))?;
            let file_name = entry.file_name();
            if file_name.as_bytes() == GIT_DIR.as_bytes() {
                continue;
            }
            let Some(name) = file_name.to_str() else {
                let lossy = dir.join(&file_name.to_string_lossy());
                return Err(SourceError::unsafe_entry(
                    lossy.to_string(),
                    "the name is not valid utf-8",
                ));
            };
            let path = dir.join(name);
            let source = entry.path();
            let meta = entry
                .metadata()
                .map_err(|e| SourceError::io("inspect", &source, e))?;
            let file_type = meta.file_type();
            let kind = if file_type.is_dir() {
                if (meta.dev(), meta.ino()) == skip {
                    continue;
                }
                pending.push(path.clone());
                RawKind::Dir
            } else if file_type.is_file() {
                RawKind::File {
                    executable: meta.permissions().mode() & 0o111 != 0,
                }
            } else if file_type.is_symlink() {
                let target = fs::read_link(&source)
                    .map_err(|e| SourceError::io("read symlink", &source, e))?;
                RawKind::Symlink {
                    target: target.as_os_str().as_bytes().to_vec(),
                }
            } else {
                return Err(SourceError::unsafe_entry(
                    path.to_string(),
                    "it is a fifo, socket or device; only regular files, directories and symlinks are copied",
                ));
            };
            listed.push(Listed { path, source, kind });
            limits.check_files(listed.len() as u64)?;
        }
    }
    Ok(listed)
}

/// The on-disk path of a listed entry.
fn source_path(root: &Path, path: &RelPath) -> PathBuf {
    path.components()
        .iter()
        .fold(root.to_path_buf(), |p, c| p.join(c))
}

/// Opens a regular file for reading, refusing a symlink swapped in since listing.
fn open_no_follow(path: &Path) -> Result<File, SourceError> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| SourceError::io("open", path, e))
}
