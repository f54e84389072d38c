//! Small file-system operations that must be atomic or careful.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::{IoContext, Result};

/// Writes `bytes` to `path` atomically: a temp file in the same directory,
/// fsync, rename over the target, fsync of the directory. Readers see the old
/// or the new content, never a mix; a crash leaves one of the two.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).ctx("create directory", dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .ctx("create", &tmp)?;
        file.set_permissions(fs::Permissions::from_mode(mode))
            .ctx("set permissions of", &tmp)?;
        file.write_all(bytes).ctx("write", &tmp)?;
        file.sync_all().ctx("sync", &tmp)?;
    }
    fs::rename(&tmp, path).ctx("rename into place", path)?;
    sync_dir(dir)
}

/// Writes `value` as pretty JSON with [`write_atomic`] (mode 0644).
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| crate::Error::CorruptState {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_atomic(path, &bytes, 0o644)
}

/// Reads JSON written by [`write_json_atomic`]; `None` when the file does not exist.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| crate::Error::CorruptState {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::Error::io("read", path, e)),
    }
}

/// Points the symlink `link` at `target` atomically (a new link beside it,
/// renamed over the old one).
pub fn switch_symlink(link: &Path, target: &Path) -> Result<()> {
    let dir = link.parent().unwrap_or(Path::new("."));
    let name = link.file_name().and_then(|n| n.to_str()).unwrap_or("link");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).ctx("create symlink", &tmp)?;
    fs::rename(&tmp, link).ctx("switch symlink", link)?;
    sync_dir(dir)
}

/// Removes a directory tree; a no-op when it does not exist.
pub fn remove_dir_all_if_exists(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(crate::Error::io("remove", path, e)),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx("sync directory", dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_and_symlink_switch() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.json");
        write_json_atomic(&file, &vec![1, 2, 3]).unwrap();
        assert_eq!(read_json::<Vec<i32>>(&file).unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(
            read_json::<Vec<i32>>(&dir.path().join("nope")).unwrap(),
            None
        );

        write_atomic(&dir.path().join(".env"), b"A=1\n", 0o600).unwrap();
        let mode = fs::metadata(dir.path().join(".env"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let link = dir.path().join("current");
        switch_symlink(&link, Path::new("releases/1")).unwrap();
        switch_symlink(&link, Path::new("releases/2")).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("releases/2"));
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
