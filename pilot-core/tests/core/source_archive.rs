//! Fetching releases from zip and tar.gz archives: good archives, every
//! kind of unsafe entry, and the limits.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Cursor, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use pilot_core::source::{FetchLimits, Fetched, SourceError, SourceSpec, fetch};
use sha2::{Digest, Sha256};
use tar::{EntryType, Header};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A temp dir holding the archive, a canary file, and the destination.
struct Sandbox {
    tmp: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join("canary.txt"), b"original").expect("canary");
        Sandbox { tmp }
    }

    fn root(&self) -> &Path {
        self.tmp.path()
    }

    fn dest(&self) -> PathBuf {
        self.root().join("release")
    }

    fn archive(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.root().join(name);
        fs::write(&path, bytes).expect("write archive");
        path
    }

    /// Every path under the sandbox, recursively.
    fn snapshot(&self) -> BTreeSet<String> {
        fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
            for entry in fs::read_dir(dir).expect("read dir") {
                let path = entry.expect("entry").path();
                out.insert(
                    path.strip_prefix(root)
                        .expect("prefix")
                        .display()
                        .to_string(),
                );
                if fs::symlink_metadata(&path).expect("stat").is_dir() {
                    walk(&path, root, out);
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(self.root(), self.root(), &mut out);
        out
    }

    async fn fetch(&self, archive: &Path, limits: FetchLimits) -> Result<Fetched, SourceError> {
        let spec = SourceSpec::Archive {
            path: archive.to_path_buf(),
        };
        fetch(&spec, &self.dest(), &limits).await
    }

    /// Fetches `bytes` as an archive, expects an unsafe entry named `entry`,
    /// and checks that nothing changed outside.
    async fn expect_unsafe(&self, file_name: &str, bytes: &[u8], entry: &str) -> String {
        let archive = self.archive(file_name, bytes);
        let before = self.snapshot();
        let err = self
            .fetch(&archive, FetchLimits::default())
            .await
            .expect_err("unsafe archive accepted");
        let reason = match err {
            SourceError::UnsafeEntry {
                entry: ref named,
                ref reason,
            } => {
                assert_eq!(named, entry, "wrong entry named: {err}");
                reason.clone()
            }
            other => panic!("expected UnsafeEntry for {entry}, got {other:?}"),
        };
        assert_eq!(self.snapshot(), before, "files changed around the release");
        assert!(!self.dest().exists(), "release directory left behind");
        assert_eq!(
            fs::read(self.root().join("canary.txt")).expect("canary"),
            b"original"
        );
        reason
    }
}

fn version_of(bytes: &[u8]) -> String {
    format!("a{}", &hex::encode(Sha256::digest(bytes))[..11])
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .expect("stat")
        .permissions()
        .mode()
        & 0o7777
}

// ---- zip building ----

enum ZipItem<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8], u32),
    Symlink(&'a str, &'a str),
}

fn zip_bytes(items: &[ZipItem<'_>]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for item in items {
        match item {
            ZipItem::Dir(name) => writer
                .add_directory(*name, SimpleFileOptions::default())
                .expect("zip dir"),
            ZipItem::File(name, data, mode) => {
                let options = SimpleFileOptions::default()
                    .compression_method(CompressionMethod::Deflated)
                    .unix_permissions(*mode);
                writer.start_file(*name, options).expect("zip file");
                writer.write_all(data).expect("zip data");
            }
            ZipItem::Symlink(name, target) => writer
                .add_symlink(*name, *target, SimpleFileOptions::default())
                .expect("zip symlink"),
        }
    }
    writer.finish().expect("zip finish").into_inner()
}

/// Replaces every occurrence of `from` by `to` (same length) in the archive bytes.
fn patch(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut found = false;
    for start in 0..=bytes.len() - from.len() {
        if &bytes[start..start + from.len()] == from {
            bytes[start..start + from.len()].copy_from_slice(to);
            found = true;
        }
    }
    assert!(found, "pattern not found");
}

