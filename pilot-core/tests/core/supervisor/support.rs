//! Shared fixtures: a sandbox that cleans up its services, specs, and
//! helpers that poll the supervisor and `/proc`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pilot_core::service::{
    RestartMode, RestartPolicy, ServiceManager, ServiceSpec, ServiceState, ServiceStatus,
};
use pilot_core::supervisor::{Supervisor, SupervisorOptions};

/// A temp dir whose services are killed when the test ends, even on failure.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.path().join("state")
    }

    pub async fn open(&self) -> Arc<Supervisor> {
        Supervisor::open(self.state_dir()).await.expect("open")
    }

    pub async fn open_with(&self, options: SupervisorOptions) -> Arc<Supervisor> {
        Supervisor::open_with(self.state_dir(), options)
            .await
            .expect("open")
    }

    pub fn spec(&self, name: &str, command: &str) -> ServiceSpec {
        ServiceSpec {
            name: name.into(),
            command: command.into(),
            cwd: self.path().to_path_buf(),
            env: BTreeMap::from([("PATH".to_string(), "/usr/bin:/bin".to_string())]),
            log_file: self.path().join("logs").join(format!("{name}.log")),
            restart: RestartPolicy {
                mode: RestartMode::OnFailure,
                backoff_initial: Duration::from_millis(50),
                backoff_max: Duration::from_secs(1),
                start_limit_burst: 5,
                start_limit_interval: Duration::from_secs(60),
            },
            stop_timeout: Duration::from_secs(5),
            redact: vec![],
            memory_limit: None,
            cpu_limit: None,
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let Ok(state_dir) = fs::canonicalize(self.state_dir()) else {
            return;
        };
        let marker = format!("PILOT_SUPERVISOR={}", state_dir.display()).into_bytes();
        for pid in all_pids() {
            let Ok(env) = fs::read(format!("/proc/{pid}/environ")) else {
                continue;
            };
            if env.split(|b| *b == 0).any(|e| e == marker.as_slice()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

pub fn all_pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .expect("read /proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Fields after the command name of `/proc/<pid>/stat`, from field 3 on.
pub fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Whether the process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f[0] != "Z" && f[0] != "X")
}

pub fn session_of(pid: u32) -> u32 {
    stat_fields(pid).expect("stat")[3].parse().expect("session")
}

pub fn start_ticks_of(pid: u32) -> u64 {
    stat_fields(pid).expect("stat")[19]
        .parse()
        .expect("start time")
}

pub fn kill_group(pid: u32) {
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// Polls `check` until it holds; fails the test after 20 s.
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub async fn wait_for_log(sup: &Supervisor, name: &str, needle: &str) {
    wait_until(&format!("{needle:?} in the log of {name}"), || async {
        sup.logs(name, 1000)
            .await
            .expect("logs")
            .iter()
            .any(|l| l.contains(needle))
    })
    .await;
}

pub async fn wait_for_state(
    sup: &Supervisor,
    name: &str,
    wanted: fn(&ServiceState) -> bool,
) -> ServiceStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = sup.status(name).await.expect("status");
        if wanted(&status.state) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the state of {name}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub async fn running_pid(sup: &Supervisor, name: &str) -> u32 {
    let status = sup.status(name).await.expect("status");
    assert!(status.is_running(), "{status:?}");
    status.pid.expect("pid of a running service")
}

pub fn ticks(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("tick ")?.parse().ok())
        .collect()
}

pub const TICKER: &str = r#"i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.02; done"#;
