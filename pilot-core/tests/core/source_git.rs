//! Fetching releases from git: plain paths, `file://` URLs and a real
//! `git daemon` on loopback for `git://`.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use pilot_core::source::{FetchLimits, Fetched, GitRef, SourceError, SourceSpec, fetch};

const RUN_SH: &str = "#!/bin/sh\necho run\n";

/// Runs the git CLI in `dir` with a fixed identity and no user config.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Pilot Test",
            "-c",
            "user.email=test@pilot.invalid",
        ])
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git is installed");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// A repository with branches `main` and `feature`, an annotated tag `v1`
/// and three commits: c1 and c2 on main (tagged v1), c3 on feature.
struct Fixture {
    tmp: tempfile::TempDir,
    c1: String,
    c2: String,
    c3: String,
}

impl Fixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = tmp.path().join("repo");
        fs::create_dir(&repo).expect("mkdir");
        git(&repo, &["init", "-q", "-b", "main"]);
        fs::write(repo.join("README"), "one").expect("write");
        fs::write(repo.join("run.sh"), RUN_SH).expect("write");
        fs::set_permissions(repo.join("run.sh"), fs::Permissions::from_mode(0o755)).expect("chmod");
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-q", "-m", "first"]);
        let c1 = git(&repo, &["rev-parse", "HEAD"]);
        fs::write(repo.join("README"), "two").expect("write");
        git(&repo, &["commit", "-q", "-am", "second"]);
        let c2 = git(&repo, &["rev-parse", "HEAD"]);
        git(&repo, &["tag", "-a", "v1", "-m", "release 1"]);
        git(&repo, &["checkout", "-q", "-b", "feature"]);
        fs::write(repo.join("feature.txt"), "feature").expect("write");
        git(&repo, &["add", "feature.txt"]);
        git(&repo, &["commit", "-q", "-m", "third"]);
        let c3 = git(&repo, &["rev-parse", "HEAD"]);
        git(&repo, &["checkout", "-q", "main"]);
        Fixture { tmp, c1, c2, c3 }
    }

    fn repo(&self) -> PathBuf {
        self.tmp.path().join("repo")
    }

    fn file_url(&self) -> String {
        format!("file://{}", self.repo().display())
    }

    fn dest(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    async fn fetch(
        &self,
        url: &str,
        reference: GitRef,
        dest: &str,
    ) -> Result<Fetched, SourceError> {
        self.fetch_with(url, reference, dest, FetchLimits::default())
            .await
    }

    async fn fetch_with(
        &self,
        url: &str,
        reference: GitRef,
        dest: &str,
        limits: FetchLimits,
    ) -> Result<Fetched, SourceError> {
        let spec = SourceSpec::Git {
            url: url.to_owned(),
            reference,
        };
        fetch(&spec, &self.dest(dest), &limits).await
    }

    fn path_url(&self) -> String {
        self.repo().display().to_string()
    }

    fn read(&self, dest: &str, file: &str) -> String {
        fs::read_to_string(self.dest(dest).join(file)).expect("checked-out file")
    }
}