// ---- tar building ----

/// A header written field by field, so that names the tar crate would refuse get through.
fn tar_header(name: &[u8], kind: EntryType, size: u64, mode: u32, link: &[u8]) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(mode);
    header.set_mtime(0);
    let old = header.as_old_mut();
    old.name[..name.len()].copy_from_slice(name);
    old.linkname[..link.len()].copy_from_slice(link);
    header.set_cksum();
    header
}

enum TarItem<'a> {
    Dir(&'a [u8]),
    File(&'a [u8], &'a [u8], u32),
    Symlink(&'a [u8], &'a [u8]),
    Hard(&'a [u8], &'a [u8]),
    Special(&'a [u8], EntryType),
    PaxGlobal(&'a [u8]),
}

fn tar_gz_bytes(items: &[TarItem<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for item in items {
        let (header, data): (Header, &[u8]) = match item {
            TarItem::Dir(name) => (tar_header(name, EntryType::Directory, 0, 0o755, b""), b""),
            TarItem::File(name, data, mode) => (
                tar_header(name, EntryType::Regular, data.len() as u64, *mode, b""),
                data,
            ),
            TarItem::Symlink(name, target) => {
                (tar_header(name, EntryType::Symlink, 0, 0o777, target), b"")
            }
            TarItem::Hard(name, target) => {
                (tar_header(name, EntryType::Link, 0, 0o644, target), b"")
            }
            TarItem::Special(name, kind) => (tar_header(name, *kind, 0, 0o644, b""), b""),
            TarItem::PaxGlobal(data) => (
                tar_header(
                    b"pax_global_header",
                    EntryType::XGlobalHeader,
                    data.len() as u64,
                    0o644,
                    b"",
                ),
                data,
            ),
        };
        builder.append(&header, data).expect("tar append");
    }
    builder
        .into_inner()
        .expect("tar finish")
        .finish()
        .expect("gzip finish")
}

// ---- good archives ----

#[tokio::test]
async fn zip_with_top_dir_is_stripped_and_keeps_the_exec_bit() {
    let sandbox = Sandbox::new();
    let bytes = zip_bytes(&[
        ZipItem::Dir("app-main/"),
        ZipItem::File("app-main/src/lib/deep.txt", b"deep", 0o644),
        ZipItem::File("app-main/run.sh", b"#!/bin/sh\necho hi\n", 0o4755),
        ZipItem::Symlink("app-main/current", "src/lib"),
    ]);
    let archive = sandbox.archive("upload.bin", &bytes);
    let fetched = sandbox
        .fetch(&archive, FetchLimits::default())
        .await
        .expect("extract");
    let dest = sandbox.dest();
    assert_eq!(
        fs::read(dest.join("src/lib/deep.txt")).expect("deep"),
        b"deep"
    );
    assert_eq!(
        mode(&dest.join("run.sh")),
        0o755,
        "exec kept, setuid dropped"
    );
    assert_eq!(mode(&dest.join("src/lib/deep.txt")), 0o644);
    assert_eq!(mode(&dest.join("src")), 0o755);
    assert_eq!(
        fs::read_link(dest.join("current")).expect("link"),
        Path::new("src/lib")
    );
    assert!(!dest.join("app-main").exists());
    assert_eq!(fetched.version, version_of(&bytes));
    assert_eq!(fetched.commit, None);
    // src, src/lib, src/lib/deep.txt, run.sh, current
    assert_eq!(fetched.files, 5);
    assert_eq!(fetched.bytes, 4 + 18);
}

#[tokio::test]
async fn tar_gz_like_a_github_archive_is_stripped() {
    let sandbox = Sandbox::new();
    let bytes = tar_gz_bytes(&[
        TarItem::PaxGlobal(b"20 comment=abcdefgh\n"),
        TarItem::Dir(b"app-1.0/"),
        TarItem::Dir(b"app-1.0/bin/"),
        TarItem::File(b"app-1.0/bin/run", b"#!/bin/sh\n", 0o6755),
        TarItem::File(b"app-1.0/src/lib/deep.txt", b"deep", 0o600),
        TarItem::Symlink(b"app-1.0/current", b"src"),
        TarItem::Hard(b"app-1.0/copy.txt", b"app-1.0/src/lib/deep.txt"),
    ]);
    let archive = sandbox.archive("upload.zip", &bytes);
    let fetched = sandbox
        .fetch(&archive, FetchLimits::default())
        .await
        .expect("extract");
    let dest = sandbox.dest();
    assert_eq!(mode(&dest.join("bin/run")), 0o755);
    assert_eq!(mode(&dest.join("src/lib/deep.txt")), 0o644);
    assert_eq!(
        fs::read_link(dest.join("current")).expect("link"),
        Path::new("src")
    );
    let original = fs::metadata(dest.join("src/lib/deep.txt")).expect("stat");
    let copy = fs::metadata(dest.join("copy.txt")).expect("stat");
    assert_eq!(original.ino(), copy.ino(), "hard link kept");
    assert!(!dest.join("pax_global_header").exists());
    assert_eq!(fetched.version, version_of(&bytes));
    // bin, bin/run, src, src/lib, src/lib/deep.txt, current, copy.txt
    assert_eq!(fetched.files, 7);
    assert_eq!(fetched.bytes, 10 + 4);
}

#[tokio::test]
async fn archives_with_several_top_entries_are_not_stripped() {
    let sandbox = Sandbox::new();
    let bytes = tar_gz_bytes(&[
        TarItem::File(b"package.json", b"{}", 0o644),
        TarItem::File(b"src/index.js", b"1", 0o644),
    ]);
    let archive = sandbox.archive("a.tgz", &bytes);
    sandbox
        .fetch(&archive, FetchLimits::default())
        .await
        .expect("extract");
    assert!(sandbox.dest().join("package.json").is_file());
    assert!(sandbox.dest().join("src/index.js").is_file());
}

#[tokio::test]
async fn an_existing_empty_dest_is_used_and_emptied_again_on_failure() {
    let sandbox = Sandbox::new();
    fs::create_dir(sandbox.dest()).expect("mkdir");
    let good = sandbox.archive(
        "good.zip",
        &zip_bytes(&[ZipItem::File("a.txt", b"a", 0o644)]),
    );
    sandbox
        .fetch(&good, FetchLimits::default())
        .await
        .expect("extract");
    assert!(sandbox.dest().join("a.txt").is_file());
    fs::remove_file(sandbox.dest().join("a.txt")).expect("rm");

    let bad = sandbox.archive(
        "bad.zip",
        &zip_bytes(&[
            ZipItem::File("a.txt", &[7; 500], 0o644),
            ZipItem::File("b.txt", &[7; 500], 0o644),
        ]),
    );
    let limits = FetchLimits {
        max_bytes: 600,
        ..FetchLimits::default()
    };
    let err = sandbox.fetch(&bad, limits).await.expect_err("too large");
    assert!(matches!(err, SourceError::TooLarge { .. }), "{err:?}");
    assert!(sandbox.dest().is_dir());
    assert_eq!(fs::read_dir(sandbox.dest()).expect("read").count(), 0);
}

// ---- unsafe zip entries ----

#[tokio::test]
async fn zip_parent_components_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = zip_bytes(&[
        ZipItem::File("ok.txt", b"ok", 0o644),
        ZipItem::File("../canary.txt", b"pwned", 0o644),
    ]);
    sandbox
        .expect_unsafe("a.zip", &bytes, "../canary.txt")
        .await;
    let bytes = zip_bytes(&[ZipItem::File("app/../../evil.txt", b"pwned", 0o644)]);
    sandbox
        .expect_unsafe("b.zip", &bytes, "app/../../evil.txt")
        .await;
}

#[tokio::test]
async fn zip_absolute_paths_are_refused() {
    let sandbox = Sandbox::new();
    let target = sandbox.root().join("evil.txt");
    let name = target.to_str().expect("utf-8 temp path");
    let bytes = zip_bytes(&[ZipItem::File(name, b"pwned", 0o644)]);
    sandbox.expect_unsafe("a.zip", &bytes, name).await;
    let bytes = zip_bytes(&[ZipItem::File("C:\\evil.txt", b"pwned", 0o644)]);
    sandbox.expect_unsafe("b.zip", &bytes, "C:\\evil.txt").await;
    let bytes = zip_bytes(&[ZipItem::File("C:/evil.txt", b"pwned", 0o644)]);
    sandbox.expect_unsafe("c.zip", &bytes, "C:/evil.txt").await;
}

#[tokio::test]
async fn zip_symlinks_out_of_the_release_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = zip_bytes(&[ZipItem::Symlink("etc", "/etc")]);
    let reason = sandbox.expect_unsafe("a.zip", &bytes, "etc").await;
    assert!(reason.contains("absolute"), "{reason}");
    let bytes = zip_bytes(&[
        ZipItem::Dir("app/"),
        ZipItem::Symlink("app/up", "../../canary.txt"),
    ]);
    let reason = sandbox.expect_unsafe("b.zip", &bytes, "app/up").await;
    assert!(reason.contains("outside"), "{reason}");
}

#[tokio::test]
async fn zip_entry_written_through_an_earlier_symlink_is_refused() {
    let sandbox = Sandbox::new();
    let bytes = zip_bytes(&[
        ZipItem::Dir("real/"),
        ZipItem::Symlink("alias", "real"),
        ZipItem::File("alias/x.txt", b"through", 0o644),
    ]);
    let reason = sandbox.expect_unsafe("a.zip", &bytes, "alias/x.txt").await;
    assert!(reason.contains("symlink"), "{reason}");
}

#[tokio::test]
async fn zip_names_that_are_not_utf8_are_refused() {
    let sandbox = Sandbox::new();
    let mut bytes = zip_bytes(&[ZipItem::File("badXname.txt", b"x", 0o644)]);
    patch(&mut bytes, b"badXname", b"bad\xffname");
    let reason = sandbox
        .expect_unsafe("a.zip", &bytes, "bad\u{fffd}name.txt")
        .await;
    assert!(reason.contains("utf-8"), "{reason}");
}

// ---- unsafe tar entries ----

#[tokio::test]
async fn tar_parent_components_and_absolute_names_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = tar_gz_bytes(&[TarItem::File(b"../canary.txt", b"pwned", 0o644)]);
    sandbox
        .expect_unsafe("a.tgz", &bytes, "../canary.txt")
        .await;
    let target = sandbox.root().join("evil.txt");
    let name = target.to_str().expect("utf-8 temp path");
    let bytes = tar_gz_bytes(&[TarItem::File(name.as_bytes(), b"pwned", 0o644)]);
    let reason = sandbox.expect_unsafe("b.tgz", &bytes, name).await;
    assert!(reason.contains("absolute"), "{reason}");
    let bytes = tar_gz_bytes(&[TarItem::File(b"C:\\evil.txt", b"pwned", 0o644)]);
    sandbox.expect_unsafe("c.tgz", &bytes, "C:\\evil.txt").await;
}

