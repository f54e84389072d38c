//! Deploys, rollbacks, start/stop/restart, rollouts and deployment records.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::env::project as find_project;
use crate::api::audit;
use crate::api::auth::{Admin, Authenticated, Session};
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::{ApiJson, ApiQuery};
use crate::api::state::AppState;
use crate::api::types::{
    CanaryRequest, DeployRequest, DeploymentRecord, ErrorBody, NodeResult, RollbackRequest,
};
use crate::api::upload::{self, ArchiveBody};
use crate::deploy::{ControlAction, DeployOrder, Rollout, RolloutKind};

/// Longest a rollout request may wait for the end.
const MAX_WAIT_SECS: u64 = 300;
/// Most deployments listed at once.
const MAX_LIST: u32 = 500;

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(deploy))
        .routes(routes!(deploy_archive))
        .routes(routes!(rollback))
        .routes(routes!(start))
        .routes(routes!(stop))
        .routes(routes!(restart))
        .routes(routes!(rollout))
        .routes(routes!(list_deployments))
        .routes(routes!(deployment))
}

/// Counts, audits and answers a rollout just started.
async fn started(
    state: &AppState,
    session: &Session,
    rollout: Rollout,
    detail: serde_json::Value,
) -> (StatusCode, Json<Rollout>) {
    state.telemetry.count_rollout(rollout.kind);
    let action = match rollout.kind {
        RolloutKind::Deploy => "project.deploy",
        RolloutKind::Rollback => "project.rollback",
    };
    let mut detail = detail;
    detail["rollout"] = serde_json::Value::String(rollout.id.clone());
    audit::record(
        state,
        session.actor(),
        action,
        format!("project:{}", rollout.project),
        detail,
    )
    .await;
    (StatusCode::ACCEPTED, Json(rollout))
}

/// Deploys a git project: its branch, or the given ref, to every node
/// (canaries first when asked). Returns the rollout at once; follow it with
/// `GET /rollouts/{id}` or the WebSocket.
#[utoipa::path(
    post, path = "/projects/{name}/deploy", tag = "deploys",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project")),
    request_body = DeployRequest,
    responses(
        (status = 202, description = "Started", body = Rollout),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 409, description = "The project has no nodes", body = ErrorBody),
        (status = 422, description = "The request does not fit the project", body = ErrorBody),
    )
)]
async fn deploy(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<DeployRequest>,
) -> ApiResult<(StatusCode, Json<Rollout>)> {
    let detail = serde_json::json!({ "ref": request.reference, "canary": request.canary });
    let rollout = state
        .deployer
        .deploy(DeployOrder {
            project: name,
            reference: request.reference.map(Into::into),
            archive: None,
            canary: request.canary.map(Into::into),
            requested_by: session.actor().to_string(),
        })
        .await?;
    Ok(started(&state, &session, rollout, detail).await)
}

/// Query string of `POST /projects/{name}/deploy/archive`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ArchiveDeployQuery {
    /// Canary nodes, comma-separated.
    canary: Option<String>,
    /// Seconds the canaries must stay healthy before the rest follow.
    watch_secs: Option<u64>,
}

/// Deploys an uploaded `.zip` or `.tar.gz` of the app (at most the upload
/// limit). Its config is checked first (unless the project's is pinned)
/// and recorded as the project's.
#[utoipa::path(
    post, path = "/projects/{name}/deploy/archive", tag = "deploys",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project"), ArchiveDeployQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "A .zip or .tar.gz of the app"),
    responses(
        (status = 202, description = "Started", body = Rollout),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 413, description = "Larger than the upload limit", body = ErrorBody),
        (status = 422, description = "Unsafe or unreadable archive, or invalid config", body = ErrorBody),
    )
)]
async fn deploy_archive(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<ArchiveDeployQuery>,
    ArchiveBody(archive): ArchiveBody,
) -> ApiResult<(StatusCode, Json<Rollout>)> {
    let project = find_project(&state, &name).await?;
    let config = upload::archive_config(&state, &archive, !project.config_pinned).await?;
    if let Some(config) = &config {
        state.store.record_source_config(&name, config).await?;
    }
    let canary = query.canary.map(|nodes| CanaryRequest {
        nodes: nodes
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect(),
        watch_secs: query.watch_secs.unwrap_or(0),
    });
    let detail =
        serde_json::json!({ "source": "upload", "bytes": archive.len(), "canary": canary });
    let rollout = state
        .deployer
        .deploy(DeployOrder {
            project: name,
            reference: None,
            archive: Some(archive),
            canary: canary.map(Into::into),
            requested_by: session.actor().to_string(),
        })
        .await?;
    Ok(started(&state, &session, rollout, detail).await)
}

