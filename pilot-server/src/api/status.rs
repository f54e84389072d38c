//! Routes outside `/api/v1`: the status page `GET /`, `GET /health` and the
//! Prometheus exposition `GET /metrics`.

use std::fmt::Write as _;

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use pilot_store::records::ProjectStatus;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::error::{ApiError, ApiResult};
use super::state::AppState;
use super::telemetry::family;
use super::types::{ErrorBody, HealthResponse, ProjectSourceView};

/// Deployments shown per project on the status page.
const PAGE_DEPLOYMENTS: u32 = 3;

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status_page))
        .routes(routes!(health))
        .routes(routes!(prometheus))
}

/// The status page.
#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    version: &'static str,
    generated: String,
    nodes: Vec<NodeRow>,
    projects: Vec<ProjectRow>,
}

struct NodeRow {
    name: String,
    online: bool,
    last_seen: String,
    system: String,
}

struct ProjectRow {
    name: String,
    status: String,
    nodes: String,
    port: String,
    source: String,
    deployments: Vec<DeploymentRow>,
}

struct DeploymentRow {
    id: String,
    node: String,
    state: String,
    version: String,
    generation: u64,
    started: String,
    reason: String,
}

/// `YYYY-MM-DD HH:MM:SS UTC` of a Unix ms time.
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

use pilot_core::time::now_ms;

/// A short description of a node's machine from its reported system info.
fn system_line(info: Option<&serde_json::Value>) -> String {
    let Some(info) = info else {
        return "not reported yet".to_string();
    };
    let text = |key: &str| info.get(key).and_then(|v| v.as_str()).unwrap_or("?");
    let cores = info.get("cpu_cores").and_then(|v| v.as_u64()).unwrap_or(0);
    let memory_gib = info
        .get("memory_total_bytes")
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as f64
        / f64::from(1u32 << 30);
    format!(
        "{} · {cores} CPUs · {memory_gib:.1} GiB",
        text("os_version")
    )
}

/// A plain page of nodes, projects and their latest deployments; no
/// session needed, nothing secret on it.
#[utoipa::path(
    get, path = "/", tag = "status",
    responses((status = 200, description = "The status page", content_type = "text/html", body = String))
)]
async fn status_page(State(state): State<AppState>) -> ApiResult<Html<String>> {
    let mut nodes = Vec::new();
    for node in state.store.nodes().await? {
        nodes.push(NodeRow {
            online: state.nodes.is_online(&node.name),
            last_seen: node.last_seen_ms.map_or_else(|| "never".to_string(), utc),
            system: system_line(node.system_info.as_ref()),
            name: node.name,
        });
    }
    let mut projects = Vec::new();
    for project in state.store.projects().await? {
        let deployments = state
            .store
            .deployments(&project.name, PAGE_DEPLOYMENTS)
            .await?
            .into_iter()
            .map(|r| DeploymentRow {
                state: r.deployment.state().to_string(),
                version: r.deployment.version.clone().unwrap_or_else(|| "-".into()),
                generation: r.deployment.generation,
                started: utc(r.deployment.created_ms),
                reason: r.deployment.reason.clone().unwrap_or_default(),
                id: r.deployment.id,
                node: r.node,
            })
            .collect();
        projects.push(ProjectRow {
            status: project.status.to_string(),
            nodes: project.nodes.join(", "),
            port: project
                .public_port
                .map_or_else(|| "-".to_string(), |p| p.to_string()),
            source: match ProjectSourceView::from(&project.source) {
                ProjectSourceView::Git { url, branch } => match branch {
                    Some(branch) => format!("{url} ({branch})"),
                    None => url,
                },
                ProjectSourceView::Upload => "uploads".to_string(),
            },
            name: project.name,
            deployments,
        });
    }
    let page = StatusPage {
        version: env!("CARGO_PKG_VERSION"),
        generated: utc(now_ms()),
        nodes,
        projects,
    };
    page.render().map(Html).map_err(|e| ApiError::Render {
        page: "status",
        reason: e.to_string(),
    })
}

/// Liveness: the server answers and its database is reachable.
#[utoipa::path(
    get, path = "/health", tag = "status",
    responses(
        (status = 200, description = "Healthy", body = HealthResponse),
        (status = 503, description = "The database is unreachable", body = ErrorBody),
    )
)]
async fn health(State(state): State<AppState>) -> Response {
    match state.store.setting("health.probe").await {
        Ok(_) => Json(HealthResponse {
            status: "ok".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        })
        .into_response(),
        Err(e) => {
            let mut response = ApiError::from(e).into_response();
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response
        }
    }
}

/// The server's own metrics in the Prometheus text format: nodes, projects
/// by status, HTTP responses by status class, rollouts.
#[utoipa::path(
    get, path = "/metrics", tag = "status",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
async fn prometheus(State(state): State<AppState>, _: Authenticated) -> ApiResult<Response> {
    let registered = state.store.nodes().await?.len();
    let projects = state.store.projects().await?;
    let mut out = String::new();
    family(
        &mut out,
        "pilot_nodes_registered",
        "gauge",
        "Registered nodes.",
    );
    let _ = writeln!(out, "pilot_nodes_registered {registered}");
    family(
        &mut out,
        "pilot_nodes_connected",
        "gauge",
        "Nodes with a connected agent.",
    );
    let _ = writeln!(out, "pilot_nodes_connected {}", state.nodes.online().len());
    family(&mut out, "pilot_projects", "gauge", "Projects by status.");
    for status in [
        ProjectStatus::Created,
        ProjectStatus::Deploying,
        ProjectStatus::Running,
        ProjectStatus::Stopped,
        ProjectStatus::Failed,
    ] {
        let count = projects.iter().filter(|p| p.status == status).count();
        let _ = writeln!(out, "pilot_projects{{status=\"{status}\"}} {count}");
    }
    state.telemetry.render(&mut out);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_formats_civil_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000_123), "2023-11-14 22:13:20 UTC");
    }
}
