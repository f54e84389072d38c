//! How much memory the registry takes for a server's worth of agents.

use super::SeriesInfo;
use super::registry::Registry;

/// The 40 series an agent reports: metric name and label set.
pub(super) const AGENT_SERIES: [(&str, &[(&str, &str)]); 40] = [
    ("cpu_percent", &[]),
    ("cpu_user_percent", &[]),
    ("cpu_system_percent", &[]),
    ("cpu_iowait_percent", &[]),
    ("load_1m", &[]),
    ("load_5m", &[]),
    ("load_15m", &[]),
    ("mem_used_bytes", &[]),
    ("mem_available_bytes", &[]),
    ("mem_cached_bytes", &[]),
    ("swap_used_bytes", &[]),
    ("processes", &[]),
    ("uptime_seconds", &[]),
    ("open_files", &[]),
    ("net_rx_bytes", &[("device", "eth0")]),
    ("net_tx_bytes", &[("device", "eth0")]),
    ("net_rx_packets", &[("device", "eth0")]),
    ("net_tx_packets", &[("device", "eth0")]),
    ("net_rx_errors", &[("device", "eth0")]),
    ("net_tx_errors", &[("device", "eth0")]),
    ("net_rx_bytes", &[("device", "lo")]),
    ("net_tx_bytes", &[("device", "lo")]),
    ("disk_used_bytes", &[("mount", "/")]),
    ("disk_free_bytes", &[("mount", "/")]),
    ("disk_inodes_used", &[("mount", "/")]),
    ("disk_read_bytes", &[("mount", "/")]),
    ("disk_write_bytes", &[("mount", "/")]),
    ("disk_used_bytes", &[("mount", "/var")]),
    ("disk_free_bytes", &[("mount", "/var")]),
    ("app_cpu_percent", &[("project", "shop")]),
    ("app_mem_bytes", &[("project", "shop")]),
    ("app_restarts", &[("project", "shop")]),
    ("http_requests", &[("project", "shop")]),
    ("http_errors", &[("project", "shop")]),
    ("app_cpu_percent", &[("project", "blog")]),
    ("app_mem_bytes", &[("project", "blog")]),
    ("app_restarts", &[("project", "blog")]),
    ("http_requests", &[("project", "blog")]),
    ("http_errors", &[("project", "blog")]),
    ("tcp_connections", &[]),
];

/// Series `index` of [`AGENT_SERIES`] on node number `node`.
pub(super) fn agent_series(id: i64, node: usize, index: usize) -> SeriesInfo {
    let (name, labels) = AGENT_SERIES[index];
    SeriesInfo {
        id,
        node: format!("node-{node:05}"),
        name: name.to_string(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// Resident set size of this process, in bytes.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages in /proc/self/statm");
    pages * page_size()
}

/// The page size, from the auxiliary vector (`AT_PAGESZ`).
fn page_size() -> u64 {
    const AT_PAGESZ: u64 = 6;
    let auxv = std::fs::read("/proc/self/auxv").expect("read /proc/self/auxv");
    auxv.chunks_exact(16)
        .find_map(|pair| {
            let key = u64::from_ne_bytes(pair[..8].try_into().ok()?);
            let value = u64::from_ne_bytes(pair[8..].try_into().ok()?);
            (key == AT_PAGESZ).then_some(value)
        })
        .unwrap_or(4096)
}

/// Set in the process that measures (see [`footprint_of_400k_series`]).
const MEASURING: &str = "PILOT_REGISTRY_FOOTPRINT_MEASURING";

/// Resident bytes per series that building the registry of 10,000 agents adds.
fn bytes_per_series() -> u64 {
    const NODES: usize = 10_000;
    let total = (NODES * AGENT_SERIES.len()) as u64;
    let before = resident_bytes();
    // A fresh thread allocates from its own arena: the growth is the
    // registry's, not memory the main thread freed and kept.
    let registry = std::thread::spawn(|| {
        let mut r = Registry::default();
        let mut id = 0;
        for node in 0..NODES {
            for index in 0..AGENT_SERIES.len() {
                id += 1;
                r.insert(agent_series(id, node, index));
            }
        }
        r
    })
    .join()
    .expect("build the registry");
    let after = resident_bytes();
    assert_eq!(registry.ids().len() as u64, total);
    after.saturating_sub(before) / total
}

#[test]
fn footprint_of_400k_series() {
    if std::env::var_os(MEASURING).is_some() {
        let per_series = bytes_per_series();
        eprintln!("registry footprint: {per_series} bytes per series (400000 series)");
        assert!(per_series < 300, "{per_series} bytes per series");
        return;
    }
    // Measured in a process of its own, where no other test runs: the
    // resident size is the whole process's (a concurrent test's panic alone
    // loads hundreds of megabytes of debug information for its backtrace).
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let test = format!("{module}::footprint_of_400k_series");
    let exe = std::env::current_exe().expect("path of the test binary");
    let output = std::process::Command::new(exe)
        .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(MEASURING, "1")
        .output()
        .expect("run the measuring process");
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprint!("{stderr}");
    assert!(
        output.status.success() && stderr.contains("registry footprint"),
        "the measuring process failed: {}",
        output.status
    );
}
