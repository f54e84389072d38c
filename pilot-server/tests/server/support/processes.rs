//! Real processes on loopback for end-to-end tests: `pilot serve`,
//! `pilot-agent`, `pilot` client commands, a git daemon, plain HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// The `pilot` binary of this build.
pub fn pilot_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pilot"))
}

/// The `pilot-agent` binary next to `pilot` (built with the workspace;
/// built here when missing).
pub fn agent_bin() -> PathBuf {
    let bin = pilot_bin()
        .parent()
        .expect("binary directory")
        .join("pilot-agent");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "pilot-agent", "--bin", "pilot-agent"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building pilot-agent failed");
    }
    bin
}

/// A free loopback port (bound and released; good enough on a test machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Waits until `addr` accepts TCP connections.
pub fn wait_listening(addr: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{addr} did not start listening");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A child process whose output is captured (and kept for assertions),
/// killed with its process group on drop.
pub struct Proc {
    pub name: String,
    child: Option<Child>,
    pub output: Arc<Mutex<String>>,
}

impl Proc {
    /// Spawns `command` in its own process group, capturing stdout and stderr.
    pub fn spawn(name: &str, mut command: Command) -> Proc {
        use std::os::unix::process::CommandExt;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            let echo = std::env::var_os("PILOT_TEST_ECHO").is_some();
            let tag = name.to_string();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if echo {
                        eprintln!("[{tag}] {line}");
                    }
                    let mut out = output.lock().unwrap();
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        Proc {
            name: name.to_string(),
            child: Some(child),
            output,
        }
    }

    /// Everything it printed so far.
    pub fn text(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits until its output contains `needle`; returns the output.
    pub fn wait_for(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not print {needle:?} within {within:?}; it printed:\n{text}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Sends SIGTERM and waits for the exit (SIGKILL after `grace`).
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = Pid::from_raw(child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                let _ = killpg(pid, Signal::SIGKILL);
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = killpg(pid, Signal::SIGKILL);
        let _ = child.wait();
    }

    /// Kills it (and its group) at once.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let _ = child.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `pilot` with `args` and the client config of `home`.
pub fn pilot(home: &Path, args: &[&str]) -> Output {
    Command::new(pilot_bin())
        .args(args)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("HOME", home)
        .env_remove("PILOT_SERVER")
        .env_remove("PILOT_TOKEN")
        .output()
        .expect("pilot runs")
}

/// Like [`pilot`], asserting success; returns stdout.
pub fn pilot_ok(home: &Path, args: &[&str]) -> String {
    let out = pilot(home, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pilot {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout
}

/// `pilot ... --json` parsed.
pub fn pilot_json(home: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    let text = pilot_ok(home, &all);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("pilot {args:?} --json: {e}: {text}"))
}

/// A plain HTTP/1.1 GET; returns (status, body).
pub fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Polls `GET path` on `addr` until the body contains `needle`.
pub fn wait_http(addr: &str, path: &str, needle: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Ok((200, body)) = http_get(addr, path)
            && body.contains(needle)
        {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "http://{addr}{path} did not answer {needle:?} within {within:?} (last: {:?})",
            http_get(addr, path)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs git in `dir`, asserting success; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Pilot Test")
        .env("GIT_AUTHOR_EMAIL", "test@pilot.invalid")
        .env("GIT_COMMITTER_NAME", "Pilot Test")
        .env("GIT_COMMITTER_EMAIL", "test@pilot.invalid")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A bare repository served by `git daemon`, with a work tree to commit from.
pub struct GitServer {
    pub work: PathBuf,
    /// Serves the repository until dropped.
    _daemon: Proc,
    pub port: u16,
}

impl GitServer {
    /// Serves `<root>/git/app.git`, first filled with the files of `app_dir`.
    pub fn start(root: &Path, app_dir: &Path) -> GitServer {
        let base = root.join("git");
        let bare = base.join("app.git");
        let work = root.join("work");
        std::fs::create_dir_all(&base).unwrap();
        git(&base, &["init", "-q", "--bare", "-b", "main", "app.git"]);
        copy_dir(app_dir, &work);
        git(&work, &["init", "-q", "-b", "main"]);
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "first"]);
        git(&work, &["remote", "add", "origin", bare.to_str().unwrap()]);
        git(&work, &["push", "-q", "origin", "main"]);
        let port = free_port();
        let mut command = Command::new("git");
        command
            .arg("daemon")
            .arg("--reuseaddr")
            .arg(format!("--base-path={}", base.display()))
            .arg("--export-all")
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(&base);
        let daemon = Proc::spawn("git-daemon", command);
        wait_listening(&format!("127.0.0.1:{port}"), Duration::from_secs(10));
        GitServer {
            work,
            _daemon: daemon,
            port,
        }
    }

    /// The `git://` URL of the repository.
    pub fn url(&self) -> String {
        format!("git://127.0.0.1:{}/app.git", self.port)
    }

    /// Writes `file` in the work tree, commits and pushes; returns the commit.
    pub fn commit(&self, file: &str, content: &str, message: &str) -> String {
        std::fs::write(self.work.join(file), content).unwrap();
        git(&self.work, &["commit", "-q", "-am", message]);
        git(&self.work, &["push", "-q", "origin", "main"]);
        git(&self.work, &["rev-parse", "HEAD"])
    }
}

/// Copies a directory tree (regular files and directories).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every regular file under `root` whose content contains `needle`.
pub fn files_containing(root: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file()
                && let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                found.push(path);
            }
        }
    }
    found
}

/// The python-hello example app.
pub fn python_hello() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/apps/python-hello")
}
