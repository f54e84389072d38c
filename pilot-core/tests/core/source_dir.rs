//! Fetching releases from a local directory.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use pilot_core::source::{FetchLimits, Fetched, SourceError, SourceSpec, fetch};

/// A source tree and a place for releases.
struct Sandbox {
    tmp: tempfile::TempDir,
}

impl Sandbox {
    /// A source tree with nested directories, an executable, a symlink and `.git`.
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let src = tmp.path().join("src");
        fs::create_dir_all(src.join("lib/deep")).expect("mkdir");
        fs::create_dir_all(src.join(".git/objects")).expect("mkdir");
        fs::create_dir_all(src.join("vendor/dep")).expect("mkdir");
        fs::write(src.join(".git/HEAD"), b"ref: refs/heads/main\n").expect("write");
        fs::write(
            src.join("vendor/dep/.git"),
            b"gitdir: ../../.git/modules/dep\n",
        )
        .expect("write");
        fs::write(src.join("vendor/dep/mod.js"), b"module").expect("write");
        fs::write(src.join("lib/deep/data.txt"), b"data").expect("write");
        fs::write(src.join("run.sh"), b"#!/bin/sh\n").expect("write");
        fs::set_permissions(src.join("run.sh"), fs::Permissions::from_mode(0o750)).expect("chmod");
        symlink("lib/deep/data.txt", src.join("data")).expect("symlink");
        Sandbox { tmp }
    }

    fn src(&self) -> PathBuf {
        self.tmp.path().join("src")
    }

    fn dest(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    async fn fetch(&self, dest: &str, limits: FetchLimits) -> Result<Fetched, SourceError> {
        let spec = SourceSpec::Dir { path: self.src() };
        fetch(&spec, &self.dest(dest), &limits).await
    }
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .expect("stat")
        .permissions()
        .mode()
        & 0o7777
}

