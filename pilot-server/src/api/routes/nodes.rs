//! `/nodes`: enrol, list, inspect, revoke, rotate tokens; latest metrics and
//! top processes of a node.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pilot_store::records::Node;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::audit;
use crate::api::auth::{Admin, Authenticated};
use crate::api::error::{ApiError, ApiResult};
use crate::api::extract::ApiJson;
use crate::api::state::AppState;
use crate::api::types::{
    CreateNodeRequest, ErrorBody, LatestMetric, NodeEnrolment, NodeProcesses, NodeView,
};

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_nodes, create_node))
        .routes(routes!(get_node, delete_node))
        .routes(routes!(rotate_token))
        .routes(routes!(latest_metrics))
        .routes(routes!(processes))
}

/// The node as the API shows it.
async fn view(state: &AppState, node: Node) -> ApiResult<NodeView> {
    let projects = state.store.projects_on_node(&node.name).await?;
    Ok(NodeView {
        online: state.nodes.is_online(&node.name),
        connection: state.agent_facts.connection(&node.name),
        name: node.name,
        last_seen_ms: node.last_seen_ms,
        created_ms: node.created_ms,
        system_info: node.system_info,
        projects,
    })
}

/// The node named `name`, or 404.
async fn find(state: &AppState, name: &str) -> ApiResult<Node> {
    state
        .store
        .node(name)
        .await?
        .ok_or_else(|| ApiError::not_found("node", name))
}

/// A command line starting the agent of `node`, once its token is saved in
/// the token file it names (the token itself never goes on a command line,
/// where `ps` would show it).
fn agent_command(state: &AppState, node: &str) -> String {
    let mut command = format!(
        "pilot-agent --data-dir /var/lib/pilot-agent --server {} --name {node} \
         --token-file /etc/pilot/{node}.token",
        state.settings.agent_address,
    );
    if let Some(fingerprint) = &state.settings.agent_fingerprint {
        command.push_str(&format!(" --tls-fingerprint {fingerprint}"));
    }
    command
}

/// Every registered node, with whether its agent is connected.
#[utoipa::path(
    get, path = "/nodes", tag = "nodes",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The nodes", body = Vec<NodeView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
async fn list_nodes(
    State(state): State<AppState>,
    _: Authenticated,
) -> ApiResult<Json<Vec<NodeView>>> {
    let mut views = Vec::new();
    for node in state.store.nodes().await? {
        views.push(view(&state, node).await?);
    }
    Ok(Json(views))
}

/// Registers a node. The response holds its token (shown this once) and
/// the command that starts its agent.
#[utoipa::path(
    post, path = "/nodes", tag = "nodes",
    security(("bearer" = [])),
    request_body = CreateNodeRequest,
    responses(
        (status = 201, description = "Registered", body = NodeEnrolment),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, description = "Unacceptable name", body = ErrorBody),
    )
)]
async fn create_node(
    State(state): State<AppState>,
    Admin(session): Admin,
    ApiJson(request): ApiJson<CreateNodeRequest>,
) -> ApiResult<(StatusCode, Json<NodeEnrolment>)> {
    let (node, token) = state.store.register_node(&request.name).await?;
    audit::record(
        &state,
        session.actor(),
        "node.create",
        format!("node:{}", node.name),
        serde_json::json!({}),
    )
    .await;
    let agent_command = agent_command(&state, &node.name);
    let enrolment = NodeEnrolment {
        node: view(&state, node).await?,
        token: token.expose().to_string(),
        agent_command,
    };
    Ok((StatusCode::CREATED, Json(enrolment)))
}

/// One node.
#[utoipa::path(
    get, path = "/nodes/{name}", tag = "nodes",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The node")),
    responses(
        (status = 200, description = "The node", body = NodeView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such node", body = ErrorBody),
    )
)]
async fn get_node(
    State(state): State<AppState>,
    _: Authenticated,
    Path(name): Path<String>,
) -> ApiResult<Json<NodeView>> {
    let node = find(&state, &name).await?;
    Ok(Json(view(&state, node).await?))
}

/// Revokes a node: deletes it (and its project assignments) and closes its
/// agent's connection.
#[utoipa::path(
    delete, path = "/nodes/{name}", tag = "nodes",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The node")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such node", body = ErrorBody),
    )
)]
async fn delete_node(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.store.delete_node(&name).await?;
    state.nodes.disconnect(&name);
    audit::record(
        &state,
        session.actor(),
        "node.delete",
        format!("node:{name}"),
        serde_json::json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces a node's token: the old one stops working and the agent's
/// current connection is closed. The new token is shown this once.
#[utoipa::path(
    post, path = "/nodes/{name}/token", tag = "nodes",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The node")),
    responses(
        (status = 200, description = "The new token", body = NodeEnrolment),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such node", body = ErrorBody),
    )
)]
async fn rotate_token(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(name): Path<String>,
) -> ApiResult<Json<NodeEnrolment>> {
    let token = state.store.rotate_node_token(&name).await?;
    state.nodes.disconnect(&name);
    audit::record(
        &state,
        session.actor(),
        "node.token",
        format!("node:{name}"),
        serde_json::json!({}),
    )
    .await;
    let node = find(&state, &name).await?;
    Ok(Json(NodeEnrolment {
        agent_command: agent_command(&state, &name),
        node: view(&state, node).await?,
        token: token.expose().to_string(),
    }))
}

/// The newest value of every series of a node.
#[utoipa::path(
    get, path = "/nodes/{name}/metrics/latest", tag = "metrics",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The node")),
    responses(
        (status = 200, description = "Latest values by series", body = Vec<LatestMetric>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such node", body = ErrorBody),
    )
)]
async fn latest_metrics(
    State(state): State<AppState>,
    _: Authenticated,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<LatestMetric>>> {
    find(&state, &name).await?;
    let values = state.metrics.latest(&name);
    Ok(Json(values.into_iter().map(LatestMetric::from).collect()))
}

/// A node's busiest processes, as its agent last reported.
#[utoipa::path(
    get, path = "/nodes/{name}/processes", tag = "metrics",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The node")),
    responses(
        (status = 200, description = "Top processes (absent until reported)", body = NodeProcesses),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such node", body = ErrorBody),
    )
)]
async fn processes(
    State(state): State<AppState>,
    _: Authenticated,
    Path(name): Path<String>,
) -> ApiResult<Json<NodeProcesses>> {
    find(&state, &name).await?;
    let top = state.agent_facts.top_processes(&name);
    Ok(Json(NodeProcesses { node: name, top }))
}
