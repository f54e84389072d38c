//! [`pack_dir`]: an app directory as the `.tar.gz` the server accepts.

use std::collections::HashSet;
use std::fs::{self, File};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use tar::{EntryType, Header};

use super::error::{ClientError, Result};

/// Directory names never packed: version control data.
const SKIPPED_DIRS: [&str; 1] = [".git"];
/// Files that together mark a Pilot server's data directory (databases and
/// the secrets' master key), which is never packed.
const DATA_DIR_MARKERS: [&str; 2] = ["pilot.db", "master.key"];

/// Packs the app directory `dir` into a gzip-compressed tar archive for
/// [`Client::deploy_archive`](super::Client::deploy_archive) and
/// [`Client::create_project_from_archive`](super::Client::create_project_from_archive).
///
/// Entries are sorted and carry no owner or time, so the same tree packs to
/// the same bytes. Left out (each logged): `.git` directories, a Pilot
/// server's data directory (one holding `pilot.db` and `master.key`, as
/// `pilot up` creates in the current directory), symlinks that are
/// absolute or point outside `dir`, sockets and fifos. Files keep whether
/// they are executable.
pub fn pack_dir(dir: &Path) -> Result<Vec<u8>> {
    pack_dir_excluding(dir, &[])
}

/// Like [`pack_dir`], also leaving out the directories in `exclude` (any
/// spelling of them; ones that do not exist are ignored).
pub fn pack_dir_excluding(dir: &Path, exclude: &[PathBuf]) -> Result<Vec<u8>> {
    let meta = fs::metadata(dir).map_err(|e| ClientError::pack("read", dir, e))?;
    if !meta.is_dir() {
        return Err(ClientError::pack(
            "pack",
            dir,
            std::io::Error::new(std::io::ErrorKind::NotADirectory, "it is not a directory"),
        ));
    }
    let excluded: HashSet<(u64, u64)> = exclude
        .iter()
        .filter_map(|path| fs::metadata(path).ok())
        .map(|m| (m.dev(), m.ino()))
        .collect();
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    builder.follow_symlinks(false);
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let absolute = dir.join(&relative);
        let mut children = fs::read_dir(&absolute)
            .map_err(|e| ClientError::pack("read directory", &absolute, e))?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| ClientError::pack("read directory", &absolute, e))?;
        children.sort();
        // Directories are visited in reverse so the stack pops them in order.
        let mut subdirs = Vec::new();
        for name in children {
            let path = relative.join(&name);
            let source = dir.join(&path);
            let meta = fs::symlink_metadata(&source)
                .map_err(|e| ClientError::pack("inspect", &source, e))?;
            let kind = meta.file_type();
            if kind.is_dir() {
                if SKIPPED_DIRS.iter().any(|skip| name == *skip) {
                    continue;
                }
                if excluded.contains(&(meta.dev(), meta.ino())) || is_data_dir(&source) {
                    tracing::warn!(path = %source.display(), "not packed: a Pilot data directory or excluded");
                    continue;
                }
                append_dir(&mut builder, &path, &source)?;
                subdirs.push(path);
            } else if kind.is_file() {
                append_file(&mut builder, &path, &source, meta.permissions().mode())?;
            } else if kind.is_symlink() {
                append_symlink(&mut builder, &path, &source)?;
            } else {
                tracing::warn!(path = %source.display(), "not packed: not a file, directory or symlink");
            }
        }
        pending.extend(subdirs.into_iter().rev());
    }
    let encoder = builder
        .into_inner()
        .map_err(|e| ClientError::pack("pack", dir, e))?;
    encoder
        .finish()
        .map_err(|e| ClientError::pack("compress", dir, e))
}

type Builder = tar::Builder<GzEncoder<Vec<u8>>>;

/// Whether `dir` is a Pilot server's data directory.
fn is_data_dir(dir: &Path) -> bool {
    DATA_DIR_MARKERS
        .iter()
        .all(|marker| dir.join(marker).is_file())
}

/// A header with no owner and no time.
fn header(kind: EntryType, mode: u32, size: u64) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

fn append_dir(builder: &mut Builder, path: &Path, source: &Path) -> Result<()> {
    let mut header = header(EntryType::Directory, 0o755, 0);
    builder
        .append_data(&mut header, path, std::io::empty())
        .map_err(|e| ClientError::pack("pack", source, e))
}

fn append_file(builder: &mut Builder, path: &Path, source: &Path, mode: u32) -> Result<()> {
    let file = File::open(source).map_err(|e| ClientError::pack("open", source, e))?;
    let size = file
        .metadata()
        .map_err(|e| ClientError::pack("inspect", source, e))?
        .len();
    let mode = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
    let mut header = header(EntryType::Regular, mode, size);
    builder
        .append_data(&mut header, path, file)
        .map_err(|e| ClientError::pack("pack", source, e))
}