/// A `git daemon` serving `base` on a free loopback port, killed on drop.
struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    fn start(base: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("git")
            .arg("daemon")
            .arg("--reuseaddr")
            .arg(format!("--base-path={}", base.display()))
            .arg("--export-all")
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: `git` runs `git-daemon` as a child, which
            // forks once per connection; drop kills the whole group.
            .process_group(0)
            .spawn()
            .expect("git daemon starts");
        let daemon = GitDaemon { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "git daemon did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon
    }

    fn url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

fn head_branch(dest: &Path) -> String {
    git(dest, &["rev-parse", "--abbrev-ref", "HEAD"])
}

#[tokio::test]
async fn default_branch_from_a_plain_path() {
    let fx = Fixture::new();
    let fetched = fx
        .fetch(&fx.path_url(), GitRef::Default, "r")
        .await
        .expect("fetch");
    assert_eq!(fx.read("r", "README"), "two");
    assert_eq!(fx.read("r", "run.sh"), RUN_SH);
    let run_mode = fs::metadata(fx.dest("r").join("run.sh"))
        .expect("stat")
        .permissions()
        .mode();
    assert_ne!(run_mode & 0o111, 0, "exec bit kept");
    assert!(!fx.dest("r").join("feature.txt").exists());
    assert_eq!(fetched.version, fx.c2[..12]);
    assert_eq!(fetched.commit.as_deref(), Some(fx.c2.as_str()));
    assert_eq!(fetched.files, 2);
    assert_eq!(fetched.bytes, (3 + RUN_SH.len()) as u64);
    assert_eq!(head_branch(&fx.dest("r")), "main");
    assert_eq!(
        git(&fx.dest("r"), &["status", "--porcelain"]),
        "",
        "clean checkout"
    );
}

#[tokio::test]
async fn branch_from_a_file_url() {
    let fx = Fixture::new();
    let fetched = fx
        .fetch(&fx.file_url(), GitRef::Branch("feature".into()), "r")
        .await
        .expect("fetch");
    assert_eq!(fx.read("r", "feature.txt"), "feature");
    assert_eq!(fetched.version, fx.c3[..12]);
    assert_eq!(head_branch(&fx.dest("r")), "feature");
}

#[tokio::test]
async fn annotated_tag_is_peeled_to_its_commit() {
    let fx = Fixture::new();
    let fetched = fx
        .fetch(&fx.path_url(), GitRef::Tag("v1".into()), "r")
        .await
        .expect("fetch");
    assert_eq!(fx.read("r", "README"), "two");
    assert_eq!(fetched.commit.as_deref(), Some(fx.c2.as_str()));
    assert_eq!(head_branch(&fx.dest("r")), "HEAD", "detached");
}

#[tokio::test]
async fn exact_and_abbreviated_commits() {
    let fx = Fixture::new();
    let full = fx
        .fetch(&fx.file_url(), GitRef::Commit(fx.c1.clone()), "full")
        .await
        .expect("full id");
    assert_eq!(fx.read("full", "README"), "one");
    assert_eq!(full.version, fx.c1[..12]);
    assert_eq!(git(&fx.dest("full"), &["rev-parse", "HEAD"]), fx.c1);
    assert_eq!(head_branch(&fx.dest("full")), "HEAD", "detached");

    let short = fx
        .fetch(
            &fx.path_url(),
            GitRef::Commit(fx.c1[..7].to_uppercase()),
            "short",
        )
        .await
        .expect("abbreviated id");
    assert_eq!(fx.read("short", "README"), "one");
    assert_eq!(short.commit.as_deref(), Some(fx.c1.as_str()));

    // A commit at a branch tip.
    let tip = fx
        .fetch(
            &fx.path_url(),
            GitRef::Commit(fx.c3[..10].to_owned()),
            "tip",
        )
        .await
        .expect("tip id");
    assert_eq!(fx.read("tip", "feature.txt"), "feature");
    assert_eq!(tip.version, fx.c3[..12]);
}

#[tokio::test]
async fn git_protocol_through_a_real_daemon() {
    let fx = Fixture::new();
    let served = fx.tmp.path().join("served");
    fs::create_dir(&served).expect("mkdir");
    let bare = served.join("app.git");
    let status = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(fx.repo())
        .arg(&bare)
        .status()
        .expect("git clone");
    assert!(status.success());
    git(
        &bare,
        &["config", "uploadpack.allowReachableSHA1InWant", "true"],
    );
    let daemon = GitDaemon::start(&served);
    let url = daemon.url("app.git");

    let default = fx
        .fetch(&url, GitRef::Default, "default")
        .await
        .expect("default");
    assert_eq!(fx.read("default", "README"), "two");
    assert_eq!(default.version, fx.c2[..12]);
    assert!(
        fx.dest("default").join(".git/shallow").is_file(),
        "fetched shallow"
    );

    let branch = fx
        .fetch(&url, GitRef::Branch("feature".into()), "branch")
        .await
        .expect("branch");
    assert_eq!(fx.read("branch", "feature.txt"), "feature");
    assert_eq!(branch.version, fx.c3[..12]);
    assert!(
        fx.dest("branch").join(".git/shallow").is_file(),
        "fetched shallow"
    );

    let tag = fx
        .fetch(&url, GitRef::Tag("v1".into()), "tag")
        .await
        .expect("tag");
    assert_eq!(tag.commit.as_deref(), Some(fx.c2.as_str()));

    // A full id the server allows in a want: fetched on its own, shallow.
    let full = fx
        .fetch(&url, GitRef::Commit(fx.c1.clone()), "full")
        .await
        .expect("full id");
    assert_eq!(fx.read("full", "README"), "one");
    assert_eq!(full.version, fx.c1[..12]);
    assert!(
        fx.dest("full").join(".git/shallow").is_file(),
        "fetched by id, shallow"
    );

    // An abbreviated id that is no tip: every branch and tag is fetched and searched.
    let short = fx
        .fetch(&url, GitRef::Commit(fx.c1[..8].to_owned()), "short")
        .await
        .expect("short id");
    assert_eq!(short.commit.as_deref(), Some(fx.c1.as_str()));
    assert_eq!(fx.read("short", "README"), "one");

    let err = fx
        .fetch(&url, GitRef::Branch("nope".into()), "missing")
        .await
        .expect_err("missing");
    assert!(matches!(err, SourceError::BranchNotFound { .. }), "{err:?}");
    assert!(!fx.dest("missing").exists());

    let err = fx
        .fetch(&daemon.url("absent.git"), GitRef::Default, "absent")
        .await
        .expect_err("no such repository");
    assert!(
        matches!(err, SourceError::RepositoryNotFound { .. }),
        "{err:?}"
    );
    assert!(!fx.dest("absent").exists());
}

#[tokio::test]
async fn missing_branch_and_tag_list_what_the_remote_has() {
    let fx = Fixture::new();
    let err = fx
        .fetch(&fx.path_url(), GitRef::Branch("release".into()), "r")
        .await
        .expect_err("missing branch");
    match &err {
        SourceError::BranchNotFound {
            url,
            branch,
            available,
        } => {
            assert_eq!(url, &fx.path_url());
            assert_eq!(branch, "release");
            assert_eq!(available, &["feature", "main"]);
        }
        other => panic!("unexpected {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("release") && message.contains("feature, main"),
        "{message}"
    );
    assert!(!fx.dest("r").exists(), "nothing left after a failure");

    let err = fx
        .fetch(&fx.path_url(), GitRef::Tag("v2".into()), "r")
        .await
        .expect_err("missing tag");
    assert!(
        matches!(err, SourceError::TagNotFound { ref available, .. } if available == &["v1"]),
        "{err:?}"
    );
    assert!(!fx.dest("r").exists());
}

#[tokio::test]
async fn missing_commit_leaves_nothing_behind() {
    let fx = Fixture::new();
    fs::create_dir(fx.dest("kept")).expect("mkdir");
    let err = fx
        .fetch(
            &fx.file_url(),
            GitRef::Commit("deadbeefdeadbeef".into()),
            "kept",
        )
        .await
        .expect_err("missing commit");
    match &err {
        SourceError::CommitNotFound { url, commit } => {
            assert_eq!(url, &fx.file_url());
            assert_eq!(commit, "deadbeefdeadbeef");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(fx.dest("kept").is_dir(), "an existing destination stays");
    assert_eq!(
        fs::read_dir(fx.dest("kept")).expect("read").count(),
        0,
        "and is empty again"
    );

    let full_missing = "0123456789abcdef0123456789abcdef01234567";
    let err = fx
        .fetch(&fx.path_url(), GitRef::Commit(full_missing.into()), "r")
        .await
        .expect_err("missing full commit");
    assert!(matches!(err, SourceError::CommitNotFound { .. }), "{err:?}");
    assert!(!fx.dest("r").exists());

    let err = fx
        .fetch(&fx.path_url(), GitRef::Commit("not-hex".into()), "r")
        .await
        .expect_err("invalid id");
    assert!(matches!(err, SourceError::InvalidCommit { .. }), "{err:?}");
}

#[tokio::test]
async fn unreachable_repositories_never_show_credentials() {
    let fx = Fixture::new();
    let missing = fx.tmp.path().join("no-such-repo");
    let err = fx
        .fetch(&missing.display().to_string(), GitRef::Default, "r")
        .await
        .expect_err("missing repository");
    assert!(
        matches!(err, SourceError::RepositoryNotFound { .. }),
        "{err:?}"
    );
    assert!(!fx.dest("r").exists());

    // Port 1 on loopback refuses connections.
    let url = "http://deploy:hunter2secret@127.0.0.1:1/app.git";
    let spec = SourceSpec::Git {
        url: url.into(),
        reference: GitRef::Branch("main".into()),
    };
    assert_eq!(
        spec.describe(),
        "git http://deploy:****@127.0.0.1:1/app.git (branch main)"
    );
    let err = fetch(&spec, &fx.dest("r"), &FetchLimits::default())
        .await
        .expect_err("unreachable");
    let message = format!("{err} {err:?}");
    assert!(!message.contains("hunter2secret"), "{message}");
    assert!(
        message.contains("deploy:****@127.0.0.1:1/app.git"),
        "{message}"
    );
    assert!(
        matches!(err, SourceError::RepositoryNotFound { .. }),
        "{err:?}"
    );
    assert!(!fx.dest("r").exists());
}

#[tokio::test]
async fn limits_bound_the_download_and_the_checkout() {
    let fx = Fixture::new();
    let repo = fx.repo();
    // 100 kB of zeros: a tiny download, a large checkout.
    fs::write(repo.join("zeros.bin"), vec![0u8; 100_000]).expect("write");
    git(&repo, &["add", "zeros.bin"]);
    git(&repo, &["commit", "-q", "-m", "zeros"]);

    let limits = FetchLimits {
        max_bytes: 10,
        ..FetchLimits::default()
    };
    let err = fx
        .fetch_with(&fx.path_url(), GitRef::Default, "r", limits)
        .await
        .expect_err("download too large");
    assert!(
        matches!(err, SourceError::DownloadTooLarge { limit: 10, .. }),
        "{err:?}"
    );
    assert!(!fx.dest("r").exists());

    let limits = FetchLimits {
        max_bytes: 20_000,
        ..FetchLimits::default()
    };
    let err = fx
        .fetch_with(&fx.path_url(), GitRef::Default, "r", limits)
        .await
        .expect_err("checkout too large");
    assert!(
        matches!(err, SourceError::TooLarge { limit: 20_000, ref entry } if entry == "zeros.bin"),
        "{err:?}"
    );
    assert!(!fx.dest("r").exists());

    let limits = FetchLimits {
        max_files: 2,
        ..FetchLimits::default()
    };
    let err = fx
        .fetch_with(&fx.path_url(), GitRef::Default, "r", limits)
        .await
        .expect_err("too many");
    assert!(
        matches!(err, SourceError::TooManyFiles { limit: 2 }),
        "{err:?}"
    );
    assert!(!fx.dest("r").exists());
}

#[tokio::test]
async fn symlinks_out_of_the_repository_are_refused() {
    let fx = Fixture::new();
    let repo = fx.repo();
    std::os::unix::fs::symlink("../../../etc/passwd", repo.join("passwd")).expect("symlink");
    git(&repo, &["add", "passwd"]);
    git(&repo, &["commit", "-q", "-m", "escape"]);
    let err = fx
        .fetch(&fx.path_url(), GitRef::Default, "r")
        .await
        .expect_err("unsafe");
    assert!(
        matches!(err, SourceError::UnsafeEntry { ref entry, .. } if entry == "passwd"),
        "{err:?}"
    );
    assert!(!fx.dest("r").exists());
}