#[tokio::test]
async fn tar_symlinks_out_of_the_release_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = tar_gz_bytes(&[TarItem::Symlink(b"root", b"/")]);
    sandbox.expect_unsafe("a.tgz", &bytes, "root").await;
    let bytes = tar_gz_bytes(&[TarItem::Dir(b"d/"), TarItem::Symlink(b"d/up", b"../..")]);
    sandbox.expect_unsafe("b.tgz", &bytes, "d/up").await;
    // A chain: `d/l1` points at the root (fine), `l2` climbs one above it through `d/l1`.
    let bytes = tar_gz_bytes(&[
        TarItem::Dir(b"d/"),
        TarItem::File(b"f", b"x", 0o644),
        TarItem::Symlink(b"d/l1", b".."),
        TarItem::Symlink(b"l2", b"d/l1/../canary.txt"),
    ]);
    sandbox.expect_unsafe("c.tgz", &bytes, "l2").await;
}

#[tokio::test]
async fn tar_entry_written_through_an_earlier_symlink_is_refused() {
    let sandbox = Sandbox::new();
    let bytes = tar_gz_bytes(&[
        TarItem::Dir(b"inner/"),
        TarItem::Symlink(b"alias", b"inner"),
        TarItem::File(b"alias/x.txt", b"through", 0o644),
    ]);
    let reason = sandbox.expect_unsafe("a.tgz", &bytes, "alias/x.txt").await;
    assert!(reason.contains("symlink"), "{reason}");
}

