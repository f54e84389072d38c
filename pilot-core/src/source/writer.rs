//! Writing checked entries under the release root without ever following a symlink.
//!
//! Every path is walked from an open handle on the root with `openat(...,
//! O_NOFOLLOW)`, and leaves are created with `O_CREAT | O_EXCL`, so even a
//! symlink that appeared on disk behind the [`Plan`](super::plan::Plan)'s back
//! could not redirect a write outside the release.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{Mode, SFlag, fchmod, fstatat, mkdirat};
use nix::unistd::{linkat, symlinkat};

use super::SourceError;
use super::limits::ByteBudget;
use super::names::RelPath;
use super::plan::Entry;

/// Mode of every directory written.
const DIR_MODE: u32 = 0o755;
/// Size of the copy buffer.
const CHUNK: usize = 64 * 1024;

/// Creates entries under one release root and counts the content bytes.
#[derive(Debug)]
pub(crate) struct ReleaseWriter {
    root: OwnedFd,
    root_path: PathBuf,
    budget: ByteBudget,
}

impl ReleaseWriter {
    /// Opens the release root (which must be a real directory) for writing at most `max_bytes`.
    pub(crate) fn open(root_path: &Path, max_bytes: u64) -> Result<Self, SourceError> {
        let root = nix::fcntl::open(root_path, dir_flags(), Mode::empty())
            .map_err(|e| SourceError::io("open", root_path, e.into()))?;
        Ok(ReleaseWriter {
            root,
            root_path: root_path.to_path_buf(),
            budget: ByteBudget::new(max_bytes),
        })
    }

    /// Content bytes written so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.budget.used()
    }

    /// Creates a directory (mode 0755); an existing directory is fine.
    pub(crate) fn dir(&mut self, entry: &Entry) -> Result<(), SourceError> {
        let (parent, name) = self.parent_of(entry)?;
        match mkdirat(&parent, name, Mode::from_bits_truncate(DIR_MODE)) {
            Ok(()) => {
                let fd = openat(&parent, name, dir_flags(), Mode::empty())
                    .map_err(|e| self.io_error("open", &entry.path, e))?;
                fchmod(&fd, Mode::from_bits_truncate(DIR_MODE))
                    .map_err(|e| self.io_error("set permissions of", &entry.path, e))
            }
            Err(Errno::EEXIST) => match fstatat(&parent, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(stat)
                    if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT
                        == SFlag::S_IFDIR =>
                {
                    Ok(())
                }
                _ => Err(SourceError::unsafe_entry(
                    &entry.name,
                    "something other than a directory already exists at its path",
                )),
            },
            Err(e) => Err(self.io_error("create directory", &entry.path, e)),
        }
    }

    /// Creates a regular file from `content`, mode 0755 or 0644, counting
    /// every byte against the limit. Read failures go through `read_error`.
    pub(crate) fn file(
        &mut self,
        entry: &Entry,
        executable: bool,
        content: &mut dyn Read,
        read_error: &dyn Fn(io::Error) -> SourceError,
    ) -> Result<u64, SourceError> {
        let (parent, name) = self.parent_of(entry)?;
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(&parent, name, flags, Mode::from_bits_truncate(0o600)).map_err(|e| {
            if e == Errno::EEXIST {
                SourceError::unsafe_entry(&entry.name, "a file already exists at its path")
            } else {
                self.io_error("create", &entry.path, e)
            }
        })?;
        let mut file = File::from(fd);
        let mut buffer = vec![0u8; CHUNK];
        let mut written = 0u64;
        loop {
            let n = match content.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(e)),
            };
            self.budget.charge(n as u64, &entry.name)?;
            file.write_all(&buffer[..n]).map_err(|e| {
                SourceError::io("write", self.root_path.join(entry.path.to_string()), e)
            })?;
            written += n as u64;
        }
        let mode = if executable { 0o755 } else { 0o644 };
        fchmod(file.as_fd(), Mode::from_bits_truncate(mode))
            .map_err(|e| self.io_error("set permissions of", &entry.path, e))?;
        Ok(written)
    }

    /// Creates a symlink (its target was checked by the plan).
    pub(crate) fn symlink(&mut self, entry: &Entry, target: &str) -> Result<(), SourceError> {
        let (parent, name) = self.parent_of(entry)?;
        symlinkat(target, &parent, name).map_err(|e| {
            if e == Errno::EEXIST {
                SourceError::unsafe_entry(&entry.name, "a file already exists at its path")
            } else {
                self.io_error("create symlink", &entry.path, e)
            }
        })
    }

    /// Creates a hard link to the regular file `target` written earlier.
    pub(crate) fn hard_link(&mut self, entry: &Entry, target: &RelPath) -> Result<(), SourceError> {
        let (target_parent, target_name) = self.walk_parent(entry, target)?;
        match fstatat(&target_parent, target_name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(stat)
                if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG => {}
            _ => {
                return Err(SourceError::unsafe_entry(
                    &entry.name,
                    format!("hard link target {target} is not a regular file"),
                ));
            }
        }
        let (parent, name) = self.parent_of(entry)?;
        linkat(&target_parent, target_name, &parent, name, AtFlags::empty())
            .map_err(|e| self.io_error("create hard link", &entry.path, e))
    }

    /// Opens (creating as needed) the parent directory of `entry`.
    fn parent_of<'e>(&self, entry: &'e Entry) -> Result<(OwnedFd, &'e str), SourceError> {
        self.walk_parent(entry, &entry.path)
    }

    /// Opens (creating as needed, mode 0755) the directory holding `path`
    /// without following symlinks; returns it and the last component.
    fn walk_parent<'p>(
        &self,
        entry: &Entry,
        path: &'p RelPath,
    ) -> Result<(OwnedFd, &'p str), SourceError> {
        let Some((last, parents)) = path.components().split_last() else {
            return Err(SourceError::unsafe_entry(
                &entry.name,
                "it names the release root",
            ));
        };
        let mut dir = self
            .root
            .try_clone()
            .map_err(|e| SourceError::io("open", &self.root_path, e))?;
        let mut walked = RelPath::default();
        for part in parents {
            walked.push(part.clone());
            dir = match openat(&dir, part.as_str(), dir_flags(), Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    mkdirat(&dir, part.as_str(), Mode::from_bits_truncate(DIR_MODE))
                        .map_err(|e| self.io_error("create directory", &walked, e))?;
                    let fd = openat(&dir, part.as_str(), dir_flags(), Mode::empty())
                        .map_err(|e| self.io_error("open", &walked, e))?;
                    fchmod(&fd, Mode::from_bits_truncate(DIR_MODE))
                        .map_err(|e| self.io_error("set permissions of", &walked, e))?;
                    fd
                }
                Err(Errno::ENOTDIR | Errno::ELOOP) => {
                    return Err(SourceError::unsafe_entry(
                        &entry.name,
                        format!("its parent {walked} is not a directory"),
                    ));
                }
                Err(e) => return Err(self.io_error("open", &walked, e)),
            };
        }
        Ok((dir, last.as_str()))
    }

    /// An I/O error about a path of the release.
    fn io_error(&self, action: &'static str, path: &RelPath, errno: Errno) -> SourceError {
        SourceError::io(action, self.root_path.join(path.to_string()), errno.into())
    }
}

