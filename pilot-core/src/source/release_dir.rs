//! The destination directory of a fetch, removed again unless the fetch succeeds.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::SourceError;

/// A destination directory being filled. Dropping it without [`ReleaseDir::keep`]
/// (an error or a panic) removes everything written into it, and the directory
/// itself when it was created here.
#[derive(Debug)]
pub(crate) struct ReleaseDir {
    path: PathBuf,
    created: bool,
    keep: bool,
}

impl ReleaseDir {
    /// Creates `path` (its parent must exist), or accepts it when it is an
    /// empty directory. A symlink is refused, so writes cannot land elsewhere.
    pub(crate) fn prepare(path: &Path) -> Result<Self, SourceError> {
        let created = match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let mut entries =
                    fs::read_dir(path).map_err(|e| SourceError::io("read", path, e))?;
                if entries.next().is_some() {
                    return Err(SourceError::DestNotEmpty {
                        path: path.to_path_buf(),
                    });
                }
                false
            }
            Ok(_) => {
                return Err(SourceError::DestNotDirectory {
                    path: path.to_path_buf(),
                });
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .mode(0o755)
                    .create(path)
                    .map_err(|e| SourceError::io("create directory", path, e))?;
                true
            }
            Err(e) => return Err(SourceError::io("inspect", path, e)),
        };
        Ok(ReleaseDir {
            path: path.to_path_buf(),
            created,
            keep: false,
        })
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps what was written.
    pub(crate) fn keep(mut self) {
        self.keep = true;
    }

    /// Removes what was written; `remove_dir_all` never follows symlinks.
    fn clean(&self) -> std::io::Result<()> {
        if self.created {
            return fs::remove_dir_all(&self.path);
        }
        for entry in fs::read_dir(&self.path)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                fs::remove_dir_all(entry.path())?;
            } else {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }
}

impl Drop for ReleaseDir {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Err(error) = self.clean() {
            tracing::error!(
                path = %self.path.display(),
                %error,
                "could not remove a partly fetched release; remove it by hand"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_directory_is_removed_when_not_kept() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dest = tmp.path().join("release");
        {
            let release = ReleaseDir::prepare(&dest).expect("prepare");
            fs::write(release.path().join("file"), b"x").expect("write");
        }
        assert!(!dest.exists());
    }

    #[test]
    fn existing_empty_directory_is_emptied_but_kept() {
        let tmp = tempfile::tempdir().expect("tempdir");
        {
            let release = ReleaseDir::prepare(tmp.path()).expect("prepare");
            fs::create_dir(release.path().join("sub")).expect("mkdir");
            std::os::unix::fs::symlink("/etc", release.path().join("link")).expect("symlink");
        }
        assert!(tmp.path().is_dir());
        assert_eq!(fs::read_dir(tmp.path()).expect("read").count(), 0);
        assert!(Path::new("/etc").is_dir());
    }

    #[test]
    fn kept_directory_stays() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dest = tmp.path().join("release");
        let release = ReleaseDir::prepare(&dest).expect("prepare");
        fs::write(release.path().join("file"), b"x").expect("write");
        release.keep();
        assert!(dest.join("file").is_file());
    }

    #[test]
    fn non_empty_file_and_symlink_destinations_are_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join("f"), b"x").expect("write");
        assert!(matches!(
            ReleaseDir::prepare(tmp.path()),
            Err(SourceError::DestNotEmpty { .. })
        ));
        assert!(matches!(
            ReleaseDir::prepare(&tmp.path().join("f")),
            Err(SourceError::DestNotDirectory { .. })
        ));
        let empty = tmp.path().join("empty");
        fs::create_dir(&empty).expect("mkdir");
        std::os::unix::fs::symlink(&empty, tmp.path().join("link")).expect("symlink");
        assert!(matches!(
            ReleaseDir::prepare(&tmp.path().join("link")),
            Err(SourceError::DestNotDirectory { .. })
        ));
    }
}