#[tokio::test]
async fn tar_hard_links_outside_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = tar_gz_bytes(&[
        TarItem::File(b"a", b"a", 0o644),
        TarItem::Hard(b"pw", b"/etc/passwd"),
    ]);
    sandbox.expect_unsafe("a.tgz", &bytes, "pw").await;
    let bytes = tar_gz_bytes(&[
        TarItem::File(b"a", b"a", 0o644),
        TarItem::Hard(b"pw", b"../canary.txt"),
    ]);
    sandbox.expect_unsafe("b.tgz", &bytes, "pw").await;
    // A link to a path that is not a file of the archive.
    let bytes = tar_gz_bytes(&[
        TarItem::File(b"a", b"a", 0o644),
        TarItem::Hard(b"pw", b"missing"),
    ]);
    sandbox.expect_unsafe("c.tgz", &bytes, "pw").await;
}

#[tokio::test]
async fn tar_devices_and_fifos_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = tar_gz_bytes(&[
        TarItem::File(b"a", b"a", 0o644),
        TarItem::Special(b"null", EntryType::Char),
    ]);
    let reason = sandbox.expect_unsafe("a.tgz", &bytes, "null").await;
    assert!(reason.contains("device"), "{reason}");
    let bytes = tar_gz_bytes(&[TarItem::Special(b"disk", EntryType::Block)]);
    sandbox.expect_unsafe("b.tgz", &bytes, "disk").await;
    let bytes = tar_gz_bytes(&[TarItem::Special(b"pipe", EntryType::Fifo)]);
    let reason = sandbox.expect_unsafe("c.tgz", &bytes, "pipe").await;
    assert!(reason.contains("fifo"), "{reason}");
}

