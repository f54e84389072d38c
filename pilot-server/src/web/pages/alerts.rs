//! `/alerts`: what needs someone's attention now — nodes whose agent is
//! gone and projects that failed or have no node to run on.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;

use crate::api::AppState;
use crate::web::facts::{self, Inventory, NodeRow, ProjectRow};
use crate::web::render::{OrPage, PageResult, page};
use crate::web::session::Viewer;
use crate::web::view::Shell;

/// The alerts page.
#[derive(Template)]
#[template(path = "web/alerts.html")]
struct AlertsPage {
    shell: Shell,
    offline: Vec<NodeRow>,
    troubled: Vec<ProjectRow>,
}

/// `GET /alerts`.
pub(crate) async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
) -> PageResult {
    let shell = Shell::new(&viewer, "Alerts", "alerts").topics("nodes,deploys");
    let inventory = Inventory::read(&state, &facts::request_host(&headers))
        .await
        .or_page(&shell)?;
    let offline = inventory.nodes.into_iter().filter(|n| !n.online).collect();
    let troubled = inventory
        .projects
        .into_iter()
        .filter(ProjectRow::needs_attention)
        .collect();
    Ok(page(
        &AlertsPage {
            shell,
            offline,
            troubled,
        },
        "alerts",
    ))
}
