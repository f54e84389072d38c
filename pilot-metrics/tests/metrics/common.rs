//! Helpers shared by the integration tests: the tests' own readings of the
//! kernel's numbers (parsed here independently of the crate), spawned
//! process trees that clean up after themselves, and the Prometheus tools.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use pilot_core::testing::{ensure_component, setup_script};

/// Clock ticks per second (`USER_HZ`).
pub fn ticks_per_sec() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .unwrap()
        .unwrap() as f64
}

/// Bytes per page.
pub fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .unwrap()
        .unwrap() as u64
}

/// `/proc/stat` CPU lines: name ("cpu", "cpu0", ...) → the eight mode counters.
pub fn cpu_ticks() -> BTreeMap<String, [u64; 8]> {
    let text = std::fs::read_to_string("/proc/stat").unwrap();
    text.lines()
        .filter(|l| l.starts_with("cpu"))
        .map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next().unwrap().to_owned();
            let mut v = [0u64; 8];
            for (slot, field) in v.iter_mut().zip(f) {
                *slot = field.parse().unwrap();
            }
            (name, v)
        })
        .collect()
}

/// Busy share (not idle, not iowait) between two readings, in percent.
pub fn busy_percent(before: &[u64; 8], after: &[u64; 8]) -> f64 {
    let d: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    let total: u64 = d.iter().sum();
    (total - d[3] - d[4]) as f64 * 100.0 / total as f64
}

/// `/proc/meminfo` as key → bytes.
pub fn meminfo() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    text.lines()
        .filter_map(|l| {
            let (k, rest) = l.split_once(':')?;
            let mut parts = rest.split_whitespace();
            let n: u64 = parts.next()?.parse().ok()?;
            let scale = if parts.next() == Some("kB") { 1024 } else { 1 };
            Some((k.to_owned(), n * scale))
        })
        .collect()
}

/// `/proc/net/dev` of one interface: [rx_bytes, rx_packets, tx_bytes, tx_packets].
pub fn net_counters(interface: &str) -> [u64; 4] {
    let text = std::fs::read_to_string("/proc/net/dev").unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{interface}:")))
        .unwrap();
    let v: Vec<u64> = line
        .split_once(':')
        .unwrap()
        .1
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    [v[0], v[1], v[8], v[9]]
}

/// `/proc/diskstats` of one device: [reads, read bytes, writes, written bytes].
pub fn disk_counters(device: &str) -> [u64; 4] {
    let text = std::fs::read_to_string("/proc/diskstats").unwrap();
    let f: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f[2] == device)
        .unwrap();
    let n = |i: usize| f[i].parse::<u64>().unwrap();
    [n(3), n(5) * 512, n(7), n(9) * 512]
}

/// (ppid, session, utime + stime, threads) of a process, if it exists.
pub fn pid_stat(pid: u32) -> Option<(u32, u32, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest: Vec<&str> = text[text.rfind(')')? + 2..].split(' ').collect();
    // rest[0] is field 3 of proc(5).
    let n = |field: usize| rest[field - 3].parse::<u64>().unwrap();
    Some((n(4) as u32, n(6) as u32, n(14) + n(15), n(20)))
}

/// Resident pages of a process from `/proc/<pid>/statm`.
pub fn resident_pages(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap();
    text.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Every live pid whose parent chain reaches `root` (root included).
pub fn tree_of(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((ppid, ..)) = pid_stat(pid) {
            parents.push((pid, ppid));
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree.sort_unstable();
    tree
}

/// Waits until `check` holds, polling; panics after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A shell script run as the leader of its own session (like a service of
/// the embedded supervisor); on drop, it and every process it started are
/// killed.
pub struct ProcessTree {
    child: Child,
}

impl ProcessTree {
    /// Runs `script` with `sh -c` in a new session.
    pub fn spawn(script: &str) -> ProcessTree {
        let child = Command::new("setsid")
            .args(["sh", "-c", script])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn setsid sh");
        ProcessTree { child }
    }

    /// The root pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ProcessTree {
    fn drop(&mut self) {
        // Collect first: children are reparented once their parent dies.
        for pid in tree_of(self.pid()).into_iter().rev() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// Makes sure `tool` is on PATH, running the project's setup script when it
/// is not. Returns whether it is; when it still is missing, fails under
/// `CI=true` and returns `false` (with a message) otherwise.
pub fn require_tool(tool: &str) -> bool {
    let on_path = || {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    ensure_component(tool, &setup_script("metrics-tools.sh"), on_path)
}