/// Rolls every node of the project back to a kept generation (the previous
/// one by default), without rebuilding.
#[utoipa::path(
    post, path = "/projects/{name}/rollback", tag = "deploys",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project")),
    request_body = RollbackRequest,
    responses(
        (status = 202, description = "Started", body = Rollout),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
        (status = 409, description = "The project has no nodes", body = ErrorBody),
    )
)]
async fn rollback(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<RollbackRequest>,
) -> ApiResult<(StatusCode, Json<Rollout>)> {
    let rollout = state.deployer.rollback(&name, request.generation).await?;
    let detail = serde_json::json!({ "generation": request.generation });
    Ok(started(&state, &session, rollout, detail).await)
}

/// Runs a start, stop or restart on every node and audits it.
async fn control(
    state: &AppState,
    session: &Session,
    name: &str,
    action: ControlAction,
) -> ApiResult<Json<Vec<NodeResult>>> {
    let results = state.deployer.control(name, action).await?;
    let verb = match action {
        ControlAction::Start => "project.start",
        ControlAction::Stop => "project.stop",
        ControlAction::Restart => "project.restart",
    };
    audit::record(
        state,
        session.actor(),
        verb,
        format!("project:{name}"),
        serde_json::json!({ "nodes": results }),
    )
    .await;
    Ok(Json(results.into_iter().collect()))
}

/// Starts the project's current release on every node; one result per node.
#[utoipa::path(
    post, path = "/projects/{name}/start", tag = "deploys",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "What each node did", body = Vec<NodeResult>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    )
)]
async fn start(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<NodeResult>>> {
    control(&state, &session, &name, ControlAction::Start).await
}

/// Stops the project on every node; one result per node.
#[utoipa::path(
    post, path = "/projects/{name}/stop", tag = "deploys",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "What each node did", body = Vec<NodeResult>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    )
)]
async fn stop(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<NodeResult>>> {
    control(&state, &session, &name, ControlAction::Stop).await
}

/// Restarts the project's current release on every node; one result per node.
#[utoipa::path(
    post, path = "/projects/{name}/restart", tag = "deploys",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "What each node did", body = Vec<NodeResult>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    )
)]
async fn restart(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<NodeResult>>> {
    control(&state, &session, &name, ControlAction::Restart).await
}

/// Query string of `GET /rollouts/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct WaitParam {
    /// Wait up to this many seconds (at most 300) for the rollout to end.
    wait_secs: Option<u64>,
}

/// A rollout's current state (rollouts are kept in memory while the server runs).
#[utoipa::path(
    get, path = "/rollouts/{id}", tag = "deploys",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The rollout"), WaitParam),
    responses(
        (status = 200, description = "The rollout", body = Rollout),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such rollout (or forgotten)", body = ErrorBody),
    )
)]
async fn rollout(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<WaitParam>,
) -> ApiResult<Json<Rollout>> {
    let wait = Duration::from_secs(params.wait_secs.unwrap_or(0).min(MAX_WAIT_SECS));
    if !wait.is_zero()
        && let Ok(Some(done)) = tokio::time::timeout(wait, state.deployer.wait(&id)).await
    {
        return Ok(Json(done));
    }
    state
        .deployer
        .rollout(&id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("rollout", id))
}

/// Query string of `GET /projects/{name}/deployments`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LimitParam {
    /// How many, newest first (default 20, at most 500).
    limit: Option<u32>,
}

/// The project's deployment history on every node, newest first.
#[utoipa::path(
    get, path = "/projects/{name}/deployments", tag = "deploys",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The project"), LimitParam),
    responses(
        (status = 200, description = "Deployments", body = Vec<DeploymentRecord>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such project", body = ErrorBody),
    )
)]
async fn list_deployments(
    State(state): State<AppState>,
    _: Authenticated,
    Path(name): Path<String>,
    ApiQuery(params): ApiQuery<LimitParam>,
) -> ApiResult<Json<Vec<DeploymentRecord>>> {
    if state.store.project(&name).await?.is_none() {
        return Err(ApiError::not_found("project", name));
    }
    let limit = params.limit.unwrap_or(20).clamp(1, MAX_LIST);
    let records = state.store.deployments(&name, limit).await?;
    Ok(Json(records.into_iter().collect()))
}

/// One deployment: every step with its timings, state, reason, version.
#[utoipa::path(
    get, path = "/deployments/{id}", tag = "deploys",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The deployment")),
    responses(
        (status = 200, description = "The deployment", body = DeploymentRecord),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such deployment", body = ErrorBody),
    )
)]
async fn deployment(
    State(state): State<AppState>,
    _: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<DeploymentRecord>> {
    state
        .store
        .deployment(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("deployment", id))
}
