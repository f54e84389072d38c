//! Routes outside `/api/v1`: the liveness check `GET /health` and the
//! Prometheus exposition `GET /metrics`.

use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pilot_store::records::ProjectStatus;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::error::{ApiError, ApiResult};
use super::state::AppState;
use super::telemetry::family;
use super::types::{ErrorBody, HealthResponse};

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(prometheus))
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