#[tokio::test]
async fn tar_names_that_are_not_utf8_are_refused() {
    let sandbox = Sandbox::new();
    let bytes = tar_gz_bytes(&[TarItem::File(b"bad\xfe.txt", b"x", 0o644)]);
    sandbox
        .expect_unsafe("a.tgz", &bytes, "bad\u{fffd}.txt")
        .await;
}

// ---- limits and formats ----

#[tokio::test]
async fn byte_limit_is_enforced_for_both_formats() {
    let sandbox = Sandbox::new();
    let limits = FetchLimits {
        max_bytes: 1000,
        ..FetchLimits::default()
    };
    let data = vec![b'x'; 1500];
    let zip = sandbox.archive(
        "big.zip",
        &zip_bytes(&[ZipItem::File("big.bin", &data, 0o644)]),
    );
    let err = sandbox.fetch(&zip, limits).await.expect_err("too large");
    assert!(
        matches!(err, SourceError::TooLarge { limit: 1000, ref entry } if entry == "big.bin"),
        "{err:?}"
    );
    assert!(!sandbox.dest().exists());
    let tgz = sandbox.archive(
        "big.tgz",
        &tar_gz_bytes(&[TarItem::File(b"big.bin", &data, 0o644)]),
    );
    let err = sandbox.fetch(&tgz, limits).await.expect_err("too large");
    assert!(
        matches!(err, SourceError::TooLarge { limit: 1000, ref entry } if entry == "big.bin"),
        "{err:?}"
    );
    assert!(!sandbox.dest().exists());
}