fn append_symlink(builder: &mut Builder, path: &Path, source: &Path) -> Result<()> {
    let target = fs::read_link(source).map_err(|e| ClientError::pack("read symlink", source, e))?;
    if !stays_inside(path, &target) {
        tracing::warn!(
            path = %source.display(),
            target = %target.display(),
            "not packed: the symlink points outside the app directory"
        );
        return Ok(());
    }
    let mut header = header(EntryType::Symlink, 0o777, 0);
    builder
        .append_link(&mut header, path, &target)
        .map_err(|e| ClientError::pack("pack", source, e))
}

/// Whether a symlink at `link` (relative to the root) with `target` points
/// inside the root, judged on the names alone.
fn stays_inside(link: &Path, target: &Path) -> bool {
    // Depth of the directory holding the link, below the root.
    let mut depth = link.components().count().saturating_sub(1);
    for component in target.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return false,
            },
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    use flate2::read::GzDecoder;

    use super::*;

    fn entries(archive: &[u8]) -> BTreeMap<String, (EntryType, String, u32)> {
        let mut tar = tar::Archive::new(GzDecoder::new(archive));
        let mut out = BTreeMap::new();
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let kind = entry.header().entry_type();
            let mode = entry.header().mode().unwrap();
            let mut content = String::new();
            if kind == EntryType::Symlink {
                content = entry
                    .link_name()
                    .unwrap()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
            } else {
                entry.read_to_string(&mut content).unwrap();
            }
            out.insert(path, (kind, content, mode));
        }
        out
    }

    #[test]
    fn packs_files_dirs_and_inner_symlinks_without_git() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("app.py"), "print('hi')\n").unwrap();
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::write(root.join("bin/run"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(root.join("bin/run"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::create_dir_all(root.join(".git/objects")).unwrap();
        fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        symlink("../app.py", root.join("bin/app")).unwrap();
        symlink("../../etc/passwd", root.join("bin/escape")).unwrap();
        symlink("/etc/hostname", root.join("absolute")).unwrap();

        let packed = pack_dir(root).unwrap();
        let listed = entries(&packed);
        let names: Vec<&str> = listed.keys().map(String::as_str).collect();
        assert_eq!(names, ["app.py", "bin", "bin/app", "bin/run"]);
        assert_eq!(listed["app.py"].1, "print('hi')\n");
        assert_eq!(listed["app.py"].2, 0o644);
        assert_eq!(listed["bin/run"].2, 0o755);
        assert_eq!(
            listed["bin/app"],
            (EntryType::Symlink, "../app.py".into(), 0o777)
        );
        assert_eq!(listed["bin"].0, EntryType::Directory);

        assert_eq!(pack_dir(root).unwrap(), packed, "packing is deterministic");
    }

    #[test]
    fn data_directories_and_exclusions_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("app.py"), "x").unwrap();
        fs::create_dir_all(root.join("pilot-data/agent")).unwrap();
        for marker in DATA_DIR_MARKERS {
            fs::write(root.join("pilot-data").join(marker), "secret").unwrap();
        }
        fs::create_dir_all(root.join("cache/deep")).unwrap();
        fs::write(root.join("cache/deep/blob"), "x").unwrap();
        let names = |archive: Vec<u8>| entries(&archive).into_keys().collect::<Vec<_>>();
        assert_eq!(
            names(pack_dir(root).unwrap()),
            ["app.py", "cache", "cache/deep", "cache/deep/blob"]
        );
        let excluded = pack_dir_excluding(root, &[root.join("./cache"), root.join("missing")]);
        assert_eq!(names(excluded.unwrap()), ["app.py"]);
    }

    #[test]
    fn refuses_what_is_not_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        let error = pack_dir(&file).unwrap_err();
        assert!(error.to_string().contains("not a directory"), "{error}");
        let missing = pack_dir(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(missing, ClientError::Pack { .. }));
    }

    #[test]
    fn symlink_targets_are_judged_by_name() {
        assert!(stays_inside(Path::new("a/link"), Path::new("../b")));
        assert!(stays_inside(Path::new("link"), Path::new("./x/../y")));
        assert!(!stays_inside(Path::new("link"), Path::new("../x")));
        assert!(!stays_inside(Path::new("a/link"), Path::new("../../x")));
        assert!(!stays_inside(Path::new("link"), Path::new("/etc")));
    }
}
