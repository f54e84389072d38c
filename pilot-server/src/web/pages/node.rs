//! `/nodes/{name}`: one node's charts, machine, busiest processes and
//! projects, and its token.

use askama::Template;
use axum::extract::{Path, State};
use pilot_core::ProcessSummary;

use crate::api::{ApiError, AppState};
use crate::web::facts::{self, NodeRow};
use crate::web::render::{OrPage, PageResult, page};
use crate::web::session::Viewer;
use crate::web::view::{Shell, bytes};

/// A host chart: metric, unit, title and label filter (JSON, may be empty).
pub(crate) struct ChartSpec {
    pub metric: &'static str,
    pub unit: &'static str,
    pub title: &'static str,
    pub labels: &'static str,
}

const fn chart(
    metric: &'static str,
    unit: &'static str,
    title: &'static str,
    labels: &'static str,
) -> ChartSpec {
    ChartSpec {
        metric,
        unit,
        title,
        labels,
    }
}

/// The node page's host charts.
const HOST_CHARTS: [ChartSpec; 9] = [
    chart("cpu_usage_percent", "percent", "CPU", r#"{"cpu": "total"}"#),
    chart("memory_used_bytes", "bytes", "Memory used", ""),
    chart("swap_used_bytes", "bytes", "Swap used", ""),
    chart("load1", "number", "Load (1 min)", ""),
    chart("filesystem_usage_percent", "percent", "Disk used", ""),
    chart(
        "disk_read_bytes_per_second",
        "bytes_per_second",
        "Disk reads",
        "",
    ),
    chart(
        "disk_written_bytes_per_second",
        "bytes_per_second",
        "Disk writes",
        "",
    ),
    chart(
        "network_receive_bytes_per_second",
        "bytes_per_second",
        "Network in",
        "",
    ),
    chart(
        "network_transmit_bytes_per_second",
        "bytes_per_second",
        "Network out",
        "",
    ),
];

/// The per-project charts of a node.
const PROJECT_CHARTS: [ChartSpec; 2] = [
    chart("service_cpu_usage_percent", "percent", "CPU by project", ""),
    chart(
        "service_resident_memory_bytes",
        "bytes",
        "Memory by project",
        "",
    ),
];

/// One process of the busiest list.
struct ProcessRow {
    pid: u32,
    name: String,
    project: String,
    cpu: String,
    memory: String,
}

impl From<&ProcessSummary> for ProcessRow {
    fn from(p: &ProcessSummary) -> Self {
        ProcessRow {
            pid: p.pid,
            name: p.name.clone(),
            project: p.project.clone().unwrap_or_default(),
            cpu: p
                .cpu_percent
                .map_or_else(|| "-".into(), |c| format!("{c:.1} %")),
            memory: bytes(p.rss_bytes as f64),
        }
    }
}

/// The node page.
#[derive(Template)]
#[template(path = "web/node.html")]
struct NodePage {
    shell: Shell,
    node: NodeRow,
    info: Vec<(String, String)>,
    processes: Vec<ProcessRow>,
    host_charts: &'static [ChartSpec],
    project_charts: &'static [ChartSpec],
}

/// The system-info fields the page names, in the order shown.
const INFO_LABELS: &[(&str, &str)] = &[
    ("hostname", "Host name"),
    ("os_version", "System"),
    ("kernel_version", "Kernel"),
    ("architecture", "Architecture"),
    ("cpu_model", "CPU"),
    ("cpu_cores", "CPU threads"),
    ("physical_cores", "CPU cores"),
    ("memory_total_bytes", "Memory"),
    ("swap_total_bytes", "Swap"),
    ("disks", "Disks"),
];

/// The reported system info as label/value lines: the known fields in a
/// fixed order, then anything else the agent sent.
fn info_lines(info: Option<&serde_json::Value>) -> Vec<(String, String)> {
    let Some(serde_json::Value::Object(map)) = info else {
        return Vec::new();
    };
    let known = INFO_LABELS
        .iter()
        .filter_map(|(key, label)| Some(((*label).to_string(), info_text(key, map.get(*key)?)?)));
    let others = map
        .iter()
        .filter(|(key, _)| key.as_str() != "os_name" && !INFO_LABELS.iter().any(|(k, _)| k == key))
        .filter_map(|(key, value)| Some((key.replace('_', " "), info_text(key, value)?)));
    known.chain(others).collect()
}

/// One system-info value as text (`None` for an empty one).
fn info_text(key: &str, value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if key.ends_with("_bytes") => Some(bytes(n.as_f64().unwrap_or(0.0))),
        Value::Array(disks) if key == "disks" => {
            let lines: Vec<String> = disks.iter().map(disk_text).collect();
            (!lines.is_empty()).then(|| lines.join("; "))
        }
        other => Some(other.to_string()),
    }
}

/// A disk as "/ (ext4 on /dev/vda, 252.0 GiB)".
fn disk_text(disk: &serde_json::Value) -> String {
    let field = |name: &str| disk.get(name).and_then(|v| v.as_str()).unwrap_or("?");
    let size = disk
        .get("size_bytes")
        .and_then(serde_json::Value::as_f64)
        .map(bytes)
        .unwrap_or_default();
    format!(
        "{} ({} on {}, {size})",
        field("mountpoint"),
        field("fstype"),
        field("device")
    )
}

/// `GET /nodes/{name}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> PageResult {
    let shell = Shell::new(&viewer, format!("Node {name}"), "overview")
        .topics("nodes,metrics")
        .node(&name);
    let node = state
        .store
        .node(&name)
        .await
        .or_page(&shell)?
        .ok_or_else(|| ApiError::not_found("node", name.clone()))
        .or_page(&shell)?;
    let projects = state.store.project_placements().await.or_page(&shell)?;
    let info = info_lines(node.system_info.as_ref());
    let processes = state
        .agent_facts
        .top_processes(&name)
        .map(|top| top.by_cpu.iter().map(ProcessRow::from).collect())
        .unwrap_or_default();
    Ok(page(
        &NodePage {
            node: facts::node_row(&state, node, &projects),
            shell,
            info,
            processes,
            host_charts: &HOST_CHARTS,
            project_charts: &PROJECT_CHARTS,
        },
        "node",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn system_info_is_named_in_order_and_disks_are_readable() {
        let info = json!({
            "swap_total_bytes": 0,
            "hostname": "web-1",
            "os_name": "Debian GNU/Linux",
            "os_version": "Linux (Debian GNU/Linux 12)",
            "memory_total_bytes": 2147483648u64,
            "physical_cores": null,
            "disks": [{"device": "/dev/vda", "fstype": "ext4", "mountpoint": "/", "size_bytes": 1073741824u64}],
            "future_field": 7
        });
        let lines = info_lines(Some(&info));
        let labels: Vec<&str> = lines.iter().map(|(label, _)| label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Host name",
                "System",
                "Memory",
                "Swap",
                "Disks",
                "future field"
            ]
        );
        assert_eq!(lines[2].1, bytes(2147483648.0));
        assert_eq!(
            lines[4].1,
            format!("/ (ext4 on /dev/vda, {})", bytes(1073741824.0))
        );
        assert!(info_lines(None).is_empty());
    }
}