#[tokio::test]
async fn zip_lying_about_its_size_is_stopped_by_bytes_written() {
    let sandbox = Sandbox::new();
    let data = vec![0u8; 200_000];
    let mut bytes = zip_bytes(&[ZipItem::File("bomb.bin", &data, 0o644)]);
    // Declare 10 bytes instead of 200 000 in the local and the central header.
    patch(&mut bytes, &200_000u32.to_le_bytes(), &10u32.to_le_bytes());
    let archive = sandbox.archive("bomb.zip", &bytes);
    let limits = FetchLimits {
        max_bytes: 50_000,
        ..FetchLimits::default()
    };
    let err = sandbox
        .fetch(&archive, limits)
        .await
        .expect_err("too large");
    assert!(
        matches!(err, SourceError::TooLarge { limit: 50_000, ref entry } if entry == "bomb.bin"),
        "{err:?}"
    );
    assert!(!sandbox.dest().exists());
}

#[tokio::test]
async fn file_limit_is_enforced_for_both_formats() {
    let sandbox = Sandbox::new();
    let limits = FetchLimits {
        max_files: 3,
        ..FetchLimits::default()
    };
    let names = ["a", "b", "c", "d", "e"];
    let zip_items: Vec<ZipItem<'_>> = names
        .iter()
        .map(|n| ZipItem::File(n, b"1", 0o644))
        .collect();
    let zip = sandbox.archive("many.zip", &zip_bytes(&zip_items));
    let err = sandbox.fetch(&zip, limits).await.expect_err("too many");
    assert!(
        matches!(err, SourceError::TooManyFiles { limit: 3 }),
        "{err:?}"
    );
    let tar_items: Vec<TarItem<'_>> = names
        .iter()
        .map(|n| TarItem::File(n.as_bytes(), b"1", 0o644))
        .collect();
    let tgz = sandbox.archive("many.tgz", &tar_gz_bytes(&tar_items));
    let err = sandbox.fetch(&tgz, limits).await.expect_err("too many");
    assert!(
        matches!(err, SourceError::TooManyFiles { limit: 3 }),
        "{err:?}"
    );
    // Implied directories count too: two entries, but five paths.
    let deep = sandbox.archive(
        "deep.zip",
        &zip_bytes(&[
            ZipItem::File("x/y/z/f", b"1", 0o644),
            ZipItem::File("g", b"1", 0o644),
        ]),
    );
    let err = sandbox.fetch(&deep, limits).await.expect_err("too many");
    assert!(
        matches!(err, SourceError::TooManyFiles { limit: 3 }),
        "{err:?}"
    );
    assert!(!sandbox.dest().exists());
}

#[tokio::test]
async fn unknown_formats_and_damaged_archives_are_reported() {
    let sandbox = Sandbox::new();
    let text = sandbox.archive("notes.zip", b"just some text");
    let err = sandbox
        .fetch(&text, FetchLimits::default())
        .await
        .expect_err("not an archive");
    assert!(
        matches!(err, SourceError::UnknownArchiveFormat { .. }),
        "{err:?}"
    );
    let mut bytes = tar_gz_bytes(&[TarItem::File(b"a", &[1; 5000], 0o644)]);
    bytes.truncate(bytes.len() / 2);
    let truncated = sandbox.archive("cut.tgz", &bytes);
    let err = sandbox
        .fetch(&truncated, FetchLimits::default())
        .await
        .expect_err("damaged");
    assert!(matches!(err, SourceError::CorruptArchive { .. }), "{err:?}");
    assert!(!sandbox.dest().exists());
    assert!(err.to_string().contains("cut.tgz"), "{err}");
}