#[tokio::test]
async fn a_tree_is_copied_without_git() {
    let sandbox = Sandbox::new();
    let fetched = sandbox
        .fetch("r1", FetchLimits::default())
        .await
        .expect("copy");
    let dest = sandbox.dest("r1");
    assert_eq!(
        fs::read(dest.join("lib/deep/data.txt")).expect("read"),
        b"data"
    );
    assert_eq!(
        fs::read(dest.join("vendor/dep/mod.js")).expect("read"),
        b"module"
    );
    assert_eq!(mode(&dest.join("run.sh")), 0o755);
    assert_eq!(mode(&dest.join("lib/deep/data.txt")), 0o644);
    assert_eq!(
        fs::read_link(dest.join("data")).expect("link"),
        Path::new("lib/deep/data.txt")
    );
    assert!(!dest.join(".git").exists());
    assert!(!dest.join("vendor/dep/.git").exists());
    assert!(
        fetched.version.starts_with('a') && fetched.version.len() == 12,
        "{}",
        fetched.version
    );
    assert!(fetched.version[1..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(fetched.commit, None);
    // lib, lib/deep, lib/deep/data.txt, vendor, vendor/dep, vendor/dep/mod.js, run.sh, data
    assert_eq!(fetched.files, 8);
    assert_eq!(fetched.bytes, 4 + 6 + 10);
}

#[tokio::test]
async fn the_version_follows_content_modes_and_names() {
    let sandbox = Sandbox::new();
    let first = sandbox
        .fetch("r1", FetchLimits::default())
        .await
        .expect("copy")
        .version;
    let again = sandbox
        .fetch("r2", FetchLimits::default())
        .await
        .expect("copy")
        .version;
    assert_eq!(first, again, "same tree, same version");

    // `.git` does not take part.
    fs::write(sandbox.src().join(".git/HEAD"), b"ref: refs/heads/other\n").expect("write");
    assert_eq!(
        sandbox
            .fetch("r3", FetchLimits::default())
            .await
            .expect("copy")
            .version,
        first
    );

    fs::write(sandbox.src().join("lib/deep/data.txt"), b"dati").expect("write");
    let one_byte = sandbox
        .fetch("r4", FetchLimits::default())
        .await
        .expect("copy")
        .version;
    assert_ne!(one_byte, first, "one changed byte changes the version");

    fs::set_permissions(
        sandbox.src().join("lib/deep/data.txt"),
        fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    let exec = sandbox
        .fetch("r5", FetchLimits::default())
        .await
        .expect("copy")
        .version;
    assert_ne!(exec, one_byte, "the exec bit changes the version");

    fs::rename(sandbox.src().join("run.sh"), sandbox.src().join("start.sh")).expect("rename");
    let renamed = sandbox
        .fetch("r6", FetchLimits::default())
        .await
        .expect("copy")
        .version;
    assert_ne!(renamed, exec, "a rename changes the version");
}

#[tokio::test]
async fn symlinks_leaving_the_tree_are_refused() {
    let sandbox = Sandbox::new();
    symlink("../../outside", sandbox.src().join("lib/escape")).expect("symlink");
    let err = sandbox
        .fetch("r", FetchLimits::default())
        .await
        .expect_err("refused");
    match err {
        SourceError::UnsafeEntry { entry, reason } => {
            assert_eq!(entry, "lib/escape");
            assert!(reason.contains("outside"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!sandbox.dest("r").exists());
    fs::remove_file(sandbox.src().join("lib/escape")).expect("rm");

    symlink("/etc/passwd", sandbox.src().join("passwd")).expect("symlink");
    let err = sandbox
        .fetch("r", FetchLimits::default())
        .await
        .expect_err("refused");
    assert!(
        matches!(err, SourceError::UnsafeEntry { ref entry, .. } if entry == "passwd"),
        "{err:?}"
    );
    assert!(!sandbox.dest("r").exists());
}

#[tokio::test]
async fn fifos_are_refused() {
    let sandbox = Sandbox::new();
    nix::unistd::mkfifo(
        &sandbox.src().join("pipe"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .expect("mkfifo");
    let err = sandbox
        .fetch("r", FetchLimits::default())
        .await
        .expect_err("refused");
    assert!(
        matches!(err, SourceError::UnsafeEntry { ref entry, .. } if entry == "pipe"),
        "{err:?}"
    );
    assert!(!sandbox.dest("r").exists());
}

#[tokio::test]
async fn limits_apply_to_directories() {
    let sandbox = Sandbox::new();
    let limits = FetchLimits {
        max_bytes: 15,
        ..FetchLimits::default()
    };
    let err = sandbox.fetch("r", limits).await.expect_err("too large");
    assert!(
        matches!(err, SourceError::TooLarge { limit: 15, .. }),
        "{err:?}"
    );
    assert!(!sandbox.dest("r").exists());
    let limits = FetchLimits {
        max_files: 7,
        ..FetchLimits::default()
    };
    let err = sandbox.fetch("r", limits).await.expect_err("too many");
    assert!(
        matches!(err, SourceError::TooManyFiles { limit: 7 }),
        "{err:?}"
    );
    assert!(!sandbox.dest("r").exists());
}

#[tokio::test]
async fn a_destination_inside_the_source_is_not_copied_into_itself() {
    let sandbox = Sandbox::new();
    let spec = SourceSpec::Dir {
        path: sandbox.src(),
    };
    let dest = sandbox.src().join("release");
    fetch(&spec, &dest, &FetchLimits::default())
        .await
        .expect("copy");
    assert!(dest.join("run.sh").is_file());
    assert!(!dest.join("release").exists());
}

#[tokio::test]
async fn bad_sources_and_destinations_are_reported() {
    let sandbox = Sandbox::new();
    let spec = SourceSpec::Dir {
        path: sandbox.dest("missing"),
    };
    let err = fetch(&spec, &sandbox.dest("r"), &FetchLimits::default())
        .await
        .expect_err("missing");
    assert!(matches!(err, SourceError::NotADirectory { .. }), "{err:?}");
    assert!(!sandbox.dest("r").exists());

    fs::create_dir(sandbox.dest("full")).expect("mkdir");
    fs::write(sandbox.dest("full/keep.txt"), b"keep").expect("write");
    let err = sandbox
        .fetch("full", FetchLimits::default())
        .await
        .expect_err("not empty");
    assert!(matches!(err, SourceError::DestNotEmpty { .. }), "{err:?}");
    assert_eq!(
        fs::read(sandbox.dest("full/keep.txt")).expect("kept"),
        b"keep"
    );
}