/// Flags to open a directory without following a symlink.
fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::source::names::entry_path;
    use crate::source::plan::EntryKind;

    fn entry(name: &str, kind: EntryKind) -> Entry {
        Entry {
            name: name.to_owned(),
            path: entry_path(name.as_bytes()).expect("safe name"),
            kind,
        }
    }

    fn no_read_error(e: io::Error) -> SourceError {
        SourceError::io("read", "test", e)
    }

    #[test]
    fn files_get_normalized_modes_and_parents() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut writer = ReleaseWriter::open(tmp.path(), 100).expect("open");
        let run = entry("bin/run", EntryKind::File { executable: true });
        writer
            .file(&run, true, &mut &b"#!/bin/sh\n"[..], &no_read_error)
            .expect("write");
        let mode = |p: &str| {
            std::fs::metadata(tmp.path().join(p))
                .expect("stat")
                .permissions()
                .mode()
                & 0o7777
        };
        assert_eq!(mode("bin/run"), 0o755);
        assert_eq!(mode("bin"), 0o755);
        assert_eq!(writer.bytes(), 10);
    }

    #[test]
    fn an_existing_symlink_on_disk_is_never_followed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(outside.path(), tmp.path().join("l")).expect("symlink");
        let mut writer = ReleaseWriter::open(tmp.path(), 100).expect("open");
        let through = entry("l/x", EntryKind::File { executable: false });
        let err = writer
            .file(&through, false, &mut &b"x"[..], &no_read_error)
            .expect_err("refused");
        assert!(matches!(err, SourceError::UnsafeEntry { .. }), "{err:?}");
        let over = entry("l", EntryKind::File { executable: false });
        let err = writer
            .file(&over, false, &mut &b"x"[..], &no_read_error)
            .expect_err("refused");
        assert!(matches!(err, SourceError::UnsafeEntry { .. }), "{err:?}");
        assert_eq!(std::fs::read_dir(outside.path()).expect("read").count(), 0);
    }

    #[test]
    fn byte_limit_stops_the_write() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut writer = ReleaseWriter::open(tmp.path(), 3).expect("open");
        let big = entry("big", EntryKind::File { executable: false });
        let err = writer
            .file(&big, false, &mut &b"four"[..], &no_read_error)
            .expect_err("too large");
        assert!(matches!(err, SourceError::TooLarge { limit: 3, ref entry } if entry == "big"));
    }
}
