//! `/`: every node and project, and what needs attention.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;

use crate::api::AppState;
use crate::web::facts::{self, Inventory, NodeRow, ProjectRow};
use crate::web::render::{OrPage, PageResult, page};
use crate::web::session::Viewer;
use crate::web::view::Shell;

/// The overview page.
#[derive(Template)]
#[template(path = "web/overview.html")]
struct Overview {
    shell: Shell,
    nodes: Vec<NodeRow>,
    projects: Vec<ProjectRow>,
    offline: usize,
    troubled: usize,
}

/// `GET /`.
pub(crate) async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
) -> PageResult {
    let shell = Shell::new(&viewer, "Overview", "overview").topics("nodes,metrics,deploys");
    let Inventory { nodes, projects } = Inventory::read(&state, &facts::request_host(&headers))
        .await
        .or_page(&shell)?;
    Ok(page(
        &Overview {
            offline: nodes.iter().filter(|n| !n.online).count(),
            troubled: projects.iter().filter(|p| p.needs_attention()).count(),
            shell,
            nodes,
            projects,
        },
        "overview",
    ))
}
