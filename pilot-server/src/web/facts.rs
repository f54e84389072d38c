//! The facts pages show about nodes and projects, gathered from the store,
//! the agents' connections and the deployment journals.

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::http::header::HOST;
use pilot_core::engine::DeployState;
use pilot_store::records::{DeploymentSummary, Node, ProjectPlacement, ProjectStatus};

use super::view::{iso, utc};
use crate::api::{ApiResult, AppState};

/// A node as the overview and the node page show it.
pub(crate) struct NodeRow {
    pub name: String,
    pub online: bool,
    /// When it was last heard from (ISO, empty when never).
    pub last_seen_iso: String,
    /// The same in words.
    pub last_seen: String,
    pub agent_version: String,
    /// Where the agent connects from.
    pub peer: String,
    /// OS, CPUs and memory.
    pub system: String,
    /// Projects placed on it.
    pub projects: Vec<String>,
}

/// A project as the overview and the project page show it.
pub(crate) struct ProjectRow {
    pub name: String,
    pub status: String,
    /// The version serving now, or `-`.
    pub version: String,
    pub generation: u64,
    pub nodes: Vec<String>,
    pub online_nodes: Vec<String>,
    /// The app's URL, or empty.
    pub url: String,
    /// Since when the live release serves (ISO, empty when nothing does).
    pub live_since_iso: String,
    /// `healthy`, `failed`, `deploying`, `stopped`, `no node connected`, `not deployed`.
    pub health: String,
    /// The newest deployment's failure, if it failed.
    pub failure: String,
}

impl ProjectRow {
    /// Whether the project needs someone's attention.
    pub fn needs_attention(&self) -> bool {
        matches!(self.health.as_str(), "failed" | "no node connected")
    }
}

/// The host name the browser reached this server by (without port).
pub(crate) fn request_host(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    match host.strip_prefix('[') {
        Some(v6) => format!("[{}]", v6.split(']').next().unwrap_or_default()),
        None => host.split(':').next().unwrap_or(host).to_string(),
    }
}

/// A short description of a node's machine from its reported system info.
pub(crate) fn system_line(info: Option<&serde_json::Value>) -> String {
    let Some(info) = info else {
        return "not reported yet".to_string();
    };
    let text = |key: &str| info.get(key).and_then(|v| v.as_str()).unwrap_or("?");
    let cores = info.get("cpu_cores").and_then(|v| v.as_u64()).unwrap_or(0);
    let memory = info
        .get("memory_total_bytes")
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as f64;
    format!(
        "{} · {cores} CPUs · {}",
        text("os_version"),
        super::view::bytes(memory)
    )
}

/// The row of one node.
pub(crate) fn node_row(state: &AppState, node: Node, projects: &[ProjectPlacement]) -> NodeRow {
    let connection = state.agent_facts.connection(&node.name);
    NodeRow {
        online: state.nodes.is_online(&node.name),
        last_seen_iso: node.last_seen_ms.map(iso).unwrap_or_default(),
        last_seen: node.last_seen_ms.map_or_else(|| "never".to_string(), utc),
        agent_version: connection
            .as_ref()
            .map_or_else(|| "-".to_string(), |c| c.agent_version.clone()),
        peer: connection.map(|c| c.peer).unwrap_or_default(),
        system: system_line(node.system_info.as_ref()),
        projects: projects
            .iter()
            .filter(|p| p.nodes.contains(&node.name))
            .map(|p| p.name.clone())
            .collect(),
        name: node.name,
    }
}

/// `http://HOST:PORT/` of an app on `node`: the agent's address, or the
/// host the browser used when the agent runs on this machine.
pub(crate) fn app_url(state: &AppState, node: &str, port: u16, host: &str) -> String {
    let peer = state
        .agent_facts
        .connection(node)
        .and_then(|c| c.peer.parse::<std::net::SocketAddr>().ok())
        .map(|addr| addr.ip())
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified());
    match peer {
        Some(std::net::IpAddr::V6(ip)) => format!("http://[{ip}]:{port}/"),
        Some(ip) => format!("http://{ip}:{port}/"),
        None => format!("http://{host}:{port}/"),
    }
}

/// The row of one project, from its newest deployments (newest first;
/// the newest and the newest succeeded one are enough).
pub(crate) fn project_row(
    state: &AppState,
    project: &ProjectPlacement,
    deployments: &[DeploymentSummary],
    host: &str,
) -> ProjectRow {
    let online_nodes: Vec<String> = project
        .nodes
        .iter()
        .filter(|n| state.nodes.is_online(n))
        .cloned()
        .collect();
    let live = deployments
        .iter()
        .find(|d| d.state == DeployState::Succeeded);
    let newest = deployments.first();
    let failure = newest
        .filter(|d| matches!(d.state, DeployState::Failed | DeployState::RolledBack))
        .map(|d| d.reason.clone().unwrap_or_else(|| "failed".into()))
        .unwrap_or_default();
    let health = match project.status {
        ProjectStatus::Deploying => "deploying",
        ProjectStatus::Stopped => "stopped",
        ProjectStatus::Failed => "failed",
        _ if live.is_none() => "not deployed",
        _ if online_nodes.is_empty() => "no node connected",
        _ => "healthy",
    };
    let port = live.and_then(|d| d.public_port).or(project.public_port);
    let url = match (live, port) {
        (Some(live), Some(port)) => app_url(state, &live.node, port, host),
        _ => String::new(),
    };
    ProjectRow {
        name: project.name.clone(),
        status: project.status.to_string(),
        version: live
            .and_then(|d| d.version.clone())
            .unwrap_or_else(|| "-".into()),
        generation: live.map_or(0, |d| d.generation),
        nodes: project.nodes.clone(),
        online_nodes,
        url,
        live_since_iso: live
            .map(|d| iso(d.finished_ms.unwrap_or(d.created_ms)))
            .unwrap_or_default(),
        health: health.to_string(),
        failure,
    }
}

/// Every node and every project as rows, by name: three reads of the
/// store, made at once.
pub(crate) struct Inventory {
    pub nodes: Vec<NodeRow>,
    pub projects: Vec<ProjectRow>,
}

impl Inventory {
    /// Reads it; `host` is the one the browser used (for apps' URLs).
    pub async fn read(state: &AppState, host: &str) -> ApiResult<Inventory> {
        let (projects, nodes, deployments) = tokio::try_join!(
            state.store.project_placements(),
            state.store.nodes(),
            state.store.newest_and_live_deployments(),
        )?;
        let mut recent: HashMap<String, Vec<DeploymentSummary>> = HashMap::new();
        for summary in deployments {
            recent
                .entry(summary.project.clone())
                .or_default()
                .push(summary);
        }
        Ok(Inventory {
            nodes: nodes
                .into_iter()
                .map(|node| node_row(state, node, &projects))
                .collect(),
            projects: projects
                .iter()
                .map(|project| {
                    let deployments = recent.get(&project.name).map_or(&[][..], Vec::as_slice);
                    project_row(state, project, deployments, host)
                })
                .collect(),
        })
    }
}
